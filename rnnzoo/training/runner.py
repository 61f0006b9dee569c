"""The Runner: the one path every task trains through.

A task's `run(config, runner)` builds its models under `runner.scope()`,
compiles them with `runner.compile` (`rnnzoo.compile_for` under the
strategy) and trains them with `runner.fit`, which gives every task, with no
code of its own:

- the distribution strategy (`tf.distribute` on TensorFlow,
  `keras.distribution` on JAX) and mixed precision;
- crash-safe resume: a rerun of a killed command continues each model at its
  last completed epoch (`BackupAndRestore` under
  `<output_dir>/checkpoints/<name>/`), and models that had finished are
  reloaded, not retrained;
- the best epoch by `monitor` over the whole run, a resumed one included
  (`best.keras`), restored at the end, or the mean of the weights of the
  few best epochs (`average_best`, checkpoint averaging);
- early stopping (`patience`) and a wall-clock budget (`time_limit`);
- a `History` whose `.history` and `.seconds` cover every epoch.

`runner.write_metrics` writes `metrics.json` atomically, `runner.tune` runs
a keras-tuner search over a registered builder, and `runner.finish()` clears
the resume state once the run is complete.
"""

import contextlib
import dataclasses
import json
import os
import shutil
import time

from rnnzoo.io import atomic_path
from rnnzoo.io import read_json
from rnnzoo.io import write_json
from rnnzoo.validation import check_positive_int

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
CHECKPOINTS = "checkpoints"
"""Per-model resume state and best-model checkpoints, under the output folder."""
_RUN_RECORD = "run.json"
_DONE = "done"
_EPOCHS = "epochs.json"
_BEST_EPOCHS = "best_epochs"


class Timer:
    """Wall-clock seconds since creation: `Timer().seconds()`."""

    def __init__(self):
        self.start = time.perf_counter()

    def seconds(self):
        return round(time.perf_counter() - self.start, 1)


def _identity(config):
    if config is None:
        return None
    if dataclasses.is_dataclass(config):
        config = dataclasses.asdict(config)
    return json.loads(json.dumps(config, default=str))


