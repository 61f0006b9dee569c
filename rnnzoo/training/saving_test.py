"""save_model: atomic (an interrupted save keeps the old file), usual file mode."""

import os
import stat

import keras
import pytest

import rnnzoo


def test_save_model_is_atomic(tmp_path, monkeypatch):
    model = rnnzoo.dense_baseline(num_features=3, num_outputs=1, units=4)
    path = tmp_path / "model.keras"
    rnnzoo.save_model(model, path)
    original = path.read_bytes()

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half-written")
        raise KeyboardInterrupt("interrupted mid-save")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        rnnzoo.save_model(model, path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    with pytest.raises(ValueError, match="Received: path="):
        rnnzoo.save_model(model, tmp_path / "model.h5")


def test_saved_model_gets_the_usual_file_mode(tmp_path):
    model = rnnzoo.dense_baseline(num_features=2, num_outputs=1, units=2)
    path = rnnzoo.save_model(model, tmp_path / "m.keras")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
