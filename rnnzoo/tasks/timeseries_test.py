import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

from rnnzoo.data.datasets import load_series
from rnnzoo.io import read_json
from rnnzoo.tasks import timeseries as F
from rnnzoo.training.runner import Runner
from rnnzoo.training.saving import load_model


def test_holt_winters_interval_variance_is_statsmodels_ets_formula():
    """`ets_variance_factors` on an ETSModel fit equals its `get_prediction` intervals."""
    import pandas as pd
    from scipy import stats
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = load_series("co2")["co2"].to_numpy()[:400]
    for damped in (False, True):
        result = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=damped,
                          seasonal="add", seasonal_periods=52).fit(disp=False, maxiter=100)
        p = dict(zip(result.model.param_names, result.params))
        frame = result.get_prediction(start=300, end=359, dynamic=0).summary_frame(alpha=0.2)
        half = (frame["pi_upper"] - frame["mean"]).to_numpy() / stats.norm.ppf(0.9)

        class _HoltWinters:  # the same parameters, in statsmodels' Holt-Winters names
            model = type("M", (), dict(has_trend=True, has_seasonal=True, damped_trend=damped,
                                       seasonal_periods=52))
            params = dict(smoothing_level=p["smoothing_level"],
                          smoothing_trend=p["smoothing_trend"] / p["smoothing_level"],
                          smoothing_seasonal=p["smoothing_seasonal"],
                          damping_trend=p.get("damping_trend", 1.0))

        factors = F.ets_variance_factors(_HoltWinters, 60)
        np.testing.assert_allclose(half**2, result.mse * factors, rtol=1e-8)
        assert factors[52] - factors[51] > factors[51] - factors[50]  # the seasonal jump


def test_interval_helpers():
    assert F.interval_levels((0.1, 0.5, 0.9)) == {0.2: (0, 2)}
    assert F.interval_levels((0.1, 0.5, 0.8)) == {}
    residuals = np.stack([np.arange(-50.0, 51.0), 2 * np.arange(-50.0, 51.0)], axis=1)
    lower, upper = F.empirical_intervals(np.ones((3, 2)), residuals, 0.2)
    np.testing.assert_allclose(lower, [[-39.0, -79.0]] * 3)
    np.testing.assert_allclose(upper, [[41.0, 81.0]] * 3)
    with pytest.raises(ValueError, match="include 0.5.*Received: quantiles="):
        F.quantile_levels(F.Config(quantiles=(0.1, 0.9)))


@pytest.mark.multi_backend
def test_anchor_forecasts():
    y = np.arange(10.0)
    np.testing.assert_array_equal(F.anchor_forecast(y, [5], 3, "naive", 4), [[4, 4, 4]])
    np.testing.assert_array_equal(
        F.anchor_forecast(y, [8], 6, "seasonal", 4), [[4, 5, 6, 7, 4, 5]]
    )


def test_ets_rolling_recursion_equals_statsmodels_forecast():
    y = load_series("co2")["co2"].to_numpy()[:500]
    for damped in (True, False):
        result = F.fit_ets(y[:400], 52, damped=damped)
        rolled = F.ets_rolling_forecasts(result, y, [400, 440], 52)
        # equal up to float round-off of the stored damped initial trend
        np.testing.assert_allclose(rolled[0], result.forecast(52), rtol=1e-5)
    # A later origin uses the observations up to it: closer than the
    # forecast made 40 weeks earlier.
    late = np.abs(rolled[1] - y[440:492]).mean()
    early = np.abs(result.forecast(92)[40:] - y[440:492]).mean()
    assert late < early


@pytest.mark.multi_backend
def test_train_only_normalisation():
    idx = pd.date_range("2000", periods=300, freq="D")
    frame = pd.DataFrame({"y": np.r_[np.zeros(200), np.full(100, 50.0)],
                          "x": np.arange(300.0)}, index=idx)
    frame.attrs.update(target="y", season_length=7)
    config = F.resolve(F.Config(sequence_length=14, horizon=7, test_size=50,
                                validation_size=50, calendar=()))
    prepared = F.prepare(frame, config)
    assert prepared.n_train == 200
    assert prepared.stats["mean"]["x"] == pytest.approx(99.5)
    np.testing.assert_allclose(prepared.features[:200, 0].mean(), 0.0, atol=1e-9)


