"""sequence_tagger: the shared model checks and counts against plain Keras."""

import keras
import numpy as np

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
