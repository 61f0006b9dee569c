"""int8 exports of the trained names classifier: test accuracy and file size against float32.

Reads a names run (`python recipes/names.py --output-dir runs/names`), takes
its character RNN member (`names_rnn_1`) and its character vectorizer, and
exports the member with `rnnzoo.export` in float32 and int8 (`optimize=True`)
as ONNX (onnxruntime's dynamic quantisation) and LiteRT (dynamic-range
weights). Each file is scored on the 1,074 test names in onnxruntime / the
LiteRT interpreter, beside Keras. Not a timing benchmark (no quiet rule).

    RNNZOO_DATA_DIR=../shared/data python bench/export_int8.py runs/names
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import rnnzoo  # noqa: E402
from rnnzoo.data.datasets import load_names  # noqa: E402
from rnnzoo.decoding.portable_greedy import open_model  # noqa: E402


def member_and_ids(run):
    """The run's RNN member and its test inputs (character ids) and labels."""
    ensemble = rnnzoo.load_model(os.path.join(run, "model.keras"), compile=False)
    member = ensemble.get_layer("names_rnn_1")
    chars = ensemble.get_layer("names_chars")
    test = load_names().test
    ids = np.asarray(chars(np.asarray(test.x, dtype=object))).astype("int32")
    return member, ids, np.asarray(test.y)


def accuracy_of_file(path, ids, labels, batch=64):
    shapes, run = open_model(path)
    name = next(iter(shapes))
    predicted = np.concatenate([run({name: ids[i:i + batch]})[0].argmax(-1)
                                for i in range(0, len(ids), batch)])
    return float((predicted == labels).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a names run folder (holding model.keras)")
    args = parser.parse_args(argv)
    member, ids, labels = member_and_ids(args.run)
    keras_accuracy = float((member.predict(ids, verbose=0).argmax(-1) == labels).mean())
    folder = tempfile.mkdtemp()
    print(f"\nnames RNN member of {args.run}: {member.count_params():,} parameters, "
          f"{len(labels)} test names; Keras test accuracy {keras_accuracy:.4f}\n")
    print("| format | weights | file KiB | size / float32 | test accuracy | drop (points) |")
    print("|---|---|---|---|---|---|")
    for fmt, extension in (("onnx", ".onnx"), ("litert", ".tflite")):
        sizes = {}
        for optimize in (False, True):
            path = rnnzoo.export(member, os.path.join(folder, f"{fmt}_{optimize}{extension}"),
                                 format=fmt, optimize=optimize)
            sizes[optimize] = os.path.getsize(path)
            accuracy = accuracy_of_file(path, ids, labels)
            print(f"| {fmt} | {'int8' if optimize else 'float32'} | {sizes[optimize] / 1024:.0f} "
                  f"| {sizes[optimize] / sizes[False]:.3f} | {accuracy:.4f} | "
                  f"{100 * (keras_accuracy - accuracy):+.2f} |")


if __name__ == "__main__":
    main()
