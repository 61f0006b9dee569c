"""Fused CPU LSTM/GRU layers, drop-in and weight-compatible with Keras'.

`rnnzoo.layers.fast_rnn.LSTM` and `GRU` subclass `keras.layers.LSTM` and
`keras.layers.GRU`: same arguments, same variables (`kernel`,
`recurrent_kernel`, `bias` of the `lstm_cell` / `gru_cell`), same config, the
same class name (so `.weights.h5` / `.keras` weights load both ways), and the
same `call` (initial states, `return_state`, `stateful`, dropout, masks,
`Bidirectional`). Only the inner time loop differs, where it is eligible:

- the input projection `x @ kernel + bias` of all time steps is ONE matrix
  product outside the loop;
- the loop (`jax.lax.scan` / `tf.scan`) does one `h @ recurrent_kernel`
  product and the fused gate arithmetic per step;
- the backward pass is hand-written (`jax.custom_vjp` /
  `tf.custom_gradient`): one `dz @ recurrent_kernel.T` per step, and the
  weight gradient `h_prev.T @ dz` of all steps as ONE matrix product after
  the loop (automatic differentiation of the loop accumulates it step by
  step with tiny matrix products);
- masks keep Keras' exact semantics (a masked step keeps the states; the
  output repeats the previous one, or is zero with `zero_output_for_mask`),
  for any mask, right-padded or not, with no per-step gather.

Eligible: tanh/sigmoid activations, no recurrent dropout, no unrolling, with
biases (`reset_after=True` for GRU), on the TensorFlow or JAX backend, on a
machine without GPU (with a GPU, the layer defers to Keras, which uses the
cuDNN kernel). Anything else runs Keras' own implementation, unchanged.
`fast_path_reason(layer)` says which applies, and `rnnzoo.kernel_report`
shows it per layer.
"""

import keras
from keras import ops

FAST_BACKENDS = ("tensorflow", "jax")


def _has_gpu():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    return False


def fast_path_reason(layer):
    """Why `layer` does not take the fused CPU path (None if it does).

    Args:
        layer: a `keras.layers.LSTM` or `GRU` (rnnzoo's or Keras').

    Returns:
        None when the layer runs rnnzoo's fused CPU loop, else a string.

    Example:

    >>> fast_path_reason(LSTM(4)) is None
    True
    """
    if not isinstance(layer, (LSTM, GRU)):
        return f"{type(layer).__module__}.{type(layer).__name__} is not an rnnzoo fused layer"
    reasons = []
    cell = layer.cell
    if keras.backend.backend() not in FAST_BACKENDS:
        reasons.append(f"backend {keras.backend.backend()!r} has no fused loop")
    if cell.activation is not keras.activations.tanh:
        reasons.append("activation is not tanh")
    if cell.recurrent_activation is not keras.activations.sigmoid:
        reasons.append("recurrent_activation is not sigmoid")
    if cell.recurrent_dropout > 0:
        reasons.append(f"recurrent_dropout={cell.recurrent_dropout} > 0")
    if layer.unroll:
        reasons.append("unroll=True")
    if not cell.use_bias:
        reasons.append("use_bias=False")
    if isinstance(layer, GRU) and not cell.reset_after:
        reasons.append("reset_after=False")
    if not reasons and _has_gpu() and layer.use_cudnn in ("auto", True):
        reasons.append("GPU present: Keras' cuDNN path is used instead")
    return "; ".join(reasons) if reasons else None


def _dropped(layer, sequences, training):
    """Input dropout as Keras' fused path applies it (one mask for all steps)."""
    if training and layer.dropout:
        dp_mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
        dp_mask = ops.broadcast_to(ops.expand_dims(dp_mask, 1), ops.shape(sequences))
        return sequences * dp_mask
    return sequences


