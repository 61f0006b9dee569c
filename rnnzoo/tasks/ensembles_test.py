"""Tests of rnnzoo.tasks.ensembles on small GENERATED data."""

import os

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import ensembles
from rnnzoo.training.runner import Runner


class _Killed(Exception):
    pass


def _runner(folder):
    runner = Runner(str(folder), verbose=0)
    runner.start()
    return runner


@pytest.mark.multi_backend
def test_fit_classifier_ends_with_the_best_epoch_of_a_killed_and_resumed_run(tmp_path):
    # Generated: the label is the sign of the first feature.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    validation = (x[:32], y[:32])

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # epoch 0 recorded and backed up
                raise _Killed()

    runner = _runner(tmp_path)

    def run(labels, callbacks=()):
        keras.utils.set_random_seed(0)
        model = rnnzoo.dense_baseline(num_features=2, num_classes="binary", name="m")
        history = ensembles.fit_classifier(
            runner, model, x, labels, validation_data=validation, name="m", epochs=4,
            batch_size=4, learning_rate=0.05, patience=10, callbacks=callbacks)
        return model, history

    with pytest.raises(_Killed):
        run(y, [Kill()])
    # The rerun resumes at epoch 1 on inverted labels: epoch 0, trained before
    # the kill, stays the best (this process' early stopping never sees it),
    # and the run must end with its weights.
    model, history = run(1 - y)
    accuracy = history.history["val_accuracy"]
    assert len(accuracy) == 4 and accuracy[0] > 0.9 > max(accuracy[1:]), accuracy
    best = rnnzoo.load_model(os.path.join(runner.checkpoint_dir("m"), "best.keras"),
                             compile=False)
    for a, b in zip(model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    final = np.mean((model.predict(validation[0], verbose=0)[:, 0] > 0.5) == validation[1])
    assert final == pytest.approx(accuracy[0])


@pytest.mark.multi_backend
def test_fit_classifier_compiles_once_with_label_smoothing_and_learns(tmp_path):
    # Generated: three classes by which of three features is largest.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3)).astype("float32")
    y = x.argmax(-1)
    runner = _runner(tmp_path)
    model = rnnzoo.dense_baseline(num_features=3, num_classes=3, units=16, name="c")
    compiles = []
    original = model.compile
    model.compile = lambda *a, **k: compiles.append(k) or original(*a, **k)
    history = ensembles.fit_classifier(
        runner, model, x[:200], y[:200], validation_data=(x[200:], y[200:]), name="c",
        epochs=8, batch_size=32, learning_rate=1e-2, label_smoothing=0.1)
    assert len(compiles) == 1
    assert type(model.loss).__name__ == "CategoricalCrossentropy"
    assert model.loss.label_smoothing == pytest.approx(0.1)
    accuracy = history.history["val_accuracy"]
    majority = np.bincount(y[200:]).max() / 100
    assert max(accuracy) >= majority + 0.3, (accuracy, majority)
    predicted = ensembles.predicted_classes(model.predict(x[200:], verbose=0))
    assert np.mean(predicted == y[200:]) == pytest.approx(max(accuracy))  # best restored


def test_ensemble_averages_members_and_saves_without_optimizer_state(tmp_path):
    from rnnzoo.data import text

    # Generated: strings of "a"/"b"/"c", positive when they hold a "c".
    rng = np.random.default_rng(4)
    strings = np.array(["".join(rng.choice(list("abc"), 3)) for _ in range(200)], dtype=object)
    labels = np.array(["c" in s for s in strings], dtype="int64")
    layers = [text.text_vectorizer(list("abc"), split="character", output_mode="multi_hot"),
              text.text_vectorizer(list("cb"), split="character", output_mode="count")]
    runner = _runner(tmp_path)
    ensemble = ensembles.Ensemble("demo")
    for member, layer in enumerate(layers):
        runner.reseed(1 + member)
        bags = text.vectorize(layer, strings)
        with runner.scope():
            model = rnnzoo.dense_baseline(num_features=bags.shape[1], num_classes="binary",
                                          units=8, name=f"demo_{member}")
        history = ensembles.fit_classifier(runner, model, bags, labels,
                                           validation_data=(bags, labels), name=f"m{member}",
                                           epochs=8, batch_size=16, learning_rate=3e-2)
        ensemble.add(f"m{member}", layer, model, history, test=(bags, labels))
    assert set(ensemble.test_accuracy) == {"m0", "m1"}
    assert 0.6 < np.mean(labels) < 0.8
    assert min(ensemble.test_accuracy.values()) > 0.95  # "c" is a column of each
    members = [m.predict(text.vectorize(layer, strings), verbose=0)
               for layer, m in ensemble.branches]
    model, path = ensemble.save(runner)
    assert path == os.path.join(str(tmp_path), "model.keras")
    assert all(m.optimizer is None for _, m in ensemble.branches)
    averaged = model.predict(strings, verbose=0)
    np.testing.assert_allclose(averaged, np.mean(members, axis=0), atol=1e-5)
    reloaded = rnnzoo.load_model(path, compile=False)
    np.testing.assert_allclose(reloaded.predict(strings, verbose=0), averaged, atol=1e-6)
    paths = ensembles.classification_plots(
        runner, ensemble.histories["m0"], labels, ensembles.predicted_classes(averaged),
        ["no c", "c"], curves_title="t", confusion_title="c")
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.multi_backend
def test_training_subset_is_seeded_and_keeps_file_order():
    x, y = ensembles.training_subset(np.arange(100), np.arange(100) * 2, 10, seed=1)
    again, _ = ensembles.training_subset(np.arange(100), np.arange(100) * 2, 10, seed=1)
    assert len(x) == 10 and (np.diff(x) > 0).all() and (y == 2 * x).all()
    np.testing.assert_array_equal(x, again)
    full, _ = ensembles.training_subset(np.arange(5), np.arange(5), None, seed=0)
    np.testing.assert_array_equal(full, np.arange(5))
