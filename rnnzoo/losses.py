"""Losses of probabilistic forecasts: pinball (quantile) loss and distribution NLL.

Both are serialisable Keras losses (`keras.ops` only: TensorFlow and JAX)
for the heads of `rnnzoo.layers.distribution_heads`; `rnnzoo.compile_for`
picks them for a forecaster built with `quantiles=` or `distribution=`.
`distribution_quantiles` reads quantiles off predicted parameters (NumPy,
SciPy's inverse CDFs).
"""

import math

import keras
import numpy as np
from keras import ops

from rnnzoo.layers.distribution_heads import DISTRIBUTIONS
from rnnzoo.layers.distribution_heads import check_quantiles
from rnnzoo.validation import check_choice


def _targets_like(y_true, y_pred):
    """`y_true` with a trailing axis of 1 against `y_pred`'s last (quantile/parameter) axis."""
    y_true = ops.cast(y_true, y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    if len(y_true.shape) != len(y_pred.shape) or y_true.shape[-1] not in (1, None):
        raise ValueError(
            "Expected targets shaped like the predictions without their last axis "
            f"(or with a last axis of 1). Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(y_pred.shape)}"
        )
    return y_true


@keras.saving.register_keras_serializable(package="rnnzoo")
class PinballLoss(keras.losses.Loss):
    """Pinball (quantile) loss averaged over the quantile levels.

    For level `q` and error `e = y - y_q`: `max(q * e, (q - 1) * e)`; its
    minimiser over a distribution of `y` is that distribution's `q`-quantile
    (at `q = 0.5`, half the absolute error).

    Args:
        quantiles: the levels of the last axis of `y_pred`.
        weights: one non-negative weight per level (None: all equal); the
            loss is the weighted mean over the levels (e.g. more weight on
            0.5 when the median is also the point forecast).
        name, reduction, dtype: as any Keras loss.

    Example:

    >>> import numpy as np
    >>> loss = PinballLoss(quantiles=(0.1, 0.9))
    >>> # y = 1: below q0.1 = 0 by 1 costs 0.1; below q0.9 = 3 by -2 costs 0.2
    >>> round(float(loss(np.array([[1.0]]), np.array([[[0.0, 3.0]]]))), 4)
    0.15
    """

    def __init__(self, quantiles, weights=None, name="pinball_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.quantiles = check_quantiles(quantiles)
        if weights is not None:
            try:
                weights = tuple(float(w) for w in weights)
            except (TypeError, ValueError):
                weights = ()
            if len(weights) != len(self.quantiles) or min(weights) < 0 or sum(weights) <= 0:
                raise ValueError(
                    f"Expected `weights`: {len(self.quantiles)} non-negative numbers, one per "
                    f"quantile level, not all zero. Received: weights={weights!r}"
                )
        self.weights = weights

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(self.quantiles):
            raise ValueError(
                f"Expected y_pred's last axis to hold {len(self.quantiles)} quantiles "
                f"{self.quantiles}. Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        error = _targets_like(y_true, y_pred) - y_pred
        q = ops.convert_to_tensor(np.asarray(self.quantiles), dtype=y_pred.dtype)
        pinball = ops.maximum(q * error, (q - 1.0) * error)
        if self.weights is None:
            return ops.mean(pinball, axis=-1)
        w = np.asarray(self.weights) / np.sum(self.weights)
        return ops.sum(pinball * ops.convert_to_tensor(w, dtype=y_pred.dtype), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles),
                "weights": None if self.weights is None else list(self.weights)}


def _lgamma(x):
    """log Gamma(x) for x > 0 in `keras.ops` (no lgamma op): shift by 6, then Stirling.

    Absolute error below 1e-6 in float32 over x >= 0.5 (tested against
    `math.lgamma`).
    """
    shift = ops.log(x * (x + 1) * (x + 2) * (x + 3) * (x + 4) * (x + 5))
    z = x + 6.0
    inv = 1.0 / z
    series = inv * (1.0 / 12 - inv * inv * (1.0 / 360 - inv * inv / 1260))
    return (z - 0.5) * ops.log(z) - z + 0.5 * math.log(2 * math.pi) + series - shift


@keras.saving.register_keras_serializable(package="rnnzoo")
class DistributionNLL(keras.losses.Loss):
    """Negative log-likelihood of the targets under predicted distribution parameters.

    `y_pred`'s last axis holds `DistributionParameters`' output: `(loc,
    scale)` for `"normal"`, `(loc, scale, df)` for `"student_t"`.

    Args:
        distribution: `"normal"` or `"student_t"`.
        name, reduction, dtype: as any Keras loss.

    Example:

    >>> import numpy as np
    >>> nll = DistributionNLL("normal")
    >>> round(float(nll(np.array([[0.0]]), np.array([[[0.0, 1.0]]]))), 4)  # log sqrt(2 pi)
    0.9189
    """

    def __init__(self, distribution="normal", name="distribution_nll",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.distribution = check_choice("distribution", distribution, sorted(DISTRIBUTIONS))

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y = _targets_like(y_true, y_pred)[..., 0]
        loc, scale = y_pred[..., 0], y_pred[..., 1]
        z = (y - loc) / scale
        if self.distribution == "normal":
            return ops.log(scale) + 0.5 * math.log(2 * math.pi) + 0.5 * z * z
        df = y_pred[..., 2]
        return (
            _lgamma(df / 2) - _lgamma((df + 1) / 2) + 0.5 * ops.log(df * math.pi)
            + ops.log(scale) + (df + 1) / 2 * ops.log1p(z * z / df)
        )

    def get_config(self):
        return {**super().get_config(), "distribution": self.distribution}


def distribution_quantiles(parameters, quantiles, distribution):
    """Quantiles of predicted distributions (SciPy's inverse CDFs).

    Args:
        parameters: `(..., num_parameters)` array, `DistributionParameters`'
            output.
        quantiles: the levels wanted.
        distribution: `"normal"` or `"student_t"`.

    Returns:
        `(..., len(quantiles))` float64 array, increasing along the last axis.

    Example:

    >>> distribution_quantiles(np.array([[0.0, 1.0]]), (0.5, 0.975), "normal").round(2)
    array([[0.  , 1.96]])
    """
    from scipy import stats

    quantiles = np.asarray(check_quantiles(quantiles))
    parameters = np.asarray(parameters, dtype="float64")
    check_choice("distribution", distribution, sorted(DISTRIBUTIONS))
    if parameters.shape[-1] != len(DISTRIBUTIONS[distribution]):
        raise ValueError(
            f"Expected parameters whose last axis holds {distribution!r}'s "
            f"{DISTRIBUTIONS[distribution]}. Received: "
            f"distribution={distribution!r}, parameters.shape={parameters.shape}"
        )
    loc, scale = parameters[..., :1], parameters[..., 1:2]
    if distribution == "normal":
        return stats.norm.ppf(quantiles, loc=loc, scale=scale)
    return stats.t.ppf(quantiles, parameters[..., 2:3], loc=loc, scale=scale)
