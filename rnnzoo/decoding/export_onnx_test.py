"""`rnnzoo.export(format="onnx")` (rnnzoo/decoding/export.py): outputs in onnxruntime equal Keras'.

Each model is exported from TensorFlow, then read back in a fresh Python
process that imports onnxruntime and NumPy only (neither TensorFlow nor
rnnzoo), on a right-padded batch of different lengths.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo

tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="the ONNX export converts a TensorFlow graph")

RUNNER = """
import json, sys
import numpy as np
import onnxruntime
cases = json.load(open(sys.argv[1]))
for case in cases:
    session = onnxruntime.InferenceSession(case["path"])
    names = [i.name for i in session.get_inputs()]
    feeds = {n: np.load(f) for n, f in zip(names, case["inputs"])}
    np.save(case["output"], session.run(None, feeds)[0])
assert "tensorflow" not in sys.modules and "rnnzoo" not in sys.modules
"""


def _padded(lengths, vocabulary_size, width, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), width), "int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, vocabulary_size, n)
    return ids


@tensorflow_only
def test_onnx_files_in_onnxruntime_equal_keras_on_a_right_padded_batch(tmp_path):
    keras.utils.set_random_seed(0)
    tokens = _padded([7, 3, 5, 1], 20, 7)
    series = np.random.default_rng(1).normal(size=(4, 12, 3)).astype("float32")
    models = {
        "classifier": (rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=3, units=8,
                                                  bidirectional=True, pooling="attention"),
                       [tokens]),
        "tagger": (rnnzoo.sequence_tagger(vocabulary_size=20, num_classes=5, units=8,
                                          cell="gru", bidirectional=True, num_layers=2),
                   [tokens]),
        "forecaster": (rnnzoo.forecaster(sequence_length=12, num_features=3, horizon=4,
                                         units=8, quantiles=(0.1, 0.5, 0.9)), [series]),
    }
    cases, expected = [], {}
    for name, (model, inputs) in models.items():
        path = rnnzoo.export(model, str(tmp_path / f"{name}.onnx"), format="onnx")
        assert path == str(tmp_path / f"{name}.onnx") and os.path.getsize(path) > 1000
        files = []
        for k, array in enumerate(inputs):
            files.append(str(tmp_path / f"{name}_in{k}.npy"))
            np.save(files[-1], array)
        expected[name] = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
        cases.append(dict(path=path, inputs=files, output=str(tmp_path / f"{name}_out.npy")))
    with open(tmp_path / "cases.json", "w") as f:
        json.dump(cases, f)
    done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "cases.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in models:
        got = np.load(tmp_path / f"{name}_out.npy")
        assert got.shape == expected[name].shape
        np.testing.assert_allclose(got, expected[name], atol=1e-5, rtol=1e-5)
    # Padding changes nothing: row 1 (3 tokens) alone, unpadded, gives the same output.
    assert not np.allclose(expected["classifier"][1], expected["classifier"][2])
    np.testing.assert_allclose(
        models["classifier"][0].predict(tokens[1:2, :3], verbose=0)[0],
        np.load(tmp_path / "classifier_out.npy")[1], atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"{n}.onnx" for n in models] + [f"{n}_in0.npy" for n in models]
        + [f"{n}_out.npy" for n in models] + ["cases.json"])  # no temporary files left


@tensorflow_only
def test_onnx_and_litert_refuse_stateful_models_and_bad_arguments_before_writing(tmp_path):
    seq2seq = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12, units=8)
    lm = rnnzoo.language_model(vocabulary_size=12, units=8, stateful=True, batch_size=2)
    classifier = rnnzoo.sequence_classifier(vocabulary_size=12, num_classes=2, units=4)
    for fmt, name in (("onnx", "lm.onnx"), ("litert", "lm.tflite")):
        with pytest.raises(ValueError, match=f"format='{fmt}' cannot carry states.*stateful=True"):
            rnnzoo.export(lm, str(tmp_path / name), format=fmt)
    with pytest.raises(ValueError, match=r"`format` to be one of \['saved_model', 'onnx', "
                                         r"'litert'\]. Received: format='tflite'"):
        rnnzoo.export(lm, str(tmp_path / "lm.tflite"), format="tflite")
    with pytest.raises(ValueError, match=r"ending in '.tflite' for format='litert'.*"
                                         r"Received: path='.*clf.onnx'"):
        rnnzoo.export(classifier, str(tmp_path / "clf.onnx"), format="litert")
    with pytest.raises(ValueError, match="Expected `max_length`.*Received: max_length=None"):
        rnnzoo.export(seq2seq, str(tmp_path / "s"), end_token=2)
    with pytest.raises(ValueError, match="Expected `optimize=False` with format='saved_model'"):
        rnnzoo.export(seq2seq, str(tmp_path / "s"), max_length=3, end_token=2, optimize=True)
    assert os.listdir(tmp_path) == []


def test_the_reference_loop_in_the_docs_is_portable_greedy_py():
    """docs/decoding.md shows rnnzoo/decoding/portable_greedy.py's loops as they are."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    source = open(os.path.join(root, "rnnzoo", "decoding", "portable_greedy.py")).read()
    docs = open(os.path.join(root, "docs", "decoding.md")).read()
    for name in ("_loop", "greedy", "greedy_lm"):
        start = source.index(f"def {name}(")
        assert source[start:source.index("\n\n\n", start)] in docs, name


EXPORT_ON_TENSORFLOW = """
import sys
import rnnzoo
model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=3, units=8,
                                   bidirectional=True, name="clf")
model.load_weights(sys.argv[1])
rnnzoo.export(model, sys.argv[2], format="onnx")
"""


@pytest.mark.multi_backend
def test_a_jax_model_exports_through_its_weights_on_tensorflow(tmp_path):
    """The converter reads a TensorFlow graph: a model trained on JAX exports from its weights."""
    if keras.backend.backend() != "jax":
        pytest.skip("the JAX pass checks the JAX-built model")
    import onnxruntime

    keras.utils.set_random_seed(0)
    model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=3, units=8,
                                       bidirectional=True, name="clf")
    tokens = _padded([6, 2, 4], 20, 6)
    model.save_weights(str(tmp_path / "clf.weights.h5"))
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    done = subprocess.run([sys.executable, "-c", EXPORT_ON_TENSORFLOW,
                           str(tmp_path / "clf.weights.h5"), str(tmp_path / "clf.onnx")],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    session = onnxruntime.InferenceSession(str(tmp_path / "clf.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: tokens})[0]
    np.testing.assert_allclose(got, model.predict(tokens, verbose=0), atol=1e-5)
