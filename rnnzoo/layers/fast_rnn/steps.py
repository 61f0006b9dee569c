"""The per-step arithmetic of the fused LSTM/GRU, written once for every backend.

Each function takes an `ops` namespace first (`jax_kernels.OPS`,
`tf_kernels.OPS`): `sigmoid`, `tanh`, `where`, `concat` (along the last
axis) and `matmul`. Shapes are per step: `h`, `c`
`(batch, units)`; `xw_t` `(batch, gates * units)`, the input projection plus
the input bias; `m_t` `(batch, 1)`, 1.0 for a real step (ignored unless
`masked`); `u` `(units, gates * units)`, the recurrent kernel. Gate order is
Keras': LSTM `i, f, c, o`; GRU `z, r, h` with the recurrent bias `rb` inside
the reset product (`reset_after=True`).

A masked step keeps the previous states; its gradient flows straight
through to the previous step.

Example:

>>> import types
>>> import numpy as np
>>> ops = types.SimpleNamespace(sigmoid=lambda x: 1 / (1 + np.exp(-x)),
...     tanh=np.tanh, where=np.where,
...     concat=lambda xs: np.concatenate(xs, -1), matmul=np.matmul)
>>> h = c = np.zeros((1, 2))
>>> h, c, p, q, f = lstm_step(ops, 2, False, h, c, np.zeros((1, 8)), None,
...                           np.zeros((2, 8)))
>>> c.tolist()  # i * g with g = tanh(0) = 0
[[0.0, 0.0]]
"""


def keras_ops():
    """The namespace over `keras.ops` (any backend, differentiable by autodiff).

    What a layer that runs these steps inside its own loop passes
    (`rnnzoo.layers.AttentiveRNN`); the fused kernels pass their backend's.
    """
    import types

    from keras import ops

    return types.SimpleNamespace(
        sigmoid=ops.sigmoid, tanh=ops.tanh, where=ops.where,
        concat=lambda xs: ops.concatenate(xs, -1), matmul=ops.matmul,
    )


def lstm_step(ops, units, masked, h, c, xw_t, m_t, u):
    """One LSTM step: new h, new c, and what the backward step needs.

    The last three are the backward step's factors, computed here where
    every operand is at hand so that the backward loop does the fewest
    operations: `p` `(batch, 4 * units)`, the derivative of each gate's
    pre-activation times the factor it multiplies (`g * i'`, `c_prev * f'`,
    `i * g'`, `tanh(c) * o'`); `q = o * tanh'(c)`; and the forget gate `f`.
    """
    z = xw_t + ops.matmul(h, u)
    s = ops.sigmoid(z)
    g = ops.tanh(z[:, 2 * units:3 * units])
    i, f, o = s[:, :units], s[:, units:2 * units], s[:, 3 * units:]
    c_new = f * c + i * g
    tc = ops.tanh(c_new)
    h_new = o * tc
    p = ops.concat([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), tc * o * (1 - o)])
    q = o * (1 - tc * tc)
    if masked:
        h_new = ops.where(m_t > 0, h_new, h)
        c_new = ops.where(m_t > 0, c_new, c)
    return h_new, c_new, p, q, f


def lstm_step_grad(ops, masked, dh, dc, dh_t, p_t, q_t, f_t, m_t, u_t):
    """Backward through one LSTM step: dh and dc of the previous step, dz.

    `p_t`, `q_t`, `f_t` are what `lstm_step` returned for this step; `u_t`
    is the recurrent kernel transposed, `(4 * units, units)` (transposed
    once, outside the loop).
    """
    dh = dh + dh_t
    if masked:
        dh_in, dc_in = dh * m_t, dc * m_t
    else:
        dh_in, dc_in = dh, dc
    dcn = dc_in + dh_in * q_t
    dz = ops.concat([dcn, dcn, dcn, dh_in]) * p_t
    dh_prev = ops.matmul(dz, u_t)
    dc_prev = dcn * f_t
    if masked:
        dh_prev = dh_prev + (dh - dh_in)
        dc_prev = dc_prev + (dc - dc_in)
    return dh_prev, dc_prev, dz


def gru_step(ops, units, masked, h, xw_t, m_t, u, rb):
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


def gru_step_grad(ops, units, masked, dh, dh_t, saved_t, hp_t, m_t, u_t):
    """Backward through one GRU step: dh of the previous step, dxw, dhu.

    `u_t` is the recurrent kernel transposed, `(3 * units, units)`.
    """
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
    dh_prev = ops.matmul(dhu, u_t) + dh_in * z
    if masked:
        dh_prev = dh_prev + (dh - dh_in)
    return dh_prev, dxw, dhu
