"""Text vectorization kept inside the model, so saved models take raw strings.

Vocabularies are counted in Python (`count_vocabulary`) and passed to Keras'
`TextVectorization` as `vocabulary=`: `adapt()` over SST-2's 67k training
rows takes minutes on TensorFlow, counting takes under a second. The
tokenization used for counting is the layer's own (same standardization,
split and n-grams, computed with the same `tf.strings` ops), so counted
tokens and the layer's tokens always agree.

String tensors are a TensorFlow feature: models built here (string input)
run on the TensorFlow backend; the wrapped builder models themselves stay
backend-agnostic.
"""

import collections

import keras
import numpy as np

from rnnzoo.validation import check_choice
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

SPLITS = ("character", "whitespace")
STANDARDIZE = (None, "lower", "strip_punctuation", "lower_and_strip_punctuation")
OUTPUT_MODES = ("int", "multi_hot", "count")
NUM_RESERVED = 2
"""Ids 0 (padding) and 1 (out of vocabulary) precede the vocabulary in `"int"` mode."""

_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'  # Keras' own.


@keras.saving.register_keras_serializable(package="rnnzoo")
def mark_boundaries(texts):
    """Standardization for character n-grams: lower-cases (UTF-8) and wraps in `^...$`.

    So n-grams see where a word starts and ends (`"^ h"`, `"o n $"`), as
    scikit-learn's `char_wb` analyzer does. A registered function: layers
    using it save and load with `safe_mode=True`. TensorFlow string ops.

    Example:

    >>> tokenize(["Ab"], split="character", standardize=mark_boundaries)
    [['^', 'a', 'b', '$']]
    """
    import tensorflow as tf

    return tf.strings.join(["^", tf.strings.lower(texts, encoding="utf-8"), "$"])


def _check_standardize(standardize):
    if standardize not in STANDARDIZE and not callable(standardize):
        raise ValueError(
            f"Expected `standardize` to be one of {list(STANDARDIZE)}. "
            f"Received: standardize={standardize!r}"
        )
    return standardize


def _check_ngrams(ngrams):
    if ngrams is None:
        return None
    if isinstance(ngrams, int) and not isinstance(ngrams, bool):
        ngrams = tuple(range(1, check_positive_int("ngrams", ngrams) + 1))
    if (
        not isinstance(ngrams, (tuple, list))
        or not ngrams
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in ngrams)
    ):
        raise ValueError(
            "Expected `ngrams` to be None, a positive int or a tuple of "
            f"positive ints. Received: ngrams={ngrams!r}"
        )
    return tuple(ngrams)


def tokenize(texts, *, split="whitespace", standardize=None, ngrams=None):
    """Tokenizes texts exactly as `TextVectorization` does.

    Args:
        texts: an iterable of `str`.
        split: `"character"` (Unicode characters) or `"whitespace"`.
        standardize: `None`, `"lower"`, `"strip_punctuation"`,
            `"lower_and_strip_punctuation"` (Keras' definitions) or a
            registered callable on a string tensor (e.g. `mark_boundaries`).
        ngrams: `None`, an int `n` (1..n-grams) or a tuple of n-gram sizes;
            n-gram tokens are joined by a space, as Keras joins them.

    Returns:
        A list (one per text) of lists of `str` tokens.

    Example:

    >>> tokenize(["Ab"], split="character", ngrams=2)
    [['A', 'b', 'A b']]
    """
    import tensorflow as tf

    split = check_choice("split", split, SPLITS)
    standardize = _check_standardize(standardize)
    ngrams = _check_ngrams(ngrams)
    x = tf.constant([str(t) for t in texts], dtype=tf.string)
    if standardize in ("lower", "lower_and_strip_punctuation"):
        x = tf.strings.lower(x)
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        x = tf.strings.regex_replace(x, _PUNCTUATION, "")
    if callable(standardize):
        x = standardize(x)
    if split == "character":
        tokens = tf.strings.unicode_split(x, "UTF-8")
    else:
        tokens = tf.strings.split(x)
    if ngrams is not None:
        tokens = tf.strings.ngrams(tokens, ngram_width=ngrams, separator=" ")
    return [[t.decode("utf-8") for t in row] for row in tokens.to_list()]


