"""Task metrics: perplexity (a Keras metric) and forecasting errors."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="rnnzoo")
class Perplexity(keras.metrics.MeanMetricWrapper):
    """exp(mean token cross-entropy); padded steps (the output mask) left out.

    Example:

    >>> m = Perplexity()
    >>> m.update_state(np.array([[1]]), np.array([[[0.5, 0.5]]]))
    >>> round(float(m.result()), 4)
    2.0
    """

    def __init__(self, name="perplexity", dtype=None):
        super().__init__(
            keras.losses.sparse_categorical_crossentropy, name=name, dtype=dtype
        )

    def result(self):
        return ops.exp(super().result())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def mase(y_true, y_pred, y_train, season=1):
    """Mean absolute scaled error: MAE over the in-sample seasonal-naive MAE.

    Args:
        y_true: actual values of the forecast period.
        y_pred: forecasts, same shape.
        y_train: the training series the scale is computed on.
        season: the season length of the naive forecast used for scaling
            (1 = plain naive).

    Returns:
        A float; below 1 beats the in-sample naive forecast.

    Example:

    >>> mase([3, 4], [3, 5], [1, 2, 3])
    0.5
    """
    y_train = np.asarray(y_train, dtype="float64")
    scale = np.mean(np.abs(y_train[season:] - y_train[:-season]))
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))) / scale)
