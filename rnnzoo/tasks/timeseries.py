"""Forecasting workflow: windows, train-only normalisation, baselines, errors.

The time-series recipe (`recipes/timeseries.py`) is a thin script over this
module. The approach:

- Chronological train / validation / test parts; every statistic used to
  normalise (means, standard deviations, residual scales) is fitted on the
  training part only.
- Windows of `input_width` past steps and `horizon` future steps are cut with
  `keras.utils.timeseries_dataset_from_array`; a window is named by its
  *origin*, the row index of its first forecast step.
- The network predicts the RESIDUAL over a simple anchor forecast (the naive
  forecast: last observed value, or the seasonal-naive one), standardised per
  horizon step on the training windows; the history it reads is expressed
  relative to the last observed value, so a trending series (co2) never
  leaves the range the network was trained on.
- Baselines on the same rolling origins: naive, seasonal naive and
  statsmodels' additive Holt-Winters `ExponentialSmoothing`, fitted once on
  everything before the test part (training + validation); its fitted
  smoothing parameters are then run forward over the test part (the same
  recursion as statsmodels, checked against it in the tests), so every origin's ETS forecast uses all data up
  to that origin, exactly like the network's.
- Errors: MAE, RMSE and MASE (scaled by the in-sample seasonal-naive MAE of
  the training part, `rnnzoo.mase`), over every (origin, horizon step).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import keras
import numpy as np
import pandas as pd

from rnnzoo.data.datasets.series import SERIES
from rnnzoo.data.datasets.series import load_series
from rnnzoo.metrics import mase
from rnnzoo.models.forecaster import forecaster
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

RESIDUALS = ("naive", "seasonal", "none")


@dataclasses.dataclass
class ForecastConfig:
    """Settings of one forecasting task (defaults per series in `CONFIGS`).

    Attributes:
        series: a name of `rnnzoo.data.datasets.SERIES`.
        input_width: past steps the model reads.
        horizon: future steps forecast from each origin.
        test_size: rows (int) or fraction (float) of the series for test.
        validation_size: rows or fraction for validation.
        eval_stride: steps between test origins.
        eval_hour: if set, test origins are the rows at this hour of the day
            (daily rolling origins for hourly data).
        residual: the anchor the network predicts a residual over:
            `"naive"` (last value), `"seasonal"` (same step one season
            earlier) or `"none"`.
        level_input: also feed the target's globally normalised level.
        log_columns: columns modelled after `log1p` (heavy-tailed, >= 0).
        feature_columns: extra past-only columns read from the frame
            (`None`: all non-target columns).
        calendar: known-future calendar covariates: any of `"hour"`,
            `"dayofweek"`, `"dayofyear"` (sin/cos pairs).
        ets_trend, ets_damped, ets_seasonal: the Holt-Winters baseline.
        cell, units, num_layers, dropout: the recurrent stack.
        strategy: `"direct"` or `"autoregressive"`.
        epochs, batch_size, learning_rate, patience: training.
        ensemble: number of networks (different seeds) averaged.
        train_stride: steps between training origins.
    """

    series: str = "co2"
    input_width: int = 104
    horizon: int = 52
    test_size: float = 104
    validation_size: float = 104
    eval_stride: int = 1
    eval_hour: int | None = None
    residual: str = "seasonal"
    level_input: bool = False
    log_columns: tuple = ()
    feature_columns: tuple | None = None
    calendar: tuple = ("dayofyear",)
    ets_trend: str | None = "add"
    ets_damped: bool = False
    ets_seasonal: str | None = "add"
    cell: str = "gru"
    units: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    strategy: str = "direct"
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 10
    ensemble: int = 3
    train_stride: int = 1


CONFIGS = {
    "co2": ForecastConfig(),
    "beijing_pm25": ForecastConfig(
        series="beijing_pm25", input_width=72, horizon=24, test_size=0.2,
        validation_size=0.1, eval_hour=0, residual="naive", level_input=True,
        log_columns=("pm25", "Iws", "Is", "Ir"),
        calendar=("hour", "dayofweek", "dayofyear"), ets_damped=True,
        units=64, epochs=12, batch_size=256, learning_rate=2e-3, patience=3,
        ensemble=3, train_stride=1,
    ),
}
"""Recipe defaults per series (others fall back to a season-based config)."""


def default_config(series, **overrides):
    """The recipe's defaults for `series`, with `overrides` applied.

    Args:
        series: a name of `rnnzoo.data.datasets.SERIES`.
        **overrides: `ForecastConfig` fields to change.

    Returns:
        A `ForecastConfig`.

    Example:

    >>> default_config("co2", epochs=2).horizon
    52
    """
    if series not in SERIES:
        raise ValueError(
            f"Expected `series` to be one of {sorted(SERIES)}. "
            f"Received: series={series!r}"
        )
    if series in CONFIGS:
        config = dataclasses.replace(CONFIGS[series])
    else:
        m = SERIES[series].season_length
        config = ForecastConfig(
            series=series, input_width=2 * m, horizon=m, test_size=0.15,
            validation_size=0.1, calendar=(), ets_damped=True,
        )
    for key, value in overrides.items():
        if value is None:
            continue
        if not hasattr(config, key):
            raise ValueError(
                f"Unknown forecasting setting. Received: {key}={value!r}"
            )
        setattr(config, key, value)
    check_choice("residual", config.residual, RESIDUALS)
    check_positive_int("input_width", config.input_width)
    check_positive_int("horizon", config.horizon)
    return config


def make_windows(array, input_width, horizon, first_origin, last_origin,
                 stride=1, batch_size=4096):
    """Cuts (history, future) windows with `timeseries_dataset_from_array`.

    A window with origin `t` has history rows `t - input_width .. t - 1`
    and future rows `t .. t + horizon - 1`. Origins run from `first_origin`
    to at most `last_origin`, `stride` apart.

    Args:
        array: `(time, features)` array.
        input_width: past steps per window.
        horizon: future steps per window.
        first_origin: the first origin (>= `input_width`).
        last_origin: the last allowed origin (<= `len(array) - horizon`).
        stride: steps between origins.
        batch_size: batch size used while materialising.

    Returns:
        `(history, future, origins)`: `(n, input_width, features)`,
        `(n, horizon, features)` float32 arrays and the `(n,)` origins.

    Example:

    >>> h, f, o = make_windows(np.arange(10.0)[:, None], 3, 2, 3, 8)
    >>> h[0, :, 0].tolist(), f[0, :, 0].tolist(), o.tolist()
    ([0.0, 1.0, 2.0], [3.0, 4.0], [3, 4, 5, 6, 7, 8])
    """
    array = np.asarray(array, dtype="float32")
    if array.ndim == 1:
        array = array[:, None]
    if first_origin < input_width or last_origin > len(array) - horizon:
        raise ValueError(
            "Expected input_width <= first_origin <= last_origin <= "
            f"len(array) - horizon. Received: first_origin={first_origin}, "
            f"last_origin={last_origin}, input_width={input_width}, "
            f"horizon={horizon}, len(array)={len(array)}"
        )
    if last_origin < first_origin:
        raise ValueError(
            "Expected last_origin >= first_origin. Received: "
            f"first_origin={first_origin}, last_origin={last_origin}"
        )
    length = input_width + horizon
    dataset = keras.utils.timeseries_dataset_from_array(
        array[first_origin - input_width : last_origin + horizon], None,
        sequence_length=length, sequence_stride=stride,
        batch_size=batch_size, shuffle=False,
    )
    windows = np.concatenate([np.asarray(b) for b in dataset], axis=0)
    origins = first_origin + stride * np.arange(len(windows))
    return windows[:, :input_width], windows[:, input_width:], origins


def anchor_forecast(target, origins, horizon, kind, season):
    """Naive or seasonal-naive forecasts of `target` from each origin.

    Args:
        target: `(time,)` series (whole frame; only rows before each origin
            are read).
        origins: origins (row index of the first forecast step).
        horizon: steps forecast.
        kind: `"naive"` (repeat the last value), `"seasonal"` (the value
            one season earlier, repeated every season) or `"none"` (zeros).
        season: season length.

    Returns:
        `(len(origins), horizon)` array.

    Example:

    >>> anchor_forecast(np.arange(10.0), [6], 3, "seasonal", 4).tolist()
    [[2.0, 3.0, 4.0]]
    """
    target = np.asarray(target, dtype="float64")
    origins = np.asarray(origins)
    h = np.arange(horizon)
    if kind == "naive":
        return np.repeat(target[origins - 1][:, None], horizon, axis=1)
    if kind == "seasonal":
        back = season * (h // season + 1)
        return target[origins[:, None] + h[None, :] - back[None, :]]
    return np.zeros((len(origins), horizon))


# ------------------------------------------------------------------ ETS


def fit_ets(train, season, trend="add", damped=False, seasonal="add"):
    """Fits statsmodels' Holt-Winters `ExponentialSmoothing` on `train`.

    Args:
        train: the training part of the target, 1-D.
        season: seasonal period.
        trend, damped, seasonal: as statsmodels' `trend`, `damped_trend`,
            `seasonal` (additive or None only).

    Returns:
        The statsmodels `HoltWintersResults`.
    """
    import warnings

    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            np.asarray(train, dtype="float64"), trend=trend,
            damped_trend=damped if trend else False, seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
            initialization_method="estimated",
        )
        return model.fit(optimized=True)


def ets_rolling_forecasts(result, series, origins, horizon):
    """Holt-Winters forecasts from each origin with the fitted parameters.

    Runs statsmodels' additive recursion (same formulas as
    `ExponentialSmoothing._predict`) over `series` (the training part
    followed by later data) starting from the fitted initial states, and
    forecasts `horizon` steps from each origin using only data before it.

    Args:
        result: `fit_ets` result (fitted on `series[:n_train]`).
        series: the whole target series (train, validation, test).
        origins: origins (row indices into `series`).
        horizon: steps forecast.

    Returns:
        `(len(origins), horizon)` array.
    """
    model = result.model
    if model.trend == "mul" or model.seasonal == "mul":
        raise ValueError(
            "Only additive trend and seasonality are supported. Received: "
            f"trend={model.trend!r}, seasonal={model.seasonal!r}"
        )
    p = result.params
    alpha = p["smoothing_level"]
    has_trend = model.has_trend
    has_season = model.has_seasonal
    beta = p["smoothing_trend"] if has_trend else 0.0
    gamma = p["smoothing_seasonal"] if has_season else 0.0
    phi = p["damping_trend"] if model.damped_trend else 1.0
    m = model.seasonal_periods if has_season else 1
    y = np.asarray(series, dtype="float64")
    last = int(np.max(origins))
    level = float(p["initial_level"])
    slope = float(p["initial_trend"]) if has_trend else 0.0
    if has_trend and model.damped_trend:
        slope = slope * phi  # statsmodels stores b0 / phi
    seasons = list(np.asarray(p["initial_seasons"], dtype="float64")) if has_season else [0.0]
    # states[i] = (level, slope, last m seasonals) after observing y[:i].
    levels = np.empty(last + 1)
    slopes = np.empty(last + 1)
    season_hist = np.empty(last + m)
    season_hist[:m] = seasons if has_season else 0.0
    levels[0], slopes[0] = level, slope
    for i in range(1, last + 1):
        obs = y[i - 1]
        s_old = season_hist[i - 1]
        prev = level + phi * slope
        new_level = alpha * (obs - s_old) + (1 - alpha) * prev
        if has_trend:
            slope = beta * (new_level - level) + (1 - beta) * phi * slope
        season_hist[i + m - 1] = (
            gamma * (obs - prev) + (1 - gamma) * s_old if has_season else 0.0
        )
        level = new_level
        levels[i], slopes[i] = level, slope
    h = np.arange(1, horizon + 1)
    damp = np.cumsum(phi ** h) if has_trend else np.zeros(horizon)
    out = np.empty((len(origins), horizon))
    for k, t in enumerate(origins):
        s = season_hist[t + (np.arange(horizon) % m)] if has_season else 0.0
        out[k] = levels[t] + damp * slopes[t] + s
    return out


# ---------------------------------------------------------------- errors


def error_table(actual, forecasts, y_train, season):
    """MAE, RMSE and MASE of each forecast over every (origin, step).

    Args:
        actual: `(origins, horizon)` actual values.
        forecasts: dict name -> array of the same shape.
        y_train: training part of the target (MASE scale).
        season: season of the in-sample naive forecast scaling MASE.

    Returns:
        dict name -> `{"mae", "rmse", "mase"}`.

    Example:

    >>> t = error_table(np.array([[2.0, 4.0]]), {"a": np.array([[1.0, 4.0]])},
    ...                 [0.0, 1.0, 2.0], 1)
    >>> t["a"]
    {'mae': 0.5, 'rmse': 0.7071, 'mase': 0.5}
    """
    actual = np.asarray(actual, dtype="float64")
    table = {}
    for name, forecast in forecasts.items():
        error = np.asarray(forecast, dtype="float64") - actual
        table[name] = {
            "mae": round(float(np.mean(np.abs(error))), 4),
            "rmse": round(float(np.sqrt(np.mean(error**2))), 4),
            "mase": round(mase(actual.ravel(), np.asarray(forecast).ravel(),
                               y_train, season), 4),
        }
    return table


def format_table(table, title=""):
    """Formats an `error_table` as aligned text, best MASE first.

    Example:

    >>> print(format_table({"naive": {"mae": 1.0, "rmse": 2.0, "mase": 0.5}}))
    model                 MAE       RMSE     MASE
    naive              1.0000     2.0000   0.5000
    """
    lines = [title] if title else []
    lines.append(f"{'model':<14}{'MAE':>10}{'RMSE':>11}{'MASE':>9}")
    for name, row in sorted(table.items(), key=lambda kv: kv[1]["mase"]):
        lines.append(
            f"{name:<14}{row['mae']:>10.4f}{row['rmse']:>11.4f}{row['mase']:>9.4f}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------- preparation


def _sizes(n, config):
    def rows(size):
        return int(size) if isinstance(size, int) or size >= 1 else int(n * size)

    return rows(config.validation_size), rows(config.test_size)


def calendar_features(index, kinds):
    """sin/cos calendar features of a DatetimeIndex (known in the future).

    Example:

    >>> idx = pd.date_range("2000-01-01", periods=2, freq="h")
    >>> calendar_features(idx, ("hour",)).shape
    (2, 2)
    """
    columns = []
    for kind in kinds:
        if kind == "hour":
            phase = index.hour / 24.0
        elif kind == "dayofweek":
            phase = index.dayofweek / 7.0
        elif kind == "dayofyear":
            phase = (index.dayofyear - 1) / 365.25
        else:
            raise ValueError(
                "Expected calendar kinds among 'hour', 'dayofweek', "
                f"'dayofyear'. Received: {kind!r}"
            )
        columns += [np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)]
    if not columns:
        return np.zeros((len(index), 0))
    return np.stack([np.asarray(c, dtype="float64") for c in columns], axis=1)


@dataclasses.dataclass
class PreparedSeries:
    """A series made ready for windows (see `prepare`)."""

    frame: pd.DataFrame
    target: np.ndarray  # raw target, float64
    transformed: np.ndarray  # g(target)
    features: np.ndarray  # (time, features) model inputs (normalised)
    num_covariates: int
    n_train: int
    n_validation: int
    n_test: int
    season: int
    stats: dict


def prepare(frame, config):
    """Normalises a frame with statistics of its training part only.

    Features, in order: the target's level (if `config.level_input`), the
    other columns, then the calendar covariates (known in the future, so
    last, as `rnnzoo.forecaster` expects). Columns in `config.log_columns`
    go through `log1p` first. The target's change relative to the last
    observed value is added per window in `windows`.

    Returns:
        A `PreparedSeries`.
    """
    target_name = frame.attrs.get("target", frame.columns[0])
    season = int(frame.attrs.get("season_length", 1))
    n = len(frame)
    n_validation, n_test = _sizes(n, config)
    n_train = n - n_validation - n_test
    if n_train <= config.input_width + config.horizon:
        raise ValueError(
            "The training part is shorter than one window. Received: "
            f"n_train={n_train}, input_width={config.input_width}, "
            f"horizon={config.horizon}"
        )
    columns = [target_name] if config.level_input else []
    others = (
        [c for c in frame.columns if c != target_name]
        if config.feature_columns is None else list(config.feature_columns)
    )
    columns += others
    stats = {"columns": columns, "mean": {}, "std": {}, "log": list(config.log_columns)}
    parts = []
    for column in columns:
        values = frame[column].to_numpy(dtype="float64")
        if column in config.log_columns:
            values = np.log1p(np.maximum(values, 0.0))
        mean = float(values[:n_train].mean())
        std = float(values[:n_train].std()) or 1.0
        stats["mean"][column], stats["std"][column] = mean, std
        parts.append((values - mean) / std)
    calendar = calendar_features(frame.index, config.calendar)
    features = np.concatenate(
        [np.stack(parts, axis=1) if parts else np.zeros((n, 0)), calendar], axis=1
    )
    target = frame[target_name].to_numpy(dtype="float64")
    transformed = (
        np.log1p(np.maximum(target, 0.0)) if target_name in config.log_columns else target
    )
    return PreparedSeries(
        frame=frame, target=target, transformed=transformed,
        features=features, num_covariates=calendar.shape[1],
        n_train=n_train, n_validation=n_validation, n_test=n_test,
        season=season, stats=stats,
    )


def invert_target(values, config, target_name):
    """Undoes the target transform (`expm1` for a log column)."""
    return np.expm1(values) if target_name in config.log_columns else values


def origins_for(prepared, config, part):
    """Origins whose whole forecast window lies inside `part`.

    Training origins are `config.train_stride` apart; validation and test
    origins `config.eval_stride` apart, or at `config.eval_hour` each day.
    """
    w, h = config.input_width, config.horizon
    bounds = {
        "train": (w, prepared.n_train - h),
        "validation": (prepared.n_train, prepared.n_train + prepared.n_validation - h),
        "test": (prepared.n_train + prepared.n_validation, len(prepared.target) - h),
    }
    first, last = bounds[part]
    first = max(first, w)
    if part == "train":
        return np.arange(first, last + 1, config.train_stride)
    if config.eval_hour is not None:
        hours = prepared.frame.index.hour
        candidates = np.arange(first, last + 1)
        return candidates[hours[candidates] == config.eval_hour]
    return np.arange(first, last + 1, config.eval_stride)


def windows(prepared, config, origins):
    """Model inputs and residual targets for `origins`.

    Returns:
        `(inputs, residuals, anchors)`: `inputs` is a list for the
        forecaster (history, and future covariates if any), `residuals` the
        `(n, horizon)` transformed-target residuals over the anchor (not yet
        standardised), `anchors` the `(n, horizon)` transformed anchor.
    """
    w, h = config.input_width, config.horizon
    relative = prepared.transformed.copy()
    array = np.concatenate([relative[:, None], prepared.features], axis=1)
    history, future, _ = _windows_at(array, w, h, origins)
    last = history[:, -1:, 0]
    diff_scale = prepared.stats["diff_scale"]
    history = history.copy()
    history[:, :, 0] = (history[:, :, 0] - last) / diff_scale
    anchors = anchor_forecast(
        prepared.transformed, origins, h, config.residual, prepared.season
    )
    residuals = future[:, :, 0].astype("float64") - anchors
    inputs = [history.astype("float32")]
    if prepared.num_covariates:
        inputs.append(future[:, :, -prepared.num_covariates:].astype("float32"))
    return inputs, residuals, anchors


def _windows_at(array, w, h, origins):
    origins = np.asarray(origins)
    strides = np.diff(origins)
    if len(origins) > 1 and np.all(strides == strides[0]):
        history, future, _ = make_windows(array, w, h, int(origins[0]),
                                          int(origins[-1]), int(strides[0]))
        return history, future, origins
    history, future, _ = make_windows(array, w, h, int(origins[0]), int(origins[-1]))
    keep = origins - origins[0]
    return history[keep], future[keep], origins


# --------------------------------------------------------------- training


def build_model(config, num_features, num_covariates, seed=0):
    """The forecaster for `config` (predicts standardised residuals)."""
    keras.utils.set_random_seed(seed)
    model = forecaster(
        sequence_length=config.input_width, num_features=num_features,
        horizon=config.horizon, num_targets=1, num_covariates=num_covariates,
        multistep=config.strategy, cell=config.cell, units=config.units,
        num_layers=config.num_layers, dropout=config.dropout,
        name="forecaster",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
        loss="mae",
    )
    return model


@dataclasses.dataclass
class ForecastResult:
    """What `run` returns."""

    config: ForecastConfig
    table: dict
    actual: np.ndarray
    forecasts: dict
    origins: np.ndarray
    index: pd.DatetimeIndex
    models: list
    history: list
    stats: dict
    train_seconds: float
    per_horizon_mae: dict


def run(config, data_dir=None, frame=None, verbose=1, scope=None, fit=None, search=None):
    """Trains the forecaster ensemble and scores it against the baselines.

    Args:
        config: a `ForecastConfig` (see `default_config`).
        data_dir: passed to `load_series`.
        frame: use this frame instead of loading `config.series`.
        verbose: Keras verbosity of `fit`.
        scope: a function returning the context to build and compile each
            network in (e.g. a distribution strategy's `scope`).
        fit: `fit(model, x, y, name=..., **kwargs)` used instead of
            `model.fit` (`name`: `"forecaster_<k>"` for member k); it must
            leave the best epoch's weights (by `val_loss`) in the model, as
            `recipe.fit` does: the early stopping
            only restores them when `fit` is None.
        search: `search(x, y, validation_data, fixed)` called INSTEAD of
            training (a hyperparameter search; `fixed`: the forecaster's
            data-dependent arguments); `run` returns what it returns.

    Returns:
        A `ForecastResult` (its `table` has rows `"rnn"`, `"naive"`,
        `"seasonal_naive"` and `"ets"`).

    Example:

    >>> result = run(default_config("co2", epochs=1, ensemble=1))  # doctest: +SKIP
    >>> sorted(result.table)  # doctest: +SKIP
    ['ets', 'naive', 'rnn', 'seasonal_naive']
    """
    if frame is None:
        frame = load_series(config.series, data_dir=data_dir)
    prepared = prepare(frame, config)
    target_name = frame.attrs.get("target", frame.columns[0])
    n_train = prepared.n_train
    train_diffs = np.diff(prepared.transformed[:n_train])
    prepared.stats["diff_scale"] = float(np.std(train_diffs)) or 1.0

    train_origins = origins_for(prepared, config, "train")
    val_origins = origins_for(prepared, config, "validation")
    test_origins = origins_for(prepared, config, "test")
    x_train, r_train, _ = windows(prepared, config, train_origins)
    x_val, r_val, _ = windows(prepared, config, val_origins)
    x_test, _, a_test = windows(prepared, config, test_origins)
    mean = r_train.mean(axis=0)
    std = r_train.std(axis=0) + 1e-8
    prepared.stats["residual_mean"] = mean.tolist()
    prepared.stats["residual_std"] = std.tolist()

    def scale(r):
        return ((r - mean) / std)[..., None].astype("float32")

    num_features = x_train[0].shape[-1]
    fit_fn = fit
    if search is not None:
        return search(
            x_train if len(x_train) > 1 else x_train[0], scale(r_train),
            (x_val if len(x_val) > 1 else x_val[0], scale(r_val)),
            dict(sequence_length=config.input_width, num_features=num_features,
                 horizon=config.horizon, num_targets=1,
                 num_covariates=prepared.num_covariates, multistep=config.strategy))
    models, histories = [], []
    start = time.time()
    for k in range(config.ensemble):
        with scope() if scope is not None else contextlib.nullcontext():
            model = build_model(config, num_features, prepared.num_covariates, seed=k)
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience,
                restore_best_weights=fit_fn is None,  # recipe.fit restores it itself
            )
        ]
        fit = (fit_fn or type(model).fit)(
            model, x_train if len(x_train) > 1 else x_train[0], scale(r_train),
            validation_data=(x_val if len(x_val) > 1 else x_val[0], scale(r_val)),
            epochs=config.epochs, batch_size=config.batch_size,
            callbacks=callbacks, verbose=verbose, shuffle=True,
            **({"name": f"forecaster_{k}"} if fit_fn else {}),
        )
        models.append(model)
        histories.append({k2: [float(v) for v in vals] for k2, vals in fit.history.items()})
    train_seconds = time.time() - start

    predictions = np.mean(
        [predict_residuals(m, x_test) for m in models], axis=0
    )
    rnn = invert_target(a_test + predictions * std + mean, config, target_name)

    actual = np.stack([prepared.target[t:t + config.horizon] for t in test_origins])
    y_train = prepared.target[:n_train]
    forecasts = {
        "rnn": rnn,
        "naive": anchor_forecast(prepared.target, test_origins, config.horizon,
                                 "naive", prepared.season),
        "seasonal_naive": anchor_forecast(prepared.target, test_origins,
                                          config.horizon, "seasonal",
                                          prepared.season),
    }
    # Holt-Winters is fitted on everything before the test part (training
    # and validation parts; the network sees the validation part too, for
    # early stopping): the stronger of the two choices on co2.
    before_test = prepared.target[: n_train + prepared.n_validation]
    ets = fit_ets(before_test, prepared.season, trend=config.ets_trend,
                  damped=config.ets_damped, seasonal=config.ets_seasonal)
    forecasts["ets"] = ets_rolling_forecasts(ets, prepared.target, test_origins,
                                             config.horizon)
    table = error_table(actual, forecasts, y_train, prepared.season)
    per_horizon = {
        name: np.round(np.mean(np.abs(f - actual), axis=0), 4).tolist()
        for name, f in forecasts.items()
    }
    return ForecastResult(
        config=config, table=table, actual=actual, forecasts=forecasts,
        origins=test_origins, index=frame.index, models=models,
        history=histories, stats=prepared.stats, train_seconds=train_seconds,
        per_horizon_mae=per_horizon,
    )


def predict_residuals(model, inputs):
    """Standardised residuals `(n, horizon)` predicted by one model."""
    x = inputs if len(inputs) > 1 else inputs[0]
    return np.asarray(model.predict(x, verbose=0, batch_size=1024))[..., 0]
