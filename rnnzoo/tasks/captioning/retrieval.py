"""Nearest-neighbour captioning: the caption of the most similar training image.

The retrieval baseline of the Flickr8k table (Devlin et al. 2015, "Language
Models for Image Captioning: The Quirks and What Works"; "Exploring Nearest
Neighbor Approaches for Image Captioning"): images are compared by the
cosine of their mean-pooled encoder features; among the captions of the
`k` nearest training images, the CONSENSUS caption is returned: the one
most similar on average to the other candidates. Caption similarity is the
cosine of TF-IDF-weighted 1-4-gram vectors (scikit-learn), the quantity
CIDEr averages, where Devlin et al. used BLEU or CIDEr itself.
"""

from __future__ import annotations

import numpy as np

from rnnzoo.validation import check_positive_int


def pooled(features):
    """Mean-pooled, L2-normalised feature vectors `(n, channels)` of `(n, regions, channels)` grids."""
    vectors = np.asarray(features, "float32").mean(axis=1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def nearest_neighbour_captions(train_features, train_captions, query_features, *, k=1,
                               batch_size=256):
    """The consensus caption among the captions of each query's `k` nearest training images.

    Args:
        train_features: `(n, regions, channels)` training grids.
        train_captions: one list of (tokenised, space-joined) captions per
            training image.
        query_features: `(m, regions, channels)` grids to caption.
        k: nearest training images whose captions are candidates.
        batch_size: queries per similarity block.

    Returns:
        `(captions, neighbours)`: one caption string per query and the index
        of its nearest training image.

    Example:

    >>> train = np.eye(3, dtype="float32")[:, None, :]
    >>> captions = [["a red car", "a car"], ["a dog runs", "a dog"], ["a cat", "a cat sits"]]
    >>> nearest_neighbour_captions(train, captions, train[[1]] + 0.1)[0]
    ['a dog runs']
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    k = check_positive_int("k", k)
    train = pooled(train_features)
    query = pooled(query_features)
    tfidf = TfidfVectorizer(ngram_range=(1, 4), token_pattern=r"\S+", lowercase=False)
    tfidf.fit([c for caps in train_captions for c in caps])
    out, nearest = [], []
    for start in range(0, len(query), batch_size):
        similarity = query[start:start + batch_size] @ train.T
        order = np.argsort(-similarity, axis=1)[:, :k]
        for row in order:
            candidates = [c for i in row for c in train_captions[i]]
            vectors = tfidf.transform(candidates)
            agreement = np.asarray((vectors @ vectors.T).sum(axis=1)).ravel()
            agreement -= 1.0  # leave out each caption's similarity to itself
            out.append(candidates[int(np.argmax(agreement))])
            nearest.append(int(row[0]))
    return out, np.asarray(nearest)
