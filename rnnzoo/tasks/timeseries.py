"""Time-series forecasting task: an RNN ensemble against three baselines.

`recipes/timeseries.py` is `cli.main` over this module. The approach:

- Chronological train / validation / test parts; every statistic used to
  normalise (means, standard deviations, residual scales) is fitted on the
  training part only.
- Windows of `sequence_length` past steps and `horizon` future steps are cut
  with `keras.utils.timeseries_dataset_from_array`; a window is named by its
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
  recursion as statsmodels, checked against it in the tests), so every
  origin's ETS forecast uses all data up to that origin, exactly like the
  network's.
- Errors: MAE, RMSE and MASE (scaled by the in-sample seasonal-naive MAE of
  the training part, `rnnzoo.mase`), over every (origin, horizon step).

Settings left at None in `Config` take the series' own (`SERIES_SETTINGS`,
and `QUICK` for `Config.quick()`); `resolve` fills them in.
"""

from __future__ import annotations

import dataclasses
import inspect
import os

import numpy as np
import pandas as pd

from rnnzoo import plots
from rnnzoo.data.datasets.series import SERIES
from rnnzoo.data.datasets.series import load_series
from rnnzoo.data.windows import make_windows
from rnnzoo.layers.distribution_heads import check_quantiles
from rnnzoo.layers.recurrent_stack import CELLS
from rnnzoo.losses import PinballLoss
from rnnzoo.losses import distribution_quantiles
from rnnzoo.conformal import conformalize_quantiles
from rnnzoo.conformal import rolling_conformalize_quantiles
from rnnzoo.conformal import split_conformal_intervals
from rnnzoo.metrics import coverage
from rnnzoo.metrics import mase
from rnnzoo.metrics import msis
from rnnzoo.metrics import seasonal_naive_scale
from rnnzoo.metrics import weighted_quantile_loss
from rnnzoo.models.forecaster import forecaster
from rnnzoo.tasks import field
from rnnzoo.tasks.resolved import ResolvedConfig
from rnnzoo.training.runner import Timer
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

NAME = "timeseries"
RESIDUALS = ("naive", "seasonal", "none")
MULTISTEP = ("direct", "autoregressive")
CALIBRATIONS = ("split", "rolling", "none")
SUMMARY = ("series", "rnn_mase", "naive_mase", "seasonal_naive_mase", "ets_mase",
           "best_baseline", "rnn_over_best_baseline_mase", "train_seconds")


_SERIES_DEFAULT = " (default: the series' setting)"


