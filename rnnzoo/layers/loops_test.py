"""loops.scan: the buffered loop of builtin_loops() equals keras.ops.scan (both backends)."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnzoo.layers import loops
from rnnzoo.layers.fast_rnn import GRU
from rnnzoo.layers.fast_rnn import LSTM
from rnnzoo.layers.fast_rnn import SimpleRNN


def _step(carry, x):
    total, peak = carry
    total = total * 0.5 + x[..., :2]
    return (total, ops.maximum(peak, x[..., 2])), (total, ops.sum(x, axis=-1))


@pytest.mark.multi_backend
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps", [5, 1, 0])
def test_buffered_scan_equals_keras_scan(reverse, steps):
    xs = np.random.default_rng(0).normal(size=(steps, 3, 4)).astype("float32")
    init = (np.zeros((3, 2), "float32"), np.full((3,), -9.0, "float32"))
    if steps:
        want_carry, want_ys = ops.scan(_step, init, xs, reverse=reverse)
    else:  # no step: the carry is `init`, the outputs are empty along time
        want_carry, want_ys = init, (np.zeros((0, 3, 2), "float32"), np.zeros((0, 3), "float32"))
    with loops.builtin_loops():
        for like in (None, lambda carry: (carry[0], carry[0][:, 0])):
            carry, ys = loops.scan(_step, init, xs, reverse=reverse, like=like)
            for got, want in zip(list(carry) + list(ys), list(want_carry) + list(want_ys)):
                got, want = ops.convert_to_numpy(got), ops.convert_to_numpy(want)
                assert got.shape == want.shape
                np.testing.assert_allclose(got, want, atol=1e-6)
    assert not loops.builtin_loops_enabled()


@pytest.mark.parametrize("layer", [
    lambda: LSTM(6, return_sequences=True, return_state=True),
    lambda: GRU(6, return_sequences=True, go_backwards=True),
    lambda: SimpleRNN(6, activation="relu", return_sequences=True),
    lambda: LSTM(6, return_sequences=True, activation="relu"),  # not fused: the cell loop
])
def test_recurrent_layers_inside_builtin_loops_equal_their_own_loop(layer):
    """The export path of each layer, on a right-padded batch, equals its training path."""
    layer = layer()
    x = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    mask = np.arange(5)[None] < np.array([5, 2, 4])[:, None]
    want = layer(x, mask=mask)
    with loops.builtin_loops():
        got = layer(x, mask=mask)
    for a, b in zip(keras.tree.flatten(got), keras.tree.flatten(want)):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-5)
