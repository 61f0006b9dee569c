import os

import numpy as np
import pytest

import rnnzoo
from rnnzoo import cli
from rnnzoo.data.datasets.fra_eng import TranslationDataset
from rnnzoo.data.datasets.resolve import Split
from rnnzoo.io import read_json
from rnnzoo.tasks import translation as T
from rnnzoo.training.runner import Runner
from rnnzoo.training.saving import load_model


@pytest.mark.multi_backend
def test_word_tokens_detokenize():
    assert T.word_tokens("Où est la gare\u202f?") == ["où", "est", "la", "gare", "?"]
    assert T.word_tokens("I don't know.") == ["i", "don't", "know", "."]
    assert T.detokenize(["il", "fait", "froid", "."]) == "il fait froid ."


@pytest.mark.multi_backend
def test_vocabulary_lookup_round_trip():
    vocab = T.word_vocabulary([["le", "chat"], ["le", "chien"], ["le"]], 10)
    assert vocab == ["[START]", "[END]", "le", "chat", "chien"]
    assert T.word_vocabulary([["b", "a", "b"]], 3) == ["[START]", "[END]", "b"]
    lookup = T.lookup_layer(vocab)
    ids = T.encode(lookup, [["le", "chat"], ["zèbre"]], 3)
    assert ids.tolist() == [[4, 5, 0], [1, 0, 0]]
    # The decoder's pairs: [START] + y and y + [END] (rnnzoo.teacher_forcing).
    y_in, y_out = rnnzoo.teacher_forcing(ids, start_token=T.START_ID, end_token=T.END_ID,
                                         max_length=4)
    assert y_in.tolist() == [[T.START_ID, 4, 5, 0], [T.START_ID, 1, 0, 0]]
    assert y_out.tolist() == [[4, 5, T.END_ID, 0], [1, T.END_ID, 0, 0]]
    assert T.decoded_words(y_out, vocab) == [["le", "chat"], ["[UNK]"]]


@pytest.mark.multi_backend
def test_sacrebleu_scores():
    perfect = T.corpus_scores(["il fait froid ."], ["Il fait froid."])
    assert perfect == {"bleu": 100.0, "chrf": 100.0}
    assert T.corpus_scores(["bonjour"], ["Il fait froid."])["bleu"] < 5


def _split(pairs):
    return Split(x=np.array([p[0] for p in pairs], dtype=object),
                 y=np.array([p[1] for p in pairs], dtype=object))


def _fixture():
    # A tiny hand-written dataset (test fixture, not real data).
    train = [("I am cold.", "J'ai froid."), ("Go.", "Va !"),
             ("This is a very long sentence indeed.", "C'est une phrase vraiment très longue.")]
    return TranslationDataset(train=_split(train), validation=_split(train[:1]),
                              test=_split([("I am here.", "Je suis là.")]))


@pytest.mark.multi_backend
def test_prepare_filters_training_lengths_only_and_reverses():
    data = T.prepare(_fixture(), max_length=4)
    assert len(data.x_train) == 2  # the long pair is left out of training
    assert data.test_references == ["Je suis là."]
    assert "froid" in data.target_vocabulary
    reverse = T.prepare(_fixture(), max_length=4, reverse=True)
    assert reverse.test_sources == ["Je suis là."]
    assert "cold" in reverse.target_vocabulary


@pytest.mark.multi_backend
def test_quick_config_is_the_old_quick_run():
    quick = T.Config.quick()
    assert (quick.max_length, quick.limit, quick.test_limit, quick.units, quick.embedding_dim,
            quick.source_max_tokens, quick.target_max_tokens, quick.epochs) == \
        (6, 8000, 200, 64, 64, 2000, 2000, 3)
    args = cli.parser(T).parse_args(["--quick", "--no-baseline", "--max-length", "5"])
    config = cli.config_from_args(T, args)
    assert (config.baseline, config.max_length, config.units) == (False, 5, 64)


WORDS = {"red": "rouge", "cat": "chat", "dog": "chien", "big": "gros", "sees": "voit",
         "eats": "mange", "the": "le", "small": "petit", "bird": "oiseau", "fish": "poisson"}


def generated_corpus(n, seed):
    """GENERATED parallel corpus (not real data): each English word has one
    French word, in the same order."""
    rng = np.random.default_rng(seed)
    english = list(WORDS)
    pairs = []
    for _ in range(n):
        words = list(rng.choice(english, size=rng.integers(2, 5)))
        pairs.append((" ".join(words).capitalize() + ".",
                      " ".join(WORDS[w] for w in words).capitalize() + "."))
    return _split(pairs)


class _Runner(Runner):
    """A Runner that keeps the models it saves."""

    def save_model(self, model, filename="model.keras"):
        self.saved = model
        return super().save_model(model, filename)


def test_run_on_generated_corpus_learns_and_translates(tmp_path, capsys):
    dataset = TranslationDataset(train=generated_corpus(1000, 0),
                                 validation=generated_corpus(100, 1),
                                 test=generated_corpus(40, 2))
    config = T.Config(max_length=6, units=32, embedding_dim=16, epochs=3, batch_size=16,
                      baseline=False)
    runner = _Runner(tmp_path, verbose=0)
    metrics = T.run(config, runner, dataset=dataset)
    # A word-for-word code: next-token accuracy far above always emitting the
    # most frequent token, and translations far above copying the source.
    assert metrics["history"]["val_accuracy"][-1] > metrics["unigram_accuracy"] + 0.4
    assert metrics["greedy_bleu"] > 40 and metrics["beam_bleu"] > 40
    assert metrics["copy_source_bleu"] < 5
    assert metrics["no_attention_bleu"] is None
    assert {"metrics.json", "model.keras", "vocabularies.json", "loss.png",
            "attention_0.png"} <= set(os.listdir(tmp_path))
    assert read_json(tmp_path / "metrics.json")["beam_bleu"] == metrics["beam_bleu"]
    x = [np.array([[4, 5, 6, 0, 0, 0]], "int32"), np.array([[2, 7, 8, 0]], "int32")]
    np.testing.assert_allclose(load_model(str(tmp_path / "model.keras")).predict(x, verbose=0),
                               runner.saved.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    out = cli.main(T, ["translate", "The red cat.", "--sampler", "greedy",
                       "--output-dir", str(tmp_path)])
    assert capsys.readouterr().out.startswith("The red cat. -> ")
    assert len(out) == 1


def test_translate_without_a_trained_run_says_what_to_run(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(T, ["translate", "Hi.", "--output-dir", str(tmp_path / "none")])
    assert "run `python recipes/translation.py` first" in capsys.readouterr().err
