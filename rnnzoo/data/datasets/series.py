"""Real measured time series as pandas DataFrames with a DatetimeIndex."""

from __future__ import annotations

import dataclasses

import pandas as pd

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_split_fractions

DATASET = "timeseries"


@dataclasses.dataclass(frozen=True)
class SeriesInfo:
    """Metadata of one series (also stored in the frame's `attrs`).

    Attributes:
        target: Name of the column to forecast.
        freq: pandas frequency string of the index.
        season_length: Natural season length in steps (e.g. 24 for hourly).
        description: One-line description and provenance.
    """

    target: str
    freq: str
    season_length: int
    description: str


SERIES = {
    "co2": SeriesInfo(
        "co2", "W-SAT", 52,
        "Weekly atmospheric CO2 (ppm) at Mauna Loa, 1958-03-29..2001-12-29, "
        "from statsmodels' bundled `co2` dataset; 59 missing weeks are "
        "filled by time interpolation.",
    ),
    "sunspots": SeriesInfo(
        "sunspots", "YS", 11,
        "Yearly sunspot numbers 1700..2008 from statsmodels' bundled "
        "`sunspots` dataset (season = the ~11-year solar cycle).",
    ),
    "monthly_sunspots": SeriesInfo(
        "sunspots", "MS", 12,
        "Zurich monthly sunspot numbers 1749-01..1983-12 "
        "(jbrownlee/Datasets monthly-sunspots.csv).",
    ),
    "melbourne_temp": SeriesInfo(
        "temp", "D", 365,
        "Daily minimum temperature (deg C) in Melbourne 1981..1990 "
        "(jbrownlee/Datasets daily-min-temperatures.csv); the two missing "
        "days (1984-12-31, 1988-12-31) are filled by time interpolation.",
    ),
    "beijing_pm25": SeriesInfo(
        "pm25", "h", 24,
        "Hourly PM2.5 (ug/m^3) at the US embassy in Beijing with weather "
        "covariates (UCI Beijing PM2.5 Data); leading hours without PM2.5 "
        "are dropped, later gaps filled by time interpolation.",
    ),
}  # fmt: skip
"""Available series names and their metadata."""

_JB = (
    "https://raw.githubusercontent.com/jbrownlee/Datasets/"
    "d20fcb6402ae34e653d4513b00f39257bb37ed7f/"
)
DOWNLOADS = {
    "monthly_sunspots": resolve.Download(
        "monthly-sunspots.csv",
        _JB + "monthly-sunspots.csv",
        file_hash=(
            "c4ec8cc57d9f6fb6ecdb3e1f37f25b6f4badd5124c55931052b0cd2fc3bc71f3"
        ),
    ),
    "melbourne_temp": resolve.Download(
        "daily-min-temperatures.csv",
        _JB + "daily-min-temperatures.csv",
        file_hash=(
            "8b9de63ed6789492bf497625e7f9beb96a63d367b4b0a21754006f749fa5e5da"
        ),
    ),
    # The shared copy lacks 2014 (held out), so no copy of the canonical
    # file was available to hash: not pinned.
    "beijing_pm25": resolve.Download(
        "PRSA_data_2010.1.1-2014.12.31.csv",
        "https://archive.ics.uci.edu/ml/machine-learning-databases/00381/"
        "PRSA_data_2010.1.1-2014.12.31.csv",
        file_hash=None,
    ),
}
"""Download addresses of the file-based series."""

_FILES = {
    "monthly_sunspots": ("monthly-sunspots.csv",),
    "melbourne_temp": ("daily-min-temperatures.csv",),
    "beijing_pm25": (
        "beijing_pm25_2010_2013.csv",
        "PRSA_data_2010.1.1-2014.12.31.csv",
        "pollution.csv",
    ),
}

WIND_DIRECTIONS = ("NE", "NW", "SE", "cv")
"""Categories of Beijing's combined wind direction `cbwd` (one-hot)."""


