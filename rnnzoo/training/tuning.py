"""keras-tuner HyperModels over the rnnzoo builders, and `run_search`.

Each HyperModel searches only its builder's keyword arguments (cell, units
per layer, num_layers, bidirectional, dropout, pooling / attention where the
builder has them) plus the learning rate. Constructor keyword arguments fix
or narrow any of them:

- a scalar fixes the argument (`cell="gru"`, `num_layers=2`),
- a list makes it a choice among those values (`units=[32, 64]`),
- `learning_rate` may also be a `(low, high)` tuple (log-uniform).

The data-dependent arguments (vocabulary_size, num_classes, sequence_length...)
are plain builder arguments too and are always fixed. The builders wire
`return_sequences` per layer, so any depth a trial picks is stacked
correctly (keras-tuner#443, #470).
"""

import csv
import inspect
import json
import os

import keras

from rnnzoo.models import BUILDERS
from rnnzoo.training import compile_for
from rnnzoo.training import save_model

TUNERS = ("random", "hyperband", "bayesian")
_NONE = "none"  # keras-tuner choices cannot hold None

# The default search space of every searchable argument.
_SPACE = {
    "cell": ["lstm", "gru"],
    "units": [32, 64, 128, 256],
    "num_layers": [1, 2, 3],
    "bidirectional": [False, True],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.5],
    "pooling": ["last", "mean", "max", "attention"],
    "attention": [_NONE, "luong", "bahdanau"],
}
_DEFAULT_LR = (1e-4, 1e-2)


class _HyperBuilder:
    """Shared logic; subclasses set `builder` and `searched`."""

    builder = None
    searched = ()
    task = "auto"

    def __init__(self, *, learning_rate=_DEFAULT_LR, name=None, tunable=True, **kwargs):
        import keras_tuner

        self._keras_tuner = keras_tuner
        keras_tuner.HyperModel.__init__(self, name=name or type(self).__name__, tunable=tunable)
        parameters = inspect.signature(self.builder).parameters
        for key in kwargs:
            if key not in parameters:
                raise ValueError(
                    f"`{key}` is not an argument of rnnzoo.{self.builder.__name__}; "
                    f"expected one of {sorted(parameters)}. Received: {key}={kwargs[key]!r}"
                )
        self.space = {}
        self.fixed = {}
        for key in self.searched:
            self.space[key] = list(_SPACE[key])
        for key, value in kwargs.items():
            if isinstance(value, list):
                if not value:
                    raise ValueError(
                        f"Expected a non-empty list of choices for `{key}`. Received: {key}=[]"
                    )
                self.space[key] = [_NONE if v is None else v for v in value]
                self.fixed.pop(key, None)
            else:
                self.fixed[key] = value
                self.space.pop(key, None)
        self.learning_rate = _check_learning_rate(learning_rate)

    def _choice(self, hp, key, name=None):
        values = self.space[key]
        if len(values) == 1:
            value = hp.Fixed(name or key, values[0])
        elif all(isinstance(v, bool) for v in values):
            value = hp.Boolean(name or key) if set(values) == {False, True} else values[0]
        else:
            value = hp.Choice(name or key, values)
        return None if value == _NONE else value

    def config(self, hp):
        """The builder keyword arguments of one trial."""
        config = dict(self.fixed)
        for key in self.space:
            if key == "units":
                continue
            config[key] = self._choice(hp, key)
        if "units" in self.space:
            depth = config.get("num_layers", self.fixed.get("num_layers", 1))
            if depth == 1 and "num_layers" not in self.space:
                config["units"] = self._choice(hp, "units")
            else:
                # One width per layer; layer i's width exists only when the
                # trial has at least i + 1 layers.
                config["units"] = [
                    self._choice(hp, "units", name=f"units_{i}") for i in range(depth)
                ]
        return config

    def build(self, hp):
        config = self.config(hp)
        if isinstance(self.learning_rate, tuple):
            lr = hp.Float("learning_rate", *self.learning_rate, sampling="log")
        elif isinstance(self.learning_rate, list):
            lr = hp.Choice("learning_rate", self.learning_rate)
        else:
            lr = hp.Fixed("learning_rate", self.learning_rate)
        model = self.builder(**config)
        return compile_for(model, task=self.task, learning_rate=lr)


