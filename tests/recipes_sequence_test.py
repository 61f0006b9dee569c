"""--quick runs of the sequence recipes: baselines beaten, outputs written."""

import json
import os
import sys

import numpy as np
import pytest

import rnnzoo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "recipes"))

pytestmark = pytest.mark.skipif(
    not os.path.isdir(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent")),
    reason="needs RNNZOO_DATA_DIR for the fra-eng data",
)


def _files(folder):
    return set(os.listdir(folder))


def test_timeseries_quick_beats_naive(tmp_path):
    import timeseries

    metrics = timeseries.main(["--series", "co2", "--quick",
                               "--output-dir", str(tmp_path)])
    table = metrics["table"]
    # Stated margin: at least 30% lower MAE than the naive forecast.
    assert table["rnn"]["mae"] < 0.7 * table["naive"]["mae"]
    assert {"metrics.json", "model.keras", "forecasts.png",
            "horizon_errors.png", "loss.png"} <= _files(tmp_path)
    saved = json.load(open(tmp_path / "metrics.json"))
    assert saved["table"] == table
    model = rnnzoo.load_model(str(tmp_path / "model.keras"))
    x = [np.zeros((2, 104, model.inputs[0].shape[-1]), "float32"),
         np.zeros((2, 52, 2), "float32")]
    assert model.predict(x, verbose=0).shape == (2, 52, 1)


def test_captioning_quick_beats_chance(tmp_path):
    import captioning

    metrics = captioning.main(["--quick", "--output-dir", str(tmp_path)])
    # Chance exact-sequence accuracy is 7e-5; stated margin: >= 0.2.
    assert metrics["sequence_accuracy"] >= 0.2
    assert metrics["digit_accuracy"] >= 0.5
    assert {"metrics.json", "model.keras", "attention.png", "loss.png"} <= _files(tmp_path)
    reloaded = rnnzoo.load_model(str(tmp_path / "model.keras"))
    from rnnzoo import digit_strips

    images = digit_strips.make_strips(3, "test").images
    np.testing.assert_array_equal(
        digit_strips.decode_strips(reloaded, images)[0],
        digit_strips.greedy_loop(reloaded, images, 7)[0],
    )


def test_translation_quick_outputs_and_translate_command(tmp_path, capsys):
    import translation

    metrics = translation.main(["--quick", "--output-dir", str(tmp_path)])
    assert {"metrics.json", "model.keras", "vocabularies.json", "loss.png",
            "attention_0.png"} <= _files(tmp_path)
    assert metrics["test_pairs"] == 200
    # The quick run is far too short for BLEU; its stated margin is on
    # next-token accuracy over the most frequent token's share.
    assert metrics["history"]["val_accuracy"][-1] > 0.3
    capsys.readouterr()
    translation.main(["translate", "I am cold.", "--output-dir", str(tmp_path)])
    assert capsys.readouterr().out.startswith("I am cold. -> ")
