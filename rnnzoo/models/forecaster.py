"""Time-series forecaster: `sequence_length` past steps -> `horizon` future steps."""

import keras

from rnnzoo.layers.distribution_heads import DISTRIBUTIONS
from rnnzoo.layers.distribution_heads import DistributionParameters
from rnnzoo.layers.distribution_heads import MonotoneQuantiles
from rnnzoo.layers.distribution_heads import Select
from rnnzoo.layers.distribution_heads import check_quantiles
from rnnzoo.layers.masks import TimeSlice
from rnnzoo.layers.recurrent_stack import apply_stack
from rnnzoo.layers.recurrent_stack import build_stack_layers
from rnnzoo.models.common import check_builder_name
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

MULTISTEP = ("direct", "autoregressive")


def forecaster(
    *,
    sequence_length,
    num_features=1,
    horizon=1,
    num_targets=1,
    num_covariates=0,
    multistep="direct",
    cell="gru",
    units=64,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    quantiles=None,
    distribution=None,
    name="forecaster",
):
    """Builds a forecaster: `sequence_length` past steps -> `horizon` future steps.

    The history input is `(batch, sequence_length, num_features)`; its first
    `num_targets` features are the targets. The output is
    `(batch, horizon, num_targets)` point forecasts, or probabilistic ones:

    - `quantiles=(0.1, 0.5, 0.9)`: `(batch, horizon, num_targets,
      len(quantiles))` quantile forecasts that never cross (a
      `MonotoneQuantiles` head: the lowest plus non-negative increments);
      `rnnzoo.compile_for` trains them on `rnnzoo.losses.PinballLoss`.
    - `distribution="normal"` or `"student_t"`: `(batch, horizon,
      num_targets, 2 or 3)` parameters `(loc, scale[, df])` per step (a
      `DistributionParameters` head), trained on
      `rnnzoo.losses.DistributionNLL`; read quantiles off them with
      `rnnzoo.losses.distribution_quantiles`.

    Known-future covariates (calendar features, scheduled values):
    `num_covariates > 0` adds a second input `(batch, horizon, num_covariates)`
    holding their values over the forecast horizon; in the history they are
    the LAST `num_covariates` features.

    Multi-step forecasts (`multistep`):
    - `"direct"`: the stack reads the history; one `Dense` maps its final
      output (and the flattened future covariates) to all horizon steps at
      once.
    - `"autoregressive"`: after reading the history, the same recurrent
      layers roll forward one step at a time, feeding back their own
      prediction of the non-covariate features (plus that step's known
      covariates); the loop is unrolled in the graph (`horizon` steps).
      A probabilistic autoregressive forecaster feeds back its median (the
      0.5 quantile, which `quantiles` must then include) or its
      distribution's location: one path rolled forward, not samples, so
      its later steps' spread is what the head learned for them, not a
      propagation of the earlier steps' uncertainty.

    Args:
        sequence_length: number of past steps (the input length).
        num_features: features per past step.
        horizon: number of future steps to predict.
        num_targets: how many leading features are forecast.
        num_covariates: number of known-future covariates.
        multistep: how the horizon is forecast: `"direct"` (all steps at
            once) or `"autoregressive"` (one step at a time).
        cell, units, num_layers, bidirectional, merge_mode, residual,
        dropout, recurrent_dropout, layer_norm: the stack (bidirectional
            only with `"direct"`).
        quantiles: quantile levels to forecast (strictly increasing inside
            (0, 1)); None: point forecasts.
        distribution: `"normal"` or `"student_t"` to forecast distribution
            parameters instead (not with `quantiles`).
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.forecaster(sequence_length=24, num_features=3, horizon=6,
    ...     num_targets=1, multistep="autoregressive", units=16)
    >>> model(np.ones((2, 24, 3))).shape
    TensorShape([2, 6, 1])
    >>> model = rnnzoo.forecaster(sequence_length=24, horizon=6, quantiles=(0.1, 0.5, 0.9))
    >>> model(np.ones((2, 24, 1))).shape
    TensorShape([2, 6, 1, 3])
    """
    name = check_builder_name(name)
    multistep = check_choice("multistep", multistep, MULTISTEP)
    sequence_length = check_positive_int("sequence_length", sequence_length)
    num_features = check_positive_int("num_features", num_features)
    horizon = check_positive_int("horizon", horizon)
    num_targets = check_positive_int("num_targets", num_targets)
    if (
        isinstance(num_covariates, bool)
        or not isinstance(num_covariates, int)
        or num_covariates < 0
    ):
        raise ValueError(
            "Expected `num_covariates` to be a non-negative integer. "
            f"Received: num_covariates={num_covariates!r}"
        )
    if num_targets + num_covariates > num_features:
        raise ValueError(
            "Expected num_targets + num_covariates <= num_features (targets "
            "lead the features, covariates end them). Received: "
            f"num_targets={num_targets}, num_covariates={num_covariates}, "
            f"num_features={num_features}"
        )
    if multistep == "autoregressive" and bidirectional:
        raise ValueError(
            "An autoregressive forecaster rolls its states forward in time, "
            "so it cannot be bidirectional. Received: bidirectional=True, "
            "multistep='autoregressive'"
        )
    if quantiles is not None and distribution is not None:
        raise ValueError(
            "Expected either `quantiles` or `distribution`, not both. Received: "
            f"quantiles={quantiles!r}, distribution={distribution!r}"
        )
    head, feedback = None, None
    if quantiles is not None:
        quantiles = check_quantiles(quantiles)
        head = MonotoneQuantiles(quantiles, dtype="float32", name=f"{name}_quantiles")
        medians = [k for k, q in enumerate(quantiles) if abs(q - 0.5) < 1e-9]
        if multistep == "autoregressive" and not medians:
            raise ValueError(
                "An autoregressive quantile forecaster feeds back its median: "
                f"`quantiles` must include 0.5. Received: quantiles={quantiles!r}"
            )
        feedback = medians[0] if medians else None
    elif distribution is not None:
        check_choice("distribution", distribution, sorted(DISTRIBUTIONS))
        head = DistributionParameters(distribution, dtype="float32",
                                      name=f"{name}_distribution")
        feedback = 0  # the location
    width = 1 if head is None else (
        len(quantiles) if quantiles is not None else len(DISTRIBUTIONS[distribution]))
    history = keras.Input(shape=(sequence_length, num_features), name=f"{name}_history")
    inputs = [history]
    covariates = None
    if num_covariates:
        covariates = keras.Input(
            shape=(horizon, num_covariates), name=f"{name}_future_covariates"
        )
        inputs.append(covariates)
    stack = build_stack_layers(
        cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, return_sequences=False,
        input_dim=num_features, name=f"{name}_encoder",
    )
    encoded, states = apply_stack(stack, history)
    if multistep == "direct":
        x = encoded
        if covariates is not None:
            flat = keras.layers.Flatten(name=f"{name}_covariates_flatten")(covariates)
            x = keras.layers.Concatenate(name=f"{name}_concat")([x, flat])
        x = keras.layers.Dense(horizon * num_targets * width, dtype="float32",
                               name=f"{name}_output")(x)
        shape = (horizon, num_targets) if head is None else (horizon, num_targets, width)
        outputs = keras.layers.Reshape(shape, dtype="float32", name=f"{name}_reshape")(x)
        if head is not None:
            outputs = head(outputs)
        return keras.Model(inputs if covariates is not None else history, outputs, name=name)

    predicted = num_features - num_covariates
    dense = keras.layers.Dense(predicted * width, dtype="float32", name=f"{name}_output")
    shape = (1, predicted) if head is None else (1, predicted, width)
    to_step = keras.layers.Reshape(shape, dtype="float32", name=f"{name}_to_step")
    select = None if head is None else Select(feedback, dtype="float32",
                                              name=f"{name}_feedback")

    def step_outputs(encoded):
        """`(output, fed back)`: the step's forecast, and what the next step reads."""
        x = to_step(dense(encoded))
        if head is None:
            return x, x
        x = head(x)
        return x, select(x)

    steps = []
    output, prediction = step_outputs(encoded)
    steps.append(output)
    for t in range(1, horizon):
        step_input = prediction
        if covariates is not None:
            known = TimeSlice(t - 1, t, name=f"{name}_covariates_{t}")(covariates)
            step_input = keras.layers.Concatenate(name=f"{name}_step_input_{t}")(
                [prediction, known]
            )
        encoded, states = apply_stack(stack, step_input, initial_state=states)
        output, prediction = step_outputs(encoded)
        steps.append(output)
    x = (
        keras.layers.Concatenate(axis=1, dtype="float32", name=f"{name}_steps")(steps)
        if len(steps) > 1 else steps[0]
    )
    outputs = TimeSlice(None, None, 0, num_targets, dtype="float32", name=f"{name}_targets")(x)
    return keras.Model(inputs if covariates is not None else history, outputs, name=name)
