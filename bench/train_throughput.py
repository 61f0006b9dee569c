"""Training throughput: rnnzoo vs plain Keras vs PyTorch, side by side.

Times one training step (forward, backward and an Adam update with gradient
clipping at norm 1.0) of the same next-token language model several ways,
interleaved step by step so that load from other processes hits all of them
alike:

- `rnnzoo`: `rnnzoo.language_model` (the preset path, through
  `recurrent_stack` / `make_recurrent_layer`);
- `keras`: the same network written by hand with plain `keras.layers`
  (`Embedding`, `LSTM`/`GRU`, `Dense`);
- `torch`: the same network in PyTorch (`nn.Embedding`, `nn.LSTM`/`nn.GRU`,
  `nn.Linear`) with a hand-written training loop (`pack_padded_sequence`
  for masked rows), on `--torch-threads` threads (default: one per core),
  the same for every row, in its own process that imports only NumPy and
  PyTorch (`bench/torch_worker.py`; in the backend's process its speed
  changed by up to 1.4x), driven step by step from this one;
- `rnnzoo_xla` (TensorFlow only): the rnnzoo model with its training step
  compiled by XLA (`compile(jit_compile=True)`; on JAX every path already
  is).

The whole table is measured twice in the same process (two passes, each
interleaved); a ratio counts when the passes agree within 10 %, and both
are printed. The run waits for a quiet machine (1-minute load average
below 1, `bench/quiet.py`) and reads the load again after an idle minute
at the end; a run that was not quiet is printed as such and does not
rewrite `docs/benchmarks.md` (unless `--force`, which marks the table).

Rows: the d2l language-model shape (batch 32, 35 steps, vocabulary 28,
embedding 32, 2 x 256) and a larger shape (batch 64, 100 steps, embedding
128, 1 x 512), LSTM and GRU, without and with a right-padded mask (lengths
uniform in [T/2, T]). Throughput is tokens per second counting every
position of the padded batch (B * T per step), the median over the timed
steps after warm-up. The achieved GFLOP/s counts the matrix products of the
recurrent layers and the output layer (3 x forward: forward, input- and
weight-gradients) and is shown as a fraction of this machine's dense float32
matmul rate (NumPy, 2048 x 2048, measured in the same run).

Run once per Keras backend (`make bench` runs both); each run rewrites its
own backend's table in the "## Training throughput" section of
`docs/benchmarks.md` and leaves the rest of the file alone.

Usage:

    KERAS_BACKEND=tensorflow python bench/train_throughput.py [--quick]
    KERAS_BACKEND=jax python bench/train_throughput.py [--quick]
"""

import argparse
import importlib
import datetime
import os
import platform
import re
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import rnnzoo  # noqa: E402
from bench import quiet  # noqa: E402
from bench.torch_worker import GATES, SHAPES, TorchProcess, make_data  # noqa: E402,F401

SECTION = "## Training throughput"
DOC = os.path.join(ROOT, "docs", "benchmarks.md")


def matmul_gflops(n=2048, repeats=7):
    """Dense float32 matmul rate of this machine (NumPy), GFLOP/s."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype("float32")
    b = np.random.default_rng(1).standard_normal((n, n)).astype("float32")
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def train_flops(shape, cell):
    """Matmul FLOPs of one training step (3 x forward)."""
    b, t, h, g = shape["batch"], shape["steps"], shape["units"], GATES[cell]
    forward = 0
    width = shape["embedding"]
    for _ in range(shape["layers"]):
        forward += 2 * b * t * (width + h) * g * h
        width = h
    forward += 2 * b * t * h * shape["vocab"]
    return 3 * forward


def compile_keras(model, jit_compile="auto"):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        jit_compile=jit_compile,
    )
    return model


def rnnzoo_model(shape, cell, masked, jit_compile="auto"):
    """The preset path with rnnzoo's fused LSTM/GRU opted in.

    `make_recurrent_layer` builds Keras' layers by default until the fused
    layer is measured faster; this benchmark is that measurement, so it
    opts in (`FAST_RNN_BACKENDS`) for the rnnzoo column.
    """
    del masked  # the preset always masks token id 0
    stack = importlib.import_module("rnnzoo.layers.recurrent_stack")
    saved = stack.FAST_RNN_BACKENDS
    stack.FAST_RNN_BACKENDS = (keras.backend.backend(),)
    try:
        return compile_keras(rnnzoo.language_model(
            vocabulary_size=shape["vocab"], embedding_dim=shape["embedding"],
            cell=cell, units=shape["units"], num_layers=shape["layers"],
        ), jit_compile=jit_compile)
    finally:
        stack.FAST_RNN_BACKENDS = saved


def keras_model(shape, cell, masked):
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(
        shape["vocab"], shape["embedding"], mask_zero=masked
    )(tokens)
    for _ in range(shape["layers"]):
        x = rnn(shape["units"], return_sequences=True)(x)
    probs = keras.layers.Dense(shape["vocab"], activation="softmax")(x)
    return compile_keras(keras.Model(tokens, probs))


def keras_step(model, x, y):
    def step():
        model.train_on_batch(x, y)
    return step


TORCH = {}  # what the PyTorch process reported: version, threads


def interleaved_times(steps, warmup, repeats, pause=0.05):
    """Seconds of every timed call of each callable, the callables timed in rotation.

    Each callable is first called `warmup` times; then `repeats` rounds call
    each once, after `pause` seconds (to let the previous path's spinning
    threads idle). A callable that returns a float has timed itself (a
    `TorchProcess` callable: the seconds measured in the child process);
    the others are timed here. Returns `{name: [seconds, ...]}`. The one
    timing loop of `bench/` (throughput, profile, XLA rule, export latency).
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            own = step()
            elapsed = time.perf_counter() - start
            times[name].append(own if isinstance(own, float) else elapsed)
    return times