@dataclasses.dataclass
class Config(ResolvedConfig):
    """Settings of one forecasting run; None takes the series' setting (see `resolve`).

    Example:

    >>> settings = resolve(Config(series="co2", epochs=2))
    >>> settings.sequence_length, settings.horizon, settings.epochs
    (104, 52, 2)
    """

    series: str = field("co2", "the series (a name of rnnzoo.data.datasets.SERIES)",
                        choices=tuple(sorted(SERIES)))
    sequence_length: int | None = field(None, "past steps the model reads" + _SERIES_DEFAULT)
    horizon: int | None = field(None, "future steps forecast from each origin" + _SERIES_DEFAULT)
    test_size: float | None = field(
        None, "rows (int) or fraction (float) of the series for test" + _SERIES_DEFAULT)
    validation_size: float | None = field(
        None, "rows or fraction of the series for validation" + _SERIES_DEFAULT)
    eval_stride: int = field(1, "steps between test origins")
    eval_hour: int | None = field(
        None, "test origins are the rows at this hour of the day (daily rolling origins for "
        "hourly data)" + _SERIES_DEFAULT)
    residual: str | None = field(
        None, "the anchor the network predicts a residual over: naive (last value), seasonal "
        "(one season earlier) or none" + _SERIES_DEFAULT, choices=RESIDUALS)
    level_input: bool | None = field(
        None, "also feed the target's globally normalised level" + _SERIES_DEFAULT)
    log_columns: tuple | None = field(
        None, "columns modelled after log1p (heavy-tailed, >= 0)" + _SERIES_DEFAULT)
    feature_columns: tuple | None = field(
        None, "extra past-only columns read from the frame (None: every non-target column)")
    calendar: tuple | None = field(
        None, "known-future calendar covariates among 'hour', 'dayofweek', 'dayofyear' "
        "(sin/cos pairs)" + _SERIES_DEFAULT)
    ets_trend: str | None = field("add", "Holt-Winters baseline trend ('add' or None)")
    ets_damped: bool | None = field(None, "Holt-Winters damped trend" + _SERIES_DEFAULT)
    ets_seasonal: str | None = field("add", "Holt-Winters season ('add' or None)")
    quantiles: tuple = field(
        (0.025, 0.1, 0.5, 0.9, 0.975),
        "quantile levels forecast (pinball loss); symmetric pairs give the intervals (0.1 and "
        "0.9: 80%%); 0.5 is the point forecast; () for point forecasts only (MAE)")
    distribution: str | None = field(
        None, "forecast the parameters of this distribution instead (normal, student_t; "
        "negative log-likelihood) and read `quantiles` off it", choices=(None, "normal",
                                                                         "student_t"))
    median_weight: float | None = field(
        None, "weight of the 0.5 level in the pinball loss, the others weighing 1 (the median "
        "is also the point forecast)" + _SERIES_DEFAULT)
    calibration: str = field(
        "split", "conformal correction of the intervals (conformalized quantile regression): "
        "split (once, on the validation windows), rolling (at each test origin, on the most "
        "recent windows whose truth is known by then, validation ones first) or none",
        choices=CALIBRATIONS)
    cell: str = field("gru", "recurrent cell", choices=CELLS)
    units: int | None = field(None, "recurrent units" + _SERIES_DEFAULT)
    num_layers: int = field(1, "recurrent layers")
    dropout: float = field(0.0, "dropout of the recurrent stack")
    multistep: str = field("direct", "multi-step forecasting: direct (all steps at once) or "
                           "autoregressive", choices=MULTISTEP)
    epochs: int | None = field(None, "training epochs per network" + _SERIES_DEFAULT)
    batch_size: int | None = field(None, "batch size" + _SERIES_DEFAULT)
    learning_rate: float | None = field(None, "Adam learning rate" + _SERIES_DEFAULT)
    patience: int | None = field(
        None, "early-stopping patience (epochs without a lower validation loss)"
        + _SERIES_DEFAULT)
    ensemble: int | None = field(None, "networks (seeds) averaged" + _SERIES_DEFAULT)
    average_epochs: int | None = field(
        None, "end each network with the mean of the weights of its N best epochs by validation "
        "loss (checkpoint averaging; 1: the best epoch)" + _SERIES_DEFAULT)
    train_stride: int | None = field(None, "steps between training origins" + _SERIES_DEFAULT)
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "`--set KEY=VALUE`: a Config field, or a forecaster argument "
                                "(under --tune, choices narrowing the search)")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests and the demo: the series' `QUICK` settings."""
        return super().quick(**{"tune_space": dict(units=[16, 32], num_layers=1), **changes})


_GENERIC = dict(
    test_size=0.15, validation_size=0.1, eval_hour=None, residual="seasonal",
    level_input=False, log_columns=(), calendar=(), ets_damped=True, units=64,
    epochs=60, batch_size=64, learning_rate=3e-3, patience=10, ensemble=3, train_stride=1,
    average_epochs=1, median_weight=1.0,
)
"""Settings of any series (with `sequence_length` two seasons, `horizon` one)."""

SERIES_SETTINGS = {
    "co2": dict(sequence_length=104, horizon=52, test_size=104, validation_size=104,
                calendar=("dayofyear",), ets_damped=False),
    "beijing_pm25": dict(
        sequence_length=72, horizon=24, test_size=0.2, validation_size=0.1, eval_hour=0,
        residual="naive", level_input=True, log_columns=("pm25", "Iws", "Is", "Ir"),
        calendar=("hour", "dayofweek", "dayofyear"), ets_damped=True, epochs=12,
        batch_size=256, learning_rate=2e-3, patience=3, median_weight=2.0,
    ),
}
"""The recipe's settings per series, over `_GENERIC`."""

