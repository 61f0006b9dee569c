"""Fault tolerance: crash-safe backups to resume from, atomic best-model saves.

`BackupAndRestore` extends `keras.callbacks.BackupAndRestore` so that a run
killed at ANY moment (SIGKILL, pre-emption) resumes from a consistent state:
Keras writes `latest.weights.h5` in place and then the epoch number, so a
kill during or between the two writes leaves a torn weights file or weights
one epoch ahead of the recorded epoch. Here each backup is written to a new
file and only then published by atomically replacing a small JSON record
that names it (weights, optimizer state and epoch change together).

`BestModelCheckpoint` saves the whole model (`.keras`) through
`rnnzoo.save_model` (temporary file + rename) when the monitored value
improves, and records the best value beside it so a resumed run does not
overwrite a better model with a worse one.

In a multi-worker run only the chief writes (task 0 / process 0); every
worker restores from `backup_dir`, which must therefore be on storage all
workers see (a shared file system or a bucket; a local path when the workers
share a host).
"""

import glob
import math
import os
import time

import keras

from rnnzoo.io import atomic_path
from rnnzoo.io import read_json
from rnnzoo.io import write_json
from rnnzoo.training.distribute import is_chief
from rnnzoo.training.saving import save_model

_RECORD = "backup.json"


class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's logs and wall seconds to a JSON file, atomically.

    A run resumed by `BackupAndRestore` starts `fit` at a later epoch, and
    Keras' `History` holds only that call's epochs; `merge_into(history)`
    puts the earlier epochs, read back from the file, in front, and sets
    `history.seconds` (wall seconds per epoch, validation included).

    Args:
        path: the JSON file (read at creation when it exists).

    Example:

    >>> import os, tempfile, numpy as np, keras
    >>> path = os.path.join(tempfile.mkdtemp(), "epochs.json")
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> recorder = EpochRecorder(path)
    >>> history = model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0,
    ...                     callbacks=[recorder])
    >>> recorder.merge_into(history).epoch, len(history.seconds)
    ([0, 1], 2)
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.epochs = {int(k): v for k, v in (read_json(path) or {}).items()}
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[epoch] = {
            "logs": {k: float(v) for k, v in (logs or {}).items()},
            "seconds": round(time.time() - self._start, 3),
        }
        if is_chief():
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            write_json(self.path, {str(k): v for k, v in sorted(self.epochs.items())})

    def merge_into(self, history):
        """Prepends the recorded epochs before `history`'s first; returns it."""
        first = history.epoch[0] if history.epoch else 0
        earlier = [e for e in sorted(self.epochs) if e < first]
        for key, values in history.history.items():
            history.history[key] = [
                self.epochs[e]["logs"].get(key, float("nan")) for e in earlier
            ] + [float(v) for v in values]
        history.epoch = earlier + list(history.epoch)
        history.seconds = [self.epochs[e]["seconds"] for e in history.epoch if e in self.epochs]
        return history


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that survives a kill at any moment.

    At the end of every epoch the weights and optimizer state go to a new
    file `epoch-<n>.weights.h5`; then `backup.json` (`{"epoch": n, "weights":
    ...}`) is replaced atomically, and older weight files are removed. On
    `fit` start the record's weights are loaded and training continues at
    epoch n. The backup folder is deleted when training completes (unless
    `delete_checkpoint=False`).

    For a resumed run to end with the very weights of an uninterrupted one,
    each epoch must see the same batches in both: use `shuffle=False` or a
    dataset whose order depends only on the epoch.

    Args:
        backup_dir: folder for the backup (shared by all workers).
        delete_checkpoint: delete the folder when training ends.

    Example:

    >>> import numpy as np, tempfile, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2,
    ...     num_outputs=1, units=4))
    >>> x, y = np.ones((8, 2)), np.ones((8, 1))
    >>> backup = BackupAndRestore(tempfile.mkdtemp())
    >>> history = model.fit(x, y, epochs=2, callbacks=[backup], verbose=0)
    >>> len(history.history["loss"])
    2
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self._record_path = os.path.join(backup_dir, _RECORD)

    @property
    def restored_epoch(self):
        """The epoch training resumed at on the last `fit` (0: fresh start)."""
        return getattr(self, "_restored_epoch", 0)

    def latest(self):
        """The current backup record (`{"epoch", "weights"}`) or None."""
        record = read_json(self._record_path)
        if record and os.path.exists(os.path.join(self.backup_dir, record["weights"])):
            return record
        return None

    def on_train_begin(self, logs=None):
        self._restored_epoch = 0
        record = self.latest()
        if record is None:
            return
        if not self.model.built:
            raise ValueError(
                "BackupAndRestore restores weights into a built model: build it "
                "(e.g. call it on a batch) before `fit`. Received: an unbuilt "
                f"model {self.model.name!r}"
            )
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, record["weights"]))
        self.model._initial_epoch = int(record["epoch"])
        self._restored_epoch = int(record["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._save_model()

    def _save_model(self):
        if not is_chief():
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch-{self._current_epoch}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        with atomic_path(path) as tmp:
            self.model.save_weights(tmp, overwrite=True)
        write_json(self._record_path, {"epoch": self._current_epoch, "weights": name})
        for old in glob.glob(os.path.join(self.backup_dir, "epoch-*.weights.h5")):
            if os.path.basename(old) != name:
                os.remove(old)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.isdir(self.backup_dir):
            import shutil

            shutil.rmtree(self.backup_dir, ignore_errors=True)


def _resolve_mode(mode, monitor):
    """`mode` checked, with "auto" resolved by `monitor_mode`."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"Expected `mode` to be one of ['auto', 'min', 'max']. Received: mode={mode!r}"
        )
    return monitor_mode(monitor) if mode == "auto" else mode


def _monitored(callback, logs):
    """The value `callback.monitor` names in the epoch logs, as a float."""
    value = (logs or {}).get(callback.monitor)
    if value is None:
        raise ValueError(
            f"{type(callback).__name__} monitors {callback.monitor!r}, which the epoch logs "
            f"lack. Received: logs keys={sorted(logs or {})}"
        )
    return float(value)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the whole model atomically whenever `monitor` improves.

    The model goes to `filepath` (`.keras`) through `rnnzoo.save_model`
    (temporary file + rename: never half-written); the best value and its
    epoch go to `filepath + ".json"`, read back on `fit` start so a resumed
    run keeps improving on the best seen before the interruption.

    Args:
        filepath: destination ending in `.keras`.
        monitor: a key of the epoch logs, e.g. `"val_loss"`,
            `"val_accuracy"`.
        mode: `"min"`, `"max"` or `"auto"` (max for names containing
            "acc", "auc", "bleu", "f1" or "precision"/"recall", else min).

    Example:

    >>> import numpy as np, os, tempfile, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2,
    ...     num_outputs=1, units=4))
    >>> path = os.path.join(tempfile.mkdtemp(), "best.keras")
    >>> cb = BestModelCheckpoint(path, monitor="loss")
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, callbacks=[cb], verbose=0)
    >>> os.path.exists(path)
    True
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto"):
        super().__init__()
        filepath = os.fspath(filepath)
        if not filepath.endswith(".keras"):
            raise ValueError(
                f"Expected `filepath` to end in '.keras'. Received: filepath={filepath!r}"
            )
        self.filepath = filepath
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.best = None
        self.best_epoch = None

    def _better(self, value):
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_train_begin(self, logs=None):
        record = read_json(self.filepath + ".json")
        if record and record.get("monitor") == self.monitor and os.path.exists(self.filepath):
            self.best, self.best_epoch = record["best"], record["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if math.isnan(value) or not self._better(value):
            return
        self.best, self.best_epoch = value, epoch + 1
        if is_chief():
            save_model(self.model, self.filepath)
            write_json(self.filepath + ".json", {
                "monitor": self.monitor, "best": value, "epoch": epoch + 1,
            })


class BestEpochWeights(keras.callbacks.Callback):
    """Keeps the weights of the `count` best epochs by `monitor`, to average them.

    Averaging the weights of a few good epochs of one run (checkpoint
    averaging) smooths the epoch-to-epoch noise of the last updates; it is
    what `Runner.fit(average_best=...)` ends with. Each kept epoch's
    weights go to `folder/epoch-<n>.weights.h5` (written beside and renamed
    into place), the list to `folder/best_epochs.json` (replaced atomically
    after the file it names exists); an epoch that drops out of the best
    `count` is deleted. A resumed run reads the list back.

    Args:
        folder: where the weights files and the record go.
        count: how many epochs to keep (at least 1).
        monitor, mode: what "best" means (see `BestModelCheckpoint`).

    Example:

    >>> import numpy as np, tempfile, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2,
    ...     num_outputs=1, units=4))
    >>> keep = BestEpochWeights(tempfile.mkdtemp(), count=2, monitor="loss")
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=4, callbacks=[keep], verbose=0)
    >>> len(keep.best), keep.average_into(model) == [e for e, _ in keep.best]
    (2, True)
    """

    def __init__(self, folder, count, monitor="val_loss", mode="auto"):
        super().__init__()
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"Expected `count` to be an integer >= 1. Received: count={count!r}")
        self.folder = os.fspath(folder)
        self.count = count
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.record = os.path.join(self.folder, "best_epochs.json")
        self.best = self._read()

    def _path(self, epoch):
        return os.path.join(self.folder, f"epoch-{epoch}.weights.h5")

    def _read(self):
        """`[(epoch, value), ...]` best first, from a run that was interrupted."""
        record = read_json(self.record) or {}
        if record.get("monitor") != self.monitor:
            return []
        return [(int(e), float(v)) for e, v in record["best"] if os.path.exists(self._path(e))]

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if math.isnan(value):
            return
        sign = 1.0 if self.mode == "min" else -1.0
        best = sorted([(e, v) for e, v in self.best if e != epoch + 1] + [(epoch + 1, value)],
                      key=lambda item: (sign * item[1], item[0]))
        kept, dropped = best[:self.count], best[self.count:]
        if (epoch + 1, value) not in kept:
            return
        self.best = kept
        if not is_chief():
            return
        os.makedirs(self.folder, exist_ok=True)
        with atomic_path(self._path(epoch + 1)) as tmp:
            self.model.save_weights(tmp, overwrite=True)
        write_json(self.record, {"monitor": self.monitor, "best": [list(b) for b in kept]})
        for e, _ in dropped:
            if os.path.exists(self._path(e)):
                os.remove(self._path(e))

    def average_into(self, model):
        """Sets `model`'s weights to the mean of the kept epochs'; returns those epochs.

        Float weights are averaged; others (e.g. dropout seed states) are
        the best epoch's. Returns `[]` (and leaves the model alone) when no
        epoch was kept.
        """
        import numpy as np

        if not self.best:
            return []
        sets = []
        for epoch, _ in self.best:
            model.load_weights(self._path(epoch))
            sets.append([np.asarray(w) for w in model.get_weights()])
        model.set_weights([
            np.mean(ws, axis=0).astype(ws[0].dtype) if np.issubdtype(ws[0].dtype, np.floating)
            else ws[0] for ws in zip(*sets)
        ])
        return [e for e, _ in self.best]


class TimeLimit(keras.callbacks.Callback):
    """Stops training after the first epoch that ends past `seconds` of wall time.

    Args:
        seconds: the budget, counted from the start of `fit`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2, num_outputs=1))
    >>> x = np.ones((4, 2), "float32")
    >>> len(model.fit(x, x[:, :1], epochs=5, verbose=0,
    ...               callbacks=[TimeLimit(0)]).history["loss"])
    1
    """

    def __init__(self, seconds):
        super().__init__()
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(
                f"Expected `seconds` to be a non-negative number. Received: seconds={seconds!r}"
            )
        self.seconds = seconds
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if time.time() - self._start >= self.seconds:
            self.model.stop_training = True


def monitor_mode(monitor):
    """`"max"` for a metric that grows when better (by its name), else `"min"`.

    Example:

    >>> monitor_mode("val_accuracy"), monitor_mode("val_loss")
    ('max', 'min')
    """
    higher = ("acc", "auc", "bleu", "chrf", "f1", "precision", "recall")
    return "max" if any(k in monitor.lower() for k in higher) else "min"


def training_callbacks(output_dir, monitor="val_loss", mode="auto", backup=True,
                       best_model=True):
    """The fault-tolerance callbacks a recipe passes to `fit`.

    Args:
        output_dir: the run's folder: the backup goes to
            `output_dir/backup/`, the best model to `output_dir/best.keras`.
        monitor, mode: what "best" means (see `BestModelCheckpoint`).
        backup: include `BackupAndRestore` (rerunning the same command after
            a crash resumes at the last completed epoch).
        best_model: include `BestModelCheckpoint`.

    Returns:
        A list of callbacks.

    Example:

    >>> [type(c).__name__ for c in training_callbacks("/tmp/run")]
    ['BackupAndRestore', 'BestModelCheckpoint']
    """
    callbacks = []
    if backup:
        callbacks.append(BackupAndRestore(os.path.join(output_dir, "backup")))
    if best_model:
        callbacks.append(
            BestModelCheckpoint(os.path.join(output_dir, "best.keras"), monitor=monitor, mode=mode)
        )
    return callbacks


class ResetStates(keras.callbacks.Callback):
    """Resets a stateful model's recurrent states at each epoch and evaluation.

    For truncated backpropagation through time (`rnnzoo.tbptt_batches` and a
    stateful `rnnzoo.language_model`): the states carry over from batch to
    batch within an epoch, and start from zeros at each epoch, evaluation
    and prediction.

    Example:

    >>> import numpy as np, rnnzoo
    >>> lm = rnnzoo.compile_for(rnnzoo.language_model(
    ...     vocabulary_size=9, units=4, num_layers=1, stateful=True, batch_size=2))
    >>> x, y = rnnzoo.tbptt_batches(np.arange(1, 9).repeat(3), 2, sequence_length=4)
    >>> history = lm.fit(x, y, batch_size=2, shuffle=False, verbose=0,
    ...                  callbacks=[ResetStates()])
    """

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()
