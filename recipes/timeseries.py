"""Time-series forecasting recipe: an RNN ensemble against three baselines.

Forecasts a real series (weekly Mauna Loa co2 by default, bundled with
statsmodels: no network needed; or hourly Beijing PM2.5 with every weather
covariate) from rolling origins over the test part, and prints MAE, RMSE and
MASE of the network next to the naive, seasonal-naive and statsmodels
Holt-Winters (ETS) forecasts fitted on the same training part.

    python recipes/timeseries.py --series co2
    python recipes/timeseries.py --series beijing_pm25
    python recipes/timeseries.py --series co2 --quick

Writes to `--output-dir`: `model.keras` (first ensemble member; it predicts
standardised residuals over the anchor forecast, see
`rnnzoo.forecasting`), `normalization.json`, `metrics.json`,
`forecasts.png`, `horizon_errors.png`, `loss.png`.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import rnnzoo  # noqa: E402
from rnnzoo import forecasting  # noqa: E402
from rnnzoo import plots_sequence  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="co2",
                        choices=sorted(rnnzoo.datasets.SERIES))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--data-dir")
    parser.add_argument("--output-dir")
    parser.add_argument("--quick", action="store_true",
                        help="a small run (one network, few epochs) for tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon", type=int)
    parser.add_argument("--input-width", type=int)
    parser.add_argument("--strategy", choices=["direct", "autoregressive"])
    parser.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"])
    parser.add_argument("--units", type=int)
    parser.add_argument("--ensemble", type=int,
                        help="networks (seeds) averaged")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    overrides = dict(
        epochs=args.epochs, batch_size=args.batch_size, horizon=args.horizon,
        input_width=args.input_width, strategy=args.strategy, cell=args.cell,
        units=args.units, ensemble=args.ensemble,
    )
    if args.quick:
        quick = {"epochs": 4, "ensemble": 1, "units": 32, "patience": 4}
        if args.series == "beijing_pm25":
            quick.update(train_stride=6, epochs=3)
        for key, value in quick.items():
            if overrides.get(key) is None:
                overrides[key] = value
    config = forecasting.default_config(args.series, **overrides)
    output_dir = args.output_dir or os.path.join("runs", "timeseries", args.series)
    os.makedirs(output_dir, exist_ok=True)
    import keras

    keras.utils.set_random_seed(args.seed)
    result = forecasting.run(config, data_dir=args.data_dir,
                             verbose=2 if args.quick else 1)
    print(forecasting.format_table(
        result.table,
        f"{args.series}: {len(result.origins)} rolling origins x "
        f"{config.horizon} steps (test part)",
    ))
    rnnzoo.save_model(result.models[0], os.path.join(output_dir, "model.keras"))
    with open(os.path.join(output_dir, "normalization.json"), "w") as f:
        json.dump(result.stats, f, indent=1)
    target = result.actual
    plots_sequence.plot_forecasts(
        os.path.join(output_dir, "forecasts.png"), result.index, target,
        result.forecasts, result.origins,
        title=f"{args.series}: forecasts from rolling test origins",
    )
    plots_sequence.plot_horizon_errors(
        os.path.join(output_dir, "horizon_errors.png"), result.per_horizon_mae,
    )
    _plot_loss(os.path.join(output_dir, "loss.png"), result.history)
    best = min((r["mase"], n) for n, r in result.table.items() if n != "rnn")
    metrics = {
        "recipe": "timeseries",
        "series": args.series,
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in vars(config).items()},
        "table": result.table,
        "per_horizon_mae": result.per_horizon_mae,
        "num_origins": int(len(result.origins)),
        "train_seconds": round(result.train_seconds, 1),
        "best_baseline": best[1],
        "rnn_over_best_baseline_mase": round(result.table["rnn"]["mase"] / best[0], 4),
        "quick": args.quick,
    }
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(
        f"timeseries {args.series}: rnn MASE {result.table['rnn']['mase']:.3f} "
        f"vs best baseline {best[1]} {best[0]:.3f} "
        f"(naive {result.table['naive']['mase']:.3f}, seasonal naive "
        f"{result.table['seasonal_naive']['mase']:.3f}, ets "
        f"{result.table['ets']['mase']:.3f}); trained in "
        f"{result.train_seconds:.0f} s"
    )
    return metrics


def _plot_loss(path, histories):
    plt = plots_sequence._pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, history in enumerate(histories):
        ax.plot(history["loss"], label=f"train {k}")
        if "val_loss" in history:
            ax.plot(history["val_loss"], linestyle="--", label=f"validation {k}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MAE of standardised residual")
    ax.legend(fontsize=7)
    fig.tight_layout()
    plots_sequence._save(fig, path)


if __name__ == "__main__":
    main()