QUICK = {
    None: dict(epochs=4, ensemble=1, units=32, patience=4),
    "beijing_pm25": dict(epochs=3, ensemble=1, units=32, patience=4, train_stride=6),
}
"""`Config.quick()` settings per series (None: any other series)."""


def resolve(config, season_length=None):
    """`config` with every None setting filled in: given > QUICK > the series' > generic.

    `overrides` entries naming a `Config` field are applied as that field;
    the others stay in `overrides` (forecaster arguments).

    Args:
        config: a `Config`.
        season_length: the season of a frame passed to `run` (default: the
            series' in `SERIES`).

    Returns:
        A `Config` whose settings are all set.

    Example:

    >>> settings = resolve(Config.quick())
    >>> settings.epochs, settings.ensemble, settings.units, settings.patience
    (4, 1, 32, 4)
    >>> resolve(Config(series="beijing_pm25", overrides={"units": 16})).units
    16
    """
    names = {f.name for f in dataclasses.fields(Config)}
    overrides = dict(config.overrides or {})
    given = {k: overrides.pop(k) for k in list(overrides) if k in names}
    config = dataclasses.replace(config, **given, overrides=overrides)
    if season_length is None:
        check_choice("series", config.series, sorted(SERIES))
        season_length = SERIES[config.series].season_length
    settings = dict(_GENERIC, sequence_length=2 * season_length, horizon=season_length)
    settings.update(SERIES_SETTINGS.get(config.series, {}))
    if config.quick_settings:
        settings.update(QUICK.get(config.series, QUICK[None]))
    config = config.filled(settings)
    check_choice("residual", config.residual, RESIDUALS)
    check_choice("multistep", config.multistep, MULTISTEP)
    check_choice("calibration", config.calibration, CALIBRATIONS)
    check_choice("cell", config.cell, CELLS)
    for name in ("sequence_length", "horizon", "epochs", "batch_size", "ensemble",
                 "train_stride", "eval_stride", "units", "num_layers", "patience",
                 "average_epochs"):
        check_positive_int(name, getattr(config, name))
    return config


def default_output_dir(config):
    """`runs/timeseries/<series>`: each series keeps its own run folder."""
    return os.path.join("runs", NAME, config.series)


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


def ets_variance_factors(result, horizon):
    """`v_h / sigma^2` of an additive Holt-Winters forecast, h = 1 .. horizon.

    The h-step forecast error variance of the additive ETS(A,Ad,A) model
    (Hyndman et al. 2008, class 1): `sigma^2 (1 + sum_{j<h} c_j^2)`, with
    `c_j = alpha + beta phi_j + gamma [j mod m = 0]`, `phi_j = phi + ... +
    phi^j` and `beta = alpha * beta*` (statsmodels' Holt-Winters
    `smoothing_trend` is `beta*`). statsmodels' `ETSModel` computes its
    prediction intervals from this formula (checked in the tests against
    `ETSResults.get_prediction`), here applied to the Holt-Winters fit.

    Args:
        result: `fit_ets` result.
        horizon: steps forecast.

    Returns:
        `(horizon,)` array, 1 at h = 1.
    """
    model, p = result.model, result.params
    alpha = p["smoothing_level"]
    beta = alpha * p["smoothing_trend"] if model.has_trend else 0.0
    gamma = p["smoothing_seasonal"] if model.has_seasonal else 0.0
    phi = p["damping_trend"] if model.damped_trend else 1.0
    m = model.seasonal_periods if model.has_seasonal else 0
    j = np.arange(1, horizon)
    phi_j = np.cumsum(phi ** np.arange(1, horizon))
    c = alpha + beta * phi_j + (gamma * (j % m == 0) if m else 0.0)
    return np.concatenate([[1.0], 1.0 + np.cumsum(c ** 2)])


