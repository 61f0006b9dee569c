"""The fused LSTM/GRU loops on TensorFlow: `tf.scan` and a `tf.custom_gradient` backward.

The only TensorFlow code of the fused layers, imported only on the
TensorFlow backend (by `rnnzoo.layers.fast_rnn.layer`). Shapes as in
`rnnzoo.layers.fast_rnn.jax_kernels`; the step math is
`rnnzoo.layers.fast_rnn.steps`. Inside `rnnzoo.layers.loops.builtin_loops()`
(export) the forward pass is `rnnzoo.layers.loops.scan`'s buffered loop,
with no custom gradient.
"""

import types

import tensorflow as tf

from rnnzoo.layers import loops

from rnnzoo.layers.fast_rnn.steps import gru_step
from rnnzoo.layers.fast_rnn.steps import gru_step_grad
from rnnzoo.layers.fast_rnn.steps import lstm_step
from rnnzoo.layers.fast_rnn.steps import lstm_step_grad

OPS = types.SimpleNamespace(
    sigmoid=tf.sigmoid, tanh=tf.tanh, where=tf.where,
    concat=lambda xs: tf.concat(xs, -1), matmul=tf.matmul,
)


def has_gpu():
    """Whether TensorFlow sees a GPU (where Keras' cuDNN path is used instead)."""
    return bool(tf.config.list_logical_devices("GPU"))


def _prepare(xw, u, mask):
    """`(masked, m, units, u)`: the mask as a float tensor (zeros if None), the
    width, and `u` as a plain tensor (not a variable read) for the custom
    gradient."""
    masked = mask is not None
    m = tf.cast(mask, xw.dtype) if masked else tf.zeros([tf.shape(xw)[0], 1, 1], xw.dtype)
    return masked, m, u.shape[0], tf.identity(u)


def lstm(xw, u, h0, c0, mask):
    """Runs the LSTM over all steps: `(hs, c_last)`, `hs` time-major."""
    masked, m, units, u = _prepare(xw, u, mask)
    if loops.builtin_loops_enabled():
        def forward(carry, inputs):
            h, c = lstm_step(OPS, units, masked, *carry, *inputs, u)[:2]
            return (h, c), h

        (_, c_last), hs = loops.scan(forward, (h0, c0), (xw, m), like=lambda c: c[0])
        return hs, c_last

    @tf.custom_gradient
    def run(xw, u, h0, c0, m):
        def step(carry, inp):
            return lstm_step(OPS, units, masked, carry[0], carry[1], *inp, u)

        zeros = tf.zeros_like(h0)
        hs, cs, p, q, f = tf.scan(
            step, (xw, m), initializer=(h0, c0, tf.zeros_like(xw[0]), zeros, zeros)
        )

        def grad(dhs, dc_last):
            h_prev = tf.concat([h0[None], hs[:-1]], 0)
            u_t = tf.transpose(u)

            def bstep(carry, inp):
                return lstm_step_grad(OPS, masked, carry[0], carry[1], *inp, u_t)

            if dhs is None:
                dhs = tf.zeros_like(hs)
            if dc_last is None:
                dc_last = tf.zeros_like(c0)
            dhs_, dcs_, dz = tf.scan(
                bstep, (dhs, p, q, f, m),
                initializer=(zeros, dc_last, tf.zeros_like(xw[0])), reverse=True,
            )
            du = tf.matmul(
                tf.reshape(h_prev, [-1, units]), tf.reshape(dz, [-1, 4 * units]),
                transpose_a=True,
            )
            return dz, du, dhs_[0], dcs_[0], tf.zeros_like(m)

        return (hs, cs[-1]), grad

    return run(xw, u, h0, c0, m)


def gru(xw, u, rb, h0, mask):
    """Runs the GRU (reset after) over all steps: `hs`, time-major."""
    masked, m, units, u = _prepare(xw, u, mask)
    if loops.builtin_loops_enabled():
        def forward(h, inputs):
            h = gru_step(OPS, units, masked, h, *inputs, u, rb)[0]
            return h, h

        return loops.scan(forward, h0, (xw, m), like=lambda h: h)[1]

    @tf.custom_gradient
    def run(xw, u, rb, h0, m):
        def step(carry, inp):
            return gru_step(OPS, units, masked, carry[0], *inp, u, rb)

        hs, saved = tf.scan(
            step, (xw, m), initializer=(h0, tf.zeros_like(tf.concat([h0] * 4, -1)))
        )

        def grad(dhs):
            if dhs is None:
                dhs = tf.zeros_like(hs)
            h_prev = tf.concat([h0[None], hs[:-1]], 0)

            u_t = tf.transpose(u)

            def bstep(carry, inp):
                return gru_step_grad(OPS, units, masked, carry[0], *inp, u_t)

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