def time_interleaved(steps, warmup, repeats, pause=0.05):
    """Median seconds per step of each callable, timed in rotation."""
    times = interleaved_times(steps, warmup, repeats, pause)
    return {name: statistics.median(t) for name, t in times.items()}


PATHS = ("rnnzoo", "rnnzoo_xla", "keras", "torch")


def row_steps(shape, cell, masked, args):
    """The training-step callables of one row, one per path, and the PyTorch process (or None).

    PyTorch's step runs in its own process (`bench/torch_worker.py`): in the
    benchmark's process it would share the address space with TensorFlow or
    JAX, which changed its speed by up to 1.4x.
    """
    x, y, _ = make_data(shape, masked)
    torch_side = None
    steps = {}
    if "rnnzoo" in args.paths:
        steps["rnnzoo"] = keras_step(rnnzoo_model(shape, cell, masked), x, y)
    if "rnnzoo_xla" in args.paths and keras.backend.backend() == "tensorflow":
        steps["rnnzoo_xla"] = keras_step(
            rnnzoo_model(shape, cell, masked, jit_compile=True), x, y)
    if "keras" in args.paths:
        steps["keras"] = keras_step(keras_model(shape, cell, masked), x, y)
    if "torch" in args.paths:
        torch_side = TorchProcess(dict(shape=shape, cell=cell, masked=masked,
                                       threads=args.torch_threads, callables=["step"]))
        TORCH.update(torch_side.info)
        steps["torch"] = torch_side.callable("step")
    return steps, torch_side


def run(args):
    backend = keras.backend.backend()
    peak = matmul_gflops()
    print(f"backend={backend}  numpy float32 matmul: {peak:.0f} GFLOP/s", flush=True)
    rows = []
    for shape_name in args.shapes:
        shape = SHAPES[shape_name]
        for cell in args.cells:
            for masked in (False, True):
                steps, torch_side = row_steps(shape, cell, masked, args)
                # Two passes over the same built models: the second pass's
                # ratios check the first's (10 % agreement).
                passes = [time_interleaved(steps, args.warmup if k == 0 else 1, args.repeats,
                                           args.pause)
                          for k in range(2)]
                if torch_side is not None:
                    torch_side.close()
                tokens = shape["batch"] * shape["steps"]
                flops = train_flops(shape, cell)
                row = dict(shape=shape_name, cell=cell, masked=masked)
                for name in passes[0]:
                    sec = statistics.median([p[name] for p in passes])
                    row[f"{name}_tps"] = tokens / sec
                    row[f"{name}_frac"] = flops / sec / 1e9 / peak
                    for k, p in enumerate(passes):
                        row[f"{name}_tps_{k}"] = tokens / p[name]
                rows.append(row)
                print(format_row(row, backend), flush=True)
    return peak, rows


HEADER = (
    "| backend | shape | cell | mask | rnnzoo tok/s | rnnzoo XLA tok/s | keras tok/s "
    "| torch tok/s | rnnzoo/torch (pass 1, 2) | rnnzoo XLA/torch (pass 1, 2) "
    "| keras/torch | peak frac rnnzoo / XLA / keras / torch |"
)
RULE = "|" + "---|" * 12


def _fmt(row, key, spec):
    return format(row[key], spec) if key in row else "-"


