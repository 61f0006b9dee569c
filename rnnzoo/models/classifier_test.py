"""sequence_classifier: the shared model checks, counts against plain Keras, errors."""

import keras
import numpy as np
import pytest

from rnnzoo.models.classifier import sequence_classifier
from rnnzoo.models.model_test_case import gru_params
from rnnzoo.models.model_test_case import run_model_test

TOKENS = np.array([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [2, 5, 7, 0, 0]], "int32")
LENGTHS = [5, 2, 3]


# (presets_test covers the BiLSTM with max and last pooling, and the IRNN)
def test_token_classifier(tmp_path):
    run_model_test(
        sequence_classifier,
        dict(vocabulary_size=10, embedding_dim=6, cell="gru", units=[6, 5], num_layers=2,
             bidirectional=True, pooling="attention", num_classes=3, name="clf"),
        TOKENS, np.array([0, 2, 1]), (3, 3), input_lengths=[LENGTHS], tmp_path=tmp_path,
    )


def test_masked_feature_regressor(tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    x[1, 3:] = -1.0  # masked steps: every feature equals mask_value
    run_model_test(
        sequence_classifier,
        dict(num_features=2, mask_value=-1.0, cell="simple", identity_init=True, units=6,
             num_layers=2, residual=True, layer_norm=True, pooling="mean", num_outputs=2,
             name="reg"),
        x, np.ones((3, 2), "float32"), (3, 2), tmp_path=tmp_path,
    )


def test_counts_equal_plain_keras():
    model = sequence_classifier(vocabulary_size=50, embedding_dim=8, cell="gru",
                                units=[16, 12], num_layers=2, bidirectional=True,
                                num_classes=5)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(50, 8, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(12))(x)
    hand = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    assert model.count_params() == hand.count_params()
    assert model.count_params() == (50 * 8 + 2 * gru_params(8, 16) + 2 * gru_params(32, 12)
                                     + 24 * 5 + 5)


def test_embedding_dropout_drops_whole_channels_in_training_only():
    model = sequence_classifier(vocabulary_size=50, embedding_dim=64, units=8, num_classes=2,
                                embedding_dropout=0.5, name="clf")
    layer = model.get_layer("clf_embedding_dropout")
    assert model.count_params() == sequence_classifier(
        vocabulary_size=50, embedding_dim=64, units=8, num_classes=2).count_params()
    x = np.ones((4, 6, 64), "float32")
    dropped = np.asarray(layer(x, training=True))
    # a channel is dropped at every step or at none (scaled by 1 / (1 - rate))
    assert set(np.unique(dropped).tolist()) == {0.0, 2.0}
    assert (dropped == dropped[:, :1, :]).all()
    assert 0.2 < (dropped[:, 0, :] == 0).mean() < 0.8
    tokens = np.array([[3, 4, 5, 0]])
    np.testing.assert_array_equal(model(tokens), model(tokens))  # inference: no dropout


@pytest.mark.parametrize("kwargs, received", [
    (dict(cell="lstn"), "cell='lstn'"),
    (dict(units=0), "units=0"),
    (dict(num_layers=0), "num_layers=0"),
    (dict(units=[3], num_layers=2), r"units=\[3\]"),
    (dict(pooling="sum"), "pooling='sum'"),
    (dict(num_classes=1), "num_classes=1"),
    (dict(vocabulary_size=None), "vocabulary_size=None, num_features=None"),
    (dict(vocabulary_size=0), "vocabulary_size=0"),
    (dict(embedding_dropout=1.0), "embedding_dropout=1.0"),
    (dict(head_dropout_rate=1.5), "head_dropout_rate=1.5"),  # was Keras' `rate=` error
    (dict(name=""), "name=''"),
])
def test_bad_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        sequence_classifier(**{**dict(vocabulary_size=10, num_classes=2), **kwargs})
