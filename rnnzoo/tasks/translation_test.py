import numpy as np

from rnnzoo.tasks import translation as T
from rnnzoo.data.datasets.fra_eng import TranslationDataset
from rnnzoo.data.datasets.resolve import Split


def test_tokenize_detokenize():
    assert T.tokenize("Où est la gare\u202f?") == ["où", "est", "la", "gare", "?"]
    assert T.tokenize("I don't know.") == ["i", "don't", "know", "."]
    assert T.detokenize(["il", "fait", "froid", "."]) == "il fait froid ."


def test_vocabulary_lookup_round_trip():
    vocab = T.count_vocabulary([["le", "chat"], ["le", "chien"], ["le"]], 10)
    assert vocab[:3] == ["[START]", "[END]", "le"]
    lookup = T.lookup_layer(vocab)
    ids = T.encode(lookup, [["le", "chat"], ["zèbre"]], 4, start=True, end=True)
    assert ids[0].tolist() == [T.START_ID, 4, 5, T.END_ID]
    assert ids[1].tolist() == [T.START_ID, 1, T.END_ID, 0]
    assert T.ids_to_tokens(ids[:, 1:], vocab) == [["le", "chat"], ["[UNK]"]]


def test_sacrebleu_scores():
    perfect = T.corpus_scores(["il fait froid ."], ["Il fait froid."])
    assert perfect["bleu"] == 100.0 and perfect["chrf"] == 100.0
    assert T.corpus_scores(["bonjour"], ["Il fait froid."])["bleu"] < 5


def _fixture():
    # A tiny hand-written dataset (test fixture, not real data).
    def split(pairs):
        return Split(x=np.array([p[0] for p in pairs], dtype=object),
                     y=np.array([p[1] for p in pairs], dtype=object))

    train = [("I am cold.", "J'ai froid."), ("Go.", "Va !"),
             ("This is a very long sentence indeed.", "C'est une phrase vraiment très longue.")]
    return TranslationDataset(train=split(train), validation=split(train[:1]),
                              test=split([("I am here.", "Je suis là.")]))


def test_prepare_filters_training_lengths_only_and_reverses():
    data = T.prepare(_fixture(), max_tokens=4)
    assert len(data.x_train) == 2  # the long pair is left out of training
    assert data.test_references == ["Je suis là."]
    assert "froid" in data.target_vocabulary
    reverse = T.prepare(_fixture(), max_tokens=4, reverse=True)
    assert reverse.test_sources == ["Je suis là."]
    assert "cold" in reverse.target_vocabulary