def _ratio(row, a, b):
    if f"{a}_tps" in row and f"{b}_tps" in row:
        return f"{row[f'{a}_tps'] / row[f'{b}_tps']:.2f}"
    return "-"


def _pass_ratios(row, a, b):
    """`"r0, r1"` of the two passes, with `!` when they differ by more than 10 %."""
    if f"{a}_tps_0" not in row or f"{b}_tps_0" not in row:
        return "-"
    r = [row[f"{a}_tps_{k}"] / row[f"{b}_tps_{k}"] for k in range(2)]
    flag = "" if abs(r[0] - r[1]) <= 0.1 * max(r) else " !"
    return f"{r[0]:.2f}, {r[1]:.2f}{flag}"


def format_row(row, backend):
    shape = SHAPES[row["shape"]]
    shape_text = (
        f"{row['shape']} ({shape['batch']}x{shape['steps']}, "
        f"{shape['layers']}x{shape['units']})"
    )
    fracs = " / ".join(_fmt(row, f"{p}_frac", ".2f") for p in PATHS)
    return (
        f"| {backend} | {shape_text} | {row['cell']} | "
        f"{'right-padded' if row['masked'] else 'none'} | "
        f"{_fmt(row, 'rnnzoo_tps', ',.0f')} | {_fmt(row, 'rnnzoo_xla_tps', ',.0f')} | "
        f"{_fmt(row, 'keras_tps', ',.0f')} | {_fmt(row, 'torch_tps', ',.0f')} | "
        f"{_pass_ratios(row, 'rnnzoo', 'torch')} | {_pass_ratios(row, 'rnnzoo_xla', 'torch')} | "
        f"{_ratio(row, 'keras', 'torch')} | {fracs} |"
    )


def versions():
    out = [f"Python {platform.python_version()}", f"Keras {keras.__version__}"]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        out.append(f"TensorFlow {tf.__version__}")
    elif backend == "jax":
        import jax
        out.append(f"JAX {jax.__version__}")
    if TORCH:
        out.append(f"PyTorch {TORCH['version']} in its own process "
                   f"({TORCH['threads']} threads, every row)")
    out.append(f"NumPy {np.__version__}")
    return ", ".join(out)


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPU cores, no GPU"


def backend_block(backend, peak, rows, args, load):
    lines = [
        f"### {backend} backend",
        "",
        f"Measured {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on "
        f"{machine()}; {versions()}. NumPy dense float32 matmul: "
        f"{peak:.0f} GFLOP/s. Two passes of {args.repeats} interleaved steps per "
        f"path, each after {args.pause:g} s idle, after {args.warmup} warm-up steps "
        f"(throughput: the median of the two "
        f"passes; `!`: the passes' ratios differ by more than 10 %)"
        f"{' (--quick)' if args.quick else ''}. 1-minute load average "
        f"{load[0]:.2f} before, {load[1]:.2f} after an idle minute: "
        f"{quiet.verdict(*load)}.",
        "",
        HEADER,
        RULE,
    ]
    lines += [format_row(row, backend) for row in rows]
    return "\n".join(lines) + "\n"


INTRO = """{section}

Generated by `bench/train_throughput.py` (`make bench`; edit the notes in that
script's `NOTES`, not here: each run rewrites its backend's table).

{notes}
"""