def count_vocabulary(texts, *, split="whitespace", standardize=None, ngrams=None,
                     max_tokens=None, min_count=1):
    """Counts a vocabulary in Python: tokens by decreasing frequency.

    Args:
        texts: an iterable of `str` (the training texts only).
        split, standardize, ngrams: see `tokenize`.
        max_tokens: keep at most this many tokens (the most frequent).
        min_count: drop tokens seen fewer times.

    Returns:
        A list of `str`, most frequent first (ties in sorted order), ready
        for `text_vectorizer(vocabulary=...)`.

    Example:

    >>> count_vocabulary(["a b b", "c b"])
    ['b', 'a', 'c']
    """
    max_tokens = check_optional_positive_int("max_tokens", max_tokens)
    min_count = check_positive_int("min_count", min_count)
    counts = collections.Counter()
    for row in tokenize(texts, split=split, standardize=standardize, ngrams=ngrams):
        counts.update(row)
    items = sorted(
        ((token, n) for token, n in counts.items() if n >= min_count and token),
        key=lambda item: (-item[1], item[0]),
    )
    if max_tokens is not None:
        items = items[:max_tokens]
    return [token for token, _ in items]


def text_vectorizer(vocabulary, *, split="whitespace", standardize=None, ngrams=None,
                    output_mode="int", sequence_length=None, name=None):
    """A `TextVectorization` layer over a given vocabulary (no `adapt()`).

    In `"int"` mode id 0 is padding, id 1 is out-of-vocabulary and the
    vocabulary takes ids `2 .. len(vocabulary) + 1`: pass
    `vocabulary_size=len(vocabulary) + NUM_RESERVED` to a builder. In
    `"multi_hot"`/`"count"` mode the output has `len(vocabulary) + 1`
    columns (column 0 counts unknown tokens).

    Args:
        vocabulary: a list of `str` tokens (see `count_vocabulary`).
        split, standardize, ngrams: see `tokenize`.
        output_mode: `"int"`, `"multi_hot"` or `"count"`.
        sequence_length: pad/truncate `"int"` output to this length (None:
            pad to the longest text of each batch).
        name: the layer name.

    Returns:
        A `keras.layers.TextVectorization`.

    Example:

    >>> layer = text_vectorizer(["a", "b"], split="character")
    >>> layer(["ab", "ba c"]).numpy().tolist()
    [[2, 3, 0, 0], [3, 2, 1, 1]]
    """
    split = check_choice("split", split, SPLITS)
    standardize = _check_standardize(standardize)
    ngrams = _check_ngrams(ngrams)
    output_mode = check_choice("output_mode", output_mode, OUTPUT_MODES)
    sequence_length = check_optional_positive_int("sequence_length", sequence_length)
    vocabulary = [str(t) for t in vocabulary]
    if not vocabulary:
        raise ValueError("Expected a non-empty `vocabulary`. Received: vocabulary=[]")
    return keras.layers.TextVectorization(
        standardize=standardize,
        split=split,
        ngrams=ngrams,
        output_mode=output_mode,
        output_sequence_length=sequence_length if output_mode == "int" else None,
        vocabulary=vocabulary,
        name=name,
    )


def vectorize(vectorizer, texts, batch_size=8192):
    """Applies a vectorizer to many texts eagerly; returns one NumPy array.

    `"int"` output is right-padded with 0 to the longest text overall (or
    the vectorizer's `sequence_length`).

    Example:

    >>> vectorize(text_vectorizer(["a"], split="character"), ["a", "aa"]).tolist()
    [[2, 0], [2, 2]]
    """
    check_positive_int("batch_size", batch_size)
    texts = [str(t) for t in texts]
    parts = [
        np.asarray(keras.ops.convert_to_numpy(vectorizer(texts[i:i + batch_size])))
        for i in range(0, len(texts), batch_size)
    ]
    if not parts:
        raise ValueError("Expected at least one text. Received: texts=[]")
    if parts[0].ndim == 2 and vectorizer.get_config()["output_mode"] == "int":
        width = max(p.shape[1] for p in parts)
        parts = [np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts]
    return np.concatenate(parts).astype("int32" if parts[0].dtype.kind == "i" else "float32")


def string_model(branches, *, name="string_model"):
    """Wraps id-level models into one model that takes raw strings.

    Each branch is `(vectorizer, model)`: the string input goes through the
    vectorizer and then the model. With several branches (an ensemble, or
    models over different features) their outputs are averaged.

    Args:
        branches: a `(vectorizer, model)` pair or a list of them.
        name: the model name.

    Returns:
        A Functional `keras.Model` with input `(batch,)` strings.

    Example:

    >>> import rnnzoo
    >>> layer = text_vectorizer(["a", "b"], split="character")
    >>> clf = rnnzoo.sequence_classifier(vocabulary_size=4, num_classes=3, units=4)
    >>> string_model((layer, clf))(np.array(["ab", "b"])).shape
    TensorShape([2, 3])
    """
    if isinstance(branches, tuple) and len(branches) == 2 and isinstance(
        branches[1], keras.Model
    ):
        branches = [branches]
    branches = list(branches)
    if not branches or not all(
        isinstance(b, (tuple, list)) and len(b) == 2 and isinstance(b[1], keras.Model)
        for b in branches
    ):
        raise ValueError(
            "Expected `branches` to be a (vectorizer, model) pair or a non-empty "
            f"list of them. Received: branches={branches!r}"
        )
    text = keras.Input(shape=(), dtype="string", name=f"{name}_text")
    outputs, vectorized = [], {}
    for vectorizer, model in branches:
        if id(vectorizer) not in vectorized:  # a shared vectorizer runs once
            vectorized[id(vectorizer)] = vectorizer(text)
        outputs.append(model(vectorized[id(vectorizer)]))
    if len(outputs) == 1:
        output = outputs[0]
    else:
        output = keras.layers.Average(name=f"{name}_average")(outputs)
    return keras.Model(text, output, name=name)