def ets_intervals(result, point, alpha):
    """Normal prediction intervals `point -+ z sigma sqrt(v_h)` of a Holt-Winters fit.

    `sigma^2` is the fit's one-step mean squared error (`sse / nobs`, as
    `ETSModel` takes it); `v_h` from `ets_variance_factors`.

    Returns:
        `(lower, upper)`, each shaped like `point` `(origins, horizon)`.
    """
    from scipy import stats

    sigma2 = float(result.sse) / len(result.model.endog)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(
        sigma2 * ets_variance_factors(result, point.shape[1]))
    return point - half, point + half


# ------------------------------------------------------------ intervals


def interval_levels(quantiles):
    """The central intervals the quantile levels hold: `{alpha: (lower_index, upper_index)}`.

    A level `q < 0.5` whose mirror `1 - q` is also among the levels gives
    the `(1 - 2q)` interval, miss rate `alpha = 2q`.

    Example:

    >>> interval_levels((0.025, 0.1, 0.5, 0.9, 0.975))
    {0.05: (0, 4), 0.2: (1, 3)}
    """
    quantiles = list(quantiles)
    levels = {}
    for i, q in enumerate(quantiles):
        mirror = [j for j, p in enumerate(quantiles) if abs(p - (1.0 - q)) < 1e-9]
        if q < 0.5 and mirror:
            levels[round(2 * q, 6)] = (i, mirror[0])
    return dict(sorted(levels.items()))


def empirical_intervals(point, residuals, alpha):
    """`point` plus the empirical `alpha / 2` and `1 - alpha / 2` quantiles of past errors.

    Args:
        point: `(n, horizon)` forecasts.
        residuals: `(m, horizon)` errors (actual - forecast) of the same
            forecaster at earlier origins; each horizon step gets its own.
        alpha: the miss rate.

    Returns:
        `(lower, upper)`, each `(n, horizon)`.

    Example:

    >>> lo, hi = empirical_intervals(np.zeros((1, 1)), np.arange(-50.0, 51.0)[:, None], 0.2)
    >>> lo.tolist(), hi.tolist()
    ([[-40.0]], [[40.0]])
    """
    low, high = np.quantile(np.asarray(residuals, dtype="float64"),
                            [alpha / 2, 1 - alpha / 2], axis=0)
    return point + low, point + high


def interval_table(actual, intervals, scale):
    """Coverage, mean width and MSIS of each forecaster's intervals.

    Args:
        actual: `(origins, horizon)` actual values.
        intervals: `{name: {alpha: (lower, upper)}}`.
        scale: MSIS's denominator (`rnnzoo.metrics.seasonal_naive_scale`).

    Returns:
        `{name: {"coverage_80": ..., "width_80": ..., "msis_80": ..., ...}}`
        (the level in percent; coverage as a fraction).

    Example:

    >>> t = interval_table(np.array([[1.0, 4.0]]),
    ...                    {"a": {0.5: (np.zeros((1, 2)), np.full((1, 2), 2.0))}}, 2.0)
    >>> t["a"]
    {'coverage_50': 0.5, 'width_50': 2.0, 'msis_50': 3.0}
    """
    table = {}
    for name, by_alpha in intervals.items():
        row = {}
        for alpha, (lower, upper) in sorted(by_alpha.items(), reverse=True):
            level = round(100 * (1 - alpha))
            row[f"coverage_{level}"] = round(coverage(actual, lower, upper), 4)
            row[f"width_{level}"] = round(float(np.mean(upper - lower)), 4)
            row[f"msis_{level}"] = round(msis(actual, lower, upper, alpha, scale), 4)
        table[name] = row
    return table


