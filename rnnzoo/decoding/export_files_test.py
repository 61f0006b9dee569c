"""Every preset, tiny, exported to ONNX and LiteRT: the files' outputs equal Keras'.

Each file is read back in a fresh Python process that imports NumPy and
onnxruntime / ai_edge_litert only (neither TensorFlow nor rnnzoo), on a
right-padded batch of different lengths. An encoder-decoder preset is
exported as its encoder and one-step decoder, each checked on its own.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.data_checks import input_vocabularies
from rnnzoo.decoding import export as export_module
from rnnzoo.decoding import portable_greedy
from rnnzoo.models import presets

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="the converters read a TensorFlow graph")

# portable_greedy.py loaded from its file, so neither rnnzoo nor TensorFlow is imported.
RUNNER = """
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("portable_greedy", sys.argv[2])
portable = importlib.util.module_from_spec(spec)
spec.loader.exec_module(portable)
for case in json.load(open(sys.argv[1])):
    feeds = dict(np.load(case["inputs"]))
    shapes, run = portable.open_model(case["path"])
    np.savez(case["output"], *run({name: feeds[name] for name in shapes}))
assert "tensorflow" not in sys.modules and "rnnzoo" not in sys.modules
"""

LENGTHS = [7, 3, 5, 1]


def tiny_preset(name, **overrides):
    """A preset at a few units: same builder and options, small widths and vocabularies."""
    builder, config = presets.preset_config(name)
    config = dict(config)
    for key in ("units", "embedding_dim"):
        if key in config:
            config[key] = 8
    for key in ("vocabulary_size", "source_vocabulary_size", "target_vocabulary_size"):
        if key in config:
            config[key] = 20
    if "feature_grid_shape" in config:
        config["feature_grid_shape"] = (6, 5)
    if "sequence_length" in config:
        config["sequence_length"] = 9
    return getattr(rnnzoo, builder)(**{**config, **overrides})


def _feeds(model, seed):
    """Inputs for `model`, by name: right-padded ids (lengths 7, 3, 5, 1), floats, masks."""
    rng = np.random.default_rng(seed)
    real = np.arange(max(LENGTHS))[None] < np.array(LENGTHS)[:, None]
    sizes = input_vocabularies(model)
    feeds = {}
    for index, tensor in enumerate(model.inputs):
        shape = [len(LENGTHS) if i == 0 else (d or max(LENGTHS))
                 for i, d in enumerate(tensor.shape)]
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        if "int" in dtype:
            ids = rng.integers(1, sizes.get(index, (20,))[0], shape).astype(dtype)
            feeds[tensor.name] = (np.where(real[:, :shape[1]], ids, 0) if len(shape) == 2
                                  else ids)
        elif dtype == "bool":
            feeds[tensor.name] = real[:, :shape[1]]
        else:
            feeds[tensor.name] = rng.normal(size=shape).astype(dtype)
    return feeds


CASES = [(name, dict()) for name in presets.PRESETS] + [
    ("bilstm_tagger", dict(crf=True, character_vocabulary_size=12)),
    ("lstm_captioner", dict(attention_context="input")),  # Show-Attend-Tell's AttentiveRNN
    ("char_gru_name_classifier", dict(pooling="mean")),  # with the presets: every pooling
    ("bilstm_sentiment", dict(pooling="attention", num_layers=2)),
]


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_every_preset_exports_and_its_file_equals_keras_without_tensorflow(tmp_path, fmt):
    cases, expected, models = [], {}, {}
    for k, (name, overrides) in enumerate(CASES):
        keras.utils.set_random_seed(k)
        model = tiny_preset(name, **overrides)
        extension = export_module.EXTENSIONS[fmt]
        path = str(tmp_path / f"{k}_{name}")
        served = list(export_module.served_graphs(model).items())
        target = path if served[0][0] else path + extension
        assert rnnzoo.export(model, target, format=fmt) == target
        for part, serving in served:
            file = os.path.join(path, part + extension) if part else target
            feeds = _feeds(serving, seed=k)
            np.savez(tmp_path / f"{k}_{part}_in.npz", **feeds)
            outputs = serving(feeds if len(feeds) > 1 else next(iter(feeds.values())))
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            key = f"{k}_{name}_{part}"
            models[key] = (serving, feeds)
            expected[key] = [keras.ops.convert_to_numpy(o) for o in outputs]
            cases.append(dict(path=file, inputs=str(tmp_path / f"{k}_{part}_in.npz"),
                              output=str(tmp_path / f"{key}_out.npz"), key=key))
            ops = rnnzoo.exported_ops(file)
            assert not [op for op in ops if op.startswith("Flex") or op == "DELEGATE"], ops
    with open(tmp_path / "cases.json", "w") as f:
        json.dump(cases, f)
    done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "cases.json"),
                           portable_greedy.__file__],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for case in cases:
        got = np.load(case["output"])
        want = expected[case["key"]]
        assert len(got.files) == len(want), case["key"]
        for i, array in enumerate(want):
            assert got[f"arr_{i}"].shape == array.shape, case["key"]
            np.testing.assert_allclose(got[f"arr_{i}"], array, atol=1e-5, rtol=1e-5,
                                       err_msg=case["key"])
    # Padding changes nothing: the 3-token row alone, unpadded, gives the file's output.
    serving, feeds = models[f"{len(CASES) - 1}_bilstm_sentiment_"]
    alone = serving(next(iter(feeds.values()))[1:2, :LENGTHS[1]])
    got = np.load(cases[-1]["output"])["arr_0"]
    assert not np.allclose(got[1], got[2])
    np.testing.assert_allclose(got[1], keras.ops.convert_to_numpy(alone)[0], atol=1e-5)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]  # none left behind



def test_litert_int8_file_is_under_a_third_of_float32_at_the_names_classifiers_size(tmp_path):
    """`optimize=True` quantises every weight, the recurrent kernels in the loops included.

    The size depends on the architecture only: the names task's member
    (2 x 128 BiGRU, attention pooling, 521k parameters), untrained. Its
    accuracy after int8, trained on real names: tests/recipes_text_test.py.
    """
    from rnnzoo.tasks import names

    model = rnnzoo.build("char_gru_name_classifier", **names.Config().rnn)
    sizes = {}
    for optimize in (False, True):
        path = rnnzoo.export(model, str(tmp_path / f"names_{optimize}.tflite"),
                             format="litert", optimize=optimize)
        sizes[optimize] = os.path.getsize(path)
    assert sizes[False] > 4 * model.count_params()  # float32 weights
    assert sizes[True] <= 0.3 * sizes[False], sizes
