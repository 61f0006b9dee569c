"""Tests of rnnzoo.training.callbacks. Run as a script, this file is the training
process the resume test SIGKILLs."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.training.callbacks import BackupAndRestore
from rnnzoo.training.callbacks import BestEpochWeights
from rnnzoo.training.callbacks import BestModelCheckpoint
from rnnzoo.training.callbacks import training_callbacks

EPOCHS = 4
KILL_AFTER = 2  # epochs completed (and backed up) before the SIGKILL


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (32, 6)).astype("int32")
    return x, rng.integers(0, 18, 32)


def _train(backup_dir, hang_after=None):
    from rnnzoo.training.distribute_test import tiny_model

    model = tiny_model("char_gru_name_classifier")
    x, y = _data()
    callbacks = [BackupAndRestore(backup_dir, delete_checkpoint=False)]
    if hang_after is not None:
        class Hang(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 == hang_after:
                    print("BACKED_UP", epoch + 1, flush=True)
                    time.sleep(600)  # killed here, mid-training
        callbacks.append(Hang())
    history = model.fit(x, y, batch_size=8, epochs=EPOCHS, shuffle=False, verbose=0,
                        callbacks=callbacks)
    return model, history, callbacks[0]


def _main(mode, backup_dir, out):
    if mode == "hang":
        _train(backup_dir, hang_after=KILL_AFTER)
        return
    model, history, backup = _train(backup_dir)
    reference, _, _ = _train(os.path.join(backup_dir, "reference"))
    np.savez(out, resumed_at=backup.restored_epoch, epochs=len(history.history["loss"]),
             **{f"wr{i:03d}": w for i, w in enumerate(model.get_weights())},
             **{f"wu{i:03d}": w for i, w in enumerate(reference.get_weights())})


def test_sigkilled_run_resumes_and_matches_an_uninterrupted_run(tmp_path):
    backup_dir = str(tmp_path / "backup")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = [sys.executable, os.path.abspath(__file__)]
    proc = subprocess.Popen(script + ["hang", backup_dir, ""], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        line = ""
        while time.monotonic() < deadline and not line.startswith("BACKED_UP"):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert line.startswith("BACKED_UP"), "the training process never reached the kill point"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    record = json.load(open(os.path.join(backup_dir, "backup.json")))
    assert record == {"epoch": KILL_AFTER, "weights": f"epoch-{KILL_AFTER}.weights.h5"}
    # Resumed here, not in a third process: the killed process is the one
    # that must be separate; all this one gets from it is backup_dir.
    model, history, backup = _train(backup_dir)
    reference, _, _ = _train(os.path.join(backup_dir, "reference"))
    assert backup.restored_epoch == KILL_AFTER
    assert len(history.history["loss"]) == EPOCHS - KILL_AFTER  # only the missing epochs ran
    resumed, uninterrupted = model.get_weights(), reference.get_weights()
    assert len(resumed) == len(uninterrupted) > 0
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)


@pytest.mark.multi_backend
def test_backup_is_written_atomically_and_removed_at_the_end(tmp_path):
    model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2, num_outputs=1, units=4))
    x, y = np.ones((8, 2)), np.ones((8, 1))
    backup = BackupAndRestore(str(tmp_path / "b"), delete_checkpoint=False)
    model.fit(x, y, epochs=3, callbacks=[backup], verbose=0)
    assert sorted(os.listdir(tmp_path / "b")) == ["backup.json", "epoch-3.weights.h5"]
    assert backup.latest()["epoch"] == 3
    # A finished run restarted with the same backup trains no more epochs.
    history = model.fit(x, y, epochs=3, callbacks=[backup], verbose=0)
    assert backup.restored_epoch == 3 and history.history == {}
    deleting = BackupAndRestore(str(tmp_path / "c"))
    model.fit(x, y, epochs=1, callbacks=[deleting], verbose=0)
    assert not os.path.exists(tmp_path / "c")


@pytest.mark.multi_backend
def test_best_model_checkpoint_keeps_the_best_across_runs(tmp_path):
    path = str(tmp_path / "best.keras")
    model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2, num_outputs=1, units=4))
    x, y = np.random.default_rng(0).normal(size=(16, 2)), np.ones((16, 1))
    cb = BestModelCheckpoint(path, monitor="loss")
    history = model.fit(x, y, epochs=3, callbacks=[cb], verbose=0)
    losses = history.history["loss"]
    assert cb.best == pytest.approx(min(losses)) and cb.best_epoch == int(np.argmin(losses)) + 1
    saved = json.load(open(path + ".json"))
    assert saved["best"] == pytest.approx(min(losses))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    # A new run (e.g. after a crash) starts from the recorded best.
    again = BestModelCheckpoint(path, monitor="loss")
    again.set_model(model)
    again.on_train_begin()
    assert again.best == pytest.approx(min(losses))
    assert rnnzoo.load_model(path).count_params() == model.count_params()
    assert BestModelCheckpoint(str(tmp_path / "a.keras"), monitor="val_accuracy").mode == "max"
    with pytest.raises(ValueError, match="Received: filepath="):
        BestModelCheckpoint(str(tmp_path / "best.h5"))
    with pytest.raises(ValueError, match="Received: mode='up'"):
        BestModelCheckpoint(path, mode="up")
    with pytest.raises(ValueError, match="val_loss"):
        model.fit(x, y, epochs=1, callbacks=[BestModelCheckpoint(path)], verbose=0)
    names = [type(c).__name__ for c in training_callbacks(str(tmp_path))]
    assert names == ["BackupAndRestore", "BestModelCheckpoint"]


def test_best_epoch_weights_keeps_the_best_epochs_and_averages_them(tmp_path):
    model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2, num_outputs=1, units=4))
    keep = BestEpochWeights(str(tmp_path), count=2, monitor="loss")
    keep.set_model(model)
    seen = {}
    for epoch, loss in enumerate([3.0, 1.0, 2.0, 5.0, float("nan")]):
        model.set_weights([np.full_like(w, epoch + 1.0) for w in model.get_weights()])
        seen[epoch + 1] = model.get_weights()
        keep.on_epoch_end(epoch, {"loss": loss})
    assert keep.best == [(2, 1.0), (3, 2.0)]
    assert sorted(f for f in os.listdir(tmp_path)) == [
        "best_epochs.json", "epoch-2.weights.h5", "epoch-3.weights.h5"]  # 1 deleted, 4 never kept
    # A resumed run reads the record back and keeps improving on it.
    again = BestEpochWeights(str(tmp_path), count=2, monitor="loss")
    again.set_model(model)
    assert again.best == [(2, 1.0), (3, 2.0)]
    again.on_epoch_end(5, {"loss": 0.5})
    assert again.best == [(6, 0.5), (2, 1.0)]
    assert not os.path.exists(tmp_path / "epoch-3.weights.h5")
    model.set_weights(seen[1])  # (epoch 6 saved epoch 5's values: 5.0)
    assert again.average_into(model) == [6, 2]
    for w in model.get_weights():
        np.testing.assert_allclose(w, (5.0 + 2.0) / 2)
    # Another monitor's record is not reused; "max" keeps the largest.
    assert BestEpochWeights(str(tmp_path), count=2, monitor="val_loss").best == []
    assert BestEpochWeights(str(tmp_path / "b"), 1, monitor="val_accuracy").mode == "max"
    with pytest.raises(ValueError, match="Received: count=0"):
        BestEpochWeights(str(tmp_path), count=0)
    with pytest.raises(ValueError, match="val_loss"):
        BestEpochWeights(str(tmp_path / "c"), 2).on_epoch_end(0, {"loss": 1.0})


if __name__ == "__main__":
    _main(*sys.argv[1:])
