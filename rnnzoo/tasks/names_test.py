"""The names task end to end on GENERATED surnames (no shared data needed; TensorFlow).

The generated names (`rnnzoo.tasks.testing.write_names`) end in a suffix of
their language, so the ensemble must learn them far above the majority
class. One run per module, through the command line (`cli.main`), checked
for its metrics, metrics.json, plots, the saved model and `predict`
(`--tune` and resuming a killed run on generated names:
tests/recipes_scale_test.py).
"""

import json
import os
import re

import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.data.datasets.names import LANGUAGES
from rnnzoo.tasks import names
from rnnzoo.tasks import testing

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.tasks.names_test")

_SMALL = ["--set", "units=16", "--set", "embedding_dim=8", "--mlp-units", "32"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return testing.write_names(str(tmp_path_factory.mktemp("generated_names")))


@pytest.fixture(scope="module")
def names_run(generated, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("names_run"))
    metrics = cli.main(names, ["--quick", "--data-dir", generated, "--epochs", "6",
                               "--batch-size", "16", "--output-dir", out, "--verbose", "0",
                               *_SMALL])
    return out, metrics


def test_generated_names_beat_the_majority_class(names_run):
    _, metrics = names_run
    # English, three times as frequent as the other 17 languages, is the majority class.
    assert metrics["majority_class"] == "English"
    assert metrics["majority_baseline_accuracy"] < 0.3
    assert metrics["test_accuracy"] >= metrics["majority_baseline_accuracy"] + 0.5, metrics
    assert metrics["test_macro_f1"] >= metrics["majority_baseline_macro_f1"] + 0.4
    assert set(metrics["member_test_accuracy"]) == {"ngram_mlp", "rnn_1"}
    assert metrics["member_test_accuracy"]["ngram_mlp"] > 0.6  # the suffix n-grams
    assert metrics["rnn_overrides"] == {**names.Config.quick().rnn, "units": 16,
                                        "embedding_dim": 8}
    assert (metrics["task"], metrics["members"], metrics["quick"]) == ("names", 1, True)


def test_metrics_json_plots_and_saved_model_round_trip(names_run, capsys):
    out, metrics = names_run
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    for plot in ("curves.png", "confusion_matrix.png"):
        with open(os.path.join(out, plot), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not os.path.exists(os.path.join(out, "checkpoints", "run.json"))  # finished
    model = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    # The reloaded model gives the top 3 (and log-probabilities) of the one the run built.
    reloaded = names.top_k(model, list(names.DEMO_NAMES), metrics["class_names"])
    for guesses, name in zip(reloaded, names.DEMO_NAMES):
        expected = metrics["demo_top3"][name]
        assert [g[0] for g in guesses] == [e[0] for e in expected]
        np.testing.assert_allclose([g[1] for g in guesses], [e[1] for e in expected],
                                   atol=1e-5)
    capsys.readouterr()
    cli.main(names, ["predict", "Hinton", "Satoshi", "--top", "2", "--output-dir", out])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and lines[0] == "> Hinton" and lines[3] == "> Satoshi"
    for line in lines[1:3] + lines[4:6]:
        match = re.fullmatch(r"\((-?\d+\.\d\d)\) (\w+)", line)
        assert match and float(match.group(1)) <= 0 and match.group(2) in LANGUAGES


def test_predict_without_a_trained_run_names_the_command(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(names, ["predict", "Hinton", "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "run `python recipes/names.py` first" in capsys.readouterr().err