def _outputs(layer, hs, mask_tm):
    """Per-step outputs from the state sequence, with Keras' mask semantics.

    `hs` is time-major, in processing order. With a mask, Keras repeats the
    previous output at masked steps (TensorFlow starts from zeros, JAX from
    the initial state), or gives zeros with `zero_output_for_mask`.
    """
    if mask_tm is None:
        return hs
    m = ops.cast(mask_tm, hs.dtype)
    if layer.zero_output_for_mask:
        return hs * m
    if keras.backend.backend() == "tensorflow":
        seen = ops.cast(ops.cumsum(m, axis=0) > 0, hs.dtype)
        return hs * seen
    return hs


def _finish(layer, hs, mask_tm):
    """`(last_output, outputs)` as Keras' inner loop returns them."""
    outs = _outputs(layer, hs, mask_tm)
    last_output = outs[-1]
    if layer.return_sequences:
        outputs = ops.transpose(outs, (1, 0, 2))
    else:
        outputs = ops.expand_dims(last_output, 1)
    return last_output, outputs


def _time_major(layer, sequences, mask):
    x = ops.transpose(sequences, (1, 0, 2))
    mask_tm = None
    if mask is not None:
        mask_tm = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
    if layer.go_backwards:
        x = ops.flip(x, 0)
        if mask_tm is not None:
            mask_tm = ops.flip(mask_tm, 0)
    return x, mask_tm


@keras.saving.register_keras_serializable(package="rnnzoo")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with a fused CPU loop and hand-written backward.

    Same arguments, variables, config and results as `keras.layers.LSTM`
    (weights load both ways); see the module docstring for what is fused and
    when. Serialises as `rnnzoo>LSTM`.

    Example:

    >>> import numpy as np
    >>> layer = LSTM(8, return_sequences=True)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 8)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if fast_path_reason(self) is not None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        h0, c0 = initial_state[0], initial_state[1]
        x, mask_tm = _time_major(self, _dropped(self, sequences, training), mask)
        cell = self.cell
        xw = ops.matmul(x, cell.kernel) + cell.bias
        kernel = _KERNELS[keras.backend.backend()]["lstm"]
        hs, c_last = kernel(xw, ops.convert_to_tensor(cell.recurrent_kernel), h0, c0, mask_tm)
        last_output, outputs = _finish(self, hs, mask_tm)
        return last_output, outputs, [hs[-1], c_last]