class Runner:
    """Trains the models of one run: strategy, compile, resumable fit, metrics.

    Args:
        output_dir: the run's folder (model, metrics.json, plots,
            `checkpoints/`).
        seed: seeds Python, NumPy and the backend in `start()`.
        verbose: Keras verbosity of `fit`.
        strategy: `"auto"`, `"mirrored"`, `"multi_worker"`, `"tpu"` or
            `"one_device"` (see `rnnzoo.strategy`); or a strategy /
            `keras.distribution` object already made.
        mixed_precision: `mixed_float16` on GPU, `mixed_bfloat16` elsewhere.
        coordinator_address, num_processes, process_id: JAX multi-process.
        tune: None, or a keras-tuner search (`"random"`, `"hyperband"`,
            `"bayesian"`) that the task runs instead of its training.
        max_trials: trials of `tune`.
        quick: the run is a quick one (tests, the demo).

    Example:

    >>> import tempfile, numpy as np, rnnzoo
    >>> runner = Runner(tempfile.mkdtemp(), verbose=0)
    >>> runner.start()
    >>> with runner.scope():
    ...     model = rnnzoo.dense_baseline(num_features=3, num_outputs=1, units=4)
    >>> _ = runner.compile(model)
    >>> x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    >>> history = runner.fit(model, x, y, name="mlp", epochs=2, validation_data=(x, y))
    >>> len(history.history["loss"]), len(history.seconds)
    (2, 2)
    """

    def __init__(self, output_dir, *, seed=0, verbose=1, strategy="auto",
                 mixed_precision=False, coordinator_address=None, num_processes=None,
                 process_id=None, tune=None, max_trials=10, quick=False):
        self.output_dir = os.fspath(output_dir)
        self.seed = seed
        self.verbose = verbose
        self.strategy_kind = strategy
        self.mixed_precision = bool(mixed_precision)
        self.coordinator_address = coordinator_address
        self.num_processes = num_processes
        self.process_id = process_id
        self.tune_with = tune
        self.max_trials = max_trials
        self.quick = quick
        self.distribution = None
        self.timer = Timer()

    # ------------------------------------------------------------------
    # Setting up.

    def start(self, config=None):
        """Seeds every RNG, creates the output folder, applies precision and strategy.

        Args:
            config: the task's config (a dataclass or dict): the run's
                identity. Resume state left by a killed run is kept only
                when the config is the same, and cleared otherwise.
        """
        import keras

        from rnnzoo.training import distribute

        if self.tune_with:
            check_positive_int("max_trials", self.max_trials)
        keras.utils.set_random_seed(self.seed)
        os.makedirs(self.output_dir, exist_ok=True)
        if not isinstance(self.strategy_kind, str):
            distribute.set_mixed_precision(self.mixed_precision)
            self.distribution = self.strategy_kind
        else:
            single = (
                keras.backend.backend() == "jax"
                and self.strategy_kind == "auto"
                and self.coordinator_address is None
                and not os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
                and len(keras.distribution.list_devices()) == 1
            )
            distribute.set_mixed_precision(self.mixed_precision)
            if single:
                self.distribution = None
            else:
                kwargs = {}
                if keras.backend.backend() == "jax":
                    kwargs = dict(coordinator_address=self.coordinator_address,
                                  num_processes=self.num_processes,
                                  process_id=self.process_id)
                self.distribution = distribute.strategy(self.strategy_kind, **kwargs)
        self._check_run_record(config)
        self.timer = Timer()

    def reseed(self, offset=0):
        """Seeds Python, NumPy and the backend with `seed + offset`.

        The one way a task reseeds after `start()`: e.g. ensemble member `i`
        is built and trained after `reseed(1 + i)`, so each member has its
        own initialisation whatever trained before it.

        Example:

        >>> import tempfile, numpy as np
        >>> runner = Runner(tempfile.mkdtemp(), seed=3)
        >>> runner.reseed(1); a = np.random.random()
        >>> runner.reseed(1); a == np.random.random()
        True
        """
        import keras

        keras.utils.set_random_seed(self.seed + offset)

    def _check_run_record(self, config):
        from rnnzoo.training.distribute import is_chief

        folder = os.path.join(self.output_dir, CHECKPOINTS)
        identity = {"config": _identity(config), "seed": self.seed, "tune": self.tune_with,
                    "max_trials": self.max_trials}
        path = os.path.join(folder, _RUN_RECORD)
        previous = read_json(path)
        if not is_chief():
            return
        if previous != identity:
            for name in os.listdir(folder) if os.path.isdir(folder) else ():
                # Another command's resume state: start afresh (best models stay).
                for sub in ("backup", _DONE, _BEST_EPOCHS):
                    shutil.rmtree(os.path.join(folder, name, sub), ignore_errors=True)
                if os.path.exists(os.path.join(folder, name, _EPOCHS)):
                    os.remove(os.path.join(folder, name, _EPOCHS))
            write_json(path, identity)

    def path(self, *parts):
        """A path under the output folder."""
        return os.path.join(self.output_dir, *parts)

    def checkpoint_dir(self, name):
        """`<output_dir>/checkpoints/<name>`: model `name`'s backup and `best.keras`."""
        return self.path(CHECKPOINTS, name)

    def scope(self):
        """The context to build and compile models in (the strategy's scope)."""
        from rnnzoo.training import distribute

        if self.distribution is None:
            return contextlib.nullcontext()
        return distribute.scope(self.distribution)

    # ------------------------------------------------------------------
    # Training.

    def compile(self, model, **kwargs):
        """`rnnzoo.compile_for(model, **kwargs)` under the strategy's scope; returns the model."""
        from rnnzoo.training.compile import compile_for

        with self.scope():
            return compile_for(model, **kwargs)

    def fit(self, model, x, y=None, *, name, monitor="val_loss", patience=None,
            time_limit=None, callbacks=(), restore_best=True, average_best=None, **kwargs):
        """Trains one model of the run: strategy, resume, best epoch, time limit.

        Args:
            model: a compiled model, built under `scope()`.
            x, y: training data as for `model.fit`.
            name: the model's name, unique within the run (its checkpoint
                folder).
            monitor: the metric that picks the best epoch (e.g.
                `"val_accuracy"`); without validation data use `"loss"`.
            patience: stop after this many epochs without improvement of
                `monitor` (None: train every epoch).
            time_limit: stop after the epoch that passes this many seconds.
            callbacks: the task's own Keras callbacks.
            restore_best: end with the weights of the best epoch by
                `monitor` over the whole run, a resumed one included; False:
                the last epoch's.
            average_best: end instead with the mean of the weights of the
                `average_best` best epochs by `monitor` (checkpoint
                averaging; `history.averaged_epochs` names them). None or
                1: the best epoch alone.
            **kwargs: passed to `model.fit` (`batch_size` is the global
                batch).

        Returns:
            A `keras.callbacks.History`: `.history` (lists per metric) and
            `.seconds` (wall seconds per epoch, validation included) cover
            EVERY epoch of the model, those of a killed earlier run
            included.
        """
        import keras

        from rnnzoo.training import distribute
        from rnnzoo.training.callbacks import EpochRecorder
        from rnnzoo.training.callbacks import TimeLimit
        from rnnzoo.training.callbacks import monitor_mode
        from rnnzoo.training.callbacks import training_callbacks
        from rnnzoo.training.distribute import is_chief

        folder = self.checkpoint_dir(name)
        done = os.path.join(folder, _DONE)
        record = _read_done(done)
        history = keras.callbacks.History()
        if record is not None:
            model.load_weights(os.path.join(done, record["weights"]))
            history.history = record["history"]
            history.seconds = record.get("seconds", [])
            history.averaged_epochs = record.get("averaged_epochs")
            print(f"{name}: trained in an earlier run of this command, reloaded from {done}",
                  flush=True)
            return history
        kwargs.setdefault("verbose", self.verbose)
        recorder = EpochRecorder(os.path.join(folder, _EPOCHS))
        extra = []
        if patience is not None:
            # The best epoch is restored below, over a resumed run too.
            extra.append(keras.callbacks.EarlyStopping(
                monitor=monitor, mode=monitor_mode(monitor), patience=patience,
                restore_best_weights=False))
        if time_limit is not None:
            extra.append(TimeLimit(time_limit))
        if average_best is not None:
            check_positive_int("average_best", average_best)
        keeper = None
        if restore_best and average_best and average_best > 1:
            from rnnzoo.training.callbacks import BestEpochWeights

            keeper = BestEpochWeights(os.path.join(folder, _BEST_EPOCHS), average_best,
                                      monitor=monitor)
            extra.append(keeper)
        all_callbacks = ([recorder] + training_callbacks(folder, monitor=monitor)
                         + extra + list(callbacks))
        history = distribute.fit(model, x, y, strategy=self.distribution,
                                 callbacks=all_callbacks, **kwargs)
        recorder.merge_into(history)
        best = os.path.join(folder, "best.keras")
        history.averaged_epochs = None
        if keeper is not None and keeper.best:
            history.averaged_epochs = keeper.average_into(model)
        elif restore_best and os.path.exists(best):
            model.load_weights(best)
        if is_chief():
            weights = "final.weights.h5"
            with atomic_path(os.path.join(done, weights)) as tmp:
                model.save_weights(tmp, overwrite=True)
            write_json(os.path.join(done, "done.json"), {
                "weights": weights,
                "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                "seconds": history.seconds,
                "averaged_epochs": history.averaged_epochs,
            })
        return history

    # ------------------------------------------------------------------
    # Results.

    def write_metrics(self, metrics, filename=METRICS_FILE):
        """Writes `metrics` to `<output_dir>/<filename>` atomically; returns the path."""
        return write_json(self.path(filename), metrics)

    def save_model(self, model, filename=MODEL_FILE):
        """Saves `model` to `<output_dir>/<filename>` atomically; returns the path."""
        from rnnzoo.training.saving import save_model

        return save_model(model, self.path(filename))

    def finish(self):
        """Ends the run: clears the resume state (the `best.keras` checkpoints stay)."""
        from rnnzoo.training.distribute import is_chief

        folder = self.path(CHECKPOINTS)
        if not is_chief() or not os.path.isdir(folder):
            return
        for name in os.listdir(folder):
            shutil.rmtree(os.path.join(folder, name, _DONE), ignore_errors=True)
            shutil.rmtree(os.path.join(folder, name, _BEST_EPOCHS), ignore_errors=True)
            if os.path.exists(os.path.join(folder, name, _EPOCHS)):
                os.remove(os.path.join(folder, name, _EPOCHS))
        if os.path.exists(os.path.join(folder, _RUN_RECORD)):
            os.remove(os.path.join(folder, _RUN_RECORD))

    # ------------------------------------------------------------------
    # Tuning.

    def tune(self, builder, x, y=None, *, validation_data, fixed, space=None, wrap=None,
             epochs, batch_size, objective="val_loss", task_name=None):
        """Runs a keras-tuner search over the HyperModel of registered builder `builder`.

        Trials train under the run's strategy. Writes `trials.tsv`,
        `trials.json`, `best.keras` (passed through `wrap` first, e.g. a
        raw-string wrapper) and `metrics.json` into the output folder, then
        finishes the run.

        Args:
            builder: a builder name (`rnnzoo.models.BUILDERS`).
            x, y, validation_data: the task's training data.
            fixed: builder arguments every trial shares (vocabulary size,
                classes).
            space: choices narrowing the HyperModel's default space (a
                scalar fixes an argument, a list narrows it).
            wrap: `model -> model` applied to the best model before saving.
            epochs, batch_size: per trial.
            objective: what the tuner minimises.
            task_name: for metrics.json.

        Returns:
            The metrics dict (best score and hyperparameters, the trials).
        """
        from rnnzoo.training import tuning

        kwargs = dict(space or {})
        kwargs.update(fixed)
        hypermodel = tuning.hypermodel_for(builder, **kwargs)
        timer = Timer()
        best, rows = tuning.run_search(
            hypermodel, x, y, validation_data=validation_data, tuner=self.tune_with,
            max_trials=self.max_trials, epochs=epochs, batch_size=batch_size,
            output_dir=self.output_dir, objective=objective, strategy=self.distribution,
            seed=self.seed, verbose=self.verbose)
        path = self.path("best.keras")
        if wrap is not None:
            self.save_model(wrap(best), "best.keras")
        completed = [r for r in rows if r.get("score") is not None]
        metrics = dict(
            task=task_name,
            tuner=self.tune_with,
            builder=builder,
            objective=str(objective),
            trials=len(rows),
            completed_trials=len(completed),
            best_score=float(completed[0]["score"]) if completed else None,
            best_hyperparameters={k: v for k, v in (completed[0] if completed else {}).items()
                                  if k not in ("trial", "score", "status")},
            fixed=dict(fixed),
            tune_seconds=timer.seconds(),
            model=path,
            trials_table=self.path("trials.tsv"),
        )
        self.write_metrics(metrics)
        self.finish()
        return metrics


def _read_done(folder):
    record = read_json(os.path.join(folder, "done.json"))
    if record is None or not os.path.exists(os.path.join(folder, record["weights"])):
        return None
    return record