@pytest.mark.multi_backend
def test_error_table_and_mase():
    table = F.error_table(np.array([[2.0, 4.0]]), {"a": np.array([[1.0, 4.0]])},
                          [0.0, 2.0, 4.0], 1)
    assert table["a"] == {"mae": 0.5, "rmse": 0.7071, "mase": 0.25}
    assert "MASE" in F.format_table(table)


@pytest.mark.multi_backend
def test_resolve_fills_the_series_settings_and_the_quick_ones():
    co2 = F.resolve(F.Config())
    assert (co2.sequence_length, co2.horizon, co2.epochs, co2.ensemble, co2.units) == \
        (104, 52, 60, 3, 64)
    # The median weighs 2 in PM2.5's pinball loss (3 seeds: MASE 0.618 on
    # average against 0.622 with 1), 1 on co2 (0.349 with 2, 0.341 with 1).
    assert (co2.median_weight, co2.average_epochs) == (1.0, 1)
    assert F.resolve(F.Config(series="beijing_pm25")).median_weight == 2.0
    assert F.training_loss(F.resolve(F.Config(series="beijing_pm25"))).weights == (
        1.0, 1.0, 2.0, 1.0, 1.0)
    # Config.quick() is the old --quick: 4 epochs, 1 network of 32 units,
    # patience 4; PM2.5 also 3 epochs and every 6th training origin.
    quick = F.resolve(F.Config.quick())
    assert (quick.epochs, quick.ensemble, quick.units, quick.patience,
            quick.train_stride) == (4, 1, 32, 4, 1)
    pm = F.resolve(dataclasses.replace(F.Config.quick(), series="beijing_pm25"))
    assert (pm.epochs, pm.train_stride, pm.sequence_length, pm.batch_size) == (3, 6, 72, 256)
    # A given setting wins over the quick and the series' ones; --set names
    # a field or a forecaster argument.
    given = F.resolve(F.Config(series="beijing_pm25", epochs=2, units=8,
                               overrides={"patience": 1, "bidirectional": True}))
    assert (given.epochs, given.units, given.patience) == (2, 8, 1)
    assert given.overrides == {"bidirectional": True}
    sunspots = F.resolve(F.Config(series="sunspots"))
    assert (sunspots.sequence_length, sunspots.horizon) == (22, 11)


@pytest.mark.multi_backend
def test_resolve_rejects_bad_settings():
    with pytest.raises(ValueError, match="Received: series='wings'"):
        F.resolve(F.Config(series="wings"))
    with pytest.raises(ValueError, match="Received: residual='mean'"):
        F.resolve(F.Config(residual="mean"))
    with pytest.raises(ValueError, match="Received: horizon=0"):
        F.resolve(F.Config(horizon=0))


@pytest.mark.multi_backend
def test_every_cell_the_recipe_offers_builds():
    # Bug fix: the recipe offered `--cell simple_rnn`, which raised (the
    # cell is "simple"); now the flag's choices are the stack's cells.
    from rnnzoo import cli

    parser = cli.parser(F)
    action = next(a for a in parser._actions if a.dest == "cell")
    assert set(action.choices) == {"lstm", "gru", "simple"}
    for cell in action.choices:
        args = parser.parse_args(["--quick", "--cell", cell, "--horizon", "4",
                                  "--sequence-length", "8"])
        settings = F.resolve(cli.config_from_args(F, args))
        model = F.build_model(settings, num_features=2, num_covariates=0)
        assert model.output_shape == (None, 4, 1, 5)  # the 5 default quantiles
    with pytest.raises(SystemExit):
        parser.parse_args(["--cell", "simple_rnn"])


@pytest.mark.multi_backend
def test_multistep_flag_replaces_forecast_strategy():
    from rnnzoo import cli

    args = cli.parser(F).parse_args(["--multistep", "autoregressive"])
    assert cli.config_from_args(F, args).multistep == "autoregressive"
    with pytest.raises(SystemExit):
        cli.parser(F).parse_args(["--forecast-strategy", "direct"])


