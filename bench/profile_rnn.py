"""Where a training step's time goes: recurrent matmuls vs everything else.

For each row of `bench/train_throughput.py` (shape, cell, mask) this times,
interleaved in one process:

- `step`: one whole training step of the rnnzoo model (as in the
  throughput table) and of PyTorch's `nn.LSTM` / `nn.GRU` (PyTorch in its
  own process, `bench/torch_worker.py`);
- `matmul floor`: only the per-step recurrent matrix products that no RNN
  implementation can avoid, run as a compiled loop in each framework: the
  forward `h @ U` (batch x units @ units x gates*units) for every time step
  and layer, and the backward `dz @ U.T` for every time step and layer
  (the input projection and the weight gradient are single large products
  outside the loop, and are left out of the floor).

"rest" = step - floor is the time spent outside those products (gate
arithmetic, per-step dispatch, the input projection, the output layer,
loss, optimizer); "per step" divides it by time steps x layers. A row where
rnnzoo is slower than PyTorch with an equal floor is bound by per-step
overhead, not arithmetic.

Usage:

    KERAS_BACKEND=tensorflow python bench/profile_rnn.py --rows d2l:lstm:masked large:lstm
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import quiet  # noqa: E402
import train_throughput as tt  # noqa: E402


def _compile(fn, xla=False):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn, autograph=False, jit_compile=xla)


def keras_floor(shape, cell, xla=False):
    """A compiled loop of the recurrent products only (forward + backward)."""
    b, t, h = shape["batch"], shape["steps"], shape["units"]
    g = tt.GATES[cell]
    rng = np.random.default_rng(0)
    u = ops.convert_to_tensor(rng.normal(0, 0.05, (h, g * h)).astype("float32"))
    h0 = ops.convert_to_tensor(rng.normal(0, 1, (b, h)).astype("float32"))
    dz0 = ops.convert_to_tensor(rng.normal(0, 1, (b, g * h)).astype("float32"))

    def loop(u, h0, dz0):
        def forward(_, x):
            return ops.tanh(ops.matmul(x, u)[:, :h])

        def backward(_, x):
            return ops.concatenate([ops.matmul(x, ops.transpose(u))] * g, axis=1)

        out = h0
        grad = dz0
        for _ in range(shape["layers"]):
            out = ops.fori_loop(0, t, forward, out)
            grad = ops.fori_loop(0, t, backward, grad)
        return ops.sum(out) + ops.sum(grad)

    fn = _compile(loop, xla)

    def run():
        np.asarray(fn(u, h0, dz0))

    return run


def profile(rows, warmup, repeats):
    results = []
    for spec in rows:
        shape_name, cell, *rest = spec.split(":")
        masked = bool(rest) and rest[0] == "masked"
        shape = tt.SHAPES[shape_name]
        x, y, _ = tt.make_data(shape, masked)
        torch_side = tt.TorchProcess(dict(shape=shape, cell=cell, masked=masked,
                                          threads=os.cpu_count(),
                                          callables=["step", "floor"]))
        steps = {
            "rnnzoo step": tt.keras_step(tt.rnnzoo_model(shape, cell, masked), x, y),
            "torch step": torch_side.callable("step"),
            "keras floor": keras_floor(shape, cell),
            "torch floor": torch_side.callable("floor"),
        }
        if keras.backend.backend() == "tensorflow":  # compile_for(jit_compile=True)
            steps["rnnzoo XLA step"] = tt.keras_step(
                tt.rnnzoo_model(shape, cell, masked, jit_compile=True), x, y)
            steps["keras XLA floor"] = keras_floor(shape, cell, xla=True)
        sec = tt.time_interleaved(steps, warmup, repeats)
        torch_side.close()
        recurrent_steps = shape["steps"] * shape["layers"]
        row = dict(row=spec, **{k: v * 1e3 for k, v in sec.items()})
        whos = {"rnnzoo": "keras floor", "torch": "torch floor"}
        if "rnnzoo XLA step" in sec:
            whos["rnnzoo XLA"] = "keras XLA floor"
        for who, floor in whos.items():
            rest_s = sec[f"{who} step"] - sec[floor]
            row[f"{who} rest"] = rest_s * 1e3
            row[f"{who} rest/step us"] = rest_s / recurrent_steps * 1e6
        row["ratio"] = sec["torch step"] / sec["rnnzoo step"]
        if "rnnzoo XLA step" in sec:
            row["xla ratio"] = sec["torch step"] / sec["rnnzoo XLA step"]
        results.append(row)
        print(format_row(row), flush=True)
    return results


HEADER = (
    "| row | rnnzoo/torch | rnnzoo step ms | torch step ms | rnnzoo floor ms "
    "| torch floor ms | rnnzoo rest ms (per step us) | torch rest ms (per step us) |\n"
    "|---|---|---|---|---|---|---|---|"
)


XLA_HEADER = (
    "| row | XLA/torch | rnnzoo XLA step ms | torch step ms | XLA floor ms "
    "| torch floor ms | rnnzoo XLA rest ms (per step us) | torch rest ms (per step us) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def format_row(r, who="rnnzoo"):
    ratio, floor = ("xla ratio", "keras XLA floor") if who == "rnnzoo XLA" else ("ratio", "keras floor")
    return (
        f"| {r['row']} | {r[ratio]:.2f} | {r[f'{who} step']:.1f} | "
        f"{r['torch step']:.1f} | {r[floor]:.1f} | {r['torch floor']:.1f} | "
        f"{r[f'{who} rest']:.1f} ({r[f'{who} rest/step us']:.0f}) | "
        f"{r['torch rest']:.1f} ({r['torch rest/step us']:.0f}) |"
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", nargs="+", default=["d2l:lstm", "d2l:lstm:masked",
                                                 "d2l:gru", "large:lstm"],
                   help="shape:cell[:masked] (default %(default)s)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    before = quiet.wait_until_quiet()
    print(f"backend={keras.backend.backend()} {time.strftime('%Y-%m-%d %H:%M')}")
    print(HEADER)
    results = profile(args.rows, args.warmup, args.repeats)
    if keras.backend.backend() == "tensorflow":
        print("\nThe same rows, XLA-compiled (`jit_compile=True`):")
        print(XLA_HEADER)
        for row in results:
            print(format_row(row, "rnnzoo XLA"))
    after = quiet.settled_load()
    print(f"\n1-minute load average: {before:.2f} before, {after:.2f} after "
          f"({quiet.verdict(before, after)})")


if __name__ == "__main__":
    main()
