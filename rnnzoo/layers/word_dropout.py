"""Word dropout: token ids replaced by the unknown-word id at random during training."""

import keras
from keras import ops

from rnnzoo.validation import check_fraction


@keras.saving.register_keras_serializable(package="rnnzoo")
class WordDropout(keras.layers.Layer):
    """Replaces each real token id by `unknown_id` with probability `rate`, in training only.

    The unknown-word embedding is then trained in real contexts, not only
    from the rare words mapped to it (Kiperwasser & Goldberg 2016; Plank et
    al. 2016 use it for taggers). Padding ids (0) stay 0; at inference the
    ids pass through unchanged.

    Args:
        rate: the fraction of real tokens replaced.
        unknown_id: the id they become (1 in rnnzoo's vocabularies and
            Keras' `TextVectorization`).
        seed: optional seed.

    Example:

    >>> import numpy as np
    >>> layer = WordDropout(0.5, seed=0)
    >>> ids = np.array([[5, 6, 7, 8, 0, 0]])
    >>> np.asarray(layer(ids)).tolist()  # inference: unchanged
    [[5, 6, 7, 8, 0, 0]]
    >>> dropped = np.asarray(layer(ids, training=True))
    >>> set(dropped[0, :4].tolist()) <= {1, 5, 6, 7, 8}, dropped[0, 4:].tolist()
    (True, [0, 0])
    """

    def __init__(self, rate, unknown_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_fraction("rate", rate)
        self.unknown_id = int(unknown_id)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, ids, training=False):
        if not training or self.rate == 0:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        drop = ops.logical_and(drop, ops.not_equal(ids, 0))
        return ops.where(drop, ops.cast(self.unknown_id, ids.dtype), ids)

    def compute_output_spec(self, ids, training=False):
        return keras.KerasTensor(ids.shape, dtype=ids.dtype)  # ids, under any dtype policy

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, unknown_id=self.unknown_id, seed=self.seed)
        return config
