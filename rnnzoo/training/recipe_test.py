import json
import os

import numpy as np
import pytest

from rnnzoo.training import recipe

pytestmark = pytest.mark.multi_backend  # no TensorFlow-only code here


def test_parse_overrides_literals_and_strings():
    assert recipe.parse_overrides(["units=[64, 32]", "cell=gru", "bidirectional=True"]) == {
        "units": [64, 32], "cell": "gru", "bidirectional": True}
    with pytest.raises(ValueError, match="--set"):
        recipe.parse_overrides(["units"])


def test_parser_defaults_and_start_creates_output_dir(tmp_path):
    out = os.path.join(tmp_path, "run")
    args = recipe.parser("x", "d", epochs=5, batch_size=16, preset="p").parse_args(
        ["--output-dir", out, "--quick", "--seed", "3"])
    assert (args.epochs, args.batch_size, args.preset, args.seed) == (5, 16, "p", 3)
    assert recipe.start(args) == out and os.path.isdir(out)
    assert args.verbose == 2
    args.epochs = 0
    with pytest.raises(ValueError, match="epochs"):
        recipe.start(args)


def test_write_metrics_is_atomic_json(tmp_path):
    path = os.path.join(tmp_path, "metrics.json")
    recipe.write_metrics(path, {"a": np.float32(0.25), "b": np.arange(2)})
    assert json.load(open(path)) == {"a": 0.25, "b": [0, 1]}
    with pytest.raises(TypeError):
        recipe.write_metrics(path, {"a": object()})
    assert json.load(open(path)) == {"a": 0.25, "b": [0, 1]}  # old file intact
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_summary_line(capsys):
    line = recipe.summary("r", {"acc": 0.123456, "n": 3}, ["acc", "n"], "out")
    assert line == "r: acc=0.1235 n=3 -> out"
    assert capsys.readouterr().out.strip() == line


def test_command_parser_and_load_trained(tmp_path, capsys):
    import rnnzoo

    p = recipe.command_parser("names", "predict", "d", "names")
    args = p.parse_args(["Hinton", "Satoshi", "--output-dir", str(tmp_path)])
    assert args.names == ["Hinton", "Satoshi"]
    assert p.parse_args(["x"]).output_dir == os.path.join("runs", "names")
    with pytest.raises(SystemExit) as exit_info:
        recipe.load_trained(p, args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert os.path.join(str(tmp_path), "model.keras") in err
    assert "python recipes/names.py" in err
    model = rnnzoo.dense_baseline(num_features=3, num_outputs=2, name="m")
    rnnzoo.save_model(model, os.path.join(tmp_path, recipe.MODEL_FILE))
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(recipe.load_trained(p, args).predict(x, verbose=0),
                                  model.predict(x, verbose=0))


class _Killed(Exception):
    pass


def test_resumed_fit_returns_every_epochs_history(tmp_path):
    import keras

    import rnnzoo

    args = recipe.parser("x", "d", epochs=3, batch_size=8).parse_args(
        ["--output-dir", str(tmp_path), "--verbose", "0"])
    recipe.start(args)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    seen = {}

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = logs["loss"]
            if epoch == 1:  # epochs 0 and 1 recorded and backed up
                raise _Killed()

    def model():
        keras.utils.set_random_seed(0)
        m = rnnzoo.dense_baseline(num_features=3, num_outputs=1, name="m")
        m.compile(keras.optimizers.SGD(0.05), "mse")
        return m

    with pytest.raises(_Killed):
        recipe.fit(model(), x, y, args=args, name="m", epochs=3, batch_size=8,
                   callbacks=[Kill()], monitor="loss")
    history = recipe.fit(model(), x, y, args=args, name="m", epochs=3, batch_size=8,
                         monitor="loss")
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3 and len(history.seconds) == 3
    assert history.history["loss"][:2] == pytest.approx([seen[0], seen[1]])
    assert history.history["loss"][2] < history.history["loss"][0]
    assert all(s > 0 for s in history.seconds)
    # A rerun after the model finished reloads it with the same history.
    again = recipe.fit(model(), x, y, args=args, name="m", epochs=3, batch_size=8,
                       monitor="loss")
    assert again.history["loss"] == pytest.approx(history.history["loss"])
    assert again.seconds == history.seconds


def test_restore_best_ends_with_the_best_epoch_and_finish_clears_resume_state(tmp_path):
    import keras

    import rnnzoo

    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")

    def run(folder, restore_best):
        args = recipe.parser("x", "d", epochs=3, batch_size=8).parse_args(
            ["--output-dir", str(folder), "--verbose", "0"])
        recipe.start(args)
        keras.utils.set_random_seed(0)
        m = rnnzoo.dense_baseline(num_features=3, num_outputs=1, name="m")
        m.compile(keras.optimizers.SGD(0.6), "mse")  # diverges: epoch 0 is best
        history = recipe.fit(m, x, y, args=args, name="m", epochs=3, batch_size=8,
                             monitor="loss", restore_best=restore_best)
        return args, m, history

    args, best_model, history = run(tmp_path / "a", True)
    assert int(np.argmin(history.history["loss"])) == 0
    best = rnnzoo.load_model(os.path.join(recipe.checkpoint_dir(args, "m"), "best.keras"),
                             compile=False)
    for a, b in zip(best_model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    _, last_model, _ = run(tmp_path / "b", False)
    assert not np.allclose(last_model.get_weights()[0], best_model.get_weights()[0])
    epochs_file = os.path.join(recipe.checkpoint_dir(args, "m"), "epochs.json")
    assert os.path.exists(epochs_file)
    recipe.finish(args)
    assert not os.path.exists(epochs_file)


def test_fit_classifier_ends_with_the_best_epoch_of_a_killed_and_resumed_run(tmp_path):
    import keras

    import rnnzoo

    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    validation = (x[:32], y[:32])

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # epoch 0 recorded and backed up
                raise _Killed()

    args = recipe.parser("x", "d", epochs=4, batch_size=4).parse_args(
        ["--output-dir", str(tmp_path), "--verbose", "0"])
    recipe.start(args)

    def run(labels, callbacks=()):
        keras.utils.set_random_seed(0)
        model = rnnzoo.dense_baseline(num_features=2, num_classes="binary", name="m")
        history = recipe.fit_classifier(model, x, labels, validation, epochs=4,
                                        batch_size=4, learning_rate=0.05, patience=10,
                                        verbose=0, args=args, name="m", callbacks=callbacks)
        return model, history

    with pytest.raises(_Killed):
        run(y, [Kill()])
    # The rerun resumes at epoch 1 on inverted labels: epoch 0, trained before
    # the kill, stays the best (this process' EarlyStopping never sees it),
    # and the run must end with its weights.
    model, history = run(1 - y)
    accuracy = history["val_accuracy"]
    assert len(accuracy) == 4 and accuracy[0] > 0.9 > max(accuracy[1:]), accuracy
    best = rnnzoo.load_model(os.path.join(recipe.checkpoint_dir(args, "m"), "best.keras"),
                             compile=False)
    for a, b in zip(model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    final = np.mean((model.predict(validation[0], verbose=0)[:, 0] > 0.5) == validation[1])
    assert final == pytest.approx(accuracy[0])
