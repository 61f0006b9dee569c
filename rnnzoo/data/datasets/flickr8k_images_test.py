"""Flickr8k images: the folder lookup, caption vocabulary, vectorisation and batches.

The task end to end (generated and real photographs) is tested in
`rnnzoo/tasks/captioning/flickr8k_test.py`; the cached encoder grids in
`rnnzoo/tasks/captioning/features_test.py`.
"""

import os

import numpy as np
import pytest

from rnnzoo.data.datasets import flickr8k_images as F
from rnnzoo.data.text import ids_to_tokens

REAL = os.path.join(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent"), "flickr8k_images")


def test_vocabulary_vectorizer_and_batches():
    captions = [("A Dog runs.", "a dog, running!", "A cat."), ("A dog sits.",)]
    vocab = F.caption_vocabulary(captions, min_count=2)
    assert vocab == ["", "[UNK]", "startseq", "endseq", "a", "dog"]
    assert F.caption_vocabulary(captions, min_count=1, max_tokens=3)[4:] == ["a", "dog", "cat"]
    v = F.caption_vectorizer(vocab, max_length=6)
    index, ids = F.encode_captions(v, [("A DOG runs",), ("a dog, running!", "A dog.")])
    assert index.tolist() == [0, 1, 1] and ids.shape == (3, 6)
    assert ids_to_tokens(ids[:, 1:], vocab, end_id=vocab.index(F.END)) == [
        ["a", "dog", "[UNK]"], ["a", "dog", "[UNK]"], ["a", "dog"]]
    assert ids[:, 0].tolist() == [2, 2, 2]  # startseq
    features = np.arange(2 * 3 * 4, dtype="float16").reshape(2, 3, 4)
    # Sorted by length, one caption per batch: "a dog" (4 ids), then the two of 5.
    batches = F.CaptionBatches(features, index, ids, batch_size=1, shuffle=False)
    assert len(batches) == 3
    (grid, ids_in), ids_out, weights = batches[0]
    assert grid.dtype == np.float32 and ids_in.shape == (1, 3)  # trimmed to its caption
    np.testing.assert_array_equal(grid, features[[1]].astype("float32"))
    np.testing.assert_array_equal(ids_in, ids[2:, :3])
    np.testing.assert_array_equal(ids_out, ids[2:, 1:4])
    for k, row in ((1, 0), (2, 1)):
        (grid, ids_in), ids_out, weights = batches[k]
        np.testing.assert_array_equal(grid, features[[index[row]]].astype("float32"))
        np.testing.assert_array_equal(ids_in, ids[[row], :4])
        np.testing.assert_array_equal(ids_out, ids[[row], 1:5])
        # Never trained to say [UNK] (id 1); padding carries no weight either.
        np.testing.assert_array_equal(weights, (ids_out > 1).astype("float32"))
        assert weights[0].tolist() == [1.0, 1.0, 0.0, 1.0]
    shuffled = F.CaptionBatches(features, index, ids, batch_size=1, shuffle=True, seed=1)
    rows = [tuple(shuffled[i][0][1][0]) for i in range(3)]
    assert len(shuffled[0][0][1][0]) < len(shuffled[1][0][1][0])  # a narrow, then a wider one
    lengths = (ids != 0).sum(axis=1)
    assert sorted(rows) == sorted(tuple(r[:n - 1]) for r, n in zip(ids, lengths))  # each once


def test_caption_tokens_lower_case_and_strip_punctuation():
    assert F.caption_tokens(["Two DOGS, playing!", "a  man ."]) == [
        ["two", "dogs", "playing"], ["a", "man"]]


@pytest.mark.skipif(not os.path.isdir(REAL), reason="needs RNNZOO_DATA_DIR/flickr8k_images")
def test_shared_folder_is_found_and_holds_train_and_dev_but_not_test():
    from rnnzoo.data.datasets import load_flickr8k_captions

    folder = F.find_images_dir()
    assert os.path.samefile(folder, REAL)
    captions = load_flickr8k_captions()
    assert len(F.image_paths(folder, list(captions.train), "train")) == 5997
    assert F.has_images(folder, list(captions.validation))
    assert not F.has_images(folder, list(captions.test))
    assert not F.has_images(folder, [])
