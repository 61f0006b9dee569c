"""The recipes' scale flags end to end: --tune, --strategy, resume after a kill (TensorFlow).

Every task trains through the same `rnnzoo.training.Runner` (`start` ->
strategy, `scope`, `fit` -> resume + best checkpoint, `tune`), so one task
per wiring path, through the command line (`cli.main`, what
`recipes/<task>.py` runs), on GENERATED names
(`rnnzoo.tasks.testing.write_names`; no shared data needed).
"""

import csv
import json
import os

import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.tasks import names
from rnnzoo.tasks import testing
from rnnzoo.training import distribute

_SMALL = ("--quick", "--epochs", "2", "--batch-size", "32", "--mlp-units", "16",
          "--set", "units=8", "--set", "embedding_dim=8", "--verbose", "0")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return testing.write_names(str(tmp_path_factory.mktemp("generated_names")))


def test_names_tune_writes_trials_and_a_reloadable_string_model(generated, tmp_path):
    out = str(tmp_path / "names_tune")
    metrics = cli.main(names, [
        "--quick", "--data-dir", generated, "--limit", "300", "--epochs", "1",
        "--tune", "random", "--max-trials", "2", "--output-dir", out, "--verbose", "0"])
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


def test_names_under_mirrored_strategy_trains_every_member_through_it(generated, tmp_path,
                                                                      monkeypatch):
    import tensorflow as tf

    strategies = []
    original = distribute.fit

    def spy(model, *args, **kwargs):
        strategies.append((model.name, model.distribute_strategy, kwargs["strategy"]))
        return original(model, *args, **kwargs)

    monkeypatch.setattr(distribute, "fit", spy)
    out = str(tmp_path / "names")
    metrics = cli.main(names, [*_SMALL, "--data-dir", generated, "--output-dir", out,
                               "--strategy", "mirrored"])
    # Every member built under the strategy (1 replica on one CPU) and trained through it.
    assert [name for name, _, _ in strategies] == ["names_ngram_mlp", "names_rnn_1"]
    for _, built, passed in strategies:
        assert isinstance(passed, tf.distribute.MirroredStrategy)
        assert built is passed
    assert metrics["test_accuracy"] > metrics["majority_baseline_accuracy"]
    # The best model by val_accuracy was checkpointed; resume state was cleared.
    folder = os.path.join(out, "checkpoints", "rnn_1")
    assert os.path.exists(os.path.join(folder, "best.keras"))
    assert not os.path.exists(os.path.join(folder, "backup"))
    assert not os.path.exists(os.path.join(folder, "done"))


class _Killed(Exception):
    pass


def test_killed_names_run_resumes_where_it_stopped(generated, tmp_path, monkeypatch):
    import keras

    from rnnzoo.training.callbacks import BackupAndRestore

    out = str(tmp_path / "names")
    flags = [*_SMALL, "--data-dir", generated, "--output-dir", out]
    original = distribute.fit
    calls = []

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # after the RNN's first epoch was backed up
                raise _Killed()

    def killing_fit(model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            kwargs["callbacks"] = list(kwargs["callbacks"]) + [Kill()]
        return original(model, *args, **kwargs)

    monkeypatch.setattr(distribute, "fit", killing_fit)
    with pytest.raises(_Killed):
        cli.main(names, flags)
    folder = os.path.join(out, "checkpoints")
    assert os.path.exists(os.path.join(folder, "ngram_mlp", "done", "done.json"))
    with open(os.path.join(folder, "rnn_1", "backup", "backup.json")) as f:
        assert json.load(f)["epoch"] == 1

    # The same command again: the MLP is reloaded, the RNN resumes at epoch 1.
    resumed = []

    def spy(model, *args, **kwargs):
        history = original(model, *args, **kwargs)
        backup = next(c for c in kwargs["callbacks"] if isinstance(c, BackupAndRestore))
        resumed.append((backup.backup_dir, backup.restored_epoch, history.epoch))
        return history

    monkeypatch.setattr(distribute, "fit", spy)
    metrics = cli.main(names, flags)
    assert len(resumed) == 1
    backup_dir, restored_epoch, epochs = resumed[0]
    assert os.path.basename(os.path.dirname(backup_dir)) == "rnn_1"
    assert restored_epoch == 1 and epochs == [1]
    assert set(metrics["member_test_accuracy"]) == {"ngram_mlp", "rnn_1"}
    assert metrics["test_accuracy"] > metrics["majority_baseline_accuracy"]
    assert not os.path.exists(os.path.join(folder, "ngram_mlp", "done"))
