"""Probabilistic output heads: non-crossing quantiles and distribution parameters.

A forecaster (`rnnzoo.forecaster(quantiles=...)` or `distribution=...`) ends
in one of these layers; each turns unconstrained `Dense` outputs into values
that are valid by construction:

- `MonotoneQuantiles`: quantile forecasts that never cross (a base value
  plus non-negative increments), trained with `rnnzoo.losses.PinballLoss`;
- `DistributionParameters`: a location, a positive scale and (Student's t)
  degrees of freedom above 2, trained with `rnnzoo.losses.DistributionNLL`.

`Select` takes one entry of the last axis (the median, or the location, an
autoregressive forecaster feeds back).
"""

import keras
from keras import ops

from rnnzoo.validation import check_choice

DISTRIBUTIONS = {"normal": ("loc", "scale"), "student_t": ("loc", "scale", "df")}
"""The distribution heads: their parameters, in the order of the last axis."""

MIN_SCALE = 1e-3
"""The smallest scale `DistributionParameters` gives (keeps the likelihood finite)."""

MIN_DF = 2.0
"""Student's t degrees of freedom stay above this (a finite variance)."""


def check_quantiles(quantiles, name="quantiles"):
    """`quantiles` as a tuple of floats, strictly increasing, inside (0, 1).

    Example:

    >>> check_quantiles([0.1, 0.5, 0.9])
    (0.1, 0.5, 0.9)
    """
    try:
        values = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        values = None
    if (
        not values or any(not 0.0 < q < 1.0 for q in values)
        or any(b <= a for a, b in zip(values, values[1:]))
    ):
        raise ValueError(
            f"Expected `{name}` to be strictly increasing levels inside (0, 1), "
            f"e.g. (0.1, 0.5, 0.9). Received: {name}={quantiles!r}"
        )
    return values


@keras.saving.register_keras_serializable(package="rnnzoo")
class MonotoneQuantiles(keras.layers.Layer):
    """Turns unconstrained values into non-crossing quantiles along `axis`.

    The first entry is the lowest quantile; each next one adds
    `softplus(x)`, which is positive, so the outputs increase along `axis`
    for every input and every weight before the layer. The layer has no
    weights; it keeps the quantile `levels` it stands for (the loss, the
    metrics and `rnnzoo.compile_for` read them).

    Args:
        quantiles: the levels, strictly increasing inside (0, 1); their
            number is the size of `axis`.
        axis: the quantile axis of the input.

    Example:

    >>> import numpy as np
    >>> layer = MonotoneQuantiles(quantiles=(0.1, 0.5, 0.9))
    >>> out = np.asarray(layer(np.array([[2.0, -3.0, 0.0]])))
    >>> bool(np.all(np.diff(out) > 0)), float(out[0, 0])
    (True, 2.0)
    """

    def __init__(self, quantiles, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.quantiles = check_quantiles(quantiles)
        self.axis = int(axis)

    def build(self, input_shape):
        size = input_shape[self.axis]
        if size is not None and size != len(self.quantiles):
            raise ValueError(
                f"Expected the input's axis {self.axis} to hold one value per "
                f"quantile ({len(self.quantiles)}). Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        base, rest = ops.split(inputs, [1], axis=self.axis)
        steps = ops.cumsum(ops.softplus(rest), axis=self.axis)
        return ops.concatenate([base, base + steps], axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(quantiles=list(self.quantiles), axis=self.axis)
        return config


@keras.saving.register_keras_serializable(package="rnnzoo")
class DistributionParameters(keras.layers.Layer):
    """Turns unconstrained values into a distribution's parameters (last axis).

    - `"normal"`: `(loc, scale)`, scale = softplus(x) + `MIN_SCALE`;
    - `"student_t"`: `(loc, scale, df)`, df = `MIN_DF` + softplus(x).

    Args:
        distribution: `"normal"` or `"student_t"`.

    Example:

    >>> import numpy as np
    >>> out = DistributionParameters("student_t")(np.array([[1.0, -50.0, -50.0]]))
    >>> np.asarray(out).astype("float64").round(3).tolist()
    [[1.0, 0.001, 2.0]]
    """

    def __init__(self, distribution="normal", **kwargs):
        super().__init__(**kwargs)
        self.distribution = check_choice("distribution", distribution, sorted(DISTRIBUTIONS))
        self.num_parameters = len(DISTRIBUTIONS[distribution])

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_parameters:
            raise ValueError(
                f"Expected the last axis to hold the {self.num_parameters} parameters "
                f"{DISTRIBUTIONS[self.distribution]} of {self.distribution!r}. "
                f"Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        loc = inputs[..., :1]
        scale = ops.softplus(inputs[..., 1:2]) + MIN_SCALE
        parts = [loc, scale]
        if self.distribution == "student_t":
            parts.append(ops.softplus(inputs[..., 2:3]) + MIN_DF)
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(distribution=self.distribution)
        return config


@keras.saving.register_keras_serializable(package="rnnzoo")
class Select(keras.layers.Layer):
    """Takes `inputs[..., index]` (drops the last axis).

    Example:

    >>> import numpy as np
    >>> Select(1)(np.arange(6.0).reshape(2, 3)).shape
    TensorShape([2])
    """

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[..., self.index]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update(index=self.index)
        return config
