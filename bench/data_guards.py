"""What the data checks and the non-finite step guard cost (issue #18).

Two measurements, side by side in one process:

1. The optimizer guard (`compile_for(skip_non_finite=True)`, Keras'
   `LossScaleOptimizer` at scale 1: a finiteness check of every gradient
   and a conditional update) against the plain optimizer: seconds per
   training step, the two models' steps interleaved, median of `--repeats`.
2. `rnnzoo.data_checks.check_fit_data` on a task-sized training set
   against one epoch of training on it: the check runs once per `fit`.

Prints a Markdown table with the 1-minute load average before and after
(`bench/quiet.py`: it waits for a quiet machine first).

Usage:

    python bench/data_guards.py [--repeats 30]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

import rnnzoo  # noqa: E402
from bench import quiet  # noqa: E402
from rnnzoo.data_checks import check_fit_data  # noqa: E402

SHAPES = {
    # The d2l language model (batch 32 x 35 steps, 2 x 256 LSTM).
    "d2l LM": dict(builder="language_model", batch=32, steps=35, vocabulary=28,
                   kwargs=dict(embedding_dim=32, units=256, num_layers=2)),
    # The names classifier (batch 64 x 12 characters, GRU 64).
    "names classifier": dict(builder="sequence_classifier", batch=64, steps=12, vocabulary=60,
                             kwargs=dict(num_classes=18, embedding_dim=32, units=64,
                                         cell="gru")),
}


def _data(shape, rows):
    rng = np.random.default_rng(0)
    x = rng.integers(1, shape["vocabulary"], size=(rows, shape["steps"])).astype("int32")
    if shape["builder"] == "language_model":
        y = rng.integers(1, shape["vocabulary"], size=(rows, shape["steps"])).astype("int32")
    else:
        y = rng.integers(0, shape["kwargs"]["num_classes"], size=rows).astype("int32")
    return x, y


def _model(shape, guard):
    keras.utils.set_random_seed(0)
    builder = getattr(rnnzoo, shape["builder"])
    model = builder(vocabulary_size=shape["vocabulary"], **shape["kwargs"])
    return rnnzoo.compile_for(model, skip_non_finite=guard)


def step_ratio(shape, repeats):
    x, y = _data(shape, shape["batch"])
    models = {guard: _model(shape, guard) for guard in (True, False)}
    for model in models.values():
        for _ in range(3):
            model.train_on_batch(x, y)
    times = {guard: [] for guard in models}
    for _ in range(repeats):
        for guard, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[guard].append(time.perf_counter() - start)
    return {guard: statistics.median(t) for guard, t in times.items()}


def check_cost(shape, rows):
    x, y = _data(shape, rows)
    model = _model(shape, True)
    start = time.perf_counter()
    check_fit_data(model, x, y, validation_data=(x[:rows // 10], y[:rows // 10]))
    checked = time.perf_counter() - start
    model.fit(x[:shape["batch"] * 2], y[:shape["batch"] * 2], batch_size=shape["batch"],
              verbose=0)  # trace first
    start = time.perf_counter()
    model.fit(x, y, batch_size=shape["batch"], epochs=1, verbose=0)
    return checked, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rows", type=int, default=20_000,
                        help="training rows of the check-cost epoch")
    args = parser.parse_args(argv)
    load_before = quiet.wait_until_quiet()
    rows = []
    for name, shape in SHAPES.items():
        seconds = step_ratio(shape, args.repeats)
        checked, epoch = check_cost(shape, args.rows)
        rows.append((name, seconds[False] * 1e3, seconds[True] * 1e3,
                     seconds[True] / seconds[False], checked * 1e3, epoch, checked / epoch))
    load_after = quiet.settled_load()
    print(f"backend={keras.backend.backend()}  load average (1 min) before {load_before:.2f}, "
          f"after an idle minute {load_after:.2f}: {quiet.verdict(load_before, load_after)}")
    print("| model | step, plain optimizer (ms) | step, guarded (ms) | guarded / plain "
          f"| check_fit_data ({args.rows:,} rows, ms) | one epoch (s) | check / epoch |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| {} | {:.2f} | {:.2f} | {:.3f} | {:.1f} | {:.1f} | {:.2%} |".format(*row))


if __name__ == "__main__":
    main()
