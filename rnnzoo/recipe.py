"""Plumbing shared by the recipes: flags, output folder, metrics.json, summary line.

A recipe script is `main(argv)`: `recipe.parser(...)` gives the common flags
(`--epochs --batch-size --data-dir --output-dir --preset --set KEY=VALUE
--quick --seed`), `recipe.start(args)` seeds everything and creates the
output folder, `recipe.write_metrics` writes `metrics.json` atomically and
`recipe.summary` prints the one-line summary every recipe ends with.
"""

import argparse
import ast
import json
import os
import tempfile
import time

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"


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
    return p


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
    return args.output_dir


def write_metrics(path, metrics):
    """Writes `metrics` as indented JSON, atomically (temp file + rename).

    NumPy scalars and arrays are converted to Python numbers and lists.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.json")
    >>> _ = write_metrics(path, {"accuracy": np.float32(0.5)})
    >>> json.load(open(path))
    {'accuracy': 0.5}
    """

    def convert(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"Not JSON serializable: {value!r}")

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    text = json.dumps(metrics, indent=2, default=convert, sort_keys=False)
    fd, tmp = tempfile.mkstemp(suffix=".json", prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.chmod(tmp, 0o644)  # mkstemp creates files readable by the owner only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


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
                   label_smoothing=0.0, patience=3, verbose=1, optimizer="adam"):
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

    Returns:
        The Keras history dict.
    """
    import keras

    from rnnzoo.training import compile_for

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
    model.compile(optimizer=model.optimizer, loss=loss, metrics=[metric])
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                      restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2),
    ]
    if y is None:  # a batched dataset, shuffled by its pipeline
        history = model.fit(x, validation_data=validation, epochs=epochs,
                            callbacks=callbacks, verbose=verbose, shuffle=False)
    else:
        history = model.fit(x, y, validation_data=validation, epochs=epochs,
                            batch_size=batch_size, callbacks=callbacks, verbose=verbose)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def build_preset(preset, name, **overrides):
    """Builds preset `preset` with `overrides`, naming the model (and its layers) `name`.

    Example:

    >>> build_preset("char_lstm_lm", "lm", units=8, num_layers=1).name
    'lm'
    """
    from rnnzoo import models
    from rnnzoo.presets import preset_config

    builder, config = preset_config(preset, **overrides)
    config["name"] = name
    return getattr(models, builder)(**config)