@keras.saving.register_keras_serializable(package="rnnzoo")
class GRU(keras.layers.GRU):
    """`keras.layers.GRU` with a fused CPU loop and hand-written backward.

    Same arguments, variables, config and results as `keras.layers.GRU`
    (weights load both ways); see the module docstring for what is fused and
    when. Serialises as `rnnzoo>GRU`.

    Example:

    >>> import numpy as np
    >>> layer = GRU(8)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 8)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if fast_path_reason(self) is not None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        h0 = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        x, mask_tm = _time_major(self, _dropped(self, sequences, training), mask)
        cell = self.cell
        bias = ops.convert_to_tensor(cell.bias)
        xw = ops.matmul(x, cell.kernel) + bias[0]
        kernel = _KERNELS[keras.backend.backend()]["gru"]
        hs = kernel(xw, ops.convert_to_tensor(cell.recurrent_kernel), bias[1], h0, mask_tm)
        last_output, outputs = _finish(self, hs, mask_tm)
        return last_output, outputs, [hs[-1]]


# ---------------------------------------------------------------------------
# Backend kernels. Shapes (time-major): xw (T, B, G*H) = input projection plus
# input bias; u (H, G*H) recurrent kernel; h0, c0 (B, H); mask (T, B, 1) bool
# or None. LSTM gate order i, f, c, o; GRU z, r, h (reset after, with the
# recurrent bias `rb` inside the reset product), as in Keras.
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# The per-step arithmetic, written once for both backends: `ops` supplies
# sigmoid, tanh, where, concat (last axis), matmul and matmul_t (a @ b.T).
# ---------------------------------------------------------------------------


def _lstm_step(ops, units, masked, h, c, xw_t, m_t, u):
    """One LSTM step: new h, new c, the gates [i, f, g, o] and tanh(c)."""
    z = xw_t + ops.matmul(h, u)
    s = ops.sigmoid(z)
    g = ops.tanh(z[:, 2 * units:3 * units])
    i, f, o = s[:, :units], s[:, units:2 * units], s[:, 3 * units:]
    c_new = f * c + i * g
    tc = ops.tanh(c_new)
    h_new = o * tc
    if masked:
        h_new = ops.where(m_t > 0, h_new, h)
        c_new = ops.where(m_t > 0, c_new, c)
    return h_new, c_new, ops.concat([i, f, g, o]), tc


def _lstm_step_grad(ops, units, masked, dh, dc, dh_t, gates_t, tc_t, cp_t, m_t, u):
    """Backward through one LSTM step: dh and dc of the previous step, dz."""
    dh = dh + dh_t
    i = gates_t[:, :units]
    f = gates_t[:, units:2 * units]
    g = gates_t[:, 2 * units:3 * units]
    o = gates_t[:, 3 * units:]
    if masked:
        dh_in, dc_in = dh * m_t, dc * m_t
    else:
        dh_in, dc_in = dh, dc
    dcn = dc_in + dh_in * o * (1 - tc_t * tc_t)
    dz = ops.concat([
        dcn * g * i * (1 - i),
        dcn * cp_t * f * (1 - f),
        dcn * i * (1 - g * g),
        dh_in * tc_t * o * (1 - o),
    ])
    dh_prev = ops.matmul_t(dz, u)
    dc_prev = dcn * f
    if masked:
        dh_prev = dh_prev + (dh - dh_in)
        dc_prev = dc_prev + (dc - dc_in)
    return dh_prev, dc_prev, dz


def _gru_step(ops, units, masked, h, xw_t, m_t, u, rb):
    """One GRU step (reset after): new h and the saved [z, r, n, hu_h]."""
    hu = ops.matmul(h, u) + rb
    s = ops.sigmoid(xw_t[:, :2 * units] + hu[:, :2 * units])
    z, r = s[:, :units], s[:, units:]
    hu_h = hu[:, 2 * units:]
    n = ops.tanh(xw_t[:, 2 * units:] + r * hu_h)
    h_new = z * h + (1 - z) * n
    if masked:
        h_new = ops.where(m_t > 0, h_new, h)
    return h_new, ops.concat([z, r, n, hu_h])


def _gru_step_grad(ops, units, masked, dh, dh_t, saved_t, hp_t, m_t, u):
    """Backward through one GRU step: dh of the previous step, dxw, dhu."""
    dh = dh + dh_t
    z = saved_t[:, :units]
    r = saved_t[:, units:2 * units]
    n = saved_t[:, 2 * units:3 * units]
    hu_h = saved_t[:, 3 * units:]
    dh_in = dh * m_t if masked else dh
    dn = dh_in * (1 - z) * (1 - n * n)
    dzp = dh_in * (hp_t - n) * z * (1 - z)
    drp = dn * hu_h * r * (1 - r)
    dxw = ops.concat([dzp, drp, dn])
    dhu = ops.concat([dzp, drp, dn * r])
    dh_prev = ops.matmul_t(dhu, u) + dh_in * z
    if masked:
        dh_prev = dh_prev + (dh - dh_in)
    return dh_prev, dxw, dhu


def _jax_ops():
    import types

    import jax
    import jax.numpy as jnp

    return types.SimpleNamespace(
        sigmoid=jax.nn.sigmoid, tanh=jnp.tanh, where=jnp.where,
        concat=lambda xs: jnp.concatenate(xs, axis=-1),
        matmul=lambda a, b: a @ b, matmul_t=lambda a, b: a @ b.T,
    )


def _tf_ops():
    import types

    import tensorflow as tf

    return types.SimpleNamespace(
        sigmoid=tf.sigmoid, tanh=tf.tanh, where=tf.where,
        concat=lambda xs: tf.concat(xs, -1), matmul=tf.matmul,
        matmul_t=lambda a, b: tf.matmul(a, b, transpose_b=True),
    )


def _jax_lstm(xw, u, h0, c0, mask):
    import jax
    import jax.numpy as jnp

    masked = mask is not None
    m = jnp.asarray(mask, xw.dtype) if masked else jnp.zeros((xw.shape[0], 1, 1), xw.dtype)
    units = u.shape[0]
    ops = _jax_ops()

    def forward(xw, u, h0, c0, m):
        def step(carry, inp):
            h_new, c_new, gates, tc = _lstm_step(ops, units, masked, *carry, *inp, u)
            return (h_new, c_new), (h_new, c_new, gates, tc)

        (_, c_last), (hs, cs, gates, tcs) = jax.lax.scan(step, (h0, c0), (xw, m))
        return hs, c_last, (cs, gates, tcs)

    @jax.custom_vjp
    def run(xw, u, h0, c0, m):
        hs, c_last, _ = forward(xw, u, h0, c0, m)
        return hs, c_last

    def run_fwd(xw, u, h0, c0, m):
        hs, c_last, res = forward(xw, u, h0, c0, m)
        return (hs, c_last), (u, h0, c0, m, hs) + res

    def run_bwd(res, cotangents):
        u, h0, c0, m, hs, cs, gates, tcs = res
        dhs, dc_last = cotangents
        c_prev = jnp.concatenate([c0[None], cs[:-1]], axis=0)
        h_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0)

        def step(carry, inp):
            dh_prev, dc_prev, dz = _lstm_step_grad(ops, units, masked, *carry, *inp, u)
            return (dh_prev, dc_prev), dz

        (dh0, dc0), dz = jax.lax.scan(
            step, (jnp.zeros_like(h0), dc_last), (dhs, gates, tcs, c_prev, m), reverse=True
        )
        du = h_prev.reshape(-1, units).T @ dz.reshape(-1, 4 * units)
        return dz, du, dh0, dc0, jnp.zeros_like(m)

    run.defvjp(run_fwd, run_bwd)
    return run(xw, u, h0, c0, m)


def _jax_gru(xw, u, rb, h0, mask):
    import jax
    import jax.numpy as jnp

    masked = mask is not None
    m = jnp.asarray(mask, xw.dtype) if masked else jnp.zeros((xw.shape[0], 1, 1), xw.dtype)
    units = u.shape[0]
    ops = _jax_ops()

    def forward(xw, u, rb, h0, m):
        def step(h, inp):
            h_new, saved = _gru_step(ops, units, masked, h, *inp, u, rb)
            return h_new, (h_new, saved)

        _, (hs, saved) = jax.lax.scan(step, h0, (xw, m))
        return hs, saved

    @jax.custom_vjp
    def run(xw, u, rb, h0, m):
        return forward(xw, u, rb, h0, m)[0]

    def run_fwd(xw, u, rb, h0, m):
        hs, saved = forward(xw, u, rb, h0, m)
        return hs, (u, h0, m, hs, saved)

    def run_bwd(res, dhs):
        u, h0, m, hs, saved = res
        h_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0)

        def step(dh, inp):
            dh_prev, dxw, dhu = _gru_step_grad(ops, units, masked, dh, *inp, u)
            return dh_prev, (dxw, dhu)

        dh0, (dxw, dhu) = jax.lax.scan(
            step, jnp.zeros_like(h0), (dhs, saved, h_prev, m), reverse=True
        )
        dhu2 = dhu.reshape(-1, 3 * units)
        du = h_prev.reshape(-1, units).T @ dhu2
        return dxw, du, jnp.sum(dhu2, axis=0), dh0, jnp.zeros_like(m)

    run.defvjp(run_fwd, run_bwd)
    return run(xw, u, rb, h0, m)


def _tf_lstm(xw, u, h0, c0, mask):
    import tensorflow as tf

    masked = mask is not None
    m = tf.cast(mask, xw.dtype) if masked else tf.zeros([tf.shape(xw)[0], 1, 1], xw.dtype)
    units = u.shape[0]
    ops = _tf_ops()
    # Plain tensors (not variable reads) into the custom-gradient function.
    u = tf.identity(u)

    @tf.custom_gradient
    def run(xw, u, h0, c0, m):
        def step(carry, inp):
            return _lstm_step(ops, units, masked, carry[0], carry[1], *inp, u)

        dummy = tf.zeros_like(xw[0])
        hs, cs, gates, tcs = tf.scan(
            step, (xw, m), initializer=(h0, c0, dummy, tf.zeros_like(h0))
        )

        def grad(dhs, dc_last):
            c_prev = tf.concat([c0[None], cs[:-1]], 0)
            h_prev = tf.concat([h0[None], hs[:-1]], 0)

            def bstep(carry, inp):
                return _lstm_step_grad(ops, units, masked, carry[0], carry[1], *inp, u)

            dh_last = tf.zeros_like(h0)
            if dhs is None:
                dhs = tf.zeros_like(hs)
            if dc_last is None:
                dc_last = tf.zeros_like(c0)
            dhs_, dcs_, dz = tf.scan(
                bstep, (dhs, gates, tcs, c_prev, m),
                initializer=(dh_last, dc_last, dummy), reverse=True,
            )
            du = tf.matmul(
                tf.reshape(h_prev, [-1, units]), tf.reshape(dz, [-1, 4 * units]),
                transpose_a=True,
            )
            return dz, du, dhs_[0], dcs_[0], tf.zeros_like(m)

        return (hs, cs[-1]), grad

    return run(xw, u, h0, c0, m)


def _tf_gru(xw, u, rb, h0, mask):
    import tensorflow as tf

    masked = mask is not None
    m = tf.cast(mask, xw.dtype) if masked else tf.zeros([tf.shape(xw)[0], 1, 1], xw.dtype)
    units = u.shape[0]
    ops = _tf_ops()
    # Plain tensors (not variable reads) into the custom-gradient function.
    u = tf.identity(u)

    @tf.custom_gradient
    def run(xw, u, rb, h0, m):
        def step(carry, inp):
            return _gru_step(ops, units, masked, carry[0], *inp, u, rb)

        hs, saved = tf.scan(
            step, (xw, m), initializer=(h0, tf.zeros_like(tf.concat([h0] * 4, -1)))
        )

        def grad(dhs):
            if dhs is None:
                dhs = tf.zeros_like(hs)
            h_prev = tf.concat([h0[None], hs[:-1]], 0)

            def bstep(carry, inp):
                return _gru_step_grad(ops, units, masked, carry[0], *inp, u)

            zeros3 = tf.zeros_like(tf.concat([h0] * 3, -1))
            dhs_, dxw, dhu = tf.scan(
                bstep, (dhs, saved, h_prev, m),
                initializer=(tf.zeros_like(h0), zeros3, zeros3), reverse=True,
            )
            dhu2 = tf.reshape(dhu, [-1, 3 * units])
            du = tf.matmul(tf.reshape(h_prev, [-1, units]), dhu2, transpose_a=True)
            return dxw, du, tf.reduce_sum(dhu2, 0), dhs_[0], tf.zeros_like(m)

        return hs, grad

    return run(xw, u, rb, h0, m)


_KERNELS = {
    "jax": {"lstm": _jax_lstm, "gru": _jax_gru},
    "tensorflow": {"lstm": _tf_lstm, "gru": _tf_gru},
}
