"""The recipes' scale flags end to end: --tune, --strategy, resume after a kill.

One in-process run per wiring path (TensorFlow), on small real data: every
recipe goes through the same `rnnzoo.training.recipe` plumbing (`start` -> strategy,
`scope`, `fit` -> resume + best checkpoint, `tune`), so one recipe per path.
"""

import csv
import importlib.util
import json
import os

import numpy as np
import pytest

import rnnzoo
from rnnzoo.training import distribute
from rnnzoo.data.datasets import ENV_VAR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV_VAR) or not os.path.isdir(os.environ[ENV_VAR]),
    reason=f"real data not available (set {ENV_VAR})",
)


def _recipe(name):
    spec = importlib.util.spec_from_file_location(
        f"scale_recipe_{name}", os.path.join(ROOT, "recipes", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_names_tune_writes_trials_and_a_reloadable_string_model(tmp_path):
    out = str(tmp_path / "names_tune")
    metrics = _recipe("names").main([
        "--quick", "--limit", "600", "--epochs", "1", "--tune", "random",
        "--max-trials", "2", "--output-dir", out, "--verbose", "0"])
    with open(os.path.join(out, "trials.tsv")) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 2 and all(r["status"] == "COMPLETED" for r in rows)
    scores = sorted(float(r["score"]) for r in rows)
    assert metrics["best_score"] == pytest.approx(scores[0])
    # Quick space: embedding fixed at 32, 1 or 2 layers of 16 or 32 units.
    assert {int(r["num_layers"]) for r in rows} <= {1, 2}
    assert {int(r["units_0"]) for r in rows} <= {16, 32}
    assert metrics["fixed"] == {"vocabulary_size": metrics["fixed"]["vocabulary_size"],
                                "num_classes": 18}
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f)["trials"] == 2
    # best.keras is the tuned classifier behind the character vectorizer.
    model = rnnzoo.load_model(os.path.join(out, "best.keras"), compile=False)
    p = np.asarray(model.predict(np.array(["Hinton", "Satoshi"], dtype=object), verbose=0))
    assert p.shape == (2, 18)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


def _timeseries(out, *flags):
    from rnnzoo import cli
    from rnnzoo.tasks import timeseries

    return cli.main(timeseries, [
        "--series", "co2", "--quick", "--epochs", "2", "--output-dir", out,
        "--verbose", "0", *flags])


def test_timeseries_under_mirrored_strategy_beats_seasonal_naive(tmp_path, monkeypatch):
    import tensorflow as tf

    strategies = []
    original = distribute.fit

    def spy(model, *args, **kwargs):
        strategies.append((model.distribute_strategy, kwargs["strategy"]))
        return original(model, *args, **kwargs)

    monkeypatch.setattr(distribute, "fit", spy)
    out = str(tmp_path / "ts")
    metrics = _timeseries(out, "--strategy", "mirrored")
    # Built under the strategy (1 replica on one CPU) and trained through it.
    assert len(strategies) == 1
    built, passed = strategies[0]
    assert isinstance(passed, tf.distribute.MirroredStrategy)
    assert built is passed
    table = metrics["table"]
    # Seasonal naive MASE is ~1.12 on co2's test part; the network ~0.35.
    assert table["rnn"]["mase"] <= table["seasonal_naive"]["mase"] - 0.3
    # The best model by val_loss was checkpointed; resume state was cleared.
    folder = os.path.join(out, "checkpoints", "forecaster_0")
    assert os.path.exists(os.path.join(folder, "best.keras"))
    assert not os.path.exists(os.path.join(folder, "backup"))
    assert not os.path.exists(os.path.join(folder, "done"))


class _Killed(Exception):
    pass


def test_killed_timeseries_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    import keras

    from rnnzoo.training.callbacks import BackupAndRestore

    out = str(tmp_path / "ts")
    flags = ("--ensemble", "2", "--epochs", "2")
    original = distribute.fit
    calls = []

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # after member 1's first epoch was backed up
                raise _Killed()

    def killing_fit(model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            kwargs["callbacks"] = list(kwargs["callbacks"]) + [Kill()]
        return original(model, *args, **kwargs)

    monkeypatch.setattr(distribute, "fit", killing_fit)
    with pytest.raises(_Killed):
        _timeseries(out, *flags)
    folder = os.path.join(out, "checkpoints")
    assert os.path.exists(os.path.join(folder, "forecaster_0", "done", "done.json"))
    with open(os.path.join(folder, "forecaster_1", "backup", "backup.json")) as f:
        assert json.load(f)["epoch"] == 1

    # The same command again: member 0 is reloaded, member 1 resumes at epoch 1.
    resumed = []

    def spy(model, *args, **kwargs):
        history = original(model, *args, **kwargs)
        backup = next(c for c in kwargs["callbacks"] if isinstance(c, BackupAndRestore))
        resumed.append((backup.backup_dir, backup.restored_epoch, history.epoch))
        return history

    monkeypatch.setattr(distribute, "fit", spy)
    metrics = _timeseries(out, *flags)
    assert len(resumed) == 1
    backup_dir, restored_epoch, epochs = resumed[0]
    assert os.path.basename(os.path.dirname(backup_dir)) == "forecaster_1"
    assert restored_epoch == 1 and epochs == [1]
    assert len(metrics["table"]) == 4
    assert metrics["table"]["rnn"]["mase"] < metrics["table"]["naive"]["mase"]
    assert not os.path.exists(os.path.join(folder, "forecaster_0", "done"))