def ngram_perplexity(train, validation, n, *, alpha=0.1, vocabulary=None):
    """Perplexity of an add-`alpha` smoothed n-gram model over tokens (characters).

    The baseline a neural language model must beat: P(t | previous n-1
    tokens) = (count(context, t) + alpha) / (count(context) + alpha * V),
    counted on `train`, scored on every token of `validation` that has a
    full context (the first n-1 use the end of `train` as context).

    Args:
        train: the training sequence (a `str` for characters, or a list of
            tokens).
        validation: the held-out sequence, same kind.
        n: the order (1 = unigram).
        alpha: additive smoothing.
        vocabulary: the token set (default: those of `train` and
            `validation`).

    Returns:
        The perplexity, a float.

    Example:

    >>> round(ngram_perplexity("abab" * 50, "abab", 2, alpha=0.01), 4)  # b follows a
    1.0001
    >>> ngram_perplexity("abab" * 50, "abab", 1)  # a unigram model: a coin flip
    2.0
    """
    n = check_positive_int("n", n)
    if not alpha > 0:
        raise ValueError(f"Expected `alpha` > 0. Received: alpha={alpha!r}")
    train, validation = list(train), list(validation)
    if len(train) < n or not validation:
        raise ValueError(
            f"Expected `train` of at least n={n} tokens and a non-empty `validation`. "
            f"Received: len(train)={len(train)}, len(validation)={len(validation)}"
        )
    size = len(set(vocabulary) if vocabulary is not None else set(train) | set(validation))
    joint, context = collections.Counter(), collections.Counter()
    for i in range(n - 1, len(train)):
        key = tuple(train[i - n + 1:i])
        joint[key + (train[i],)] += 1
        context[key] += 1
    sequence = train[len(train) - (n - 1):] + validation if n > 1 else validation
    total = 0.0
    for i in range(n - 1, len(sequence)):
        key = tuple(sequence[i - n + 1:i])
        p = (joint[key + (sequence[i],)] + alpha) / (context[key] + alpha * size)
        total -= np.log(p)
    return float(np.exp(total / len(validation)))


def ids_to_tokens(ids, vocabulary, *, end_id, pad_id=0, skip_ids=(), oov_token="[UNK]"):
    """Decoded id rows -> token lists, each row cut at its end id (or padding).

    The one way every task turns decoder output back into words (or
    digits): `vocabulary[i]` is the token of id `i`, reserved ids included.

    Args:
        ids: `(n, steps)` integer ids (e.g. from `rnnzoo.decode`).
        vocabulary: the token of each id, index = id (e.g. a
            `TextVectorization`'s `get_vocabulary()`, or `["", "[UNK]"]`
            followed by a `StringLookup`'s vocabulary).
        end_id: the end-of-sequence id: the row stops before it.
        pad_id: the padding id: the row stops before it too.
        skip_ids: ids left out without stopping (e.g. a start marker).
        oov_token: the token of ids past the end of `vocabulary`.

    Returns:
        A list (one per row) of token lists.

    Example:

    >>> ids_to_tokens([[4, 5, 3, 0], [9, 3, 4, 4]], ["", "[UNK]", "[START]", "[END]", "a", "b"],
    ...               end_id=3)
    [['a', 'b'], ['[UNK]']]
    >>> ids_to_tokens([[1, 4, 5, 2]], ["", "[START]", "[END]", 0, 1, 2], end_id=2,
    ...               skip_ids=(1,))
    [[1, 2]]
    """
    skip = {int(i) for i in skip_ids}
    out = []
    for row in np.asarray(ids):
        tokens = []
        for i in row:
            i = int(i)
            if i in (end_id, pad_id):
                break
            if i not in skip:
                tokens.append(vocabulary[i] if 0 <= i < len(vocabulary) else oov_token)
        out.append(tokens)
    return out
