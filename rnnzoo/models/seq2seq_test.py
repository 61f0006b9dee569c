"""seq2seq: the shared model checks per attention kind, counts, the copy bridge, errors."""

import keras
import numpy as np
import pytest

from rnnzoo.models.model_test_case import run_model_test
from rnnzoo.models.seq2seq import seq2seq

SOURCE = np.array([[3, 4, 5, 6], [7, 8, 0, 0], [5, 6, 0, 0]], "int32")
TARGET_IN = np.array([[1, 5, 6], [1, 4, 0], [1, 7, 8]], "int32")
TARGET_OUT = np.array([[5, 6, 2], [4, 2, 0], [7, 8, 2]], "int32")


# (presets_test covers Luong attention over a BiLSTM encoder)
@pytest.mark.parametrize("attention, decoder_cell", [(None, None), ("bahdanau", "gru")])
def test_seq2seq(attention, decoder_cell, tmp_path):
    # padded target steps (past each length) are left out of the loss
    run_model_test(
        seq2seq,
        dict(source_vocabulary_size=9, target_vocabulary_size=9, embedding_dim=6, units=4,
             num_layers=2, attention=attention, decoder_cell=decoder_cell, name="s2s"),
        [SOURCE, TARGET_IN], TARGET_OUT, (3, 3, 9),
        input_lengths=[[4, 2, 2], [3, 2, 3]], output_lengths=[3, 2, 3], tmp_path=tmp_path,
    )


def test_counts_equal_plain_keras_and_the_copy_bridge_has_no_weights():
    model = seq2seq(source_vocabulary_size=30, target_vocabulary_size=20, embedding_dim=8,
                    units=16, bidirectional=False, attention=None)
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    _, h, c = keras.layers.LSTM(16, return_state=True)(
        keras.layers.Embedding(30, 8, mask_zero=True)(source))
    y = keras.layers.LSTM(16, return_sequences=True)(
        keras.layers.Embedding(20, 8, mask_zero=True)(target), initial_state=[h, c])
    hand = keras.Model([source, target], keras.layers.Dense(20, activation="softmax")(y))
    assert model.count_params() == hand.count_params()
    assert not any(layer.weights for layer in model.layers if "_bridge_" in layer.name)


@pytest.mark.parametrize("kwargs, received", [
    (dict(attention="dot"), "attention='dot'"),
    (dict(decoder_cell="rnn"), "decoder_cell='rnn'"),
    (dict(source_vocabulary_size=0), "source_vocabulary_size=0"),
    (dict(decoder_num_layers=-1), "decoder_num_layers=-1"),
])
def test_bad_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        seq2seq(**{**dict(source_vocabulary_size=9, target_vocabulary_size=9), **kwargs})
