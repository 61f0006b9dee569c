"""Tests for rnnzoo's fused LSTM/GRU: identical to keras.layers, both ways."""

import os

import keras
import numpy as np
import pytest

from rnnzoo.layers import fast_rnn
from rnnzoo.layers.kernel_report import kernel_report

B, T, D, H = 3, 6, 4, 5
KERAS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
FAST = {"lstm": fast_rnn.LSTM, "gru": fast_rnn.GRU}


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, D)).astype("float32")
    right = np.ones((B, T), bool)
    right[1, 4:] = False
    right[2, 2:] = False
    gapped = right.copy()
    gapped[0, :2] = False  # left padding
    gapped[0, 3] = False  # a gap
    return x, right, gapped


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _outputs_and_grads(layer, x, mask, initial_state=None):
    """Outputs and gradients of a weighted sum of every output."""
    def loss_of(outs):
        return sum(
            keras.ops.sum(o * keras.ops.sqrt(keras.ops.arange(1, o.shape[-1] + 1, dtype="float32")))
            for o in outs
        )

    kwargs = {"mask": mask}
    if initial_state is not None:
        kwargs["initial_state"] = initial_state
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            outs = _as_list(layer(xt, **kwargs))
            loss = loss_of(outs)
        grads = tape.gradient(loss, [xt] + layer.trainable_variables)
        return [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]
    import jax

    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def f(xx, tv):
        outs, _ = layer.stateless_call(tv, non_trainable, xx, **kwargs)
        outs = _as_list(outs)
        return loss_of(outs), outs

    grad_fn = jax.jit(jax.value_and_grad(f, argnums=(0, 1), has_aux=True))
    (_, outs), (gx, gw) = grad_fn(x, trainable)
    return [np.asarray(o) for o in outs], [np.asarray(gx)] + [np.asarray(g) for g in gw]


def _pair(cell, bidirectional=False, **kwargs):
    ref, fast = KERAS[cell](H, **kwargs), FAST[cell](H, **kwargs)
    if bidirectional:
        ref = keras.layers.Bidirectional(ref)
        fast = keras.layers.Bidirectional(fast)
    ref.build((B, T, D))
    fast.build((B, T, D))
    fast.set_weights(ref.get_weights())
    return ref, fast


def _assert_close(a, b, atol=1e-5):
    assert len(a) == len(b)
    for p, q in zip(a, b):
        np.testing.assert_allclose(p, q, atol=atol, rtol=1e-5)


# Every combination on TensorFlow; on JAX (the backend matrix) a covering
# subset: each cell, each mask kind and both directions appear at least once.
_JAX_CASES = {("lstm", True, "right"), ("gru", False, "gapped"), ("lstm", False, None),
              ("gru", True, None)}
_CASES = [
    pytest.param(cell, bidirectional, masking,
                 marks=[pytest.mark.multi_backend] if (cell, bidirectional, masking) in _JAX_CASES else [])
    for cell in ("lstm", "gru") for bidirectional in (False, True)
    for masking in (None, "right", "gapped")
]


@pytest.mark.parametrize("cell, bidirectional, masking", _CASES)
def test_equals_keras_layer(cell, bidirectional, masking):
    """Outputs, final states and gradients equal keras.layers' (1e-5)."""
    x, right, gapped = _data()
    mask = {None: None, "right": right, "gapped": gapped}[masking]
    # (return_sequences, go_backwards); Bidirectional sets go_backwards itself.
    for return_sequences, go_backwards in ((True, False), (False, not bidirectional)):
        ref, fast = _pair(
            cell, bidirectional, return_sequences=return_sequences,
            return_state=True, go_backwards=go_backwards,
        )
        assert fast_rnn.fast_path_reason(
            fast.forward_layer if bidirectional else fast
        ) is None
        out_ref, grad_ref = _outputs_and_grads(ref, x, mask)
        out_fast, grad_fast = _outputs_and_grads(fast, x, mask)
        _assert_close(out_fast, out_ref)
        _assert_close(grad_fast, grad_ref)


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_initial_state_and_left_padding_equal_keras(cell):
    """A non-zero initial state with masked first steps: Keras' semantics."""
    x, _, gapped = _data()
    rng = np.random.default_rng(1)
    states = [rng.standard_normal((B, H)).astype("float32") for _ in range(2 if cell == "lstm" else 1)]
    ref, fast = _pair(cell, return_sequences=True, return_state=True)
    out_ref, grad_ref = _outputs_and_grads(ref, x, gapped, initial_state=states)
    out_fast, grad_fast = _outputs_and_grads(fast, x, gapped, initial_state=states)
    _assert_close(out_fast, out_ref)
    _assert_close(grad_fast, grad_ref)


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_masked_fast_path_equals_generic_masked_path(cell):
    """Right-padded batch: fused path == Keras' generic masked loop, and each
    sequence's final state is its state at its last real step."""
    x, right, _ = _data()
    ref, fast = _pair(cell, return_sequences=True, return_state=True)
    out_fast = _as_list(fast(x, mask=right))
    generic = _as_list(ref(x, mask=right))
    _assert_close(out_fast, generic)
    for row in range(B):
        length = int(right[row].sum())
        alone = _as_list(fast(x[row:row + 1, :length]))
        for state, state_alone in zip(out_fast[1:], alone[1:]):
            np.testing.assert_allclose(state[row], state_alone[0], atol=1e-6)


