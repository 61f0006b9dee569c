"""The floor under batch-1 greedy decoding on JAX: a hand-written loop.

`bench/decode.py` measures `rnnzoo.decode` against the keras-io loop. This
script asks what ANY JAX decoding loop of the same model shape can reach on
this machine: the greedy LSTM decode of `bench/decode.py`'s model (embedding
64, LSTM 256, vocabulary 93, 50 tokens) written directly in `jax.numpy` with
random weights (speed does not depend on their values), one `jax.jit` over a
`lax.fori_loop`, no Keras, no early exit, no bookkeeping beyond the argmax.
Three variants, fastest first in what they leave out:

- `matvec`: only the per-token matrix products (`[x, h] @ W`, `h @ V`);
- `cell`: the LSTM cell and the output layer, argmax fed back;
- `cell+ids`: that plus writing each id into the output buffer (what a
  decoder must do);
- `encoder+cell+ids`: that after an LSTM encoder pass over a 20-token
  source (embedding 64, 256 units, its own weights), the final states
  starting the decoder: the whole computation of `bench/decode.py`'s
  seq2seq model, so the floor of what `rnnzoo.decode` does end to end;
- `token_loop`: the same cell as a step function inside rnnzoo's own greedy
  loop (`rnnzoo.decoding.loop.token_loop`: softmax, scores, finished
  flags, the while-loop's early-exit test), so that `rnnzoo.decode` minus
  this is what Keras' layer calls in the step model cost.

Prints microseconds per token and the tokens/second each implies, next to
the 100x target computed from the keras-io loop's figure in
`docs/benchmarks.md` (pass `--keras-io-tokens-per-second`).

    KERAS_BACKEND=jax python bench/decode_floor.py
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

STEPS = 50
SOURCE, SOURCE_VOCAB = 20, 71
EMBED, UNITS, VOCAB = 64, 256, 93


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    f = lambda *s: jnp.asarray(rng.normal(0, 0.05, s), jnp.float32)  # noqa: E731
    return dict(E=f(VOCAB, EMBED), W=f(EMBED + UNITS, 4 * UNITS), b=f(4 * UNITS),
                V=f(UNITS, VOCAB), c=f(VOCAB), encoder=dict(
                    E=f(SOURCE_VOCAB, EMBED), W=f(EMBED + UNITS, 4 * UNITS), b=f(4 * UNITS)))


def _lstm(p, x, h, c):
    z = jnp.concatenate([x, h], axis=1) @ p["W"] + p["b"]
    i, f, g, o = jnp.split(z, 4, axis=1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def _loops(batch):
    def matvec(p, h0):
        def body(_, h):
            z = jnp.concatenate([h[:, :EMBED], h], axis=1) @ p["W"]
            logits = h @ p["V"]
            return z[:, :UNITS] + 1e-6 * logits[:, :1]
        return jax.lax.fori_loop(0, STEPS, body, h0)

    def cell(p, h0, write, c0=None):
        def body(t, carry):
            token, h, c, out = carry
            h, c = _lstm(p, p["E"][token], h, c)
            token = jnp.argmax(h @ p["V"] + p["c"], axis=-1).astype(jnp.int32)
            if write:
                out = jax.lax.dynamic_update_slice(out, token[:, None], (0, t))
            return token, h, c, out

        start = jnp.ones((batch,), jnp.int32)
        out = jnp.zeros((batch, STEPS), jnp.int32)
        c0 = h0 if c0 is None else c0
        return jax.lax.fori_loop(0, STEPS, body, (start, h0, c0, out))

    source = jnp.asarray(np.random.default_rng(1).integers(3, SOURCE_VOCAB, (batch, SOURCE)),
                         jnp.int32)

    def encoder_cell(p, h0):
        e = p["encoder"]

        def body(t, carry):
            return _lstm(e, e["E"][source[:, t]], *carry)

        h, c = jax.lax.fori_loop(0, SOURCE, body, (h0, h0))
        return cell(p, h, True, c)

    def token_loop(p, h0):
        """rnnzoo's own greedy loop (`rnnzoo.decoding.loop.token_loop`) around the same cell."""
        import os
        import sys

        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from rnnzoo.decoding.loop import token_loop as loop

        def step(token, states, constants):
            h, c = _lstm(p, p["E"][token], *states)
            return jax.nn.softmax(h @ p["V"] + p["c"], axis=-1), (h, c), None

        start = jnp.ones((batch,), jnp.int32)
        return loop(step, (h0, h0), start, lambda q, t, seed: jnp.argmax(q, axis=-1),
                    max_length=STEPS, end_token=-1)[0]

    return {
        "matvec": jax.jit(matvec),
        "cell": jax.jit(lambda p, h0: cell(p, h0, False)),
        "cell+ids": jax.jit(lambda p, h0: cell(p, h0, True)),
        "encoder+cell+ids": jax.jit(encoder_cell),
        "token_loop": jax.jit(token_loop),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--keras-io-tokens-per-second", type=float, default=1016.0,
                   help="the keras-io loop's figure on JAX (docs/benchmarks.md)")
    args = p.parse_args()
    params = _weights()
    h0 = jnp.zeros((args.batch, UNITS), jnp.float32)
    results = {}
    for name, fn in _loops(args.batch).items():
        jax.block_until_ready(fn(params, h0))  # compile
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(params, h0))
            best = min(best, time.perf_counter() - start)
        per_token = best / STEPS * 1e6
        results[name] = dict(us_per_token=round(per_token, 1),
                             tokens_per_second=round(args.batch * STEPS / best))
    target = 100 * args.keras_io_tokens_per_second
    print(f"batch {args.batch}, {STEPS} tokens, best of {args.repeats}; "
          f"100x the keras-io loop = {target:,.0f} tokens/s "
          f"({1e6 * args.batch / target:.1f} us a token)")
    for name, r in results.items():
        print(f"  {name:16s} {r['us_per_token']:7.1f} us/token  "
              f"{r['tokens_per_second']:>9,} tokens/s  "
              f"{r['tokens_per_second'] / args.keras_io_tokens_per_second:6.1f}x keras-io")
    print(json.dumps(dict(jax=jax.__version__, batch=args.batch, results=results)))


if __name__ == "__main__":
    main()
