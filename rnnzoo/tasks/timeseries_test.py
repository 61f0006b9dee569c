import numpy as np
import pandas as pd
import pytest

from rnnzoo.tasks import timeseries as F
from rnnzoo.data.datasets import load_series


def test_make_windows_values_and_determinism():
    array = np.arange(40.0).reshape(20, 2)
    h1, f1, o1 = F.make_windows(array, 4, 3, 4, 17, stride=2)
    h2, f2, o2 = F.make_windows(array, 4, 3, 4, 17, stride=2)
    np.testing.assert_array_equal(h1, h2)
    assert o1.tolist() == [4, 6, 8, 10, 12, 14, 16]
    for k, t in enumerate(o1):
        np.testing.assert_array_equal(h1[k], array[t - 4:t])
        np.testing.assert_array_equal(f1[k], array[t:t + 3])


def test_make_windows_rejects_out_of_range_origin():
    with pytest.raises(ValueError, match="first_origin"):
        F.make_windows(np.zeros((10, 1)), 4, 2, 3, 8)


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


def test_train_only_normalisation():
    idx = pd.date_range("2000", periods=300, freq="D")
    frame = pd.DataFrame({"y": np.r_[np.zeros(200), np.full(100, 50.0)],
                          "x": np.arange(300.0)}, index=idx)
    frame.attrs.update(target="y", season_length=7)
    config = F.default_config("co2", input_width=14, horizon=7, test_size=50,
                              validation_size=50, calendar=())
    prepared = F.prepare(frame, config)
    assert prepared.n_train == 200
    assert prepared.stats["mean"]["x"] == pytest.approx(99.5)
    np.testing.assert_allclose(prepared.features[:200, 0].mean(), 0.0, atol=1e-9)


def test_error_table_and_mase():
    table = F.error_table(np.array([[2.0, 4.0]]), {"a": np.array([[1.0, 4.0]])},
                          [0.0, 2.0, 4.0], 1)
    assert table["a"] == {"mae": 0.5, "rmse": 0.7071, "mase": 0.25}
    assert "MASE" in F.format_table(table)


def test_config_rejects_unknown_setting():
    with pytest.raises(ValueError, match="wings"):
        F.default_config("co2", wings=2)
