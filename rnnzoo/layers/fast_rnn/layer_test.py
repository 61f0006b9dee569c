"""rnnzoo's LSTM/GRU through the shared layer checks; files saved before the package still load."""

import os

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers import fast_rnn
from rnnzoo.layers.kernel_report import kernel_report
from rnnzoo.layers.layer_test_case import SAME
from rnnzoo.layers.layer_test_case import run_layer_test

X = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
MASK = np.array([[True] * 5, [True, True, True, False, False], [False, True, True, True, False]])


# TensorFlow only: on JAX (where the builders use Keras' layers) the eager
# scans cost ~20 s per case; fast_rnn_test checks these layers against
# Keras' on both backends.
@pytest.mark.parametrize("layer_class", [fast_rnn.LSTM, fast_rnn.GRU])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_layer(layer_class, return_sequences, tmp_path):
    run_layer_test(
        layer_class, dict(units=6, return_sequences=return_sequences), X,
        call_kwargs=dict(mask=MASK),
        expected_output_shape=(3, 5, 6) if return_sequences else (3, 6),
        expected_num_trainable_weights=3,
        supports_masking=True, input_mask=MASK,
        expected_output_mask=SAME if return_sequences else None,
        mask_changes_output=True, tmp_path=tmp_path,
    )


def test_a_model_saved_before_the_package_still_loads():
    # Saved by rnnzoo at 7fec6a2, when the layers lived in the module
    # `rnnzoo.layers.fast_rnn` (its config names that module): a BiLSTM
    # classifier with attention pooling and random (scale 0.8) weights.
    path = os.path.join(os.path.dirname(__file__), "testdata", "classifier_saved_at_7fec6a2.keras")
    model = rnnzoo.load_model(path)
    assert type(model.get_layer("old_clf_encoder_bilstm_1").forward_layer) is fast_rnn.LSTM
    outputs = np.asarray(model(np.array([[3, 4, 5, 0], [6, 7, 0, 0]])))
    np.testing.assert_allclose(outputs, [[0.259902, 0.265651, 0.474447],
                                         [0.419556, 0.12707, 0.453374]], atol=2e-6)


@pytest.mark.parametrize("kwargs, reason", [
    (dict(reset_after=False), "reset_after=False"),
    (dict(recurrent_dropout=0.1), "recurrent_dropout=0.1 > 0"),
    (dict(activation="relu", unroll=True), "activation is not tanh; unroll=True"),
])
def test_one_eligibility_rule_for_the_cpu_loop_and_cudnn(kwargs, reason):
    layer = fast_rnn.GRU(4, **kwargs)
    row = kernel_report(keras.Sequential([keras.Input((3, 2)), layer]))[0]
    assert row["reason"] == row["cpu_reason"] == fast_rnn.fast_path_reason(layer) == reason
    assert not row["fused"] and row["cpu_path"] == "keras generic loop"

