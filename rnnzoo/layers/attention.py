"""Luong (multiplicative) and Bahdanau (additive) attention over a memory."""

import keras
from keras import ops

from rnnzoo.validation import check_choice

ATTENTION_KINDS = ("luong", "bahdanau")


@keras.saving.register_keras_serializable(package="rnnzoo")
class SequenceAttention(keras.layers.Layer):
    """Attends from each query step over a memory sequence.

    `"luong"` scores with the general form `q . (W_a m)`; `"bahdanau"` with
    the additive form `v . tanh(W_q q + W_m m)`. Padded memory steps
    (`memory_mask` False) get zero weight.

    Args:
        kind: `"luong"` or `"bahdanau"`.
        units: width of the additive scoring space (`"bahdanau"` only;
            defaults to the query width).

    Call arguments:
        query: `(batch, target_time, query_dim)`.
        memory: `(batch, source_time, memory_dim)`.
        memory_mask: optional `(batch, source_time)` boolean mask.

    Returns:
        `(context, weights)`: `(batch, target_time, memory_dim)` in the
        compute dtype and `(batch, target_time, source_time)` in float32
        (under a mixed policy too); each row of weights sums to 1.

    Example:

    >>> import numpy as np
    >>> layer = SequenceAttention("luong")
    >>> context, weights = layer(np.ones((2, 3, 4)), np.ones((2, 5, 6)))
    >>> context.shape, weights.shape
    (TensorShape([2, 3, 6]), TensorShape([2, 3, 5]))
    """

    def __init__(self, kind="luong", units=None, **kwargs):
        super().__init__(**kwargs)
        self.kind = check_choice("kind", kind, ATTENTION_KINDS)
        self.units = units
        self.supports_masking = True

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        query_dim, memory_dim = query_shape[-1], memory_shape[-1]
        if self.kind == "luong":
            self.memory_kernel = self.add_weight(
                name="memory_kernel", shape=(memory_dim, query_dim),
                initializer="glorot_uniform",
            )
        else:
            units = self.units or query_dim
            self.query_kernel = self.add_weight(
                name="query_kernel", shape=(query_dim, units),
                initializer="glorot_uniform",
            )
            self.memory_kernel = self.add_weight(
                name="memory_kernel", shape=(memory_dim, units),
                initializer="glorot_uniform",
            )
            self.score_vector = self.add_weight(
                name="score_vector", shape=(units,),
                initializer="glorot_uniform",
            )

    def call(self, query, memory, memory_mask=None):
        return self.attend(query, self.keys(memory), memory, memory_mask)

    def keys(self, memory):
        """The memory's projection `W_m m`: computed once when the queries come one at a time."""
        return ops.matmul(memory, self.memory_kernel)

    def attend(self, query, keys, memory, memory_mask=None):
        """`call` with the memory's `keys` given (`rnnzoo.layers.AttentiveRNN` steps)."""
        if self.kind == "luong":
            scores = ops.einsum("btd,bsd->bts", query, keys)
        else:
            projected = ops.matmul(query, self.query_kernel)
            hidden = ops.tanh(ops.expand_dims(projected, 2) + ops.expand_dims(keys, 1))
            scores = ops.einsum("btsu,u->bts", hidden, self.score_vector)
        scores = ops.cast(scores, "float32")
        if memory_mask is not None:
            scores = ops.where(ops.expand_dims(ops.cast(memory_mask, "bool"), 1), scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("bts,bsd->btd", ops.cast(weights, memory.dtype), memory)
        return context, weights

    def compute_mask(self, query, mask=None):
        # Keras calls this with the first argument and its mask only: the
        # context keeps the query's padding, so padded target steps stay out
        # of the loss.
        return [mask, None]

    def compute_output_shape(self, query_shape, memory_shape, memory_mask_shape=None):
        return (
            (query_shape[0], query_shape[1], memory_shape[-1]),
            (query_shape[0], query_shape[1], memory_shape[1]),
        )

    def compute_output_spec(self, query, memory, memory_mask=None):
        # The weights are a float32 softmax under any policy (see `call`).
        context_shape, weights_shape = self.compute_output_shape(query.shape, memory.shape)
        return (
            keras.KerasTensor(context_shape, dtype=memory.dtype),
            keras.KerasTensor(weights_shape, dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, units=self.units)
        return config


@keras.saving.register_keras_serializable(package="rnnzoo")
class AttentionPenalty(keras.layers.Layer):
    """The doubly stochastic attention penalty of "Show, Attend and Tell", as a layer loss.

    Xu et al. (2015, eq. 14) add `lambda * sum_i (1 - sum_t alpha_ti)**2` to
    the caption's summed log-loss, pushing the model to look at every
    region over the caption. rnnzoo's losses are means over tokens, so the
    penalty of each caption is divided by its length: `weight *
    mean_batch(sum_i (1 - sum_t alpha_ti)**2 / steps)`, padded steps left out.
    It is added with `add_loss` (`model.losses`); the inputs pass through.

    Args:
        weight: the penalty's weight (`lambda`; the paper uses 1).

    Call arguments:
        inputs: any tensor, returned unchanged.
        attention: `(batch, time, regions)` attention weights.
        step_mask: optional `(batch, time)` boolean mask of the real steps.

    Example:

    >>> import numpy as np
    >>> layer = AttentionPenalty(1.0)
    >>> _ = layer(np.zeros((1, 2)), np.full((1, 2, 2), 0.5))
    >>> float(layer.losses[0])  # each region got 1 in all: no penalty
    0.0
    """

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the inputs' mask passes through with them
        self.weight = float(weight)
        if not self.weight >= 0:
            raise ValueError(f"Expected `weight` to be >= 0. Received: weight={weight!r}")

    def call(self, inputs, attention, step_mask=None):
        attention = ops.cast(attention, "float32")
        if step_mask is None:
            steps = ops.cast(ops.shape(attention)[1], "float32")
        else:
            mask = ops.cast(step_mask, "float32")
            attention = attention * ops.expand_dims(mask, -1)
            steps = ops.maximum(ops.sum(mask, axis=1), 1.0)
        coverage = ops.sum(ops.square(1.0 - ops.sum(attention, axis=1)), axis=-1)
        self.add_loss(self.weight * ops.mean(coverage / steps))
        return inputs

    def compute_output_spec(self, inputs, attention, step_mask=None):
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(weight=self.weight)
        return config
