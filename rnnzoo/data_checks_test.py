"""Bad data fed through the public API raises a ValueError naming the argument.

Each case below was accepted silently (wrapped, truncated, trained on) or
failed deep inside the backend before `rnnzoo.data_checks`.
"""

import numpy as np
import pytest

import rnnzoo
from rnnzoo import LengthBatches
from rnnzoo.data_checks import check_fit_data
from rnnzoo.data_checks import input_vocabularies


def _classifier(num_classes=3):
    return rnnzoo.compile_for(rnnzoo.sequence_classifier(
        vocabulary_size=20, num_classes=num_classes, units=4, embedding_dim=4))


@pytest.mark.multi_backend
@pytest.mark.parametrize("x,message", [
    ([[3, 25]], r"token id in `x` to lie in \[0, 20\).*Received: 25 at x\[0, 1\]"),
    ([[3, -3]], r"Received: -3 at x\[0, 1\]"),
    ([[3.0, 1.5]], r"integer token ids \(a fraction would be truncated\).*1.5 at x\[0, 1\]"),
])
def test_bad_token_ids_in_fit_name_the_argument_and_position(x, message):
    model = _classifier()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        rnnzoo.fit(model, np.array(x), np.array([1]), verbose=0)
    # Nothing trained: the check runs before the first step.
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Integer-valued floats (pandas, NumPy defaults) are fine.
    rnnzoo.fit(model, np.array([[3.0, 4.0]]), np.array([1]), verbose=0)


@pytest.mark.multi_backend
def test_labels_outside_the_head_and_binary_labels_raise():
    with pytest.raises(ValueError, match=r"class label in `y` to lie in \[0, 12\).*"
                                         r"Received: 15 at y\[1\]"):
        rnnzoo.fit(_classifier(12), np.ones((2, 3), "int32"), np.array([0, 15]), verbose=0)
    binary = rnnzoo.compile_for(rnnzoo.sequence_classifier(
        vocabulary_size=20, num_classes="binary", units=4))
    with pytest.raises(ValueError, match=r"binary labels in \[0, 1\].*Received: 2.* at y\[2\]"):
        rnnzoo.fit(binary, np.ones((3, 3), "int32"), np.array([0, 1, 2]), verbose=0)


def test_non_finite_inputs_targets_and_validation_data_raise():
    model = rnnzoo.compile_for(rnnzoo.forecaster(sequence_length=6, num_features=2, horizon=3,
                                                 units=4))
    x = np.zeros((4, 6, 2), "float32")
    y = np.zeros((4, 3, 1), "float32")
    bad = x.copy()
    bad[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"`x` to hold finite numbers.*nan at x\[2, 3, 1\] "
                                         r"\(1 non-finite values"):
        rnnzoo.fit(model, bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` to hold finite.*inf at y\[0, 0, 0\]"):
        rnnzoo.fit(model, x, np.full_like(y, np.inf), verbose=0)
    with pytest.raises(ValueError, match=r"`validation_data\[0\]`.*nan at validation_data\[0\]"):
        rnnzoo.fit(model, x, y, validation_data=(bad, y), verbose=0)


def test_every_input_of_a_multi_input_model_and_datasets_with_arrays():
    # The tagger: words feed the word embedding, characters the character one.
    tagger = rnnzoo.compile_for(rnnzoo.sequence_tagger(
        vocabulary_size=20, character_vocabulary_size=12, num_classes=4, units=4))
    assert {i: size for i, (size, _) in input_vocabularies(tagger).items()} == {0: 20, 1: 12}
    words = np.array([[3, 4, 0]])
    chars = np.array([[[1, 2], [3, 12], [0, 0]]])
    with pytest.raises(ValueError, match=r"`x\[1\]` to lie in \[0, 12\).*'sequence_tagger_"
                                         r"character_embedding'.*Received: 12 at x\[1\]\[0, 1, 1\]"):
        check_fit_data(tagger, [words, chars], np.array([[1, 2, 0]]))
    # A seq2seq model: the decoder's ids against the TARGET vocabulary.
    s2s = rnnzoo.compile_for(rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=9,
                                            units=4))
    with pytest.raises(ValueError, match=r"`x\[1\]` to lie in \[0, 9\)"):
        check_fit_data(s2s, [np.array([[11, 2]]), np.array([[1, 9]])], np.array([[2, 3]]))
    # A dataset holding its arrays (LengthBatches) is checked whole, before training.
    with pytest.raises(ValueError, match=r"class label in `y \(the arrays of LengthBatches\)`"):
        rnnzoo.fit(tagger, LengthBatches([words, np.array([[[1, 2], [3, 4], [0, 0]]])],
                                         np.array([[1, 7, 0]]), batch_size=1), verbose=0)


@pytest.mark.multi_backend
def test_predict_and_evaluate_check_their_inputs_too():
    model = _classifier()
    # Keras' own predict wraps -3 and truncates 1.5; rnnzoo.predict refuses both.
    with pytest.raises(ValueError, match=r"Received: -3 at x\[0, 1\]"):
        rnnzoo.predict(model, np.array([[3, -3]]), verbose=0)
    with pytest.raises(ValueError, match=r"1.5 at x\[0, 1\]"):
        rnnzoo.predict(model, np.array([[3.0, 1.5]]), verbose=0)
    good = np.array([[3, 4], [5, 0]])
    np.testing.assert_allclose(rnnzoo.predict(model, good, verbose=0),
                               model.predict(good, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match=r"class label in `y`.*Received: 3 at y\[0\]"):
        rnnzoo.evaluate(model, good, np.array([3, 0]), verbose=0)


def test_nested_lists_are_data_and_a_one_array_list_is_the_input():
    model = _classifier()
    with pytest.raises(ValueError, match=r"Received: 25 at x\[0, 1\]"):
        check_fit_data(model, [[3, 25]], [1])
    with pytest.raises(ValueError, match=r"Received: 25 at x\[0\]\[0, 1\]"):
        check_fit_data(model, [np.array([[3, 25]])], np.array([1]))


def test_a_crf_taggers_tags_are_checked_against_its_tag_count():
    crf = rnnzoo.compile_for(rnnzoo.sequence_tagger(vocabulary_size=20, num_classes=4, units=4,
                                                    crf=True))
    with pytest.raises(ValueError, match=r"class label in `y` to lie in \[0, 4\).*"
                                         r"Received: 4 at y\[0, 1\]"):
        check_fit_data(crf, np.array([[3, 4, 0]]), np.array([[1, 4, 0]]))
    check_fit_data(crf, np.array([[3, 4, 0]]), np.array([[1, 3, 0]]))
