"""The fused LSTM/GRU loops on JAX: `jax.lax.scan` and a `jax.custom_vjp` backward.

Imported only on the JAX backend (by `rnnzoo.layers.fast_rnn.layer`). Shapes
(time-major): `xw` `(time, batch, gates * units)`, the input projection plus
the input bias; `u` `(units, gates * units)`; `h0`, `c0` `(batch, units)`;
`mask` `(time, batch, 1)` bool or None. The step math is
`rnnzoo.layers.fast_rnn.steps`.
"""

import types

import jax
import jax.numpy as jnp

from rnnzoo.layers.fast_rnn.steps import gru_step
from rnnzoo.layers.fast_rnn.steps import gru_step_grad
from rnnzoo.layers.fast_rnn.steps import lstm_step
from rnnzoo.layers.fast_rnn.steps import lstm_step_grad

OPS = types.SimpleNamespace(
    sigmoid=jax.nn.sigmoid, tanh=jnp.tanh, where=jnp.where,
    concat=lambda xs: jnp.concatenate(xs, axis=-1),
    matmul=lambda a, b: a @ b,
)


def has_gpu():
    """Whether JAX runs on a GPU (where Keras' cuDNN path is used instead)."""
    return jax.default_backend() == "gpu"


def _prepare(xw, u, mask):
    """`(masked, m, units)`: the mask as a float array (zeros if None), the width."""
    masked = mask is not None
    m = jnp.asarray(mask, xw.dtype) if masked else jnp.zeros((xw.shape[0], 1, 1), xw.dtype)
    return masked, m, u.shape[0]


def lstm(xw, u, h0, c0, mask):
    """Runs the LSTM over all steps: `(hs, c_last)`, `hs` time-major."""
    masked, m, units = _prepare(xw, u, mask)

    def forward(xw, u, h0, c0, m):
        def step(carry, inp):
            h_new, c_new, p, q, f = lstm_step(OPS, units, masked, *carry, *inp, u)
            return (h_new, c_new), (h_new, p, q, f)

        (_, c_last), (hs, p, q, f) = jax.lax.scan(step, (h0, c0), (xw, m))
        return hs, c_last, (p, q, f)

    @jax.custom_vjp
    def run(xw, u, h0, c0, m):
        hs, c_last, _ = forward(xw, u, h0, c0, m)
        return hs, c_last

    def run_fwd(xw, u, h0, c0, m):
        hs, c_last, res = forward(xw, u, h0, c0, m)
        return (hs, c_last), (u, h0, m, hs) + res

    def run_bwd(res, cotangents):
        u, h0, m, hs, p, q, f = res
        dhs, dc_last = cotangents
        h_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0)
        u_t = u.T

        def step(carry, inp):
            dh_prev, dc_prev, dz = lstm_step_grad(OPS, masked, *carry, *inp, u_t)
            return (dh_prev, dc_prev), dz

        (dh0, dc0), dz = jax.lax.scan(
            step, (jnp.zeros_like(h0), dc_last), (dhs, p, q, f, m), reverse=True
        )
        du = h_prev.reshape(-1, units).T @ dz.reshape(-1, 4 * units)
        return dz, du, dh0, dc0, jnp.zeros_like(m)

    run.defvjp(run_fwd, run_bwd)
    return run(xw, u, h0, c0, m)


def gru(xw, u, rb, h0, mask):
    """Runs the GRU (reset after) over all steps: `hs`, time-major."""
    masked, m, units = _prepare(xw, u, mask)

    def forward(xw, u, rb, h0, m):
        def step(h, inp):
            h_new, saved = gru_step(OPS, units, masked, h, *inp, u, rb)
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

        u_t = u.T

        def step(dh, inp):
            dh_prev, dxw, dhu = gru_step_grad(OPS, units, masked, dh, *inp, u_t)
            return dh_prev, (dxw, dhu)

        dh0, (dxw, dhu) = jax.lax.scan(
            step, jnp.zeros_like(h0), (dhs, saved, h_prev, m), reverse=True
        )
        dhu2 = dhu.reshape(-1, 3 * units)
        du = h_prev.reshape(-1, units).T @ dhu2
        return dxw, du, jnp.sum(dhu2, axis=0), dh0, jnp.zeros_like(m)

    run.defvjp(run_fwd, run_bwd)
    return run(xw, u, rb, h0, m)
