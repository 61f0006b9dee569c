"""`rnnzoo.export(format="onnx"|"litert")`: refusals, the docs' reference loop, a JAX-built model.

Every preset's files against Keras: `export_files_test.py`; decoding the
files: `export_test.py`.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.decoding.portable_greedy import open_model

tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="the ONNX export converts a TensorFlow graph")

def _padded(lengths, vocabulary_size, width, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), width), "int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, vocabulary_size, n)
    return ids


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
rnnzoo.export(model, sys.argv[3], format="litert")
"""


@pytest.mark.multi_backend
def test_a_jax_model_exports_through_its_weights_on_tensorflow(tmp_path):
    """The converters read a TensorFlow graph: a model trained on JAX exports from its weights."""
    if keras.backend.backend() != "jax":
        pytest.skip("the JAX pass checks the JAX-built model")
    keras.utils.set_random_seed(0)
    model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=3, units=8,
                                       bidirectional=True, name="clf")
    tokens = _padded([6, 2, 4], 20, 6)
    model.save_weights(str(tmp_path / "clf.weights.h5"))
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    done = subprocess.run([sys.executable, "-c", EXPORT_ON_TENSORFLOW,
                           str(tmp_path / "clf.weights.h5"), str(tmp_path / "clf.onnx"),
                           str(tmp_path / "clf.tflite")],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = model.predict(tokens, verbose=0)
    for path in ("clf.onnx", "clf.tflite"):  # onnxruntime, the LiteRT interpreter
        shapes, run = open_model(str(tmp_path / path))
        got = run({next(iter(shapes)): tokens})[0]
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=path)
