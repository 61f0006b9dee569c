"""Time-series forecaster: `sequence_length` past steps -> `horizon` future steps."""

import keras

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
    name="forecaster",
):
    """Builds a forecaster: `sequence_length` past steps -> `horizon` future steps.

    The history input is `(batch, sequence_length, num_features)`; its first
    `num_targets` features are the targets. The output is
    `(batch, horizon, num_targets)`.

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
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.forecaster(sequence_length=24, num_features=3, horizon=6,
    ...     num_targets=1, multistep="autoregressive", units=16)
    >>> model(np.ones((2, 24, 3))).shape
    TensorShape([2, 6, 1])
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
        x = keras.layers.Dense(horizon * num_targets, dtype="float32", name=f"{name}_output")(x)
        outputs = keras.layers.Reshape(
            (horizon, num_targets), dtype="float32", name=f"{name}_reshape"
        )(x)
        return keras.Model(inputs if covariates is not None else history, outputs, name=name)

    predicted = num_features - num_covariates
    head = keras.layers.Dense(predicted, dtype="float32", name=f"{name}_output")
    to_step = keras.layers.Reshape((1, predicted), dtype="float32", name=f"{name}_to_step")
    steps = []
    prediction = to_step(head(encoded))
    steps.append(prediction)
    for t in range(1, horizon):
        step_input = prediction
        if covariates is not None:
            known = TimeSlice(t - 1, t, name=f"{name}_covariates_{t}")(covariates)
            step_input = keras.layers.Concatenate(name=f"{name}_step_input_{t}")(
                [prediction, known]
            )
        encoded, states = apply_stack(stack, step_input, initial_state=states)
        prediction = to_step(head(encoded))
        steps.append(prediction)
    x = (
        keras.layers.Concatenate(axis=1, dtype="float32", name=f"{name}_steps")(steps)
        if len(steps) > 1 else steps[0]
    )
    outputs = TimeSlice(None, None, 0, num_targets, dtype="float32", name=f"{name}_targets")(x)
    return keras.Model(inputs if covariates is not None else history, outputs, name=name)
