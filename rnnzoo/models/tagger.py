"""Many-to-many aligned: one output per input step (tagging)."""

import keras

from rnnzoo.layers.characters import CharacterCNN
from rnnzoo.layers.crf import CRF
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.common import head_dropout
from rnnzoo.models.common import output_head
from rnnzoo.models.common import sequence_input
from rnnzoo.models.crf_model import CRFModel
from rnnzoo.validation import check_positive_int


def sequence_tagger(
    *,
    vocabulary_size=None,
    num_features=None,
    embedding_dim=128,
    sequence_length=None,
    mask_value=None,
    embedding_dropout=0.0,
    word_dropout=0.0,
    character_vocabulary_size=None,
    character_embedding_dim=32,
    character_units=64,
    character_kernel_size=3,
    num_classes=None,
    num_outputs=None,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    identity_init=False,
    head_dropout_rate=0.0,
    crf=False,
    name="sequence_tagger",
):
    """Builds an aligned many-to-many model: one class or value per step.

    Output `(batch, time, num_classes)` probabilities (or `num_outputs`
    values). Padded steps carry the input mask to the output, so Keras leaves
    them out of the loss and metrics.

    Character-aware words (Plank et al. 2016; Ma & Hovy 2016): with
    `character_vocabulary_size`, the model takes `[words (batch, time),
    characters (batch, time, word_length)]` (character id 0 pads), embeds
    each word's characters (`{name}_character_embedding`), runs a masked
    character CNN over them (`{name}_character_cnn`,
    `rnnzoo.layers.CharacterCNN`) and concatenates the result with the word
    embedding (`{name}_word_features`), so a word unseen in training is
    still tagged from its spelling.

    With `crf=True` the softmax becomes linear potentials and a linear-chain
    CRF (`{name}_crf`, `rnnzoo.layers.CRF`); the model is a
    `rnnzoo.models.crf_model.CRFModel`, trained on the CRF's negative
    log-likelihood, whose `predict` returns the Viterbi tags.

    Args:
        vocabulary_size, num_features, embedding_dim, sequence_length,
        mask_value: the input (see `rnnzoo.sequence_classifier`).
        embedding_dropout: rate of whole word-embedding channels dropped in
            training (`{name}_embedding_dropout`).
        word_dropout: rate of word ids replaced by the unknown id 1 in
            training (`{name}_word_dropout`, `rnnzoo.layers.WordDropout`), so
            the unknown-word embedding learns from real contexts.
        character_vocabulary_size: character ids (0 pads; every id is
            below it); None: words only.
        character_embedding_dim: character embedding width.
        character_units: the character CNN's filters (the width it adds to
            each word's features).
        character_kernel_size: characters per CNN window.
        num_classes: classes per step (int >= 2 or `"binary"`); or
        num_outputs: regression values per step.
        cell, units, num_layers, bidirectional, merge_mode, residual,
        dropout, recurrent_dropout, layer_norm, identity_init: the stack.
        head_dropout_rate: dropout before the output layer.
        crf: a linear-chain CRF over the tags (needs token ids and an int
            `num_classes`).
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model` (a `CRFModel` with `crf=True`).

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_tagger(vocabulary_size=50, num_classes=5,
    ...     units=8, bidirectional=True)
    >>> model(np.array([[3, 4, 5, 0]])).shape
    TensorShape([1, 4, 5])
    """
    name = check_builder_name(name)
    if crf and (vocabulary_size is None or not isinstance(num_classes, int)
                or isinstance(num_classes, bool)):
        raise ValueError(
            "A CRF tags token ids with an int number of classes. Received: crf=True with "
            f"vocabulary_size={vocabulary_size!r}, num_classes={num_classes!r}")
    inputs, x, mask = sequence_input(
        name, vocabulary_size=vocabulary_size, num_features=num_features,
        embedding_dim=embedding_dim, sequence_length=sequence_length,
        mask_value=mask_value, embedding_dropout=embedding_dropout,
        word_dropout=word_dropout,
    )
    if character_vocabulary_size is not None:
        if vocabulary_size is None:
            raise ValueError(
                "Character-aware words need word ids (`vocabulary_size`). Received: "
                f"character_vocabulary_size={character_vocabulary_size!r} with "
                f"num_features={num_features!r}")
        characters = keras.Input(shape=(sequence_length, None), dtype="int32",
                                 name=f"{name}_characters")
        chars = keras.layers.Embedding(
            check_positive_int("character_vocabulary_size", character_vocabulary_size),
            check_positive_int("character_embedding_dim", character_embedding_dim),
            mask_zero=True, name=f"{name}_character_embedding")(characters)
        chars = CharacterCNN(check_positive_int("character_units", character_units),
                             check_positive_int("character_kernel_size", character_kernel_size),
                             name=f"{name}_character_cnn")(chars)
        x = keras.layers.Concatenate(name=f"{name}_word_features")([x, chars])
        inputs = [inputs, characters]
    x = recurrent_stack(
        x, cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, identity_init=identity_init,
        return_sequences=True, mask=mask, name=f"{name}_encoder",
    )
    x = head_dropout(x, head_dropout_rate, name)
    if crf:
        potentials = keras.layers.Dense(num_classes, dtype="float32", name=f"{name}_output")(x)
        return CRFModel(inputs, CRF(name=f"{name}_crf")(potentials), name=name)
    outputs = output_head(x, name, num_classes=num_classes, num_outputs=num_outputs)
    return keras.Model(inputs, outputs, name=name)
