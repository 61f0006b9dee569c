"""Small layers that make masks and slices explicit tensors."""

import keras
import numpy as np  # noqa: F401  (used by the docstring examples)
from keras import ops


@keras.saving.register_keras_serializable(package="rnnzoo")
class PaddingMask(keras.layers.Layer):
    """Returns `ids != pad_id` as a boolean `(batch, time)` tensor.

    rnnzoo passes this mask explicitly wherever states are passed too, since
    Keras drops a mask carried on a tensor when `initial_state` is given.

    Example:

    >>> PaddingMask()(np.array([[3, 4, 0]])).numpy().tolist()
    [[True, True, False]]
    """

    def __init__(self, pad_id=0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = pad_id

    def call(self, ids):
        return ops.not_equal(ids, self.pad_id)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")

    def get_config(self):
        config = super().get_config()
        config.update(pad_id=self.pad_id)
        return config


@keras.saving.register_keras_serializable(package="rnnzoo")
class TimeSlice(keras.layers.Layer):
    """Takes `inputs[:, start:stop, first_feature:last_feature]` (axes 1 and 2, any rank >= 3).

    Example:

    >>> TimeSlice(-1, None, 0, 1)(np.ones((2, 5, 3))).shape
    TensorShape([2, 1, 1])
    """

    def __init__(self, start=None, stop=None, first_feature=None,
                 last_feature=None, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop
        self.first_feature, self.last_feature = first_feature, last_feature

    def call(self, inputs):
        return inputs[:, self.start:self.stop, self.first_feature:self.last_feature]

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is not None:
            steps = len(range(steps)[self.start:self.stop])
        features = len(range(input_shape[2])[self.first_feature:self.last_feature])
        return (input_shape[0], steps, features) + tuple(input_shape[3:])

    def get_config(self):
        config = super().get_config()
        config.update(start=self.start, stop=self.stop,
                      first_feature=self.first_feature,
                      last_feature=self.last_feature)
        return config


@keras.saving.register_keras_serializable(package="rnnzoo")
class FirstStep(keras.layers.Layer):
    """Returns `inputs[:, 0]` (drops the time axis of a one-step sequence).

    Example:

    >>> FirstStep()(np.ones((2, 1, 5))).shape
    TensorShape([2, 5])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs[:, 0]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])
