"""Tests of rnnzoo.training.runner: start, resumable fit, best epoch, run record, results."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.training import runner as runner_module
from rnnzoo.training.runner import Runner

pytestmark = pytest.mark.multi_backend  # no TensorFlow-only code here


class _Killed(Exception):
    pass


@dataclasses.dataclass
class _Config:
    epochs: int = 3


def _regression(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def _model(learning_rate=0.05):
    keras.utils.set_random_seed(0)
    m = rnnzoo.dense_baseline(num_features=3, num_outputs=1, name="m")
    m.compile(keras.optimizers.SGD(learning_rate), "mse")
    return m


def _started(folder, config=None, **kwargs):
    runner = Runner(str(folder), verbose=0, **kwargs)
    runner.start(config)
    return runner


def test_start_seeds_and_creates_the_output_dir(tmp_path):
    out = tmp_path / "run"
    runner = _started(out, seed=3)
    assert os.path.isdir(out) and runner.path("a", "b") == os.path.join(str(out), "a", "b")
    first = np.random.random()
    _started(out, seed=3)
    assert np.random.random() == first
    runner.reseed(2)
    after_reseed = np.random.random()
    _started(out, seed=5)
    assert np.random.random() == after_reseed  # reseed(2) of seed 3 is seed 5
    with pytest.raises(ValueError, match="max_trials"):
        Runner(str(out), tune="random", max_trials=0).start()


def test_write_metrics_is_atomic_json_and_save_model_reloads(tmp_path):
    runner = _started(tmp_path)
    path = runner.write_metrics({"a": np.float32(0.25), "b": np.arange(2)})
    assert path == os.path.join(str(tmp_path), "metrics.json")
    assert json.load(open(path)) == {"a": 0.25, "b": [0, 1]}
    with pytest.raises(TypeError):
        runner.write_metrics({"a": object()})
    assert json.load(open(path)) == {"a": 0.25, "b": [0, 1]}  # old file intact
    model = _model()
    saved = runner.save_model(model)
    x, _ = _regression(0)
    np.testing.assert_allclose(rnnzoo.load_model(saved).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["checkpoints", "metrics.json", "model.keras"]


def test_resumed_fit_returns_every_epochs_history(tmp_path):
    runner = _started(tmp_path)
    x, y = _regression(0)
    seen = {}

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = logs["loss"]
            if epoch == 1:  # epochs 0 and 1 recorded and backed up
                raise _Killed()

    with pytest.raises(_Killed):
        runner.fit(_model(), x, y, name="m", epochs=3, batch_size=8, callbacks=[Kill()],
                   monitor="loss")
    history = runner.fit(_model(), x, y, name="m", epochs=3, batch_size=8, monitor="loss")
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3 and len(history.seconds) == 3
    assert history.history["loss"][:2] == pytest.approx([seen[0], seen[1]])
    assert history.history["loss"][2] < history.history["loss"][0]
    assert all(s > 0 for s in history.seconds)
    # A rerun after the model finished reloads it with the same history.
    again = runner.fit(_model(), x, y, name="m", epochs=3, batch_size=8, monitor="loss")
    assert again.history["loss"] == pytest.approx(history.history["loss"])
    assert again.seconds == history.seconds


def test_restore_best_ends_with_the_best_epoch_and_finish_clears_resume_state(tmp_path):
    x, y = _regression(1)

    def run(folder, restore_best):
        runner = _started(folder)
        m = _model(learning_rate=0.6)  # diverges: epoch 0 is best
        history = runner.fit(m, x, y, name="m", epochs=3, batch_size=8, monitor="loss",
                             restore_best=restore_best)
        return runner, m, history

    runner, best_model, history = run(tmp_path / "a", True)
    assert int(np.argmin(history.history["loss"])) == 0
    best = rnnzoo.load_model(os.path.join(runner.checkpoint_dir("m"), "best.keras"),
                             compile=False)
    for a, b in zip(best_model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    _, last_model, _ = run(tmp_path / "b", False)
    assert not np.allclose(last_model.get_weights()[0], best_model.get_weights()[0])
    folder = runner.checkpoint_dir("m")
    assert os.path.exists(os.path.join(folder, "epochs.json"))
    assert os.path.exists(os.path.join(folder, "done", "done.json"))
    runner.finish()
    assert not os.path.exists(os.path.join(folder, "epochs.json"))
    assert not os.path.exists(os.path.join(folder, "done"))
    assert os.path.exists(os.path.join(folder, "best.keras"))  # the best model stays


def test_average_best_ends_with_the_mean_of_the_best_epochs_weights(tmp_path):
    runner = _started(tmp_path)
    x, y = _regression(4)
    weights = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch + 1] = [np.array(w) for w in self.model.get_weights()]

    model = _model(learning_rate=0.3)  # oscillates: the best epochs are not the last two
    history = runner.fit(model, x, y, name="m", epochs=5, batch_size=8, monitor="loss",
                         average_best=2, callbacks=[Record()])
    losses = history.history["loss"]
    best = [int(e) + 1 for e in np.argsort(losses)[:2]]
    assert history.averaged_epochs == best
    for w, a, b in zip(model.get_weights(), weights[best[0]], weights[best[1]]):
        np.testing.assert_allclose(w, (a + b) / 2, rtol=1e-6, atol=1e-7)
    folder = os.path.join(runner.checkpoint_dir("m"), "best_epochs")
    assert len([f for f in os.listdir(folder) if f.endswith(".h5")]) == 2
    # A rerun reloads the finished model: the same averaged weights and epochs.
    again_model = _model()
    again = runner.fit(again_model, x, y, name="m", epochs=5, batch_size=8, monitor="loss",
                       average_best=2)
    assert again.averaged_epochs == best
    for a, b in zip(again_model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    runner.finish()
    assert not os.path.exists(folder)
    with pytest.raises(ValueError, match="Received: average_best=0"):
        runner.fit(_model(), x, y, name="z", epochs=1, monitor="loss", average_best=0)


def test_patience_and_time_limit_stop_training(tmp_path):
    runner = _started(tmp_path)
    x, y = _regression(1)
    # Diverging: the loss never improves on epoch 0, so patience 1 stops after epoch 1.
    history = runner.fit(_model(learning_rate=0.6), x, y, name="p", epochs=6, batch_size=8,
                         monitor="loss", patience=1)
    assert len(history.history["loss"]) == 2
    history = runner.fit(_model(), x, y, name="t", epochs=6, batch_size=8, monitor="loss",
                         time_limit=0)
    assert len(history.history["loss"]) == 1


def test_run_record_keeps_resume_state_only_for_the_same_config(tmp_path):
    x, y = _regression(3)

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise _Killed()

    def killed(config):
        runner = _started(tmp_path, config)
        with pytest.raises(_Killed):
            runner.fit(_model(), x, y, name="m", epochs=3, batch_size=8, monitor="loss",
                       callbacks=[Kill()])
        return os.path.join(runner.checkpoint_dir("m"), "backup", "backup.json")

    backup = killed(_Config(epochs=3))
    assert json.load(open(backup))["epoch"] == 1
    _started(tmp_path, _Config(epochs=3))  # the same command: resume state kept
    assert os.path.exists(backup)
    record = json.load(open(tmp_path / "checkpoints" / "run.json"))
    assert record == {"config": {"epochs": 3}, "seed": 0, "tune": None, "max_trials": 10}
    _started(tmp_path, _Config(epochs=4))  # another command: start afresh
    assert not os.path.exists(backup)
    assert not os.path.exists(os.path.join(tmp_path, "checkpoints", "m", "epochs.json"))
    killed(_Config(epochs=4))
    _started(tmp_path, _Config(epochs=4), seed=1)  # another seed is another run too
    assert not os.path.exists(backup)


def test_runner_applies_strategy_and_mixed_precision(tmp_path):
    runner = Runner(str(tmp_path), verbose=0, strategy="one_device", mixed_precision=True)
    try:
        runner.start()
        assert keras.config.dtype_policy().name == "mixed_bfloat16"  # CPU
        assert rnnzoo.num_replicas(runner.distribution) == 1
        with runner.scope():
            model = rnnzoo.dense_baseline(num_features=3, num_outputs=1, name="m")
        runner.compile(model, learning_rate=1e-2)
        assert model.optimizer is not None
        x, y = _regression(4)
        history = runner.fit(model, x, y, name="m", epochs=2, batch_size=8,
                             validation_data=(x, y))
        assert np.isfinite(history.history["val_loss"]).all()
        assert model.predict(x, verbose=0).dtype == np.float32
    finally:
        rnnzoo.set_mixed_precision(False)
        if keras.backend.backend() == "jax":
            keras.distribution.set_distribution(None)


def test_timer_counts_seconds():
    timer = runner_module.Timer()
    assert 0 <= timer.seconds() < 5
