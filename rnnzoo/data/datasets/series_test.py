import gzip
import shutil

import pandas as pd
import pytest

from rnnzoo.data.datasets import series
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.series_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("timeseries")


EXPECTED = {
    # name: (rows, columns, first, last)
    "co2": (2284, 1, "1958-03-29", "2001-12-29"),
    "sunspots": (309, 1, "1700-01-01", "2008-01-01"),
    "monthly_sunspots": (2820, 1, "1749-01-01", "1983-12-01"),
    "melbourne_temp": (3652, 1, "1981-01-01", "1990-12-31"),
    "beijing_pm25": (35040, 11, "2010-01-02 00:00", "2013-12-31 23:00"),
}


@pytest.fixture(scope="module")
def frames(shared):
    return {name: series.load_series(name, shared) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shape_index_and_no_nan(frames, name):
    frame = frames[name]
    rows, columns, first, last = EXPECTED[name]
    info = series.SERIES[name]
    assert frame.shape == (rows, columns)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert frame.index[0] == pd.Timestamp(first)
    assert frame.index[-1] == pd.Timestamp(last)
    assert frame.index.freq == pd.tseries.frequencies.to_offset(info.freq)
    assert not frame.isna().any().any()
    assert (frame.dtypes == "float64").all()
    assert frame.attrs == {
        "name": name,
        "target": info.target,
        "freq": info.freq,
        "season_length": info.season_length,
    }
    assert info.target in frame.columns


def test_season_lengths():
    assert {k: v.season_length for k, v in series.SERIES.items()} == {
        "co2": 52,
        "sunspots": 11,
        "monthly_sunspots": 12,
        "melbourne_temp": 365,
        "beijing_pm25": 24,
    }


def test_values(frames):
    assert frames["co2"]["co2"].iloc[0] == pytest.approx(316.1)
    assert frames["monthly_sunspots"]["sunspots"].iloc[0] == pytest.approx(58.0)
    temp = frames["melbourne_temp"]["temp"]
    assert temp.iloc[0] == pytest.approx(20.7)
    # 1984-12-31 is missing from the file: interpolated from its neighbours.
    day = pd.Timestamp("1984-12-31")
    neighbours = temp[day - pd.Timedelta("1D")], temp[day + pd.Timedelta("1D")]
    assert temp[day] == pytest.approx(sum(neighbours) / 2)


def test_beijing_columns(frames):
    frame = frames["beijing_pm25"]
    assert list(frame.columns) == [
        "pm25", "DEWP", "TEMP", "PRES", "cbwd_NE", "cbwd_NW", "cbwd_SE",
        "cbwd_cv", "Iws", "Is", "Ir",
    ]  # fmt: skip
    one_hot = frame[[f"cbwd_{d}" for d in series.WIND_DIRECTIONS]]
    assert (one_hot.sum(axis=1) == 1).all()
    assert frame["pm25"].iloc[0] == pytest.approx(129.0)
    assert frame["pm25"].min() >= 0


def test_gzipped_and_plain_csv_load_identically(shared, tmp_path):
    source = shared / "timeseries" / "monthly-sunspots.csv"
    shutil.copy(source, tmp_path / "monthly-sunspots.csv")
    packed = tmp_path / "packed"
    packed.mkdir()
    with gzip.open(packed / "monthly-sunspots.csv.gz", "wb") as f:
        f.write(source.read_bytes())
    a = series.load_series("monthly_sunspots", data_dir=tmp_path)
    b = series.load_series("monthly_sunspots", data_dir=packed)
    pd.testing.assert_frame_equal(a, b)


def test_chronological_split(frames):
    frame = frames["co2"]
    train, validation, test = series.chronological_split(frame, 0.1, 0.2)
    assert (len(train), len(validation), len(test)) == (1600, 228, 456)
    assert train.index[-1] < validation.index[0]
    assert validation.index[-1] < test.index[0]
    pd.testing.assert_frame_equal(pd.concat([train, validation, test]), frame)
    assert test.attrs["target"] == "co2"
    parts = series.chronological_split(frames["beijing_pm25"])
    assert [len(p) for p in parts] == [28032, 3504, 3504]
    no_val = series.chronological_split(frame, 0, 0.1)
    assert len(no_val.validation) == 0 and len(no_val.test) == 228


def test_argument_checks(frames):
    with pytest.raises(ValueError, match="Received: name='airline'"):
        series.load_series("airline")
    with pytest.raises(ValueError, match="Received: test_fraction=1"):
        series.chronological_split(frames["co2"], 0.1, 1)
    with pytest.raises(ValueError, match="validation_fraction=0.6"):
        series.chronological_split(frames["co2"], 0.6, 0.5)
