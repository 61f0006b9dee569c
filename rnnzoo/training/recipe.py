"""Plumbing shared by the recipes: flags, output folder, metrics.json, summary line.

A recipe script is `main(argv)`: `recipe.parser(...)` gives the common flags
(`--epochs --batch-size --data-dir --output-dir --preset --set KEY=VALUE
--quick --seed`), `recipe.start(args)` seeds everything and creates the
output folder, `recipe.write_metrics` writes `metrics.json` atomically and
`recipe.summary` prints the one-line summary every recipe ends with.

Scale and tuning (docs/distributed.md, docs/tuning.md): `parser` also adds
`--strategy`, `--mixed-precision` (and the JAX multi-process flags) and
`--tune {random,hyperband,bayesian} --max-trials N`. `start` applies the
precision policy and creates the strategy (`args.distribution`); recipes
build and compile under `recipe.scope(args)`, train with `recipe.fit(...)`
(the strategy, crash-safe `BackupAndRestore` and the atomic best-model
checkpoint under `checkpoints/<model>/`; a rerun of a killed command resumes
each model where it stopped, models already finished are reloaded, not
retrained), call `recipe.finish(args)` at the end, and hand `--tune` to
`recipe.tune(...)`.
"""

import argparse
import ast
import contextlib
import json
import os
import shutil
import tempfile
import time

import numpy as np

from rnnzoo.io import atomic_path
from rnnzoo.io import write_json

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
CHECKPOINTS = "checkpoints"
"""Per-model resume state and best-model checkpoints, under the output folder."""
_RUN_RECORD = "run.json"
_DONE = "done"
_EPOCHS = "epochs.json"
# Flags that may change between a killed run and its resumption.
_NOT_RUN_IDENTITY = ("verbose", "strategy", "mixed_precision", "coordinator_address",
                     "num_processes", "process_id", "distribution")


