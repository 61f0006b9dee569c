"""Time-series forecasting recipe: an RNN ensemble against three baselines.

Forecasts a real series (weekly Mauna Loa co2 by default, bundled with
statsmodels: no network needed; or hourly Beijing PM2.5 with every weather
covariate) from rolling origins over the test part, and prints MAE, RMSE and
MASE of the network next to the naive, seasonal-naive and statsmodels
Holt-Winters (ETS) forecasts fitted on the same training part.

    python recipes/timeseries.py --series co2
    python recipes/timeseries.py --series beijing_pm25
    python recipes/timeseries.py --series co2 --quick
    python recipes/timeseries.py --series co2 --dropout 0.1 --num-layers 2
    python recipes/timeseries.py --series co2 --multistep autoregressive --cell simple
    python recipes/timeseries.py --series beijing_pm25 --strategy mirrored --batch-size 1024
    python recipes/timeseries.py --series co2 --quick --tune random --max-trials 10

Every setting is a flag (`python recipes/timeseries.py --help`; logic in
`rnnzoo.tasks.timeseries`); `--set KEY=VALUE` passes any other
`rnnzoo.forecaster` argument. Writes to `--output-dir` (default
`runs/timeseries/<series>`): `model.keras` (first ensemble member; it
predicts standardised residuals over the anchor forecast),
`normalization.json`, `metrics.json`, `forecasts.png`, `horizon_errors.png`,
`loss.png`.
"""

from rnnzoo import cli
from rnnzoo.tasks import timeseries

if __name__ == "__main__":
    cli.main(timeseries)