def _check_learning_rate(value):
    def positive(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0

    if isinstance(value, tuple):
        if len(value) == 2 and all(positive(v) for v in value) and value[0] < value[1]:
            return tuple(float(v) for v in value)
    elif isinstance(value, list):
        if value and all(positive(v) for v in value):
            return [float(v) for v in value]
    elif positive(value):
        return float(value)
    raise ValueError(
        "Expected `learning_rate` to be a positive float, a non-empty list of "
        "them, or a (low, high) tuple with 0 < low < high. "
        f"Received: learning_rate={value!r}"
    )


_DOC = """A keras-tuner HyperModel over `rnnzoo.{builder}`.

    Searches {searched} and the learning rate (log-uniform in [1e-4, 1e-2]).
    Keyword arguments are `rnnzoo.{builder}`'s: a scalar fixes one, a list
    narrows it to those choices. `learning_rate` takes a float, a list or a
    `(low, high)` tuple.

    Example:

    >>> import keras_tuner, rnnzoo
    >>> hypermodel = rnnzoo.training.tuning.{name}({example})
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> model.optimizer is not None
    True
"""

# What each HyperModel searches, by builder name (a key of
# `rnnzoo.models.BUILDERS`, where the builder itself is looked up): its class
# name, the searched arguments, the docstring example's fixed arguments and
# the `compile_for` task.
_SEARCHES = {
    "sequence_classifier": (
        "HyperSequenceClassifier",
        ("cell", "units", "num_layers", "bidirectional", "dropout", "pooling"),
        "vocabulary_size=50, num_classes=3", "auto",
    ),
    "sequence_tagger": (
        "HyperSequenceTagger",
        ("cell", "units", "num_layers", "bidirectional", "dropout"),
        "vocabulary_size=50, num_classes=5", "auto",
    ),
    "seq2seq": (
        "HyperSeq2Seq",
        ("cell", "units", "num_layers", "bidirectional", "dropout", "attention"),
        "source_vocabulary_size=50, target_vocabulary_size=60", "auto",
    ),
    "language_model": (
        "HyperLanguageModel",
        ("cell", "units", "num_layers", "dropout"),
        "vocabulary_size=30", "language_model",
    ),
    "forecaster": (
        "HyperForecaster",
        ("cell", "units", "num_layers", "dropout"),
        "sequence_length=12, num_features=2, horizon=3", "auto",
    ),
    "sequence_generator": (
        "HyperSequenceGenerator",
        ("cell", "units", "num_layers", "dropout", "attention"),
        "vocabulary_size=40, num_features=16", "auto",
    ),
}


def _hypermodel_class(builder_name):
    import keras_tuner

    name, searched, example, task = _SEARCHES[builder_name]
    builder = BUILDERS[builder_name]
    doc = _DOC.format(builder=builder_name, searched=", ".join(searched), name=name,
                      example=example)
    cls = type(name, (_HyperBuilder, keras_tuner.HyperModel), {
        "builder": staticmethod(builder), "searched": searched, "task": task, "__doc__": doc,
    })
    cls.__module__ = __name__
    return cls


HYPERMODELS = {builder_name: _hypermodel_class(builder_name) for builder_name in _SEARCHES}
HyperSequenceClassifier = HYPERMODELS["sequence_classifier"]
HyperSequenceTagger = HYPERMODELS["sequence_tagger"]
HyperSeq2Seq = HYPERMODELS["seq2seq"]
HyperLanguageModel = HYPERMODELS["language_model"]
HyperForecaster = HYPERMODELS["forecaster"]
HyperSequenceGenerator = HYPERMODELS["sequence_generator"]


def hypermodel_for(builder, **kwargs):
    """The HyperModel of a builder name (a key of `rnnzoo.models.BUILDERS`).

    Args:
        builder: a builder name, as in `rnnzoo.PRESETS[...]["builder"]`.
        **kwargs: the HyperModel's arguments (fixed or narrowed builder
            arguments, `learning_rate`).

    Returns:
        A keras-tuner HyperModel.

    Example:

    >>> type(hypermodel_for("forecaster", sequence_length=8)).__name__
    'HyperForecaster'
    """
    if builder not in HYPERMODELS:
        raise ValueError(
            f"Expected `builder` to be one of {sorted(HYPERMODELS)}. Received: builder={builder!r}"
        )
    return HYPERMODELS[builder](**kwargs)


def make_tuner(hypermodel, tuner="random", *, max_trials=10, objective="val_loss", epochs=10,
               directory="tuning", project_name="search", strategy=None, seed=0,
               overwrite=True):
    """A keras-tuner tuner over `hypermodel`.

    Args:
        hypermodel: one of this module's HyperModels.
        tuner: `"random"`, `"hyperband"` (`epochs` is its `max_epochs`; it
            sets its own number of trials) or `"bayesian"`.
        max_trials: trials for random and Bayesian search.
        objective: the metric to minimise (`val_loss`) or a
            `keras_tuner.Objective`.
        epochs: Hyperband's `max_epochs`.
        directory, project_name: where trials are recorded.
        strategy: a `tf.distribute.Strategy` every trial trains under
            (TensorFlow); on JAX set the distribution with `rnnzoo.strategy`.
        seed, overwrite: as for keras-tuner tuners.
    """
    import keras_tuner

    from rnnzoo.validation import check_choice
    from rnnzoo.validation import check_positive_int

    tuner = check_choice("tuner", tuner, TUNERS)
    max_trials = check_positive_int("max_trials", max_trials)
    kwargs = dict(objective=objective, directory=directory, project_name=project_name,
                  seed=seed, overwrite=overwrite)
    if strategy is not None and keras.backend.backend() == "tensorflow":
        kwargs["distribution_strategy"] = strategy
    if tuner == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **kwargs)
    if tuner == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **kwargs)
    return keras_tuner.Hyperband(hypermodel, max_epochs=max(2, epochs), **kwargs)


