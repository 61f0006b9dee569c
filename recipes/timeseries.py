"""Time-series forecasting recipe: an RNN ensemble against three baselines.

Forecasts a real series (weekly Mauna Loa co2 by default, bundled with
statsmodels: no network needed; or hourly Beijing PM2.5 with every weather
covariate) from rolling origins over the test part, and prints MAE, RMSE and
MASE of the network next to the naive, seasonal-naive and statsmodels
Holt-Winters (ETS) forecasts fitted on the same training part.

    python recipes/timeseries.py --series co2
    python recipes/timeseries.py --series beijing_pm25
    python recipes/timeseries.py --series co2 --quick
    python recipes/timeseries.py --series co2 --set dropout=0.1 --set num_layers=2
    python recipes/timeseries.py --series beijing_pm25 --strategy mirrored --batch-size 1024
    python recipes/timeseries.py --series co2 --quick --tune random --max-trials 10

Flags: the shared recipe flags (`rnnzoo.training.recipe.parser`: `--epochs
--batch-size --data-dir --output-dir --set KEY=VALUE --quick --seed
--verbose --strategy --mixed-precision`; `--set` overrides any
`rnnzoo.tasks.timeseries.ForecastConfig` field) plus `--series --horizon
--input-width --forecast-strategy direct|autoregressive --cell --units
--ensemble` (`--strategy` is the shared data-parallel flag).

Writes to `--output-dir`: `model.keras` (first ensemble member; it predicts
standardised residuals over the anchor forecast, see
`rnnzoo.tasks.timeseries`), `normalization.json`, `metrics.json`,
`forecasts.png`, `horizon_errors.png`, `loss.png`.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import rnnzoo  # noqa: E402
from rnnzoo.tasks import timeseries as forecasting  # noqa: E402
from rnnzoo import plots  # noqa: E402
from rnnzoo.training import recipe  # noqa: E402


DEFAULT_OUTPUT = os.path.join("runs", "timeseries")


def parse_args(argv=None):
    """The shared recipe flags (`rnnzoo.training.recipe.parser`) plus forecasting ones.

    `--epochs` and `--batch-size` default to the series' configuration
    (`rnnzoo.tasks.timeseries.default_config`); `--set KEY=VALUE` overrides any
    `ForecastConfig` field (e.g. `--set dropout=0.1 --set num_layers=2`);
    the output folder defaults to `runs/timeseries/<series>`. The issue's
    `--strategy direct|autoregressive` is `--forecast-strategy` here, as
    `--strategy` is the shared data-parallel flag (`rnnzoo.training.distribute`).
    """
    parser = recipe.parser("timeseries", __doc__.splitlines()[0],
                           epochs=None, batch_size=None)
    parser.set_defaults(output_dir=DEFAULT_OUTPUT)
    parser.add_argument("--series", default="co2",
                        choices=sorted(rnnzoo.data.datasets.SERIES))
    parser.add_argument("--horizon", type=int)
    parser.add_argument("--input-width", type=int)
    parser.add_argument("--forecast-strategy", choices=["direct", "autoregressive"],
                        help="multi-step strategy (`--strategy` is the shared "
                             "data-parallel flag)")
    parser.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"])
    parser.add_argument("--units", type=int)
    parser.add_argument("--ensemble", type=int,
                        help="networks (seeds) averaged")
    args = parser.parse_args(argv)
    if args.preset is not None:
        raise ValueError(
            "Expected no `--preset` for timeseries (the forecaster's settings "
            "come from `--series` and `--set KEY=VALUE`). "
            f"Received: preset={args.preset!r}"
        )
    if args.output_dir == DEFAULT_OUTPUT:
        args.output_dir = os.path.join(DEFAULT_OUTPUT, args.series)
    return args


def _builder_overrides(args):
    """The `--set` entries that are `rnnzoo.forecaster` arguments (what `--tune` searches)."""
    import inspect

    names = set(inspect.signature(rnnzoo.forecaster).parameters) | {"learning_rate"}
    return {k: v for k, v in recipe.parse_overrides(args.set).items() if k in names}


def main(argv=None):
    args = parse_args(argv)
    overrides = dict(
        epochs=args.epochs, batch_size=args.batch_size, horizon=args.horizon,
        input_width=args.input_width, strategy=args.forecast_strategy, cell=args.cell,
        units=args.units, ensemble=args.ensemble,
    )
    overrides.update(recipe.parse_overrides(args.set))
    if args.quick:
        quick = {"epochs": 4, "ensemble": 1, "units": 32, "patience": 4}
        if args.series == "beijing_pm25":
            quick.update(train_stride=6, epochs=3)
        for key, value in quick.items():
            if overrides.get(key) is None:
                overrides[key] = value
    config = forecasting.default_config(args.series, **overrides)
    args.epochs, args.batch_size = config.epochs, config.batch_size
    output_dir = recipe.start(args)
    if args.tune:  # search the forecaster over the same windows
        return forecasting.run(config, data_dir=args.data_dir, search=lambda x, y, v, fixed:
                               recipe.tune(args, "forecaster", x, y, validation_data=v,
                                           fixed=fixed, recipe_name="timeseries",
                                           quick_space=dict(units=[16, 32], num_layers=1),
                                           overrides=_builder_overrides(args)))
    result = forecasting.run(
        config, data_dir=args.data_dir, verbose=args.verbose,
        scope=lambda: recipe.scope(args),  # --strategy
        fit=lambda model, *a, name, **k: recipe.fit(model, *a, args=args, name=name, **k))
    print(forecasting.format_table(
        result.table,
        f"{args.series}: {len(result.origins)} rolling origins x "
        f"{config.horizon} steps (test part)",
    ))
    rnnzoo.save_model(result.models[0], os.path.join(output_dir, recipe.MODEL_FILE))
    recipe.write_metrics(os.path.join(output_dir, "normalization.json"),
                         result.stats)
    target = result.actual
    plots.plot_forecasts(
        os.path.join(output_dir, "forecasts.png"), result.index, target,
        result.forecasts, result.origins,
        title=f"{args.series}: forecasts from rolling test origins",
    )
    plots.plot_horizon_errors(
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
        **{f"{name}_mase": row["mase"] for name, row in result.table.items()},
        "per_horizon_mae": result.per_horizon_mae,
        "num_origins": int(len(result.origins)),
        "train_seconds": round(result.train_seconds, 1),
        "best_baseline": best[1],
        "rnn_over_best_baseline_mase": round(result.table["rnn"]["mase"] / best[0], 4),
        "quick": args.quick,
    }
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    recipe.summary(
        f"timeseries {args.series}", metrics,
        ["rnn_mase", "naive_mase", "seasonal_naive_mase", "ets_mase",
         "best_baseline", "rnn_over_best_baseline_mase", "train_seconds"],
        output_dir,
    )
    return metrics


def _plot_loss(path, histories):
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, history in enumerate(histories):
        ax.plot(history["loss"], label=f"train {k}")
        if "val_loss" in history:
            ax.plot(history["val_loss"], linestyle="--", label=f"validation {k}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MAE of standardised residual")
    ax.legend(fontsize=7)
    fig.tight_layout()
    plots.save_figure(fig, path)


if __name__ == "__main__":
    main()
