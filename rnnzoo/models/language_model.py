"""Next-token language model (character or word level)."""

import keras
import numpy as np

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
    previous one), train with `shuffle=False` and the `ResetStates` callback.
    `rnnzoo.decoder_step_model(model)` gives a one-step model for generation.

    Args:
        vocabulary_size: number of token ids (id 0 is padding).
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


def tbptt_batches(ids, batch_size, num_steps):
    """Cuts one long id sequence into batches for truncated BPTT.

    The text is split into `batch_size` contiguous streams; batch k holds
    steps `[k * num_steps, (k + 1) * num_steps)` of every stream, so row b of
    batch k continues row b of batch k - 1 (Dive into Deep Learning's
    sequential partitioning). Targets are the inputs shifted by one token.

    Args:
        ids: 1-D integer array, the whole text as token ids.
        batch_size: number of parallel streams (the model's batch size).
        num_steps: time steps per batch (the truncation length).

    Returns:
        `(x, y)`, each `(num_batches * batch_size, num_steps)`, ordered so
        that `model.fit(x, y, batch_size=batch_size, shuffle=False)` feeds
        the batches in order.

    Example:

    >>> x, y = tbptt_batches(np.arange(1, 22), batch_size=2, num_steps=3)
    >>> x[:2].tolist(), x[2:4].tolist()
    ([[1, 2, 3], [11, 12, 13]], [[4, 5, 6], [14, 15, 16]])
    """
    ids = np.asarray(ids)
    batch_size = check_positive_int("batch_size", batch_size)
    num_steps = check_positive_int("num_steps", num_steps)
    stream_length = (len(ids) - 1) // batch_size
    num_batches = stream_length // num_steps
    if num_batches < 1:
        raise ValueError(
            f"The text is too short for batch_size={batch_size} and "
            f"num_steps={num_steps}. Received: ids of length {len(ids)}"
        )
    used = stream_length * batch_size
    xs = ids[:used].reshape(batch_size, stream_length)
    ys = ids[1:used + 1].reshape(batch_size, stream_length)
    span = num_batches * num_steps
    xs = xs[:, :span].reshape(batch_size, num_batches, num_steps)
    ys = ys[:, :span].reshape(batch_size, num_batches, num_steps)
    x = xs.transpose(1, 0, 2).reshape(-1, num_steps)
    y = ys.transpose(1, 0, 2).reshape(-1, num_steps)
    return x, y


class ResetStates(keras.callbacks.Callback):
    """Resets a stateful model's recurrent states at each epoch and evaluation.

    Example:

    >>> callback = ResetStates()
    """

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()