NOTES = """Tokens per second of one training step (forward, backward, Adam with
`clipnorm=1.0`) of a next-token language model; every ratio is measured side
by side in one run, steps interleaved, so load from other processes on the
machine hits every path alike (absolute figures are noisy on a
shared 2-core machine; the ratios are what count). `rnnzoo` is
`rnnzoo.language_model` (the preset path, which always masks token id 0);
`keras` is the same network in plain `keras.layers`; `torch` is `nn.LSTM` /
`nn.GRU` with a hand loop (`pack_padded_sequence` for padded batches).
"peak frac" is the achieved matmul GFLOP/s over NumPy's dense float32 rate.

What the fused layer changes (`rnnzoo.layers.fast_rnn`, used by
`make_recurrent_layer` on TensorFlow and JAX): the input projection of all
steps is one matrix product outside the loop, the loop does one `h @ U` and
fused gates per step, and the backward pass is hand-written (one `dz @ U.T`
per step; `dU = h_prev.T @ dz` over all steps as one product after the
loop). Profile (JAX, the large LSTM shape, the bare kernels' forward plus
backward, interleaved, 7 runs, machine at load average ~15): fused loop with
custom VJP 2.93 s, autodiff of a scan with the projection hoisted 3.64 s,
Keras' cell (projection inside the step) 3.57 s: the fused loop is 1.22x
faster; its forward alone is 1.14 s. A bare loop of the 300 recurrent
products `(64 x 512) @ (512 x 2048)` the step needs (forward and backward)
took 1.75 s of it, so what remains is bound by the per-step matrix products
of XLA/TensorFlow on CPU (PyTorch uses oneDNN's fused RNN primitive). Where
a row's rnnzoo/keras ratio is below 1.0 it is within the noise of this
shared machine: the layers compute the same products, the fused one with
fewer of them inside the loop.

Since 2026-12-03 (issue #19): the forward step saves what the backward
step needs already multiplied out (each gate's derivative times the
factor it multiplies, `o * tanh'(c)` and `f`), so the LSTM's backward loop
does 7 operations a step instead of about 28, and the recurrent kernel is
transposed once outside the backward loop; on TensorFlow the forward and
backward loops run XLA-compiled by default (`RNNZOO_LOOP_XLA`, only the
loops, each compiled once per input shape; the `rnnzoo` column), which
is not the same as compiling the whole step (`rnnzoo XLA`).

Since 2026-12-04 PyTorch runs in its own process (`bench/torch_worker.py`,
which imports only NumPy and PyTorch), driven step by step from the
benchmark's process and still interleaved with the other paths. Before,
it shared the process with the backend, and its d2l LSTM step ran 1.4x
slower beside TensorFlow than beside JAX (see "PyTorch's speed depends on
the process" below), which flattered the TensorFlow ratios.

Conditions: each table states the 1-minute load average before the run
and after an idle minute at its end (`bench/quiet.py`); the script waits
for a quiet machine and writes this file only when both are below 1.
PyTorch runs on the same pinned number of threads in every row
(`--torch-threads`, default one per core). `rnnzoo_xla` is the rnnzoo
model with `compile(jit_compile=True)` (TensorFlow; Keras' default,
`"auto"`, turns XLA off on CPU, and so does `rnnzoo.compile_for`: XLA
made whole recipe runs slower, see "XLA training on TensorFlow's CPU"
below; `jit_compile=True` opts in).

GPU rows (issue 8, point 4) are not measured: the machine this was written on
has no GPU. The fused path for masked batches on GPU (cuDNN with sequence
lengths on TensorFlow, `jax.experimental.rnn` on JAX) is therefore untested
here."""


def update_doc(backend, block):
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    text = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
    # Split off our section (up to the next "## " heading or the end).
    match = re.search(r"^## Training throughput\n.*?(?=^## |\Z)", text, re.S | re.M)
    section = match.group(0) if match else ""
    blocks = dict(re.findall(r"^(### \w+ backend)\n(.*?)(?=^### |\Z)", section, re.S | re.M))
    blocks = {k: v.rstrip() + "\n" for k, v in blocks.items()}
    blocks[f"### {backend} backend"] = block.split("\n", 1)[1].rstrip() + "\n"
    order = sorted(blocks, key=lambda k: ("tensorflow" not in k, k))
    body = INTRO.format(section=SECTION, notes=NOTES)
    body += "".join(f"\n{k}\n{blocks[k]}" for k in order)
    body = body.rstrip() + "\n\n"
    if match:
        text = text[:match.start()] + body + text[match.end():]
    else:
        text = text.rstrip() + "\n\n" + body
    with open(DOC, "w") as f:
        f.write(text.rstrip() + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few steps, for a smoke run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"])
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                        help="PyTorch threads, the same for every row (default: one per core)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="idle seconds before each timed step (default %(default)s)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--force", action="store_true",
                        help="write docs/benchmarks.md even when the machine was not quiet")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 9
    if args.warmup is None:
        args.warmup = 2 if args.quick else 3
    before = quiet.wait_until_quiet()
    print(f"1-minute load average before: {before:.2f}", flush=True)
    print(HEADER)
    print(RULE)
    peak, rows = run(args)
    after = quiet.settled_load()
    state = quiet.verdict(before, after)
    print(f"1-minute load average after an idle minute: {after:.2f}: {state}")
    block = backend_block(keras.backend.backend(), peak, rows, args, (before, after))
    if args.no_doc:
        return
    if state != "quiet" and not args.force:
        print(f"not writing {os.path.relpath(DOC, ROOT)}: the machine was not quiet "
              "(--force writes the table marked as such)")
        return
    update_doc(keras.backend.backend(), block)
    print(f"updated {os.path.relpath(DOC, ROOT)}")


if __name__ == "__main__":
    main()