def trials_table(tuner):
    """Rows `{"trial", "score", "status", **hyperparameters}`, best first."""
    trials = tuner.oracle.get_best_trials(num_trials=len(tuner.oracle.trials))
    rows = []
    for trial in trials:
        row = {"trial": trial.trial_id, "score": trial.score, "status": trial.status}
        row.update(trial.hyperparameters.values)
        rows.append(row)
    return rows


def format_table(rows):
    """The rows of `trials_table` as an aligned text table."""
    if not rows:
        return "(no trials)"
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    widths = {c: max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    for r in rows:
        lines.append("  ".join(cell(r.get(c)).ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def run_search(hypermodel, x, y=None, *, validation_data=None, tuner="random", max_trials=10,
               epochs=5, batch_size=32, output_dir="runs/tuning", objective="val_loss",
               strategy=None, callbacks=None, seed=0, verbose=0):
    """Searches, saves the best model, prints and writes the trials table.

    Args:
        hypermodel: one of this module's HyperModels.
        x, y, validation_data, batch_size, callbacks: as for `fit`
            (`batch_size` is the global batch).
        tuner: `"random"`, `"hyperband"` or `"bayesian"`.
        max_trials: number of trials (random, Bayesian).
        epochs: training epochs per trial (Hyperband: the maximum).
        output_dir: receives `trials.tsv`, `trials.json`, `best.keras` and
            the tuner's own records (`output_dir/tuner/`).
        objective: what the tuner minimises.
        strategy: see `make_tuner`.

    Returns:
        `(best_model, rows)`: the best model (also saved to
        `output_dir/best.keras`) and the trials table, best first.

    Example:

    >>> import numpy as np, rnnzoo  # doctest: +SKIP
    >>> hm = rnnzoo.training.tuning.HyperSequenceClassifier(vocabulary_size=30,
    ...     num_classes=2, units=[8, 16], num_layers=[1, 2])  # doctest: +SKIP
    >>> x = np.random.randint(1, 30, (64, 7)); y = np.random.randint(0, 2, 64)  # doctest: +SKIP
    >>> model, rows = rnnzoo.training.tuning.run_search(hm, x, y, validation_data=(x, y),
    ...     max_trials=2, epochs=1, output_dir="/tmp/t")  # doctest: +SKIP
    """
    os.makedirs(output_dir, exist_ok=True)
    search = make_tuner(hypermodel, tuner, max_trials=max_trials, objective=objective,
                        epochs=epochs, directory=output_dir, project_name="tuner",
                        strategy=strategy, seed=seed)
    search.search(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size,
                  callbacks=callbacks or [], verbose=verbose)
    rows = trials_table(search)
    table = format_table(rows)
    print(table)
    with open(os.path.join(output_dir, "trials.json"), "w") as f:
        json.dump(rows, f, indent=1, default=str)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(os.path.join(output_dir, "trials.tsv"), "w", newline="") as f:
        writer = csv.DictWriter(f, columns, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    best = search.get_best_models(num_models=1)[0]
    save_model(best, os.path.join(output_dir, "best.keras"))
    return best, rows
