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


LOOP_XLA_ENV = "RNNZOO_LOOP_XLA"
"""Environment variable: `true` (the default) or `false`, whether the loops are XLA-compiled."""


def loop_xla_enabled():
    """Whether the fused loops run XLA-compiled (`RNNZOO_LOOP_XLA`, default true).

    Only the recurrent loops are compiled, forward and backward, each once
    per input shape (about 0.2 s on this project's CPU), not the whole
    training step: on TensorFlow's CPU the loops' per-step kernels run
    1.3-1.5x faster fused by XLA (docs/benchmarks.md), while compiling whole
    steps made recipe runs slower. Read when a layer is traced.

    Example:

    >>> loop_xla_enabled()
    True
    """
    import os

    setting = os.environ.get(LOOP_XLA_ENV, "true").strip().lower()
    if setting not in ("true", "1", "false", "0"):
        raise ValueError(
            f"Expected the environment variable {LOOP_XLA_ENV} to be true or false. "
            f"Received: {LOOP_XLA_ENV}={os.environ[LOOP_XLA_ENV]!r}")
    return setting in ("true", "1")


def _loop(function):
    """`function` and its XLA-compiled twin; calls the compiled one when
    `loop_xla_enabled()` and the number of steps is known when traced and
    above 1 (a decoder's single step, traced inside a decoding loop, stays a
    plain TensorFlow graph), outside `rnnzoo.layers.loops.plain_loops()`
    (`rnnzoo.export`).

    A training function traced with an unknown number of steps (Keras
    retraces with `None` once the lengths vary, as with length-bucketed
    batches) would compile the loops again for every length it meets, which
    costs more than the faster steps save (docs/benchmarks.md); it runs the
    plain loops.

    The arguments go in through `tf.stop_gradient`: the caller's
    `tf.custom_gradient` is the only gradient, so TensorFlow does not
    differentiate the compiled function itself (which would pass its loop's
    TensorLists across the XLA boundary).
    """
    compiled = tf.function(function, jit_compile=True)

    def call(*tensors, **static):
        steps = tensors[0].shape[0]
        tensors = [tf.stop_gradient(t) for t in tensors]
        use_xla = (steps is not None and steps > 1 and not loops.plain_loops_enabled()
                   and loop_xla_enabled())
        return (compiled if use_xla else function)(*tensors, **static)

    return call


@_loop
def _lstm_forward(xw, u, h0, c0, m, masked):
    """The forward loop: `(hs, c_last, p, q, f)`, time-major."""
    units = u.shape[0]

    def step(carry, inp):
        return lstm_step(OPS, units, masked, carry[0], carry[1], *inp, u)

    zeros = tf.zeros_like(h0)
    hs, cs, p, q, f = tf.scan(
        step, (xw, m), initializer=(h0, c0, tf.zeros_like(xw[0]), zeros, zeros))
    return hs, cs[-1], p, q, f


@_loop
def _lstm_backward(dhs, dc_last, u, h0, hs, p, q, f, m, masked):
    """The backward loop: the gradients of `(xw, u, h0, c0, m)`."""
    units = u.shape[0]
    h_prev = tf.concat([h0[None], hs[:-1]], 0)
    u_t = tf.transpose(u)

    def step(carry, inp):
        return lstm_step_grad(OPS, masked, carry[0], carry[1], *inp, u_t)

    dhs_, dcs_, dz = tf.scan(
        step, (dhs, p, q, f, m),
        initializer=(tf.zeros_like(h0), dc_last, tf.zeros_like(p[0])), reverse=True,
    )
    du = tf.matmul(
        tf.reshape(h_prev, [-1, units]), tf.reshape(dz, [-1, 4 * units]), transpose_a=True,
    )
    return dz, du, dhs_[0], dcs_[0], tf.zeros_like(m)


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
        hs, c_last, p, q, f = _lstm_forward(xw, u, h0, c0, m, masked=masked)

        def grad(dhs, dc_last):
            if dhs is None:
                dhs = tf.zeros_like(hs)
            if dc_last is None:
                dc_last = tf.zeros_like(c0)
            return _lstm_backward(dhs, dc_last, u, h0, hs, p, q, f, m, masked=masked)

        return (hs, c_last), grad

    return run(xw, u, h0, c0, m)


@_loop
def _gru_forward(xw, u, rb, h0, m, masked):
    """The forward loop: `(hs, saved)`, time-major."""
    units = u.shape[0]

    def step(carry, inp):
        return gru_step(OPS, units, masked, carry[0], *inp, u, rb)

    return tf.scan(step, (xw, m), initializer=(h0, tf.zeros_like(tf.concat([h0] * 4, -1))))


@_loop
def _gru_backward(dhs, u, h0, hs, saved, m, masked):
    """The backward loop: the gradients of `(xw, u, rb, h0, m)`."""
    units = u.shape[0]
    h_prev = tf.concat([h0[None], hs[:-1]], 0)
    u_t = tf.transpose(u)

    def step(carry, inp):
        return gru_step_grad(OPS, units, masked, carry[0], *inp, u_t)

    zeros3 = tf.zeros_like(tf.concat([h0] * 3, -1))
    dhs_, dxw, dhu = tf.scan(
        step, (dhs, saved, h_prev, m),
        initializer=(tf.zeros_like(h0), zeros3, zeros3), reverse=True,
    )
    dhu2 = tf.reshape(dhu, [-1, 3 * units])
    du = tf.matmul(tf.reshape(h_prev, [-1, units]), dhu2, transpose_a=True)
    return dxw, du, tf.reduce_sum(dhu2, 0), dhs_[0], tf.zeros_like(m)


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
        hs, saved = _gru_forward(xw, u, rb, h0, m, masked=masked)

        def grad(dhs):
            if dhs is None:
                dhs = tf.zeros_like(hs)
            return _gru_backward(dhs, u, h0, hs, saved, m, masked=masked)

        return hs, grad

    return run(xw, u, rb, h0, m)
