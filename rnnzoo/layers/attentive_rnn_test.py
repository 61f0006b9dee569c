"""AttentiveRNN: the shared layer checks, a NumPy reference of its steps, padding, errors."""

import numpy as np
import pytest

from rnnzoo.layers.attentive_rnn import AttentiveRNN
from rnnzoo.layers.layer_test_case import SAME
from rnnzoo.layers.layer_test_case import run_layer_test

RNG = np.random.default_rng(0)
INPUTS = RNG.normal(size=(2, 4, 3)).astype("float32")
MEMORY = RNG.normal(size=(2, 5, 6)).astype("float32")
MASK = np.array([[True] * 4, [True, True, False, False]])


@pytest.mark.parametrize("cell, gate, num_weights", [
    pytest.param("lstm", True, 3 + 3 + 2, marks=pytest.mark.multi_backend),
    ("gru", False, 3 + 3),
])
def test_layer(cell, gate, num_weights, tmp_path):
    outputs = run_layer_test(
        AttentiveRNN, dict(units=7, cell=cell, gate=gate), [INPUTS, MEMORY],
        expected_output_shape=[(2, 4, 7), (2, 4, 6), (2, 4, 5)]
        + [(2, 7)] * (2 if cell == "lstm" else 1),
        expected_num_trainable_weights=num_weights,
        # The sequences keep the steps' padding; padded steps change the final states.
        supports_masking=True, input_mask=MASK,
        expected_output_mask=[SAME, SAME, SAME] + [None] * (2 if cell == "lstm" else 1),
        mask_changes_output=True,
        mixed_precision_dtypes=["bfloat16", "bfloat16", "float32"]
        + ["bfloat16"] * (2 if cell == "lstm" else 1),
        tmp_path=tmp_path,
    )
    np.testing.assert_allclose(np.asarray(outputs[2]).sum(-1), 1.0, rtol=1e-5)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.multi_backend
def test_steps_equal_a_numpy_show_attend_tell_lstm():
    layer = AttentiveRNN(4, attention="bahdanau", attention_units=5)
    h0 = RNG.normal(size=(2, 4)).astype("float32")
    c0 = RNG.normal(size=(2, 4)).astype("float32")
    outputs, contexts, weights, h_last, c_last = (
        np.asarray(t) for t in layer(INPUTS, MEMORY, initial_state=[h0, c0], inputs_mask=MASK))
    a = layer.attention
    wq, wm, v = (np.asarray(w) for w in (a.query_kernel, a.memory_kernel, a.score_vector))
    kernel, recurrent, bias = (np.asarray(w) for w in layer.cell.weights)
    gate_w, gate_b = (np.asarray(w) for w in layer.gate_layer.weights)
    h, c = h0.copy(), c0.copy()
    for t in range(4):
        scores = np.tanh((h @ wq)[:, None] + MEMORY @ wm) @ v  # from h_{t-1}
        alpha = np.exp(scores - scores.max(-1, keepdims=True))
        alpha /= alpha.sum(-1, keepdims=True)
        z = (alpha[..., None] * MEMORY).sum(1) * _sigmoid(h @ gate_w + gate_b)
        gates = np.concatenate([INPUTS[:, t], z], -1) @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(gates, 4, -1)
        c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h_new = _sigmoid(o) * np.tanh(c_new)
        np.testing.assert_allclose(weights[:, t], alpha, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(contexts[:, t], z, rtol=1e-4, atol=1e-5)
        real = MASK[:, t, None]
        h, c = np.where(real, h_new, h), np.where(real, c_new, c)
        np.testing.assert_allclose(outputs[:, t], h, rtol=1e-4, atol=1e-5)
    # The second row's last real step is t = 1: its final states stop there.
    np.testing.assert_allclose(h_last, h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c_last, c, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h_last[1], outputs[1, 1], rtol=1e-6)


def test_one_step_at_a_time_equals_the_whole_sequence():
    # What the one-step decoder relies on: carrying the states is enough.
    layer = AttentiveRNN(6, cell="gru", attention="luong")
    whole = layer(INPUTS, MEMORY)
    states = None
    for t in range(4):
        out, _, w, *states = layer(INPUTS[:, t:t + 1], MEMORY, initial_state=states)
        np.testing.assert_allclose(np.asarray(out)[:, 0], np.asarray(whole[0])[:, t],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(w)[:, 0], np.asarray(whole[2])[:, t],
                                   rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="Received: cell='rnn'"):
        AttentiveRNN(4, cell="rnn")
    with pytest.raises(ValueError, match="Received: attention='dot'"):
        AttentiveRNN(4, attention="dot")
    with pytest.raises(ValueError, match="Received: units=0"):
        AttentiveRNN(0)
    with pytest.raises(ValueError, match="Expected 2 initial states"):
        AttentiveRNN(4)(INPUTS, MEMORY, initial_state=[np.zeros((2, 4), "float32")])


def test_the_export_loop_equals_the_training_loop():
    from rnnzoo.layers.loops import builtin_loops

    layer = AttentiveRNN(5)
    expected = layer(INPUTS, MEMORY, inputs_mask=MASK)
    with builtin_loops():  # what rnnzoo.export traces: the buffered while loop
        got = layer(INPUTS, MEMORY, inputs_mask=MASK)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
