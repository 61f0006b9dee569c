"""Next-token language model (character or word level)."""

import keras

from rnnzoo.models.common import check_builder_name
from rnnzoo.models.decoder import build_decoder
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int


def language_model(
    *,
    vocabulary_size,
    embedding_dim=64,
    cell="lstm",
    units=256,
    num_layers=2,
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    stateful=False,
    batch_size=None,
    name="language_model",
):
    """Builds a next-token language model.

    Input: token ids `(batch, time)` (0 = padding); output: the probability
    of the next token at every step, `(batch, time, vocabulary_size)`.

    With `stateful=True` (which needs `batch_size`), the final states of one
    batch seed the next: truncated backpropagation through time over a long
    text, the seed notes' fix for long sequences. Feed it with
    `rnnzoo.tbptt_batches` (row b of every batch continues row b of the
    previous one), train with `shuffle=False` and the
    `rnnzoo.training.callbacks.ResetStates` callback.
    `rnnzoo.decoder_step_model(model)` gives a one-step model for generation.

    Args:
        vocabulary_size: the number of token ids, reserved ids included
            (id 0 is padding; every id is below it).
        embedding_dim: embedding width.
        cell, units, num_layers, residual, dropout, recurrent_dropout,
        layer_norm: the recurrent stack (see `rnnzoo.recurrent_stack`).
        stateful: carry states across batches.
        batch_size: fixed batch size (required when `stateful=True`).
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.language_model(vocabulary_size=28, units=32)
    >>> model(np.ones((2, 35))).shape
    TensorShape([2, 35, 28])
    """
    name = check_builder_name(name)
    batch_size = check_optional_positive_int("batch_size", batch_size)
    if stateful and batch_size is None:
        raise ValueError(
            "A stateful language model needs a fixed batch size. "
            "Received: stateful=True, batch_size=None"
        )
    check_positive_int("vocabulary_size", vocabulary_size)
    tokens = keras.Input(
        shape=(None,), batch_size=batch_size, dtype="int32", name=f"{name}_tokens"
    )
    probabilities, _, _ = build_decoder(
        tokens,
        prefix=name,
        vocabulary_size=vocabulary_size,
        embedding_dim=embedding_dim,
        cell=cell,
        units=units,
        num_layers=num_layers,
        residual=residual,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm,
        stateful=stateful,
    )
    return keras.Model(inputs=tokens, outputs=probabilities, name=name)
