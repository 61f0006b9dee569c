"""Where XLA pays on TensorFlow's CPU: ms per training step with and without it, by model size.

For each builder and width this times the same model compiled by
`rnnzoo.compile_for` with `jit_compile=False` and `True`, side by side in
one run (interleaved steps), and the one-off first step (tracing plus XLA's
compile). It measures steady-state steps of one fixed shape; whole recipe
runs, which compile once per input shape, measured slower with XLA
(docs/benchmarks.md), so `compile_for`'s default stays Keras' rule and
`jit_compile=True` opts in.

    KERAS_BACKEND=tensorflow python bench/xla_rule.py [--units 16 32 64 128 256]

Prints a markdown table (paste it into docs/benchmarks.md) with the load
average before and after (`bench/quiet.py`).
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import quiet  # noqa: E402
import rnnzoo  # noqa: E402
import train_throughput as tt  # noqa: E402


def build(kind, units, cell):
    if kind == "language_model":  # d2l-like: B32 T35, vocabulary 28, 2 layers
        model = rnnzoo.language_model(vocabulary_size=28, units=units, num_layers=2, cell=cell)
        batch, steps, vocab = 32, 35, 28
        rng = np.random.default_rng(0)
        x = rng.integers(1, vocab, (batch, steps)).astype("int32")
        return model, x, rng.integers(1, vocab, (batch, steps)).astype("int32")
    rng = np.random.default_rng(0)
    if kind == "captioner":  # the digit-strip captioner: a small CNN under an attention decoder
        from rnnzoo.tasks.captioning import digit_strips

        model, _ = digit_strips.build_captioner(units=units, cell=cell)
        images = rng.random((32,) + tuple(model.inputs[0].shape[1:])).astype("float32")
        tokens = rng.integers(1, 13, (32, 7)).astype("int32")
        return model, [images, tokens], rng.integers(1, 13, (32, 7)).astype("int32")
    if kind == "seq2seq":  # translation-like: B64, source 12, target 12, Bahdanau attention
        model = rnnzoo.seq2seq(source_vocabulary_size=2000, target_vocabulary_size=2000,
                               units=units, cell=cell, attention="bahdanau")
        source = rng.integers(1, 2000, (64, 12)).astype("int32")
        target = rng.integers(1, 2000, (64, 12)).astype("int32")
        return model, [source, target], rng.integers(1, 2000, (64, 12)).astype("int32")
    if kind == "crf_tagger":  # the UD tagger's shape: words, characters, a CRF; B32 T25
        model = rnnzoo.sequence_tagger(vocabulary_size=5000, character_vocabulary_size=80,
                                       num_classes=18, units=units, cell=cell,
                                       bidirectional=True, crf=True)
        words = rng.integers(1, 5000, (32, 25)).astype("int32")
        chars = rng.integers(1, 80, (32, 25, 12)).astype("int32")
        return model, [words, chars], rng.integers(0, 18, (32, 25)).astype("int32")
    if kind == "forecaster":  # PM2.5-like: B64, 72 hours of 8 features, 24 ahead
        model = rnnzoo.forecaster(sequence_length=72, num_features=8, horizon=24,
                                  units=units, cell=cell)
        x = rng.random((64, 72, 8)).astype("float32")
        return model, x, rng.random((64, 24, 1)).astype("float32")
    # the names classifier's shape: B64, T12, 60 characters, 18 classes, bidirectional
    model = rnnzoo.sequence_classifier(vocabulary_size=60, num_classes=18, units=units,
                                       cell=cell, bidirectional=True)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 60, (64, 12)).astype("int32")
    return model, x, rng.integers(0, 18, 64)


def measure(kind, units, cell, warmup, repeats):
    paths = {}
    for jit in (False, True):
        model, x, y = build(kind, units, cell)
        rnnzoo.compile_for(model, jit_compile=jit)
        start = time.perf_counter()
        model.train_on_batch(x, y)
        first = time.perf_counter() - start
        paths[jit] = (model, x, y, first)
    steps = {jit: (lambda m=model, x=x, y=y: m.train_on_batch(x, y))
             for jit, (model, x, y, _) in paths.items()}
    times = tt.interleaved_times(steps, warmup, repeats, pause=0)
    plain, xla = (statistics.median(times[j]) * 1e3 for j in (False, True))
    return dict(kind=kind, units=units, cell=cell, plain=plain, xla=xla,
                speedup=plain / xla, first_plain=paths[False][3], first_xla=paths[True][3],
                break_even=max(0.0, paths[True][3] - paths[False][3]) / max(1e-9, (plain - xla) / 1e3))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--kinds", nargs="+", default=["language_model", "sequence_classifier",
                                                       "captioner", "seq2seq", "crf_tagger",
                                                       "forecaster"])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        parser.error("XLA training is chosen on the TensorFlow backend only")
    before = quiet.wait_until_quiet()
    rows = [measure(k, u, c, args.warmup, args.repeats)
            for k in args.kinds for c in args.cells for u in args.units]
    after = quiet.settled_load()
    print(f"\n1-minute load average: {before:.2f} before, {after:.2f} after "
          f"({quiet.verdict(before, after)})\n")
    print("| builder | cell | units | ms/step | ms/step XLA | XLA speed-up | first step s (XLA) | "
          "steps to repay the compile |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        repay = f"{r['break_even']:.0f}" if r["speedup"] > 1 else "never"
        print(f"| {r['kind']} | {r['cell']} | {r['units']} | {r['plain']:.1f} | {r['xla']:.1f} | "
              f"{r['speedup']:.2f}x | {r['first_plain']:.1f} ({r['first_xla']:.1f}) | {repay} |")


if __name__ == "__main__":
    main()
