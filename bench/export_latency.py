"""Inference latency of exported models: onnxruntime and LiteRT against Keras, batch 1 and 32.

Two models at full size (latency does not depend on the weights' values),
on the Keras backend this runs under:

1. The names classifier (`rnnzoo.build("char_gru_name_classifier")` with
   `recipes/names.py`'s RNN settings, 18 classes, names of 12 characters):
   Keras `model.predict(x)`; Keras direct call `model(x, training=False)`
   (converted to NumPy); onnxruntime and the LiteRT interpreter on the files
   `rnnzoo.export(model, path, format="onnx"|"litert", optimize=False|True)`
   writes.
2. A 50-token greedy decode of the translation-size seq2seq
   (`rnnzoo.build("lstm_seq2seq_attention")`: 8,000-word vocabularies,
   BiLSTM encoder, 256 units, Luong attention; 20-token sources):
   `rnnzoo.decode` (the compiled loop) against `portable_greedy.greedy` over
   the encoder and step files in onnxruntime and LiteRT (float32, int8).

The files are exported on TensorFlow (under JAX in a subprocess, from the
same weights). p50 and p95 over `--calls` calls after warm-up, calls
interleaved across the paths; the files' sizes; the 1-minute load average
before and after (`bench/quiet.py`).

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
from rnnzoo.tasks import names  # noqa: E402
from rnnzoo.decoding.export import EXTENSIONS  # noqa: E402
from rnnzoo.decoding.portable_greedy import greedy  # noqa: E402
from rnnzoo.decoding.portable_greedy import open_model  # noqa: E402

# The names classifier as recipes/names.py trains it (the preset with the task's
# RNN settings: 2 x 128 BiGRU, attention pooling; bench/export_int8.py scores
# the trained one), and the translation-size seq2seq.
PRESETS = {"names": dict(preset="char_gru_name_classifier", vocabulary_size=60,
                         **names.Config().rnn),
           "seq2seq": dict(preset="lstm_seq2seq_attention")}
# file -> (format, optimize); a seq2seq "file" is a folder (encoder + step).
FILES = {"onnx": ("onnx", False), "onnx_int8": ("onnx", True),
         "litert": ("litert", False), "litert_int8": ("litert", True)}
EXPORT = """
import sys
sys.path.insert(0, sys.argv[1])
from export_latency import export_all
export_all(sys.argv[2], sys.argv[3], sys.argv[4])
"""


def build(name):
    keras.utils.set_random_seed(0)
    settings = dict(PRESETS[name])
    return rnnzoo.build(settings.pop("preset"), **settings)


def file_paths(name, folder):
    """`{file key: path}` of model `name`'s exports (a seq2seq's are folders)."""
    return {key: os.path.join(folder, f"{name}_{key}"
                              + ("" if name == "seq2seq" else EXTENSIONS[fmt]))
            for key, (fmt, _) in FILES.items()}


def export_all(name, folder, weights=None):
    """Writes the four files of FILES for model `name` (its weights from `weights`)."""
    model = build(name)
    if weights:
        model.load_weights(weights)
    for key, path in file_paths(name, folder).items():
        fmt, optimize = FILES[key]
        rnnzoo.export(model, path, format=fmt, optimize=optimize)


def export(name, model, folder):
    """`{file key: path}` of the model's exported files (TensorFlow, or a subprocess)."""
    if keras.backend.backend() == "tensorflow":
        export_all(name, folder)
    else:  # the converters read a TensorFlow graph: export the same weights there
        weights = os.path.join(folder, f"{name}.weights.h5")
        model.save_weights(weights)
        env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=ROOT)
        subprocess.run([sys.executable, "-c", EXPORT, os.path.dirname(os.path.abspath(__file__)),
                        name, folder, weights], check=True, env=env)
    return file_paths(name, folder)


def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def classifier_paths(model, files, x):
    reference = model.predict(x, verbose=0)
    steps = {"Keras predict": lambda: model.predict(x, verbose=0),
             "Keras direct call": lambda: keras.ops.convert_to_numpy(model(x, training=False))}
    for key, path in files.items():
        shapes, run = open_model(path)
        name = next(iter(shapes))
        got = run({name: x})[0]
        if "int8" not in key:
            np.testing.assert_allclose(got, reference, atol=1e-5)
        steps[key] = (lambda run, name: lambda: run({name: x})[0])(run, name)
    return steps


def decode_paths(model, files, source, length):
    settings = dict(max_length=length, start_token=1, end_token=-1)  # all 50 tokens
    reference = rnnzoo.decode(model, source, **settings)
    steps = {"rnnzoo.decode": lambda: rnnzoo.decode(model, source, **settings)}
    for key, folder in files.items():
        extension = EXTENSIONS[FILES[key][0]]
        opened = [open_model(f"{folder}/{part}{extension}") for part in ("encoder", "step")]
        ids = greedy(folder, source, opened=opened, **settings)
        if "int8" not in key:
            assert (ids == reference).mean() > 0.95, key  # near-ties of an untrained model
        steps[key] = (lambda opened: lambda: greedy(None, source, opened=opened, **settings))(
            opened)
    return steps


def time_paths(steps, calls, warmup=20):
    """p50 and p95 milliseconds of each path, calls interleaved (no pause between them)."""
    times = tt.interleaved_times(steps, warmup, calls, pause=0)
    return {k: (np.percentile(v, 50) * 1e3, np.percentile(v, 95) * 1e3) for k, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--decode-calls", type=int, default=30)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--decode-length", type=int, default=50)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp()
    models = {name: build(name) for name in PRESETS}
    files = {name: export(name, model, folder) for name, model in models.items()}
    before = quiet.wait_until_quiet()
    rng = np.random.default_rng(0)
    rows = []
    for batch in args.batches:
        x = rng.integers(1, 60, (batch, 12)).astype("int32")
        x[:, 8:] *= rng.random((batch, 4)) < 0.5  # right padding in some rows
        x[:, 8:] = np.where(np.cumsum(x[:, 8:] == 0, axis=1) > 0, 0, x[:, 8:])
        steps = classifier_paths(models["names"], files["names"], x)
        for name, (p50, p95) in time_paths(steps, args.calls).items():
            rows.append(("names classifier", batch, name, p50, p95))
        source = rng.integers(3, 8000, (batch, 20)).astype("int32")
        steps = decode_paths(models["seq2seq"], files["seq2seq"], source, args.decode_length)
        for name, (p50, p95) in time_paths(steps, args.decode_calls, warmup=3).items():
            rows.append((f"seq2seq, {args.decode_length}-token greedy", batch, name, p50, p95))
    after = quiet.settled_load()
    backend = keras.backend.backend()
    print(f"\nbackend={backend}; 1-minute load average {before:.2f} before, {after:.2f} after "
          f"({quiet.verdict(before, after)}); p50/p95 over {args.calls} classifier calls and "
          f"{args.decode_calls} decodes\n")
    print("| file | " + " | ".join(files["names"]) + " |")
    print("|---|" + "---|" * len(files["names"]))
    for name in PRESETS:
        print(f"| {name} | " + " | ".join(f"{size(p) / 1024:,.0f} KiB"
                                          for p in files[name].values()) + " |")
    print("\n| model | backend | batch | path | p50 ms | p95 ms | first path / path (p50) |")
    print("|---|---|---|---|---|---|---|")
    first = {}
    for model, batch, name, p50, p95 in rows:
        first.setdefault((model, batch), p50)
        print(f"| {model} | {backend} | {batch} | {name} | {p50:.3f} | {p95:.3f} | "
              f"{first[(model, batch)] / p50:.1f}x |")


if __name__ == "__main__":
    main()
