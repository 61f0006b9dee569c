"""The text recipes' --quick runs on small subsets of the REAL data (TensorFlow only).

Each run is made once per module through the command line (`cli.main`, what
`recipes/<task>.py` runs; in-process, to avoid a TensorFlow start-up per
run) and checked: it beats its trivial baseline by a stated margin, writes
metrics.json and PNG plots, saves a model that reloads and gives the same
outputs on raw strings, and its `predict` command prints the expected
format. The same tasks on generated data: `rnnzoo/tasks/<task>_test.py`.
"""

import json
import os
import re

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.data.datasets import ENV_VAR
from rnnzoo.tasks import names
from rnnzoo.tasks import sentiment
from rnnzoo.tasks import textgen

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV_VAR) or not os.path.isdir(os.environ[ENV_VAR]),
    reason=f"real data not available (set {ENV_VAR})",
)
# The two tests of the sentiment run on one pytest-xdist worker (`--dist
# loadgroup`), so that its module-scoped run happens once, not once per worker.
SENTIMENT_RUN = pytest.mark.xdist_group("tests.recipes_text_test.sentiment_run")
NAMES_RUN = pytest.mark.xdist_group("tests.recipes_text_test.names_run")  # the same, for names


def _run(task, tmp_path_factory, *flags):
    out = str(tmp_path_factory.mktemp(task.NAME))
    metrics = cli.main(task, ["--quick", "--output-dir", out, "--verbose", "0", *flags])
    return task, out, metrics


def _check_outputs(out, metrics, plots):
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    for plot in plots:
        with open(os.path.join(out, plot), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)


@pytest.fixture(scope="module")
def names_run(tmp_path_factory):
    return _run(names, tmp_path_factory, "--limit", "2000", "--epochs", "5")


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory):
    return _run(sentiment, tmp_path_factory, "--limit", "4000", "--epochs", "2",
                "--max-tokens", "5000")


@pytest.fixture(scope="module")
def textgen_run(tmp_path_factory):
    return _run(textgen, tmp_path_factory, "--limit", "40000", "--epochs", "3",
                "--sample-length", "40")


@NAMES_RUN
def test_names_quick_beats_majority_and_round_trips(names_run, capsys):
    module, out, metrics = names_run
    # Majority class (English) is ~0.30 of the test names.
    assert metrics["test_accuracy"] >= metrics["majority_baseline_accuracy"] + 0.25
    # The majority classifier's macro-F1 is ~0.025 (one class of 18 at F1 0.46).
    assert metrics["test_macro_f1"] >= metrics["majority_baseline_macro_f1"] + 0.15
    model = _check_outputs(out, metrics, ["curves.png", "confusion_matrix.png"])
    # (That the reloaded model gives the run's demo top 3: rnnzoo/tasks/names_test.py.)
    surnames = np.array(["Hinton", "Satoshi", "Dovesky", "Müller"], dtype=object)
    from rnnzoo.data.datasets.names import LANGUAGES

    original = module.top_k(model, list(surnames), LANGUAGES)
    assert [len(g) for g in original] == [3, 3, 3, 3]
    assert all(g[0][1] >= g[1][1] >= g[2][1] for g in original)
    capsys.readouterr()
    cli.main(module, ["predict", "Hinton", "Satoshi", "Dovesky", "--output-dir", out])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 12 and lines[0] == "> Hinton" and lines[4] == "> Satoshi"
    for line in lines[1:4] + lines[5:8] + lines[9:12]:
        match = re.fullmatch(r"\((-?\d+\.\d\d)\) (\w+)", line)
        assert match and float(match.group(1)) <= 0 and match.group(2) in LANGUAGES


