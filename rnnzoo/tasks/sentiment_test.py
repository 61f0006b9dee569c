"""The sentiment task end to end on GENERATED sentences (no shared data needed; TensorFlow).

The generated sentences (`rnnzoo.tasks.testing.write_sst2`) hold words of
their label's polarity, so the ensemble must beat the majority class by a
wide margin. One run per module through `sentiment.run(Config.quick(...),
Runner(...))`, checked for its metrics, folds, metrics.json, the saved
model (weights only) and `predict`.
"""

import json
import os
import re

import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.tasks import sentiment
from rnnzoo.tasks import testing
from rnnzoo.training.runner import Runner

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.tasks.sentiment_test")


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory):
    generated = testing.write_sst2(str(tmp_path_factory.mktemp("generated_sst2")))
    out = str(tmp_path_factory.mktemp("sentiment_run"))
    config = sentiment.Config.quick(data_dir=generated, epochs=3, batch_size=16,
                                    max_tokens=500, overrides=dict(units=8))
    metrics = sentiment.run(config, Runner(out, verbose=0, quick=True))
    return out, metrics


def test_generated_sentences_beat_the_majority_class(sentiment_run):
    _, metrics = sentiment_run
    assert 0.5 < metrics["majority_baseline_accuracy"] < 0.7
    assert metrics["dev_accuracy"] >= metrics["majority_baseline_accuracy"] + 0.25, metrics
    # --quick: the two cheapest bags, then one recurrent member, folds 0, 1, 2
    assert metrics["member_validation_folds"] == {
        "words12_mlp": 0, "chars25_mlp": 1, "bilstm_1": 2}
    assert set(metrics["member_dev_accuracy"]) == set(metrics["member_validation_folds"])
    assert metrics["member_dev_accuracy"]["words12_mlp"] > 0.8
    assert metrics["member_variants"] == [{"cell": "lstm", "pooling": "max"}]
    assert metrics["rnn_overrides"]["units"] == 8
    # Every word of the generator fits the vocabulary (32 of them).
    assert metrics["vocabulary_size"] == 32


def test_metrics_json_saved_model_and_predict(sentiment_run, capsys):
    out, metrics = sentiment_run
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    model = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    # weights only: with the members' Adam state the file would be ~3x this
    assert os.path.getsize(os.path.join(out, "model.keras")) < 1.5 * 4 * model.count_params()
    sentences = np.array(["a gorgeous witty film", "dull and lifeless"], dtype=object)
    probabilities = model.predict(sentences, verbose=0)
    assert probabilities.shape == (2, 1)
    assert probabilities[0, 0] > 0.5 > probabilities[1, 0]
    capsys.readouterr()
    cli.main(sentiment, ["predict", "a gorgeous, witty film", "--output-dir", out])
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"P\(positive\)=0\.\d{3} positive: a gorgeous, witty film", line), line
    assert float(line[12:17]) == pytest.approx(float(
        model.predict(np.array(["a gorgeous, witty film"], dtype=object), verbose=0)[0, 0]),
        abs=1e-3)


def test_bags_are_checked_and_ordered():
    assert [b[0] for b in sentiment.selected_bags("chars36, words12")] == ["words12", "chars36"]
    with pytest.raises(ValueError, match="Received: bags='words9'"):
        sentiment.selected_bags("words9")
    assert sentiment.member_fold(len(sentiment.BAGS) + 12) == sentiment.member_fold(4)
