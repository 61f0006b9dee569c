import os

import numpy as np
import pytest

import rnnzoo
from rnnzoo.data import text


def test_tokenize_matches_layer_tokens_and_ngrams():
    assert text.tokenize(["Ab"], split="character", ngrams=2) == [["A", "b", "A b"]]
    assert text.tokenize(["It's GOOD, ok"], standardize="lower_and_strip_punctuation") == [
        ["its", "good", "ok"]]
    assert text.tokenize(["Müller"], split="character") == [list("Müller")]


def test_count_vocabulary_orders_by_frequency_then_token():
    assert text.count_vocabulary(["a b b", "c b"]) == ["b", "a", "c"]
    assert text.count_vocabulary(["a b b", "c b"], min_count=2) == ["b"]
    assert text.count_vocabulary(["a b b", "c b a"], max_tokens=2) == ["b", "a"]


def test_counted_vocabulary_equals_adapt():
    import keras

    texts = ["the cat sat", "The dog, the cat!", "a dog"]
    counted = text.count_vocabulary(texts, standardize="lower_and_strip_punctuation")
    layer = keras.layers.TextVectorization(standardize="lower_and_strip_punctuation")
    layer.adapt(texts)
    # adapt() breaks frequency ties in no fixed order: same tokens, same top.
    assert sorted(layer.get_vocabulary()[2:]) == sorted(counted)
    assert layer.get_vocabulary()[2] == counted[0] == "the"


def test_vectorizer_ids_padding_and_oov():
    layer = text.text_vectorizer(["a", "b"], split="character")
    assert text.vectorize(layer, ["ab", "ba c"]).tolist() == [[2, 3, 0, 0], [3, 2, 1, 1]]
    bag = text.text_vectorizer(["a", "a b"], split="character", ngrams=2,
                               output_mode="multi_hot")
    assert text.vectorize(bag, ["ab", "c"]).tolist() == [[1, 1, 1], [1, 0, 0]]


def test_string_model_round_trip_equals_id_model(tmp_path):
    layer = text.text_vectorizer(["a", "b", "c"], split="character")
    clf = rnnzoo.sequence_classifier(vocabulary_size=5, num_classes=3, units=4)
    other = rnnzoo.sequence_classifier(vocabulary_size=5, num_classes=3, units=4,
                                       name="other")
    model = text.string_model([(layer, clf), (layer, other)], name="ens")
    names = np.array(["abc", "ca", "b"], dtype=object)
    ids = text.vectorize(layer, names)
    expected = (clf.predict(ids, verbose=0) + other.predict(ids, verbose=0)) / 2
    np.testing.assert_allclose(model.predict(names, verbose=0), expected, atol=1e-6)
    path = rnnzoo.save_model(model, os.path.join(tmp_path, "m.keras"))
    reloaded = rnnzoo.load_model(path, compile=False)
    np.testing.assert_allclose(reloaded.predict(names, verbose=0), expected, atol=1e-6)


def test_ngram_perplexity_values():
    # Uniform over 2 symbols: unigram perplexity 2; a deterministic
    # alternation is almost perfectly predicted by a bigram model.
    assert text.ngram_perplexity("ab" * 100, "abab", 1) == pytest.approx(2.0, rel=1e-3)
    assert text.ngram_perplexity("ab" * 100, "abab", 2, alpha=0.01) < 1.01


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: text.text_vectorizer(["a"], split="chars"), "split"),
        (lambda: text.text_vectorizer(["a"], standardize="upper"), "standardize"),
        (lambda: text.text_vectorizer(["a"], output_mode="tf_idf"), "output_mode"),
        (lambda: text.text_vectorizer(["a"], ngrams=0), "ngrams"),
        (lambda: text.count_vocabulary(["a"], max_tokens=0), "max_tokens"),
        (lambda: text.string_model([]), "branches"),
        (lambda: text.ngram_perplexity("ab", "ab", 0), "n"),
    ],
)
def test_errors_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()