def format_interval_table(table, count, title=""):
    """An `interval_table` as aligned text, with the binomial error of each coverage.

    `count` values (origins x horizon steps) make the binomial standard
    error `sqrt(p (1 - p) / count)` of a coverage `p`; neighbouring values of
    a series are correlated, so the true spread is wider.

    Example:

    >>> print(format_interval_table({"a": {"coverage_80": 0.8, "width_80": 2.0,
    ...                                     "msis_80": 3.0}}, 100))
    model               cover80 (+-se)   width80   MSIS80
    a                    0.800 (0.040)     2.000    3.000
    """
    levels = sorted({int(k.split("_")[1]) for row in table.values() for k in row},
                    reverse=False)
    lines = [title] if title else []
    header = f"{'model':<17}" + "".join(
        f"{f'cover{v} (+-se)':>17}{f'width{v}':>10}{f'MSIS{v}':>9}" for v in levels)
    lines.append(header)
    for name, row in table.items():
        cells = []
        for v in levels:
            p = row[f"coverage_{v}"]
            se = (p * (1 - p) / count) ** 0.5
            cells.append(f"{p:>9.3f} ({se:.3f}){row[f'width_{v}']:>10.3f}"
                         f"{row[f'msis_{v}']:>9.3f}")
        lines.append(f"{name:<17}" + "".join(cells))
    return "\n".join(lines)


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
    model                MAE       RMSE     MASE
    naive             1.0000     2.0000   0.5000
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
            phase = index.day_of_week / 7.0
        elif kind == "dayofyear":
            phase = (index.day_of_year - 1) / 365.25
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
    if n_train <= config.sequence_length + config.horizon:
        raise ValueError(
            "The training part is shorter than one window. Received: "
            f"n_train={n_train}, sequence_length={config.sequence_length}, "
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
    w, h = config.sequence_length, config.horizon
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
    w, h = config.sequence_length, config.horizon
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


def build_model(config, num_features, num_covariates):
    """The forecaster of resolved `config` (predicts standardised residuals), not compiled.

    `config.overrides` are passed to `rnnzoo.forecaster` too.

    Example:

    >>> model = build_model(resolve(Config.quick()), num_features=3, num_covariates=2)
    >>> model.output_shape  # 52 steps, 1 target, the 5 default quantiles
    (None, 52, 1, 5)
    """
    return forecaster(**{
        **dict(sequence_length=config.sequence_length, num_features=num_features,
               horizon=config.horizon, num_targets=1, num_covariates=num_covariates,
               multistep=config.multistep, cell=config.cell, units=config.units,
               num_layers=config.num_layers, dropout=config.dropout,
               **head_arguments(config), name="forecaster"),
        **config.overrides,
    })


def head_arguments(config):
    """The forecaster's head arguments: `quantiles=` or `distribution=` (or none: points).

    Example:

    >>> head_arguments(Config())
    {'quantiles': (0.025, 0.1, 0.5, 0.9, 0.975)}
    >>> head_arguments(Config(quantiles=()))
    {}
    """
    if config.distribution:
        return {"distribution": config.distribution}
    if config.quantiles:
        return {"quantiles": tuple(config.quantiles)}
    return {}


def _search_space(config):
    """What `--tune` searches: `tune_space`, narrowed by the `--set` builder arguments."""
    names = set(inspect.signature(forecaster).parameters) | {"learning_rate"}
    return {**config.tune_space, **{k: v for k, v in config.overrides.items() if k in names}}


def run(config, runner, frame=None):
    """Trains the forecaster ensemble and scores it against the baselines.

    Writes `model.keras` (the first member; it predicts standardised
    residuals over the anchor forecast), `normalization.json`,
    `metrics.json`, `forecasts.png`, `horizon_errors.png` and `loss.png`.
    With `runner.tune_with`, searches the forecaster over the same windows
    instead.

    Args:
        config: a `Config`.
        runner: the `rnnzoo.training.Runner` of the run (not started).
        frame: a DataFrame to forecast instead of loading `config.series`
            (target column `frame.attrs["target"]`, season
            `frame.attrs["season_length"]`).

    Returns:
        The metrics dict: `table` (MAE, RMSE and MASE of `"rnn"`,
        `"naive"`, `"seasonal_naive"` and `"ets"`), `<name>_mase`,
        `best_baseline`, `rnn_over_best_baseline_mase`, ...

    Example:

    >>> metrics = run(Config.quick(), Runner("runs/timeseries/co2"))  # doctest: +SKIP
    >>> metrics["rnn_mase"] < metrics["ets_mase"]  # doctest: +SKIP
    True
    """
    season = None if frame is None else int(frame.attrs.get("season_length", 1))
    settings = resolve(config, season_length=season)
    runner.start(settings)
    if frame is None:
        frame = load_series(settings.series, data_dir=settings.data_dir)
    prepared = prepare(frame, settings)
    target_name = frame.attrs.get("target", frame.columns[0])
    n_train = prepared.n_train
    train_diffs = np.diff(prepared.transformed[:n_train])
    prepared.stats["diff_scale"] = float(np.std(train_diffs)) or 1.0

    test_origins = origins_for(prepared, settings, "test")
    x_train, r_train, _ = windows(prepared, settings, origins_for(prepared, settings, "train"))
    x_val, r_val, _ = windows(prepared, settings, origins_for(prepared, settings, "validation"))
    x_test, _, a_test = windows(prepared, settings, test_origins)
    mean = r_train.mean(axis=0)
    std = r_train.std(axis=0) + 1e-8
    prepared.stats["residual_mean"] = mean.tolist()
    prepared.stats["residual_std"] = std.tolist()

    def scale(r):
        return ((r - mean) / std)[..., None].astype("float32")

    def inputs(x):
        return x if len(x) > 1 else x[0]

    num_features = x_train[0].shape[-1]
    if runner.tune_with:
        return runner.tune(
            "forecaster", inputs(x_train), scale(r_train),
            validation_data=(inputs(x_val), scale(r_val)),
            fixed=dict(sequence_length=settings.sequence_length, num_features=num_features,
                       horizon=settings.horizon, num_targets=1,
                       num_covariates=prepared.num_covariates, multistep=settings.multistep,
                       **head_arguments(settings)),
            space=_search_space(settings), epochs=settings.epochs,
            batch_size=settings.batch_size, task_name=NAME)
    models, histories, averaged = [], [], []
    timer = Timer()
    for k in range(settings.ensemble):
        runner.reseed(k)  # member k's weights depend on the seed and k only
        with runner.scope():
            model = build_model(settings, num_features, prepared.num_covariates)
        # Point forecasts train on MAE; a quantile or distribution head on its own loss.
        runner.compile(model, learning_rate=settings.learning_rate, loss=training_loss(settings))
        history = runner.fit(
            model, inputs(x_train), scale(r_train), name=f"forecaster_{k}",
            patience=settings.patience, validation_data=(inputs(x_val), scale(r_val)),
            epochs=settings.epochs, batch_size=settings.batch_size, shuffle=True,
            average_best=settings.average_epochs)
        models.append(model)
        histories.append(history.history)
        averaged.append(history.averaged_epochs)
    train_seconds = timer.seconds()

    horizon = settings.horizon
    val_origins = origins_for(prepared, settings, "validation")
    _, _, a_val = windows(prepared, settings, val_origins)
    levels = quantile_levels(settings)

    def model_quantiles(x, anchors):
        """The ensemble's forecasts in the transformed target's scale: `(n, horizon[, Q])`."""
        z = np.mean([predict_residuals(m, x, settings) for m in models], axis=0)
        if z.ndim == 2:
            return anchors + z * std + mean
        return anchors[..., None] + z * std[:, None] + mean[:, None]

    test_q = model_quantiles(x_test, a_test)
    val_q = model_quantiles(x_val, a_val)
    val_truth = np.stack([prepared.transformed[t:t + horizon] for t in val_origins])
    actual = np.stack([prepared.target[t:t + horizon] for t in test_origins])
    median = (test_q if test_q.ndim == 2
              else test_q[..., [abs(q - 0.5) < 1e-9 for q in levels].index(True)])
    forecasts = {
        "rnn": invert_target(median, settings, target_name),
        "naive": anchor_forecast(prepared.target, test_origins, horizon, "naive",
                                 prepared.season),
        "seasonal_naive": anchor_forecast(prepared.target, test_origins, horizon,
                                          "seasonal", prepared.season),
    }
    # Holt-Winters is fitted on everything before the test part (training
    # and validation parts; the network sees the validation part too, for
    # early stopping): the stronger of the two choices on co2.
    before_test = prepared.target[: n_train + prepared.n_validation]
    ets = fit_ets(before_test, prepared.season, trend=settings.ets_trend,
                  damped=settings.ets_damped, seasonal=settings.ets_seasonal)
    forecasts["ets"] = ets_rolling_forecasts(ets, prepared.target, test_origins, horizon)
    pairs = interval_levels(levels) if test_q.ndim == 3 else {}
    table = error_table(actual, forecasts, prepared.target[:n_train], prepared.season)
    per_horizon = {
        name: np.round(np.mean(np.abs(f - actual), axis=0), 4).tolist()
        for name, f in forecasts.items()
    }
    print(format_table(table, f"{settings.series}: {len(test_origins)} rolling origins x "
                              f"{horizon} steps (test part)"))

    probabilistic = {}
    if pairs:
        intervals = probabilistic_baselines(prepared, settings, test_origins, val_origins,
                                            forecasts, tuple(pairs))
        intervals["ets"] = {a: ets_intervals(ets, forecasts["ets"], a) for a in pairs}
        intervals["rnn_uncalibrated"] = {}
        intervals["rnn"] = {}
        if settings.calibration == "rolling":
            test_truth = np.stack([prepared.transformed[t:t + horizon] for t in test_origins])
        for alpha, (lo, hi) in pairs.items():
            lower, upper = test_q[..., lo], test_q[..., hi]
            intervals["rnn_uncalibrated"][alpha] = tuple(
                invert_target(v, settings, target_name) for v in (lower, upper))
            if settings.calibration == "split":
                lower, upper = conformalize_quantiles(
                    val_q[..., lo], val_q[..., hi], val_truth, lower, upper, alpha)
            elif settings.calibration == "rolling":
                lower, upper = rolling_conformalize_quantiles(
                    np.concatenate([val_q[..., lo], lower]),
                    np.concatenate([val_q[..., hi], upper]),
                    np.concatenate([val_truth, test_truth]),
                    np.concatenate([val_origins, test_origins]), len(val_origins), alpha)
            intervals["rnn"][alpha] = tuple(
                invert_target(v, settings, target_name) for v in (lower, upper))
        if settings.calibration == "none":
            del intervals["rnn_uncalibrated"]
        scale_ = seasonal_naive_scale(prepared.target[:n_train], prepared.season)
        probabilistic = {
            "intervals": interval_table(actual, intervals, scale_),
            "weighted_quantile_loss": float("%.4g" % weighted_quantile_loss(
                actual, invert_target(test_q, settings, target_name), levels)),
            "values": int(actual.size),
            "quantiles": list(levels),
            "calibration": settings.calibration,
            "calibration_origins": int(len(val_origins)),
        }
        print(format_interval_table(
            probabilistic["intervals"], actual.size,
            f"intervals: {len(test_origins)} origins x {horizon} steps = {actual.size} values"
            + (f"; {settings.calibration} calibration from {len(val_origins)} validation "
               "origins" if settings.calibration != "none" else "")))
        plots.plot_fan(runner.path("fan.png"), frame.index, actual,
                       invert_target(test_q, settings, target_name), levels,
                       intervals["rnn"], test_origins,
                       context=(prepared.target, 2 * horizon),
                       title=f"{settings.series}: rnnzoo median and "
                             + ", ".join(f"{round(100 * (1 - a))}%" for a in sorted(
                                 intervals["rnn"], reverse=True))
                             + " intervals" + ("" if settings.calibration == "none"
                                               else f" ({settings.calibration} conformal)"))

    runner.save_model(models[0])
    runner.write_metrics(prepared.stats, "normalization.json")
    plots.plot_forecasts(runner.path("forecasts.png"), frame.index, actual, forecasts,
                         test_origins,
                         title=f"{settings.series}: forecasts from rolling test origins")
    plots.plot_horizon_errors(runner.path("horizon_errors.png"), per_horizon)
    plots.plot_history(
        histories[0] if len(histories) == 1
        else {f"member {k}": h for k, h in enumerate(histories)},
        runner.path("loss.png"), metrics=["loss"],
        title=("MAE" if not head_arguments(settings) else "loss")
        + " of the standardised residual")
    best = min((row["mase"], name) for name, row in table.items() if name != "rnn")
    metrics = {
        "task": NAME,
        "series": settings.series,
        "config": dataclasses.asdict(settings),
        "table": table,
        **{f"{name}_mase": row["mase"] for name, row in table.items()},
        "per_horizon_mae": per_horizon,
        "num_origins": int(len(test_origins)),
        "train_seconds": train_seconds,
        "best_baseline": best[1],
        "rnn_over_best_baseline_mase": round(table["rnn"]["mase"] / best[0], 4),
        **({"probabilistic": probabilistic} if probabilistic else {}),
        **{f"{name}_{key}": value
           for name, row in probabilistic.get("intervals", {}).items()
           for key, value in row.items()},
        "history": histories,
        "averaged_epochs": averaged,
        "quick": settings.quick_settings,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics


def training_loss(config):
    """The loss of resolved `config`'s networks: MAE for points, else their head's.

    Quantiles train on the pinball loss with the 0.5 level weighted
    `config.median_weight`; a distribution head on its likelihood (None:
    `compile_for`'s choice).

    Example:

    >>> training_loss(Config(quantiles=()))
    'mae'
    >>> training_loss(Config(median_weight=3.0)).weights
    (1.0, 1.0, 3.0, 1.0, 1.0)
    """
    if not head_arguments(config):
        return "mae"
    if config.distribution:
        return None
    levels = quantile_levels(config)
    return PinballLoss(levels, weights=[config.median_weight if abs(q - 0.5) < 1e-9 else 1.0
                                        for q in levels])


def quantile_levels(config):
    """The quantile levels the run reports (`config.quantiles`; checked, 0.5 required).

    Example:

    >>> quantile_levels(Config())
    (0.025, 0.1, 0.5, 0.9, 0.975)
    """
    if not config.quantiles:
        return ()
    levels = check_quantiles(config.quantiles)
    if not any(abs(q - 0.5) < 1e-9 for q in levels):
        raise ValueError(
            "Expected `quantiles` to include 0.5 (the point forecast the errors are "
            f"reported for). Received: quantiles={config.quantiles!r}"
        )
    return levels


def probabilistic_baselines(prepared, config, test_origins, val_origins, forecasts, alphas):
    """Intervals of the naive baselines: `{name: {alpha: (lower, upper)}}`.

    - seasonal naive: the empirical quantiles of its own errors at every
      origin before the test part (training and validation parts), per
      horizon step;
    - naive (persistence): split conformal intervals from its absolute
      errors on the validation origins, per horizon step.
    """
    target, h, season = prepared.target, config.horizon, prepared.season
    n_before = prepared.n_train + prepared.n_validation
    first = max(config.sequence_length, season * (-(-h // season)))
    past = np.arange(first, n_before - h + 1)
    past_truth = np.stack([target[t:t + h] for t in past])
    seasonal_errors = past_truth - anchor_forecast(target, past, h, "seasonal", season)
    val_truth = np.stack([target[t:t + h] for t in val_origins])
    naive_val = anchor_forecast(target, val_origins, h, "naive", season)
    out = {"seasonal_naive": {}, "naive": {}}
    for alpha in alphas:
        out["seasonal_naive"][alpha] = empirical_intervals(
            forecasts["seasonal_naive"], seasonal_errors, alpha)
        out["naive"][alpha] = split_conformal_intervals(
            naive_val, val_truth, forecasts["naive"], alpha)
    return out


def predict_residuals(model, inputs, config=None):
    """Standardised residuals predicted by one model: `(n, horizon)` or `(n, horizon, Q)`.

    A distribution head's parameters are turned into `config.quantiles`.
    """
    x = inputs if len(inputs) > 1 else inputs[0]
    out = np.asarray(model.predict(x, verbose=0, batch_size=1024))[:, :, 0]
    if config is not None and config.distribution:
        return distribution_quantiles(out, quantile_levels(config), config.distribution)
    return out
