"""The textgen task end to end on a GENERATED book (no shared data needed; TensorFlow).

The generated text (`rnnzoo.tasks.testing.write_time_machine`) strings
together eight fixed phrases, so the language model must fall far below the
unigram perplexity. One run per module through `textgen.run(Config.quick(
...), Runner(...))`, checked for its metrics, samples, the saved stateless
model over raw strings and `predict` (resuming a killed task run:
tests/recipes_scale_test.py).
"""

import json
import os
import re

import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.tasks import testing
from rnnzoo.tasks import textgen
from rnnzoo.training.runner import Runner

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.tasks.textgen_test")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return testing.write_time_machine(str(tmp_path_factory.mktemp("generated_book")))


def _config(generated, **changes):
    return textgen.Config.quick(data_dir=generated, batch_size=8, sequence_length=20,
                                sample_length=30, overrides=dict(units=32), **changes)


@pytest.fixture(scope="module")
def textgen_run(generated, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("textgen_run"))
    metrics = textgen.run(_config(generated), Runner(out, verbose=0, quick=True))
    return out, metrics


def test_generated_book_falls_far_below_the_unigram_perplexity(textgen_run):
    _, metrics = textgen_run
    assert metrics["validation_perplexity"] <= 0.6 * metrics["unigram_perplexity"], metrics
    assert metrics["unigram_perplexity"] > metrics["bigram_perplexity"] > (
        metrics["trigram_perplexity"])
    assert metrics["epochs_run"] == 3 and metrics["tokens_per_second"] > 0
    assert (metrics["cell"], metrics["overrides"]["units"]) == ("lstm", 32)
    assert set(metrics["samples"]) == {"0.5", "1.0"}
    for sample in metrics["samples"].values():
        assert sample.startswith(textgen.PROMPT) and len(sample) == len(textgen.PROMPT) + 30
        assert set(sample) <= set(metrics["vocabulary"])


def test_metrics_json_saved_model_and_predict(textgen_run, capsys):
    out, metrics = textgen_run
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    model = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    text = np.array(["the time traveller", "the machine"], dtype=object)
    probabilities = model.predict(text, verbose=0)
    assert probabilities.shape == (2, 18, len(metrics["vocabulary"]) + 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)
    # After "the time travelle" the generated book always continues with "r".
    r = metrics["vocabulary"].index("r") + 2
    assert probabilities[0, 16].argmax() == r
    capsys.readouterr()
    cli.main(textgen, ["predict", "the time traveller", "--output-dir", out, "--length", "30",
                       "--temperature", "0.5"])
    line = capsys.readouterr().out.rstrip("\n")
    assert re.fullmatch(r"\[temperature 0\.5\] the time traveller[a-z ]{30}", line), line
    # The same seed and temperature sample what the run sampled.
    assert line.split("] ", 1)[1] == metrics["samples"]["0.5"]


def test_encode_decode_round_trip():
    vocabulary = [" ", "a", "b"]
    ids = textgen.encode("ab a", vocabulary)
    assert ids.tolist() == [3, 4, 2, 3]
    assert textgen.decode_ids(ids, vocabulary) == "ab a"