@NAMES_RUN
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the LiteRT converter reads a TensorFlow graph")
def test_names_member_in_litert_int8_loses_at_most_half_a_point(names_run, tmp_path):
    """The trained RNN member, exported float32 and int8, scored in the LiteRT interpreter."""
    from rnnzoo.data.datasets import load_names
    from rnnzoo.decoding.portable_greedy import open_model

    _, out, _ = names_run
    ensemble = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    member, chars = ensemble.get_layer("names_rnn_1"), ensemble.get_layer("names_chars")
    test = load_names().test
    ids = np.asarray(chars(np.asarray(test.x, dtype=object))).astype("int32")
    keras_accuracy = np.mean(member.predict(ids, verbose=0).argmax(-1) == test.y)
    accuracy = {}
    for optimize in (False, True):
        path = rnnzoo.export(member, str(tmp_path / f"m_{optimize}.tflite"), format="litert",
                             optimize=optimize)
        shapes, run = open_model(path)
        name = next(iter(shapes))
        predicted = np.concatenate([run({name: ids[i:i + 128]})[0].argmax(-1)
                                    for i in range(0, len(ids), 128)])
        accuracy[optimize] = np.mean(predicted == test.y)
    assert accuracy[False] == keras_accuracy  # float32: the same predictions
    assert accuracy[True] >= accuracy[False] - 0.005, accuracy


@SENTIMENT_RUN
def test_sentiment_quick_beats_majority_and_round_trips(sentiment_run, capsys):
    module, out, metrics = sentiment_run
    # The dev split is balanced (majority ~0.51).
    assert metrics["dev_accuracy"] >= metrics["majority_baseline_accuracy"] + 0.15
    model = _check_outputs(out, metrics, ["curves.png", "confusion_matrix.png"])
    # weights only: with the members' Adam state the file would be ~3x this
    assert os.path.getsize(os.path.join(out, "model.keras")) < 1.5 * 4 * model.count_params()
    sentences = np.array(["a gorgeous, witty film", "dull and lifeless"], dtype=object)
    probabilities = model.predict(sentences, verbose=0)
    assert probabilities.shape == (2, 1)
    reloaded = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    np.testing.assert_allclose(reloaded.predict(sentences, verbose=0), probabilities,
                               atol=1e-6)
    capsys.readouterr()
    cli.main(module, ["predict", "a gorgeous, witty film", "--output-dir", out])
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"P\(positive\)=0\.\d{3} (positive|negative): a gorgeous, witty film",
                        line), line


@SENTIMENT_RUN
def test_sentiment_members_validate_on_their_own_folds(sentiment_run):
    module, _, metrics = sentiment_run
    # --quick: the two cheapest bags, then one recurrent member, folds 0, 1, 2
    assert metrics["member_validation_folds"] == {
        "words12_mlp": 0, "chars25_mlp": 1, "bilstm_1": 2}
    assert set(metrics["member_dev_accuracy"]) == set(metrics["member_validation_folds"])
    assert [b[0] for b in module.selected_bags("chars36, words12")] == ["words12", "chars36"]
    with pytest.raises(ValueError, match="Received: bags='words9'"):
        module.selected_bags("words9")


def test_textgen_quick_beats_unigram_and_round_trips(textgen_run, capsys):
    module, out, metrics = textgen_run
    # Unigram perplexity of this text is ~16.7 (27 symbols).
    assert metrics["validation_perplexity"] <= 0.75 * metrics["unigram_perplexity"]
    assert metrics["unigram_perplexity"] > metrics["bigram_perplexity"] > (
        metrics["trigram_perplexity"])
    assert set(metrics["samples"]) == {"0.5", "1.0"}
    for sample in metrics["samples"].values():
        assert sample.startswith(module.PROMPT) and len(sample) == len(module.PROMPT) + 40
        assert set(sample) <= set(metrics["vocabulary"])
    model = _check_outputs(out, metrics, ["curves.png"])
    text = np.array(["the time traveller", "the machine"], dtype=object)
    probabilities = model.predict(text, verbose=0)
    assert probabilities.shape == (2, 18, len(metrics["vocabulary"]) + 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)
    reloaded = rnnzoo.load_model(os.path.join(out, "model.keras"), compile=False)
    np.testing.assert_allclose(reloaded.predict(text, verbose=0), probabilities, atol=1e-6)
    capsys.readouterr()
    cli.main(module, ["predict", "the time traveller", "--output-dir", out, "--length", "30",
                 "--temperature", "0.5"])
    line = capsys.readouterr().out.rstrip("\n")  # a sample may end in a space
    assert re.fullmatch(r"\[temperature 0\.5\] the time traveller[a-z ]{30}", line), line