def parse_overrides(items):
    """Parses `KEY=VALUE` strings into builder keyword arguments.

    Values are Python literals when they parse as one (`units=64`,
    `bidirectional=True`, `units=[64,32]`), strings otherwise (`cell=gru`).

    Example:

    >>> parse_overrides(["units=64", "cell=gru", "dropout=0.1"])
    {'units': 64, 'cell': 'gru', 'dropout': 0.1}
    """
    overrides = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(
                f"Expected `--set` as KEY=VALUE with KEY a keyword argument name. "
                f"Received: --set {item!r}"
            )
        try:
            overrides[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            overrides[key] = value.strip()
    return overrides


def parser(recipe, description, *, epochs, batch_size, preset=None):
    """The argument parser with the flags every recipe shares.

    Args:
        recipe: the recipe name (the default output folder is `runs/<recipe>`).
        description: the `--help` description.
        epochs: default `--epochs`.
        batch_size: default `--batch-size`.
        preset: default `--preset` (a name from `rnnzoo.list_models()`).

    Returns:
        An `argparse.ArgumentParser`; recipes may add their own flags.

    Example:

    >>> args = parser("names", "demo", epochs=3, batch_size=32).parse_args(
    ...     ["--quick", "--set", "units=8"])
    >>> args.quick, args.epochs, args.output_dir, parse_overrides(args.set)
    (True, 3, 'runs/names', {'units': 8})
    """
    p = argparse.ArgumentParser(prog=f"{recipe}.py", description=description)
    p.add_argument("--epochs", type=int, default=epochs, help="training epochs (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help="batch size (default %(default)s)")
    p.add_argument("--data-dir", default=None,
                   help="dataset folder (default: $RNNZOO_DATA_DIR, the Keras cache, a download)")
    p.add_argument("--output-dir", default=os.path.join("runs", recipe),
                   help="where the model, metrics.json and plots go (default %(default)s)")
    p.add_argument("--preset", default=preset, help="builder preset (default %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="builder override, repeatable (e.g. --set units=64 --set cell=lstm)")
    p.add_argument("--quick", action="store_true",
                   help="a small, fast run (tests and `make demo`)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--verbose", type=int, default=None,
                   help="Keras verbosity (default: progress bars, 2 with --quick)")
    add_scale_arguments(p)
    return p


def command_parser(recipe, command, description, inputs):
    """The parser of a recipe's command on a trained run (`predict`, `translate`).

    Args:
        recipe: the recipe name (the default `--output-dir` is `runs/<recipe>`,
            the training default).
        command: the command's name.
        description: the `--help` description.
        inputs: the name of the positional, one or more strings.

    Returns:
        An `argparse.ArgumentParser`; pass it and the parsed flags to
        `load_trained`.

    Example:

    >>> args = command_parser("names", "predict", "demo", "names").parse_args(
    ...     ["Hinton", "Satoshi"])
    >>> args.names, args.output_dir
    (['Hinton', 'Satoshi'], 'runs/names')
    """
    p = argparse.ArgumentParser(prog=f"{recipe}.py {command}", description=description)
    p.set_defaults(recipe=recipe)
    p.add_argument(inputs, nargs="+")
    p.add_argument("--output-dir", default=os.path.join("runs", recipe),
                   help="the trained run's folder (default %(default)s)")
    return p


def load_trained(parser, args):
    """The trained run's `model.keras` under `args.output_dir`.

    Exits through `parser.error` (usage and status 2) naming the missing file
    and the command that writes it when the run has not been trained.
    """
    import rnnzoo

    path = os.path.join(args.output_dir, MODEL_FILE)
    if not os.path.exists(path):
        parser.error(f"no trained model at {path}: run `python recipes/{args.recipe}.py` first")
    return rnnzoo.load_model(path, compile=False)


def add_scale_arguments(parser):
    """Adds `--strategy`, `--mixed-precision`, the JAX multi-process flags, `--tune`, `--max-trials`.

    Example:

    >>> import argparse
    >>> args = add_scale_arguments(argparse.ArgumentParser()).parse_args(
    ...     ["--strategy", "mirrored", "--tune", "random", "--max-trials", "2"])
    >>> args.strategy, args.mixed_precision, args.tune, args.max_trials
    ('mirrored', False, 'random', 2)
    """
    from rnnzoo.training import distribute
    from rnnzoo.training import tuning

    distribute.add_arguments(parser)
    tuning.add_arguments(parser)
    return parser


def start(args):
    """Checks the common flags, seeds Python/NumPy/backend RNGs, creates the output folder.

    Returns:
        The output folder (`str`).
    """
    import keras

    for flag in ("epochs", "batch_size"):
        value = getattr(args, flag)
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Expected `--{flag.replace('_', '-')}` to be a positive integer. "
                f"Received: {flag}={value!r}"
            )
    keras.utils.set_random_seed(args.seed)
    if args.verbose is None:
        args.verbose = 2 if args.quick else 1
    os.makedirs(args.output_dir, exist_ok=True)
    setup_scale(args)
    return args.output_dir


def setup_scale(args):
    """Applies `--mixed-precision` and `--strategy`; sets `args.distribution`.

    Also checks `--max-trials` and records the run's flags in
    `<output_dir>/checkpoints/run.json`: resume state left by a killed run
    is kept only when the command is the same (the strategy, precision and
    verbosity may change), and cleared otherwise.

    Returns:
        The strategy (`tf.distribute.Strategy`, `keras.distribution`
        distribution) or None when there is nothing to distribute (JAX,
        `--strategy auto`, one device, one process: no global distribution
        is set).
    """
    import keras

    from rnnzoo.training import distribute
    from rnnzoo.validation import check_positive_int

    if getattr(args, "tune", None):
        check_positive_int("max_trials", args.max_trials)
    if not hasattr(args, "strategy"):
        args.distribution = None
        return None
    single = (
        keras.backend.backend() == "jax"
        and args.strategy == "auto"
        and getattr(args, "coordinator_address", None) is None
        and not os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
        and len(keras.distribution.list_devices()) == 1
    )
    if single:
        distribute.set_mixed_precision(bool(args.mixed_precision))
        args.distribution = None
    else:
        args.distribution = distribute.apply(args)
    _check_run_record(args)
    return args.distribution


def _run_identity(args):
    return {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_RUN_IDENTITY}


def _check_run_record(args):
    from rnnzoo.training.callbacks import is_chief

    folder = os.path.join(args.output_dir, CHECKPOINTS)
    identity = json.loads(json.dumps(_run_identity(args), default=str))
    path = os.path.join(folder, _RUN_RECORD)
    try:
        with open(path) as f:
            previous = json.load(f)
    except (OSError, ValueError):
        previous = None
    if not is_chief():
        return
    if previous != identity:
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            # Another command's resume state: start afresh (best models stay).
            for sub in ("backup", _DONE):
                shutil.rmtree(os.path.join(folder, name, sub), ignore_errors=True)
        write_metrics(path, identity)


def distribution(args):
    """The strategy of the run (None before `start` or when there is none)."""
    return getattr(args, "distribution", None)


def scope(args):
    """The context recipes build and compile their models in (the strategy's scope)."""
    from rnnzoo.training import distribute

    strategy = distribution(args)
    if strategy is None:
        return contextlib.nullcontext()
    return distribute.scope(strategy)


def checkpoint_dir(args, name):
    """`<output_dir>/checkpoints/<name>`: model `name`'s backup and `best.keras`."""
    return os.path.join(args.output_dir, CHECKPOINTS, name)


def fit(model, x, y=None, *, args, name, monitor="val_loss", callbacks=(),
        restore_best=True, **kwargs):
    """Trains one model of a recipe: strategy, resume, best-model checkpoint.

    `rnnzoo.fit` under the run's strategy with `callbacks` plus
    `rnnzoo.training.callbacks.training_callbacks(checkpoint_dir(args, name))`: a
    crash-safe `BackupAndRestore` (rerunning a killed command resumes at the
    last completed epoch) and an atomic `best.keras` by `monitor`. When
    training ends, the final weights and history are recorded, so a rerun of
    a command killed LATER (e.g. while training the next model) reloads this
    model instead of training it again. `finish(args)` clears that record.

    Args:
        model: a compiled model, built under `scope(args)`.
        x, y: training data as for `model.fit`.
        args: the recipe's parsed flags (after `start`).
        name: a name for the model, unique within the recipe.
        monitor: the metric that picks `best.keras` (e.g. `"val_accuracy"`).
        callbacks: the recipe's own callbacks.
        restore_best: end with the weights of `best.keras`, the best epoch
            by `monitor` over the whole run, a resumed one included (Keras'
            `EarlyStopping(restore_best_weights=True)` only knows the epochs
            of its own process; give early stopping `restore_best_weights=
            False`); False: end with the last epoch's weights.
        **kwargs: passed to `model.fit` (`batch_size` is the global batch).

    Returns:
        A `keras.callbacks.History`: `.history` (lists per metric) and
        `.seconds` (wall seconds per epoch, validation included) cover EVERY
        epoch of the model, those of a killed earlier run of the command
        included (recorded per epoch in `checkpoints/<name>/epochs.json`).
    """
    import keras

    from rnnzoo.training import distribute
    from rnnzoo.training.callbacks import EpochRecorder
    from rnnzoo.training.callbacks import is_chief
    from rnnzoo.training.callbacks import training_callbacks

    folder = checkpoint_dir(args, name)
    done = os.path.join(folder, _DONE)
    record = _read_done(done)
    history = keras.callbacks.History()
    if record is not None:
        model.load_weights(os.path.join(done, record["weights"]))
        history.history = record["history"]
        history.seconds = record.get("seconds", [])
        print(f"{name}: trained in an earlier run of this command, reloaded from {done}",
              flush=True)
        return history
    kwargs.setdefault("verbose", getattr(args, "verbose", 1))
    recorder = EpochRecorder(os.path.join(folder, _EPOCHS))
    all_callbacks = [recorder] + training_callbacks(folder, monitor=monitor) + list(callbacks)
    history = distribute.fit(model, x, y, strategy=distribution(args),
                             callbacks=all_callbacks, **kwargs)
    recorder.merge_into(history)
    best = os.path.join(folder, "best.keras")
    if restore_best and os.path.exists(best):
        model.load_weights(best)
    if is_chief():
        os.makedirs(done, exist_ok=True)
        weights = "final.weights.h5"
        with atomic_path(os.path.join(done, weights)) as tmp:
            model.save_weights(tmp, overwrite=True)
        write_json(os.path.join(done, "done.json"), {
            "weights": weights,
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            "seconds": history.seconds,
        })
    return history


def _read_done(folder):
    try:
        with open(os.path.join(folder, "done.json")) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if os.path.exists(os.path.join(folder, record["weights"])) else None


def finish(args):
    """Ends a run: clears the resume state (the `best.keras` checkpoints stay)."""
    from rnnzoo.training.callbacks import is_chief

    folder = os.path.join(args.output_dir, CHECKPOINTS)
    if not is_chief() or not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        shutil.rmtree(os.path.join(folder, name, _DONE), ignore_errors=True)
        if os.path.exists(os.path.join(folder, name, _EPOCHS)):
            os.remove(os.path.join(folder, name, _EPOCHS))
    if os.path.exists(os.path.join(folder, _RUN_RECORD)):
        os.remove(os.path.join(folder, _RUN_RECORD))


def tune(args, builder, x, y=None, *, validation_data, fixed, recipe_name, quick_space=None,
         wrap=None, epochs=None, batch_size=None, objective="val_loss", overrides=None):
    """Runs `--tune`: a keras-tuner search over the HyperModel of `builder`.

    The search space is the HyperModel's default, narrowed by `quick_space`
    under `--quick` and by the user's `--set KEY=VALUE` (a scalar fixes an
    argument, a list such as `--set units=[32,64]` narrows it); `fixed`
    holds the data-dependent builder arguments (vocabulary size, classes).
    Trials train under the run's strategy. Writes `trials.tsv`,
    `trials.json`, `best.keras` (passed through `wrap` first, e.g. the
    raw-string wrapper) and `metrics.json` into the output folder.

    Args:
        args: the recipe's parsed flags (after `start`).
        builder: a key of `rnnzoo.training.tuning.HYPERMODELS`.
        x, y, validation_data: the recipe's (quick-size) training data.
        fixed: builder arguments every trial shares.
        recipe_name: for metrics.json and the summary line.
        quick_space: narrower choices under `--quick`.
        wrap: `model -> model` applied to the best model before saving.
        epochs, batch_size: per trial (default `--epochs`, `--batch-size`).
        objective: what the tuner minimises.
        overrides: the user's choices (default: `parse_overrides(args.set)`).

    Returns:
        The metrics dict (best score and hyperparameters, the trials).
    """
    from rnnzoo.training import tuning
    from rnnzoo.training import save_model

    kwargs = dict(quick_space or {}) if args.quick else {}
    kwargs.update(parse_overrides(args.set) if overrides is None else overrides)
    kwargs.update(fixed)
    hypermodel = tuning.hypermodel_for(builder, **kwargs)
    timer = Timer()
    best, rows = tuning.run_search(
        hypermodel, x, y, validation_data=validation_data, tuner=args.tune,
        max_trials=args.max_trials, epochs=epochs or args.epochs,
        batch_size=batch_size or args.batch_size, output_dir=args.output_dir,
        objective=objective, strategy=distribution(args), seed=args.seed,
        verbose=args.verbose)
    path = os.path.join(args.output_dir, "best.keras")
    if wrap is not None:
        save_model(wrap(best), path)
    completed = [r for r in rows if r.get("score") is not None]
    metrics = dict(
        recipe=recipe_name,
        tuner=args.tune,
        builder=builder,
        objective=str(objective),
        trials=len(rows),
        completed_trials=len(completed),
        best_score=float(completed[0]["score"]) if completed else None,
        best_hyperparameters={k: v for k, v in (completed[0] if completed else {}).items()
                              if k not in ("trial", "score", "status")},
        fixed={k: v for k, v in kwargs.items() if k in fixed},
        tune_seconds=timer.seconds(),
        model=path,
        trials_table=os.path.join(args.output_dir, "trials.tsv"),
    )
    write_metrics(os.path.join(args.output_dir, METRICS_FILE), metrics)
    finish(args)
    summary(recipe_name, metrics, ["tuner", "trials", "best_score", "tune_seconds"],
            args.output_dir)
    return metrics


def training_subset(x, y, limit, seed):
    """A seeded random subset of `limit` training examples, in file order.

    Used by `--limit` (quick runs and tests); `limit` None or 0 keeps all.

    Example:

    >>> x, y = training_subset(np.arange(10), np.arange(10), 3, seed=0)
    >>> len(x), bool((x == y).all())
    (3, True)
    """
    if not limit:
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
    return x[keep], y[keep]


write_metrics = write_json
"""`metrics.json` and every other record a run writes: `rnnzoo.io.write_json`."""


def summary(recipe, metrics, keys, output_dir=None):
    """Prints and returns the one-line summary a recipe ends with.

    Args:
        recipe: the recipe name.
        metrics: a dict of results.
        keys: which entries to show, in order (floats get 4 digits).
        output_dir: shown at the end when given.

    Example:

    >>> line = summary("names", {"test_accuracy": 0.81234, "epochs": 3},
    ...                ["test_accuracy", "epochs"])
    names: test_accuracy=0.8123 epochs=3
    """
    parts = []
    for key in keys:
        value = metrics[key]
        parts.append(f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}")
    line = f"{recipe}: " + " ".join(parts)
    if output_dir:
        line += f" -> {output_dir}"
    print(line, flush=True)
    return line


class Timer:
    """Wall-clock seconds since creation: `Timer().seconds()`."""

    def __init__(self):
        self.start = time.perf_counter()

    def seconds(self):
        return round(time.perf_counter() - self.start, 1)


def fit_classifier(model, x, y, validation, *, epochs, batch_size, learning_rate=1e-3,
                   label_smoothing=0.0, patience=3, verbose=1, optimizer="adam", args=None,
                   name=None, callbacks=()):
    """Compiles and fits a classifier with early stopping on validation accuracy.

    The best epoch's weights (by validation accuracy) are restored; the
    learning rate drops by 0.3 when the validation loss stalls for two
    epochs. With `label_smoothing`, softmax models use the categorical
    cross-entropy on one-hot targets (sigmoid models: the binary one).

    Args:
        model: a classifier (softmax or one sigmoid unit).
        x, y: training inputs and integer labels (or a `tf.data.Dataset`
            of `(x, y)` batches, with `y=None`).
        validation: `(x_val, y_val)` (or a batched dataset).
        epochs, batch_size, learning_rate, patience, verbose, optimizer:
            the obvious.
        label_smoothing: label smoothing of the loss.
        callbacks: more Keras callbacks, run after the early stopping.
        args, name: the recipe's flags and the model's name: compile under
            the run's strategy and train through `recipe.fit` (resume,
            best-model checkpoint by validation accuracy). Without them,
            a plain `model.fit`.

    Returns:
        The Keras history dict.
    """
    import keras

    from rnnzoo.training import compile_for

    def context():
        return scope(args) if args is not None else contextlib.nullcontext()

    with context():
        compile_for(model, task="auto", learning_rate=learning_rate, optimizer=optimizer)
    num_classes = model.outputs[0].shape[-1]
    if num_classes == 1:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        metric = keras.metrics.BinaryAccuracy(name="accuracy")
    elif label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
        if y is not None:
            y = keras.utils.to_categorical(y, num_classes)
            validation = (validation[0], keras.utils.to_categorical(validation[1], num_classes))
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    with context():
        model.compile(optimizer=model.optimizer, loss=loss, metrics=[metric])
    callbacks = [
        # With `args`, recipe.fit restores the best epoch, over a resumed run too.
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                      restore_best_weights=args is None),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2),
        *callbacks,
    ]
    if args is not None:
        def run(*data, **kwargs):
            return fit(model, *data, args=args, name=name or model.name,
                       monitor="val_accuracy", **kwargs)
    else:
        run = model.fit
    if y is None:  # a batched dataset, shuffled by its pipeline
        history = run(x, validation_data=validation, epochs=epochs,
                      callbacks=callbacks, verbose=verbose, shuffle=False)
    else:
        history = run(x, y, validation_data=validation, epochs=epochs,
                      batch_size=batch_size, callbacks=callbacks, verbose=verbose)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def drop_training_state(models):
    """Forgets the optimizers of trained models before they are saved for serving.

    A saved model holds the optimizer state of every compiled model inside
    it; for an ensemble of Adam-trained members that is two extra copies of
    every weight (the sentiment ensemble: 584 MB instead of about 200). The
    models must be compiled again to train further.

    Args:
        models: an iterable of trained `keras.Model`s.
    """
    for model in models:
        model.optimizer = None
        model.compiled = False


def build_preset(preset, name, **overrides):
    """Builds preset `preset` with `overrides`, naming the model (and its layers) `name`.

    Example:

    >>> build_preset("char_lstm_lm", "lm", units=8, num_layers=1).name
    'lm'
    """
    from rnnzoo import models
    from rnnzoo.models.presets import preset_config

    builder, config = preset_config(preset, **overrides)
    config["name"] = name
    return getattr(models, builder)(**config)