@pytest.mark.multi_backend
def test_stateful_and_dropout_equal_keras():
    """Stateful carry-over across calls, and inference with dropout set."""
    x, right, _ = _data()
    ref = keras.layers.LSTM(H, stateful=True, dropout=0.3, return_sequences=True)
    fast = fast_rnn.LSTM(H, stateful=True, dropout=0.3, return_sequences=True)
    for layer in (ref, fast):
        layer.build((B, T, D))
    fast.set_weights(ref.get_weights())
    for _ in range(2):
        _assert_close([np.asarray(fast(x, mask=right))], [np.asarray(ref(x, mask=right))])
    _assert_close([np.asarray(v) for v in fast.states], [np.asarray(v) for v in ref.states])


def _model(layer_class, cell_name):
    tokens = keras.Input((T,), dtype="int32")
    x = keras.layers.Embedding(10, D, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(layer_class(H, return_sequences=True))(x)
    y = layer_class(H, name=f"top_{cell_name}")(x)
    return keras.Model(tokens, keras.layers.Dense(2)(y))


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_weights_load_both_ways_and_serialises(cell, tmp_path):
    """`.weights.h5` saved from one loads into the other; `.keras` round trip
    keeps the rnnzoo class (registered under package "rnnzoo")."""
    ids = np.array([[1, 2, 3, 4, 0, 0], [5, 6, 7, 8, 9, 1], [2, 2, 0, 0, 0, 0]])
    ref = _model(KERAS[cell], cell)
    fast = _model(FAST[cell], cell)
    path = os.path.join(tmp_path, "ref.weights.h5")
    ref.save_weights(path)
    fast.load_weights(path)
    np.testing.assert_allclose(fast.predict(ids, verbose=0), ref.predict(ids, verbose=0), atol=1e-5)
    fresh_ref = _model(KERAS[cell], cell)
    path = os.path.join(tmp_path, "fast.weights.h5")
    fast.save_weights(path)
    fresh_ref.load_weights(path)
    np.testing.assert_allclose(fresh_ref.predict(ids, verbose=0), ref.predict(ids, verbose=0), atol=1e-5)
    path = os.path.join(tmp_path, "fast.keras")
    fast.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer(f"top_{cell}")) is FAST[cell]
    assert keras.saving.get_registered_name(FAST[cell]) == f"rnnzoo>{cell.upper()}"
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), ref.predict(ids, verbose=0), atol=1e-5)


@pytest.mark.multi_backend
def test_fallback_reasons_and_kernel_report():
    """Ineligible options fall back to Keras' loop and the report says why."""
    assert "recurrent_dropout" in fast_rnn.fast_path_reason(fast_rnn.LSTM(4, recurrent_dropout=0.1))
    assert "reset_after" in fast_rnn.fast_path_reason(fast_rnn.GRU(4, reset_after=False))
    assert "not an rnnzoo" in fast_rnn.fast_path_reason(keras.layers.LSTM(4))
    x, right, _ = _data()
    ref, fast = _pair("gru", return_sequences=True, activation="relu")
    _assert_close([np.asarray(fast(x, mask=right))], [np.asarray(ref(x, mask=right))])
    model = _model(FAST["lstm"], "lstm")
    report = kernel_report(model)
    assert [r["fused"] for r in report] == [True, True, True]
    assert all(r["cpu_path"] == "rnnzoo fused loop" for r in report)
    assert kernel_report(_model(KERAS["lstm"], "lstm"))[0]["cpu_path"] == "keras generic loop"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_xla_compiled_loops_equal_the_plain_loops(cell, monkeypatch):
    """TensorFlow: RNNZOO_LOOP_XLA=true (the default) and false give the same
    outputs and gradients, masked, to float tolerance; a bad value names the
    variable."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the loops are XLA-compiled by jax.jit on JAX anyway")
    from rnnzoo.layers.fast_rnn import tf_kernels

    x, right, _ = _data()
    _, fast = _pair(cell, return_sequences=True, return_state=True)
    results = {}
    for setting in ("false", "true"):
        monkeypatch.setenv("RNNZOO_LOOP_XLA", setting)
        assert tf_kernels.loop_xla_enabled() is (setting == "true")
        results[setting] = _outputs_and_grads(fast, x, right)
    _assert_close(results["true"][0], results["false"][0])
    _assert_close(results["true"][1], results["false"][1])
    assert np.abs(results["true"][1][1]).max() > 1e-3  # the kernel's gradient is not trivially 0
    monkeypatch.setenv("RNNZOO_LOOP_XLA", "maybe")
    with pytest.raises(ValueError, match="RNNZOO_LOOP_XLA to be true or false. Received: "
                                         "RNNZOO_LOOP_XLA='maybe'"):
        fast(x)
    monkeypatch.delenv("RNNZOO_LOOP_XLA")
    assert tf_kernels.loop_xla_enabled() is True