def _generated_frame(n=420, season=12, seed=0):
    """A GENERATED monthly series (not real data): trend + season + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 0.05 * t + 3.0 * np.sin(2 * np.pi * t / season) + rng.normal(0, 0.3, n)
    frame = pd.DataFrame({"y": y}, index=pd.date_range("1980-01-31", periods=n, freq="ME"))
    frame.attrs.update(target="y", season_length=season)
    return frame


class _Runner(Runner):
    """A Runner that keeps the models it saves."""

    def save_model(self, model, filename="model.keras"):
        self.saved = model
        return super().save_model(model, filename)


def _generated_config(**kwargs):
    settings = dict(series="generated", sequence_length=24, horizon=6, test_size=60,
                    validation_size=48, calendar=(), units=8, epochs=12, batch_size=32,
                    learning_rate=1e-2, patience=12, ensemble=1)
    return F.Config(**{**settings, **kwargs})


@pytest.mark.multi_backend
def test_run_on_generated_series_beats_naive_and_reloads(tmp_path):
    frame = _generated_frame()
    runner = _Runner(tmp_path, verbose=0)
    metrics = F.run(_generated_config(average_epochs=2), runner, frame=frame)
    table = metrics["table"]
    # The network ends with the mean of its two best epochs by validation loss.
    val_loss = metrics["history"][0]["val_loss"]
    best_two = sorted(range(1, len(val_loss) + 1), key=lambda e: val_loss[e - 1])[:2]
    assert sorted(metrics["averaged_epochs"][0]) == sorted(best_two)
    # The naive forecast misses the season (MASE ~2.5 here); the network
    # corrects the seasonal-naive anchor's trend lag.
    assert table["rnn"]["mase"] < 0.6 * table["naive"]["mase"]
    assert table["rnn"]["mase"] < table["seasonal_naive"]["mase"]
    assert metrics["num_origins"] == 60 - 6 + 1
    assert {"model.keras", "metrics.json", "normalization.json", "forecasts.png",
            "horizon_errors.png", "loss.png", "fan.png"} <= set(os.listdir(tmp_path))
    assert read_json(tmp_path / "metrics.json")["table"] == table
    assert read_json(tmp_path / "normalization.json")["residual_std"]
    # Intervals (default quantiles 0.025 .. 0.975): every forecaster has an
    # 80 % and a 95 % interval. The series is additive trend + season +
    # Gaussian noise, the Holt-Winters model's own kind, so its intervals
    # cover near their level (330 values, binomial standard error ~0.02,
    # correlated steps: a wide margin). The tiny network's coverage is
    # checked loosely (conformal coverage: rnnzoo/conformal_test.py).
    intervals = metrics["probabilistic"]["intervals"]
    assert set(intervals) == {"rnn", "rnn_uncalibrated", "naive", "seasonal_naive", "ets"}
    for name, row in intervals.items():
        assert row["width_95"] > row["width_80"] > 0, name
        assert row["coverage_95"] >= row["coverage_80"], name
        assert row["msis_95"] > 0 and row["msis_80"] > 0
    assert 0.7 <= intervals["ets"]["coverage_80"] <= 0.9
    assert 0.9 <= intervals["ets"]["coverage_95"] <= 1.0
    assert 0.5 <= intervals["rnn"]["coverage_80"] <= 0.95
    assert intervals["rnn"]["width_95"] != intervals["rnn_uncalibrated"]["width_95"]
    assert metrics["rnn_msis_95"] == intervals["rnn"]["msis_95"]
    assert metrics["probabilistic"]["calibration_origins"] == 48 - 6 + 1
    x = np.random.default_rng(0).normal(size=(3, 24, 1)).astype("float32")
    reloaded = load_model(str(tmp_path / "model.keras"))
    np.testing.assert_allclose(reloaded.predict(x, verbose=0),
                               runner.saved.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_ensemble_members_depend_on_the_seed_not_on_each_other(tmp_path):
    # GENERATED series; 2 members of 1 epoch: member k is seeded with seed + k,
    # so a run with --seed 1 has the member 0 that a --seed 0 run has as member 1.
    frame = _generated_frame(n=300)
    losses = {}
    for seed, members in ((0, 2), (1, 1)):
        config = _generated_config(ensemble=members, epochs=1, test_size=40, validation_size=30,
                                   quantiles=())  # point forecasts: MAE
        metrics = F.run(config, Runner(tmp_path / str(seed), seed=seed, verbose=0), frame=frame)
        losses[seed] = [h["loss"][0] for h in metrics["history"]]
    assert losses[0][0] != losses[0][1]
    assert losses[1][0] == pytest.approx(losses[0][1], rel=1e-6)
