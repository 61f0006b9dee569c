"""sequence_tagger: the shared model checks and counts against plain Keras."""

import keras
import numpy as np
import pytest

from rnnzoo.models.model_test_case import run_model_test
from rnnzoo.models.tagger import sequence_tagger


# (presets_test covers the token BiLSTM tagger and its padded targets)
def test_feature_regression_tagger(tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32")
    run_model_test(
        sequence_tagger,
        dict(num_features=3, num_outputs=1, cell="gru", units=5, num_layers=2, residual=True,
             merge_mode="sum", bidirectional=True, name="tag_features"),
        x, x[..., :1] * 2.0, (3, 5, 1), tmp_path=tmp_path,
    )


def test_counts_equal_plain_keras():
    model = sequence_tagger(vocabulary_size=40, embedding_dim=6, units=10, num_layers=2,
                            num_classes=7)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(40, 6, mask_zero=True)(inputs)
    x = keras.layers.LSTM(10, return_sequences=True)(x)
    x = keras.layers.LSTM(10, return_sequences=True)(x)
    hand = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    assert model.count_params() == hand.count_params()


def _characters(ids, word_lengths, width=4, vocab=12):
    """Character ids for each word id: `length` characters derived from the id."""
    chars = np.zeros(ids.shape + (width,), "int32")
    for index in np.ndindex(ids.shape):
        if ids[index]:
            n = word_lengths[ids[index] % len(word_lengths)]
            chars[index][:n] = (ids[index] + np.arange(n)) % (vocab - 1) + 1
    return chars


@pytest.mark.multi_backend
def test_crf_tagger_with_characters(tmp_path):
    import rnnzoo
    from rnnzoo.layers.crf import crf_decode
    from rnnzoo.models.crf_model import CRFModel

    rng = np.random.default_rng(0)
    lengths = [5, 3, 4]
    ids = np.zeros((3, 5), "int32")
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 20, n)
    chars = _characters(ids, [1, 2, 3, 4])
    tags = (ids % 4) * (ids > 0)
    config = dict(vocabulary_size=20, embedding_dim=6, character_vocabulary_size=12,
                  character_embedding_dim=5, character_units=7, num_classes=4, units=6,
                  bidirectional=True, crf=True, embedding_dropout=0.1, word_dropout=0.2,
                  name="crf_tagger")
    # Padding invariance (words and characters), gradients to every weight
    # (transitions included), a fit step lowering the CRF loss, `.keras`
    # round trip, mixed precision: the shared checks.
    model = run_model_test(sequence_tagger, config, [ids, chars], tags, (3, 5, 4),
                           input_lengths=[lengths, lengths], output_lengths=lengths,
                           tmp_path=tmp_path)
    assert isinstance(model, CRFModel)
    names = {layer.name for layer in model.layers}
    assert {"crf_tagger_character_embedding", "crf_tagger_character_cnn",
            "crf_tagger_word_features", "crf_tagger_crf", "crf_tagger_word_dropout"} <= names
    # `predict` is the Viterbi path of the potentials, 0 on padded steps.
    crf = model.get_layer("crf_tagger_crf")
    crf.transitions.assign(rng.normal(size=(4, 4)).astype("float32"))
    predicted = model.predict([ids, chars], verbose=0)
    expected, _ = crf_decode(model([ids, chars]), crf.transitions, ids > 0,
                             crf.start_transitions, crf.end_transitions)
    np.testing.assert_array_equal(predicted, keras.ops.convert_to_numpy(expected))
    assert predicted.shape == (3, 5) and (predicted[ids == 0] == 0).all()
    # Trained on its CRF loss, it learns the tags of this tiny batch (on
    # TensorFlow: the JAX training path is the shared checks' fit step).
    if keras.backend.backend() != "tensorflow":
        return
    rnnzoo.compile_for(model, learning_rate=0.05)
    history = model.fit([ids, chars], tags, epochs=60, batch_size=3, verbose=0)
    np.testing.assert_array_equal(model.predict([ids, chars], verbose=0)[ids > 0], tags[ids > 0])
    # `accuracy`: the Viterbi tags' accuracy over the real tokens.
    assert history.history["accuracy"][-1] == 1.0 > history.history["accuracy"][0]
    tags[0, 0] = (tags[0, 0] % 3) + 1  # one of the 12 real tags now wrong
    logs = model.evaluate([ids, chars], tags, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(11 / 12)


def test_crf_and_characters_errors_name_the_argument():
    with pytest.raises(ValueError, match="Received: crf=True with vocabulary_size=None"):
        sequence_tagger(num_features=3, num_classes=4, crf=True)
    with pytest.raises(ValueError, match="num_classes='binary'"):
        sequence_tagger(vocabulary_size=9, num_classes="binary", crf=True)
    with pytest.raises(ValueError, match="Received: character_vocabulary_size=5 with"):
        sequence_tagger(num_features=3, num_classes=4, character_vocabulary_size=5)
    with pytest.raises(ValueError, match="Received: character_units=0"):
        sequence_tagger(vocabulary_size=9, num_classes=4, character_vocabulary_size=5,
                        character_units=0)
