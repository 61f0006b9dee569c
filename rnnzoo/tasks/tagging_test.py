"""The tagging task: its scores and baseline on fixed values, then a quick run on real EWT."""

import os

import keras
import numpy as np
import pytest

from rnnzoo import cli
from rnnzoo.io import read_json
from rnnzoo.tasks import tagging
from rnnzoo.training.saving import load_model


def test_most_frequent_tag_and_scores():
    words = [["the", "duck", "runs"], ["a", "duck"], ["the", "run"]]
    tags = [["DET", "NOUN", "VERB"], ["DET", "NOUN"], ["DET", "NOUN"]]
    lookup, overall = tagging.most_frequent_tags(words, tags)
    assert lookup == {"the": "DET", "duck": "NOUN", "runs": "VERB", "a": "DET", "run": "NOUN"}
    assert overall == "DET"  # 3 DET, 3 NOUN: the first counted wins the tie
    scores = tagging.tag_scores([["DET", "NOUN", "VERB"]], [["DET", "VERB", "VERB"]],
                                [["the", "cat", "runs"]], {"the", "runs"},
                                ["", "DET", "NOUN", "VERB"])
    assert scores["accuracy"] == pytest.approx(66.67)
    assert (scores["unseen_accuracy"], scores["unseen_words"]) == (0.0, 1)
    assert scores["per_tag"]["VERB"] == {"precision": 50.0, "recall": 100.0,
                                         "f1": pytest.approx(66.67), "support": 1}
    assert scores["confusions"] == [["NOUN", "VERB", 1]]


def test_vocabularies_encode_words_characters_and_tags():
    vocab = tagging.Vocabularies.count([["Hi", "there"], ["Hi"]], [["INTJ", "ADV"], ["INTJ"]],
                                       min_count=2, max_word_length=3)
    assert vocab.words == ["", "[UNK]", "Hi"] and vocab.tags == ["", "ADV", "INTJ"]
    words, chars, tags = vocab.encode([["Hi", "there", "you"]], [["INTJ", "ADV", "ADV"]])
    assert words.tolist() == [[2, 1, 1]] and tags.tolist() == [[2, 1, 1]]
    index = {c: i for i, c in enumerate(vocab.characters)}
    assert chars.shape == (1, 3, 3)  # words cut to 3 characters
    assert chars[0, 1].tolist() == [index["t"], index["h"], index["e"]]
    assert chars[0, 2, 0] == 1  # "y" never seen: the unknown character
    with pytest.raises(ValueError, match="Received: variants='lstm'"):
        tagging.Config(variants=("lstm",))
    # Lower-cased lookup: "hi" and "Hi" count together and share one id;
    # the characters keep the case.
    lower = tagging.Vocabularies.count([["Hi", "there"], ["hi"]], [["INTJ", "ADV"], ["INTJ"]],
                                       min_count=2, max_word_length=3, lowercase=True)
    assert lower.words == ["", "[UNK]", "hi"]
    words, chars = lower.encode([["HI", "hi", "there"]])
    assert words.tolist() == [[2, 2, 1]]
    index = {c: i for i, c in enumerate(lower.characters)}
    assert chars[0, 0, :2].tolist() == [index["H"], 1]  # "I" never seen: the unknown character


REAL = os.path.join(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent"), "ud_english_ewt")


@pytest.mark.skipif(not os.path.isdir(REAL), reason="needs RNNZOO_DATA_DIR/ud_english_ewt")
def test_quick_run_on_real_sentences_beats_the_most_frequent_tag(tmp_path, capsys):
    out = tmp_path / "run"
    # The CRF tagger over words and characters alone (the other variants
    # are the same builder without `crf` or characters: tested in
    # models/tagger_test.py); early stopping on its Viterbi accuracy.
    metrics = cli.main(tagging, ["--quick", "--variants", "('characters_crf',)",
                                 "--max-sentences", "800", "--patience", "5",
                                 "--output-dir", str(out),
                                 "--verbose", "0"])
    assert metrics["sentences"] == {"train": 700, "validation": 100, "dev": 400}
    assert metrics["dev_accuracy"] > metrics["most_frequent_tag_dev_accuracy"] + 2
    assert metrics["dev_unseen_accuracy"] > metrics["most_frequent_tag_dev_unseen_accuracy"]
    assert set(metrics["per_tag"]) >= {"NOUN", "VERB", "PROPN"}
    assert {"model.keras", "confusions.png", "loss.png", "vocabularies.json"} <= set(
        os.listdir(out))
    # The saved CRF model reloads and tags the same; `predict` prints word/TAG.
    model = load_model(str(out / "model.keras"))
    sentence = ["The", "dog", "saw", "a", "duck", "."]
    trained = cli.Trained(str(out), model, metrics)
    pairs = tagging.tag_sentences(trained, [" ".join(sentence)])
    assert [w for w, _ in pairs[0]] == sentence
    assert pairs[0][-1][1] == "PUNCT" and pairs[0][0][1] == "DET"
    printed = capsys.readouterr().out
    assert "The/DET" in printed and "./PUNCT" in printed
    again = cli.main(tagging, ["predict", " ".join(sentence), "--output-dir", str(out)])
    assert again == pairs
    np.testing.assert_array_equal(metrics["sentences"]["dev"], 400)


@pytest.mark.skipif(not os.path.isdir(REAL), reason="needs RNNZOO_DATA_DIR/ud_english_ewt")
def test_ensemble_averages_three_seeds_reusing_the_characters_network(tmp_path):
    out = tmp_path / "run"
    metrics = cli.main(tagging, ["--quick", "--variants", "('characters', 'characters_ensemble')",
                                 "--max-sentences", "300", "--validation-sentences", "60",
                                 "--max-dev-sentences", "50", "--epochs", "1",
                                 "--output-dir", str(out), "--verbose", "0"])
    single, ensemble = (metrics["variants"][v] for v in ("characters", "characters_ensemble"))
    # Member 1 is the run's `characters` network; two more seeds are trained.
    assert len(ensemble["epochs_run"]) == 3 and ensemble["epochs_run"][0] == single["epochs_run"][0]
    assert ensemble["parameters"] == 3 * single["parameters"]
    assert ensemble["train_seconds"] > single["train_seconds"]
    # Saved without the members' Adam state: three members' weights weigh
    # about what one member with its two Adam moments does.
    assert (os.path.getsize(out / "characters_ensemble.keras")
            < 1.2 * os.path.getsize(out / "characters.keras"))
    # The saved ensemble reloads and gives the mean of its members' probabilities.
    model = load_model(str(out / "characters_ensemble.keras"))
    alone = load_model(str(out / "characters.keras"))
    vocab = tagging.Vocabularies(**{k: v for k, v in read_json(out / "vocabularies.json").items()
                                    if k != "tagset"})
    words, chars = vocab.encode([["The", "dog", "barked", "."], ["Hi", "."]])
    mean = np.asarray(model.predict_on_batch([words, chars]))
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert len(members) == 3 and members[0].name == alone.name
    np.testing.assert_allclose(
        mean, np.mean([np.asarray(m.predict_on_batch([words, chars])) for m in members], 0),
        rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(members[0].predict_on_batch([words, chars])),
                               np.asarray(alone.predict_on_batch([words, chars])), atol=1e-6)


def test_average_taggers_refuses_crf_members():
    import rnnzoo

    crf = rnnzoo.sequence_tagger(vocabulary_size=9, num_classes=3, units=4, crf=True, name="c")
    with pytest.raises(ValueError, match=r"Received: members=\['c'\]"):
        tagging.average_taggers([crf], "both")
