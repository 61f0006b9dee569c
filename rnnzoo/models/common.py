"""Pieces the builders share: inputs, output heads, the stack's arguments."""

import keras

from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.word_dropout import WordDropout
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_exactly_one
from rnnzoo.validation import check_fraction
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

def sequence_input(
    name,
    *,
    vocabulary_size=None,
    num_features=None,
    embedding_dim=128,
    sequence_length=None,
    mask_value=None,
    batch_size=None,
    prefix=None,
    embedding_dropout=0.0,
    word_dropout=0.0,
):
    """Creates the sequence input of a builder: token ids or float features.

    Token ids are padded with 0 (`Embedding(mask_zero=True)` and an explicit
    `PaddingMask`); float features may be masked with `mask_value`. With
    `embedding_dropout`, whole embedding channels are dropped during
    training (`SpatialDropout1D`, `{prefix}_embedding_dropout`); with
    `word_dropout`, ids are replaced by the unknown id 1 in training
    (`rnnzoo.layers.WordDropout`, `{prefix}_word_dropout`).

    Returns:
        `(inputs, x, mask)`: the `keras.Input`, the `(batch, time, dim)`
        tensor to feed the stack, and the explicit mask tensor (or None).
    """
    prefix = prefix or name
    check_exactly_one(vocabulary_size=vocabulary_size, num_features=num_features)
    check_optional_positive_int("sequence_length", sequence_length)
    if vocabulary_size is not None:
        vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        inputs = keras.Input(
            shape=(sequence_length,), batch_size=batch_size, dtype="int32",
            name=f"{prefix}_tokens",
        )
        x, mask = token_embedding(inputs, prefix, vocabulary_size=vocabulary_size,
                                  embedding_dim=embedding_dim,
                                  embedding_dropout=embedding_dropout,
                                  word_dropout=word_dropout)
        return inputs, x, mask
    if word_dropout:
        raise ValueError("Word dropout replaces token ids: it needs `vocabulary_size`. "
                         f"Received: word_dropout={word_dropout!r} with "
                         f"num_features={num_features!r}")
    num_features = check_positive_int("num_features", num_features)
    inputs = keras.Input(
        shape=(sequence_length, num_features), batch_size=batch_size,
        name=f"{prefix}_features",
    )
    if mask_value is None:
        return inputs, inputs, None
    x = keras.layers.Masking(mask_value, name=f"{prefix}_masking")(inputs)
    return inputs, x, getattr(x, "_keras_mask", None)


def token_embedding(tokens, prefix, *, vocabulary_size, embedding_dim, embedding_dropout=0.0,
                    word_dropout=0.0):
    """The padding mask and embedding of `(batch, time)` token ids (0 = padding).

    Layers `{prefix}_padding_mask`, `{prefix}_embedding` (`mask_zero=True`)
    and, with `embedding_dropout`, `{prefix}_embedding_dropout`
    (`SpatialDropout1D`: whole embedding channels dropped in training); with
    `word_dropout`, `{prefix}_word_dropout` before the embedding.

    Returns:
        `(x, mask)`: the `(batch, time, embedding_dim)` embeddings and the
        explicit boolean mask.
    """
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    mask = PaddingMask(name=f"{prefix}_padding_mask")(tokens)
    if check_fraction("word_dropout", word_dropout) > 0:
        tokens = WordDropout(word_dropout, name=f"{prefix}_word_dropout")(tokens)
    x = keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name=f"{prefix}_embedding",
    )(tokens)
    if check_fraction("embedding_dropout", embedding_dropout) > 0:
        x = keras.layers.SpatialDropout1D(
            embedding_dropout, name=f"{prefix}_embedding_dropout"
        )(x)
    return x, mask


def output_head(x, name, *, num_classes=None, num_outputs=None):
    """The output layer: class probabilities or regression values, float32.

    `num_classes="binary"` gives one sigmoid unit, an int >= 2 a softmax;
    `num_outputs` gives linear outputs for regression.
    """
    check_exactly_one(num_classes=num_classes, num_outputs=num_outputs)
    if num_outputs is not None:
        units, activation = check_positive_int("num_outputs", num_outputs), None
    elif num_classes == "binary":
        units, activation = 1, "sigmoid"
    else:
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, int)
            or num_classes < 2
        ):
            raise ValueError(
                "Expected `num_classes` to be an int >= 2 or 'binary'. "
                f"Received: num_classes={num_classes!r}"
            )
        units, activation = num_classes, "softmax"
    return keras.layers.Dense(
        units, activation=activation, dtype="float32", name=f"{name}_output"
    )(x)


def head_dropout(x, rate, name, arg="head_dropout_rate"):
    """Dropout before the output layer (skipped when `rate` is 0).

    `rate` must be in [0, 1); the error names it as `arg`.
    """
    if check_fraction(arg, rate):
        return keras.layers.Dropout(rate, name=f"{name}_head_dropout")(x)
    return x


def check_builder_name(name):
    if not isinstance(name, str) or not name:
        raise ValueError(f"Expected `name` to be a non-empty string. Received: name={name!r}")
    return name


def check_pooling(pooling):
    from rnnzoo.layers.pooling import POOLING_MODES

    return check_choice("pooling", pooling, POOLING_MODES)
