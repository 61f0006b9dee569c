import os

import numpy as np
import pytest

from rnnzoo import plots

pytestmark = pytest.mark.multi_backend  # no TensorFlow-only code here


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_history_writes_png(tmp_path):
    path = os.path.join(tmp_path, "sub", "curves.png")
    logs = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.7],
            "val_accuracy": [0.4, 0.6], "learning_rate": [0.1, 0.1]}
    assert plots.plot_history(logs, path) == path
    assert _is_png(path) and os.path.getsize(path) > 5000
    assert [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".tmp")] == []


def test_confusion_matrix_rows_sum_to_one(tmp_path):
    path = os.path.join(tmp_path, "cm.png")
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    matrix = plots.plot_confusion_matrix(y_true, y_pred, ["x", "y", "z"], path)
    np.testing.assert_allclose(matrix, [[0.5, 0.5, 0], [0, 2 / 3, 1 / 3], [0, 0, 1]])
    assert _is_png(path)
    assert plots.confusion_matrix(y_true, y_pred, 3).sum() == 6


def test_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="history"):
        plots.plot_history({}, os.path.join(tmp_path, "a.png"))
    with pytest.raises(ValueError, match="metrics"):
        plots.plot_history({"loss": [1.0]}, os.path.join(tmp_path, "a.png"), metrics=["acc"])
    with pytest.raises(ValueError, match="y_pred"):
        plots.confusion_matrix([0, 1], [0, 5], 2)


def test_plot_history_of_several_runs(tmp_path):
    path = os.path.join(tmp_path, "runs.png")
    runs = {"attention": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]},
            "no attention": {"loss": [1.2, 0.9, 0.8], "val_loss": [1.3, 1.0, 0.9]}}
    assert plots.plot_history(runs, path, metrics=["loss"]) == path
    assert _is_png(path) and os.path.getsize(path) > 5000
    with pytest.raises(ValueError, match="Received: metrics=\\['accuracy'\\]"):
        plots.plot_history(runs, path, metrics=["accuracy"])
