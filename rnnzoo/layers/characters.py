"""A word's vector from its characters: a masked character CNN (Ma & Hovy 2016)."""

import keras
from keras import ops

from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.validation import check_positive_int


@keras.saving.register_keras_serializable(package="rnnzoo")
class CharacterCNN(keras.layers.Layer):
    """Maps embedded characters `(batch, words, characters, dim)` to `(batch, words, filters)`.

    A 1-D convolution over each word's characters (`"same"` padding, tanh),
    then the maximum over the word's real characters. Padded characters
    (mask False) are zeroed before the convolution and left out of the
    maximum, so a word's vector does not depend on how far its batch pads
    characters; a padded word (no character) gets zeros.

    Args:
        filters: the word vector's width.
        kernel_size: characters per convolution window.

    Call arguments:
        inputs: `(batch, words, characters, dim)` character embeddings.
        mask: `(batch, words, characters)` booleans (an
            `Embedding(mask_zero=True)` attaches it).

    Example:

    >>> import numpy as np
    >>> layer = CharacterCNN(filters=6)
    >>> chars = np.ones((2, 5, 7, 4), "float32")
    >>> tuple(layer(chars).shape)
    (2, 5, 6)
    """

    def __init__(self, filters=50, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.supports_masking = True
        self.convolution = keras.layers.Conv1D(
            filters, kernel_size, padding="same", activation="tanh", dtype=self.dtype_policy,
            name="convolution")
        self.pooling = SequencePooling("max", dtype=self.dtype_policy, name="pooling")

    def build(self, input_shape):
        self.convolution.build((None, input_shape[-2], input_shape[-1]))

    def call(self, inputs, mask=None):
        shape = ops.shape(inputs)
        if mask is None:
            mask = ops.ones(shape[:-1], "bool")
        x = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        x = self.convolution(ops.reshape(x, (-1, shape[2], shape[3])))
        x = ops.reshape(x, (shape[0], shape[1], shape[2], self.filters))
        return self.pooling(x, mask=mask)

    def compute_mask(self, inputs, mask=None):
        return None  # the words' mask comes with the word input

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size)
        return config
