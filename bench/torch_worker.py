"""PyTorch's side of the benchmarks, run in its own process.

PyTorch's speed depends on what else is loaded in its process: its d2l LSTM
step ran 1.4x slower in a process that had imported TensorFlow than in one
that had imported JAX (docs/benchmarks.md, "PyTorch's speed depends on the
process"). So the benchmarks time PyTorch in a child process that imports
only NumPy and PyTorch, driven step by step from the benchmark's process so
that the two stay interleaved: the parent writes the name of a callable on
the child's stdin, the child runs it once and answers with the seconds it
took (measured in the child, so the pipe's latency is not counted).

This module imports no Keras, TensorFlow or JAX; the benchmark scripts take
the shared shapes and data (`SHAPES`, `GATES`, `make_data`) from here.

Example:

    with TorchProcess(dict(shape=SHAPES["d2l"], cell="lstm", masked=False,
                           threads=2, callables=["step"])) as torch_side:
        seconds = torch_side.call("step")
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

SHAPES = {
    "d2l": dict(batch=32, steps=35, vocab=28, embedding=32, units=256, layers=2),
    "large": dict(batch=64, steps=100, vocab=28, embedding=128, units=512, layers=1),
}
GATES = {"lstm": 4, "gru": 3}


def make_data(shape, masked, seed=0):
    """Token ids `x`, targets `y` and lengths of one batch (right-padded with 0 when masked)."""
    rng = np.random.default_rng(seed)
    b, t, v = shape["batch"], shape["steps"], shape["vocab"]
    x = rng.integers(1, v, size=(b, t)).astype("int32")
    y = rng.integers(1, v, size=(b, t)).astype("int32")
    lengths = np.full(b, t)
    if masked:
        lengths = rng.integers(t // 2, t + 1, size=b)
        lengths[0] = t
        pad = np.arange(t)[None, :] >= lengths[:, None]
        x[pad] = 0
        y[pad] = 0
    return x, y, lengths


def torch_step(shape, cell, masked, threads):
    """One PyTorch training step of the language model (`nn.LSTM` / `nn.GRU`, Adam, clipping)."""
    import torch

    x, y, lengths = make_data(shape, masked)
    torch.manual_seed(0)
    rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(shape["vocab"], shape["embedding"])
            self.rnn = rnn_class(
                shape["embedding"], shape["units"], num_layers=shape["layers"],
                batch_first=True,
            )
            self.output = torch.nn.Linear(shape["units"], shape["vocab"])

        def forward(self, tokens):
            e = self.embedding(tokens)
            if masked:
                packed = torch.nn.utils.rnn.pack_padded_sequence(
                    e, lengths_t, batch_first=True, enforce_sorted=False
                )
                out, _ = self.rnn(packed)
                out, _ = torch.nn.utils.rnn.pad_packed_sequence(
                    out, batch_first=True, total_length=shape["steps"]
                )
            else:
                out, _ = self.rnn(e)
            return self.output(out)

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt = torch.from_numpy(x).long()
    yt = torch.from_numpy(y).long()
    lengths_t = torch.from_numpy(np.asarray(lengths)).long()

    def step():
        torch.set_num_threads(threads)  # pinned: the same for every row
        optimizer.zero_grad()
        logits = net(xt)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, shape["vocab"]), yt.reshape(-1),
            ignore_index=0 if masked else -100,
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        float(loss.detach())

    return step


def torch_floor(shape, cell, threads):
    """PyTorch's loop of only the per-step recurrent products (`bench/profile_rnn.py`)."""
    import torch

    b, t, h = shape["batch"], shape["steps"], shape["units"]
    g = GATES[cell]
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(h, g * h, generator=gen) * 0.05
    h0 = torch.randn(b, h, generator=gen)
    dz0 = torch.randn(b, g * h, generator=gen)
    ut = u.t().contiguous()

    def run():
        torch.set_num_threads(threads)
        with torch.no_grad():
            out, grad = h0, dz0
            for _ in range(shape["layers"]):
                for _ in range(t):
                    out = torch.tanh(out @ u)[:, :h]
                for _ in range(t):
                    grad = (grad @ ut).repeat(1, g)
            float(out.sum() + grad.sum())

    return run


BUILDERS = {
    "step": lambda spec: torch_step(spec["shape"], spec["cell"], spec["masked"], spec["threads"]),
    "floor": lambda spec: torch_floor(spec["shape"], spec["cell"], spec["threads"]),
}


def serve(spec, stdin=sys.stdin, stdout=sys.stdout):
    """The child's loop: build `spec["callables"]`, then run one per line read, answering seconds."""
    import torch

    torch.set_num_threads(spec["threads"])
    callables = {name: BUILDERS[name](spec) for name in spec["callables"]}
    loaded = sorted(m for m in ("tensorflow", "jax", "keras") if m in sys.modules)
    stdout.write(json.dumps(dict(version=torch.__version__, threads=torch.get_num_threads(),
                                 loaded=loaded)) + "\n")
    stdout.flush()
    for line in stdin:
        name = line.strip()
        if not name:
            break
        start = time.perf_counter()
        callables[name]()
        stdout.write(f"{time.perf_counter() - start!r}\n")
        stdout.flush()


class TorchProcess:
    """A child process running PyTorch's callables on request (see the module docstring).

    Args:
        spec: dict with `shape` (one of `SHAPES`' values), `cell`, `masked`,
            `threads` and `callables` (names from `BUILDERS`).
    """

    def __init__(self, spec):
        unknown = sorted(set(spec["callables"]) - set(BUILDERS))
        if unknown:
            raise ValueError(f"Expected `callables` from {sorted(BUILDERS)}. "
                             f"Received: callables={spec['callables']}")
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        self._child = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        ready = self._child.stdout.readline()
        if not ready:
            raise RuntimeError(f"the PyTorch process exited with {self._child.wait()} "
                               "before it was ready (see its stderr above)")
        self.info = json.loads(ready)
        if self.info["loaded"]:
            raise RuntimeError(f"the PyTorch process loaded {self.info['loaded']}; "
                               "it must import only NumPy and PyTorch")

    def call(self, name):
        """Runs `name` once in the child; returns the seconds it took there."""
        self._child.stdin.write(name + "\n")
        self._child.stdin.flush()
        answer = self._child.stdout.readline()
        if not answer:
            raise RuntimeError(f"the PyTorch process exited with {self._child.wait()} "
                               f"while running {name!r}")
        return float(answer)

    def callable(self, name):
        """A zero-argument function running `name` in the child and returning its seconds."""
        return lambda: self.call(name)

    def close(self):
        if self._child.poll() is None:
            self._child.stdin.write("\n")
            self._child.stdin.flush()
            self._child.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
