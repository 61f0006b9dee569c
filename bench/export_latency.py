"""Inference latency of an exported model: onnxruntime against Keras, batch 1 and 32.

The names classifier's shape (`rnnzoo.build("char_gru_name_classifier")`,
full size, 18 classes, names of 12 characters; latency does not depend on
the weights' values), on the Keras backend this runs under:

- Keras `model.predict(x)`;
- Keras direct call `model(x, training=False)` (converted to NumPy);
- onnxruntime on the file `rnnzoo.export(model, path, format="onnx")`
  writes (exported on TensorFlow; under JAX the TensorFlow export runs in
  a subprocess from the same weights).

p50 and p95 over `--calls` calls after warm-up, calls interleaved across
the paths; the ONNX file's size; the 1-minute load average before and after
(`bench/quiet.py`).

    KERAS_BACKEND=tensorflow python bench/export_latency.py
    KERAS_BACKEND=jax python bench/export_latency.py
"""

import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import quiet  # noqa: E402
import rnnzoo  # noqa: E402
import train_throughput as tt  # noqa: E402

EXPORT = """
import sys, rnnzoo
model = rnnzoo.build("char_gru_name_classifier", vocabulary_size=60)
model.load_weights(sys.argv[1])
rnnzoo.export(model, sys.argv[2], format="onnx")
"""


def build(folder):
    keras.utils.set_random_seed(0)
    model = rnnzoo.build("char_gru_name_classifier", vocabulary_size=60)
    path = os.path.join(folder, "names.onnx")
    if keras.backend.backend() == "tensorflow":
        rnnzoo.export(model, path, format="onnx")
    else:  # the converter reads a TensorFlow graph: export the same weights there
        weights = os.path.join(folder, "names.weights.h5")
        model.save_weights(weights)
        env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=ROOT)
        subprocess.run([sys.executable, "-c", EXPORT, weights, path], check=True, env=env)
    return model, path


def paths(model, path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(path)
    name = session.get_inputs()[0].name
    reference = model.predict(x, verbose=0)
    np.testing.assert_allclose(session.run(None, {name: x})[0], reference, atol=1e-5)
    return {
        "Keras predict": lambda: model.predict(x, verbose=0),
        "Keras direct call": lambda: keras.ops.convert_to_numpy(model(x, training=False)),
        "onnxruntime": lambda: session.run(None, {name: x})[0],
    }


def time_paths(steps, calls, warmup=20):
    """p50 and p95 milliseconds of each path, calls interleaved (no pause between them)."""
    times = tt.interleaved_times(steps, warmup, calls, pause=0)
    return {k: (np.percentile(v, 50) * 1e3, np.percentile(v, 95) * 1e3) for k, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args(argv)
    before = quiet.wait_until_quiet()
    folder = tempfile.mkdtemp()
    model, path = build(folder)
    rng = np.random.default_rng(0)
    rows = []
    for batch in args.batches:
        x = rng.integers(1, 60, (batch, 12)).astype("int32")
        x[:, 8:] *= rng.random((batch, 4)) < 0.5  # right padding in some rows
        x[:, 8:] = np.where(np.cumsum(x[:, 8:] == 0, axis=1) > 0, 0, x[:, 8:])
        for name, (p50, p95) in time_paths(paths(model, path, x), args.calls).items():
            rows.append((batch, name, p50, p95))
    after = quiet.settled_load()
    backend = keras.backend.backend()
    print(f"\nbackend={backend}; ONNX file {os.path.getsize(path) / 1024:.0f} KiB; "
          f"1-minute load average {before:.2f} before, {after:.2f} after "
          f"({quiet.verdict(before, after)})\n")
    print("| backend | batch | path | p50 ms | p95 ms | Keras predict / path (p50) |")
    print("|---|---|---|---|---|---|")
    predict = {b: p for b, n, p, _ in rows if n == "Keras predict"}
    for batch, name, p50, p95 in rows:
        print(f"| {backend} | {batch} | {name} | {p50:.3f} | {p95:.3f} | "
              f"{predict[batch] / p50:.1f}x |")


if __name__ == "__main__":
    main()