def _finish(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    info = SERIES[name]
    frame = frame.sort_index()
    frame.index.name = "date"
    frame.index.freq = pd.tseries.frequencies.to_offset(info.freq)
    frame.attrs.update(
        name=name,
        target=info.target,
        freq=info.freq,
        season_length=info.season_length,
    )
    return frame


def _co2():
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data.astype("float64")
    data = data.interpolate(method="time")
    return data[["co2"]]


def _sunspots():
    import statsmodels.api as sm

    data = sm.datasets.sunspots.load_pandas().data
    index = pd.to_datetime(data["YEAR"].astype(int).astype(str), format="%Y")
    return pd.DataFrame(
        {"sunspots": data["SUNACTIVITY"].to_numpy(dtype="float64")},
        index=pd.DatetimeIndex(index),
    )


def _read_csv(path, **kwargs):
    with resolve.open_text(path) as f:
        return pd.read_csv(f, **kwargs)


def _monthly_sunspots(path):
    data = _read_csv(path)
    index = pd.to_datetime(data["Month"], format="%Y-%m")
    return pd.DataFrame(
        {"sunspots": data["Sunspots"].to_numpy(dtype="float64")},
        index=pd.DatetimeIndex(index),
    )


def _melbourne_temp(path):
    data = _read_csv(path)
    index = pd.DatetimeIndex(pd.to_datetime(data["Date"], format="%Y-%m-%d"))
    frame = pd.DataFrame(
        {"temp": pd.to_numeric(data["Temp"], errors="coerce").to_numpy()},
        index=index,
    )
    full = pd.date_range(index.min(), index.max(), freq="D")
    return frame.reindex(full).interpolate(method="time")


def _beijing_pm25(path):
    data = _read_csv(path, na_values=["NA"])
    index = pd.DatetimeIndex(
        pd.to_datetime(data[["year", "month", "day", "hour"]])
    )
    frame = pd.DataFrame(
        {"pm25": data["pm2.5"].to_numpy(dtype="float64")}, index=index
    )
    for column in ("DEWP", "TEMP", "PRES"):
        frame[column] = data[column].to_numpy(dtype="float64")
    for direction in WIND_DIRECTIONS:
        frame[f"cbwd_{direction}"] = (data["cbwd"] == direction).to_numpy(
            dtype="float64"
        )
    for column in ("Iws", "Is", "Ir"):
        frame[column] = data[column].to_numpy(dtype="float64")
    frame = frame.sort_index()
    first = frame["pm25"].first_valid_index()
    frame = frame.loc[first:]
    frame["pm25"] = frame["pm25"].interpolate(method="time")
    return frame


def load_series(name, data_dir=None) -> pd.DataFrame:
    """Loads a real time series as a DataFrame with a DatetimeIndex.

    Available `name`s (see `SERIES` for the metadata):

    - `"co2"`: weekly Mauna Loa CO2, 2,284 weeks, target `"co2"`, season
      52. statsmodels' bundled copy (no network). The 59 missing weeks are
      filled by time interpolation.
    - `"sunspots"`: yearly sunspot numbers 1700..2008 (309 years), target
      `"sunspots"`, season 11; statsmodels' bundled copy.
    - `"monthly_sunspots"`: Zurich monthly sunspots 1749..1983 (2,820
      months), target `"sunspots"`, season 12.
    - `"melbourne_temp"`: daily minimum temperature in Melbourne
      1981..1990, target `"temp"`, season 365. The file lacks 1984-12-31 and
      1988-12-31; the index is made complete (3,652 days) and those two
      days are filled by time interpolation.
    - `"beijing_pm25"`: hourly, multivariate. Columns: `pm25` (the target,
      ug/m^3), `DEWP`, `TEMP`, `PRES`, the combined wind direction one-hot
      `cbwd_NE`, `cbwd_NW`, `cbwd_SE`, `cbwd_cv`, then `Iws`, `Is`, `Ir`
      (all float64). The index is built from year/month/day/hour. The
      leading rows without PM2.5 are dropped and later missing PM2.5 values
      are filled by time interpolation (1,944 hours, 5.5%, in the shared
      copy). Season 24. The shared copy covers 2010-2013 (35,040 rows
      after dropping the first day); the UCI download covers 2010-2014.

    The file-based series (`monthly_sunspots`, `melbourne_temp`,
    `beijing_pm25`) are looked up, plain or `.gz`, in `data_dir`,
    `$RNNZOO_DATA_DIR/timeseries/`, the Keras cache, then downloaded
    (`DOWNLOADS`: jbrownlee/Datasets at a pinned commit, sha256-verified;
    Beijing from UCI, not hash-verified because the shared copy is altered
    and no copy of the canonical file was available to hash).

    Args:
        name: One of the keys of `SERIES`.
        data_dir: Folder holding the CSV files, or its parent folder
            (ignored for the statsmodels series).

    Returns:
        A `pandas.DataFrame` of float64 columns, sorted by a regular
        `DatetimeIndex` named `"date"` with `freq` set and no NaN. Its
        `attrs` hold `name`, `target` (the target column), `freq` and
        `season_length`.

    Example:

    >>> frame = load_series("co2")  # doctest: +SKIP
    >>> info = frame.attrs["target"], frame.attrs["season_length"]  # doctest: +SKIP
    >>> info, len(frame)  # doctest: +SKIP
    (('co2', 52), 2284)
    >>> parts = chronological_split(frame, 0.1, 0.1)  # doctest: +SKIP
    """
    if name not in SERIES:
        raise ValueError(
            f"`name` must be one of {sorted(SERIES)}. Received: name={name!r}"
        )
    if name == "co2":
        frame = _co2()
    elif name == "sunspots":
        frame = _sunspots()
    else:
        path = resolve.resolve_files(
            DATASET,
            [_FILES[name]],
            data_dir=data_dir,
            downloads=(DOWNLOADS[name],),
        )[_FILES[name][0]]
        frame = {
            "monthly_sunspots": _monthly_sunspots,
            "melbourne_temp": _melbourne_temp,
            "beijing_pm25": _beijing_pm25,
        }[name](path)
    return _finish(frame, name)


@dataclasses.dataclass(frozen=True)
class SeriesSplit:
    """Chronological train / validation / test parts of a series."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def __iter__(self):
        return iter((self.train, self.validation, self.test))


def chronological_split(
    frame, validation_fraction=0.1, test_fraction=0.1
) -> SeriesSplit:
    """Splits a time-indexed frame into consecutive parts, no shuffling.

    The last `floor(n * test_fraction)` rows form `test`, the
    `floor(n * validation_fraction)` rows before them `validation`, the rest
    `train`. The frame's `attrs` are copied to each part.

    Args:
        frame: A `pandas.DataFrame` (or Series) sorted by time.
        validation_fraction: Fraction of rows for validation, in [0, 1).
        test_fraction: Fraction of rows for test, in [0, 1).

    Returns:
        A `SeriesSplit` (unpackable as `train, validation, test`).

    Example:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": range(10)},
    ...                      index=pd.date_range("2000", periods=10))
    >>> train, validation, test = chronological_split(frame, 0.2, 0.1)
    >>> len(train), len(validation), len(test)
    (7, 2, 1)
    """
    validation_fraction, test_fraction = check_split_fractions(validation_fraction,
                                                               test_fraction)
    n = len(frame)
    n_test = int(n * test_fraction)
    n_validation = int(n * validation_fraction)
    n_train = n - n_test - n_validation
    parts = (
        frame.iloc[:n_train],
        frame.iloc[n_train : n_train + n_validation],
        frame.iloc[n_train + n_validation :],
    )
    for part in parts:
        part.attrs = dict(frame.attrs)
    return SeriesSplit(*parts)
