"""Masked pooling over the time axis (the axis before the features)."""

import keras
from keras import ops

from rnnzoo.validation import check_choice

POOLING_MODES = ("last", "mean", "max", "attention")


@keras.saving.register_keras_serializable(package="rnnzoo")
class SequencePooling(keras.layers.Layer):
    """Pools a `(batch, time, features)` sequence to `(batch, features)`.

    Any input rank >= 3 pools its second-to-last axis: `(batch, words,
    characters, features)` with a `(batch, words, characters)` mask gives
    `(batch, words, features)`, one vector per word.

    Padded steps (mask False) never contribute: `"last"` takes each
    sequence's last real step (left, right or gapped padding alike), `"mean"`
    averages the real steps, `"max"` takes the maximum over real steps and
    `"attention"` learns a score per step (`v . tanh(W x_t)`) and takes the
    softmax-weighted sum over real steps.

    Args:
        mode: `"last"`, `"mean"`, `"max"` or `"attention"`.
        attention_units: width of the scoring layer for `"attention"`.

    Example:

    >>> import numpy as np
    >>> x = np.arange(12, dtype="float32").reshape(1, 4, 3)
    >>> mask = np.array([[True, True, False, False]])
    >>> SequencePooling("last")(x, mask=mask).numpy().tolist()
    [[3.0, 4.0, 5.0]]
    """

    def __init__(self, mode="last", attention_units=None, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, POOLING_MODES)
        self.attention_units = attention_units
        self.supports_masking = True

    def build(self, input_shape):
        if self.mode == "attention":
            dim = input_shape[-1]
            units = self.attention_units or dim
            self.score_kernel = self.add_weight(
                name="score_kernel", shape=(dim, units),
                initializer="glorot_uniform",
            )
            self.score_bias = self.add_weight(
                name="score_bias", shape=(units,), initializer="zeros"
            )
            self.score_vector = self.add_weight(
                name="score_vector", shape=(units,),
                initializer="glorot_uniform",
            )

    def call(self, inputs, mask=None):
        steps = ops.shape(inputs)[-2]
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:-1], dtype="bool")
        mask = ops.cast(mask, "bool")
        weights_mask = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        if self.mode == "last":
            positions = ops.arange(steps, dtype="int32")
            last = ops.max(ops.where(mask, positions, -1), axis=-1)
            last = ops.maximum(last, 0)
            pick = ops.expand_dims(ops.one_hot(last, steps, dtype=inputs.dtype), -1)
            return ops.sum(inputs * pick * weights_mask, axis=-2)
        if self.mode == "mean":
            total = ops.sum(inputs * weights_mask, axis=-2)
            count = ops.maximum(ops.sum(weights_mask, axis=-2), 1.0)
            return total / count
        if self.mode == "max":
            very_low = ops.cast(-1e9, inputs.dtype)
            pooled = ops.max(ops.where(weights_mask > 0, inputs, very_low), axis=-2)
            any_real = ops.expand_dims(ops.any(mask, axis=-1), -1)
            return ops.where(any_real, pooled, ops.zeros_like(pooled))
        hidden = ops.tanh(ops.matmul(inputs, self.score_kernel) + self.score_bias)
        scores = ops.matmul(hidden, ops.cast(self.score_vector, hidden.dtype))
        scores = ops.cast(scores, "float32")
        scores = ops.where(mask, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        weights = ops.expand_dims(ops.cast(weights, inputs.dtype), -1) * weights_mask
        return ops.sum(inputs * weights, axis=-2)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (input_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, attention_units=self.attention_units)
        return config
