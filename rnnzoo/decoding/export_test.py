import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.decoding import samplers
from rnnzoo.decoding.samplers_test import SecondBest
from rnnzoo.decoding.search_test import END
from rnnzoo.decoding.search_test import START
from rnnzoo.decoding.search_test import reverse_data
from rnnzoo.decoding.search_test import trained_reverse_model

pytestmark = [
    pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                       reason="SavedModel export needs the TensorFlow backend"),
    # Under `pytest -n 2 --dist loadgroup`: the worker of search_test.py,
    # whose trained reverse model (lru_cache, ~15 s) it reuses.
    pytest.mark.xdist_group("reverse_model"),
]

VOCABULARY = ["", "<s>", "</s>"] + [f"w{i}" for i in range(3, 10)]


def test_saved_model_in_a_fresh_process_equals_decode(tmp_path):
    model = trained_reverse_model()
    source, _, expected = reverse_data(40, seed=2)
    paths = {}
    for name, sampler in (("greedy", "greedy"), ("beam", samplers.Beam(width=3))):
        paths[name] = rnnzoo.export(
            model, str(tmp_path / name), sampler=sampler,
            max_length=7, start_token=START, end_token=END,
            source_vocabulary=VOCABULARY, target_vocabulary=VOCABULARY,
        )
    greedy = rnnzoo.decode(model, source, max_length=7, start_token=START,
                           end_token=END)
    beam = rnnzoo.decode(model, source, sampler=samplers.Beam(width=3),
                         max_length=7, start_token=START, end_token=END)
    np.testing.assert_array_equal(greedy, expected)
    texts = [" ".join(VOCABULARY[i] for i in row if i) for row in source[:3]]
    code = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        f"x = tf.constant({source.tolist()}, tf.int32)\n"
        "out = {}\n"
        f"for name, path in {paths!r}.items():\n"
        "    m = tf.saved_model.load(path)\n"
        "    out[name] = m.generate(x)['ids'].numpy().tolist()\n"
        f"m = tf.saved_model.load({paths['greedy']!r})\n"
        f"r = m.generate_text(tf.constant({texts!r}))\n"
        "out['text'] = [t.decode() for t in r['text'].numpy()]\n"
        "e = m.encode(x[:2])\n"
        "s = m.step(tf.constant([1, 1]), e['state_1_0'], e['state_1_1'],\n"
        "           e['memory'], e['memory_mask'])\n"
        "out['first'] = s['probabilities'].numpy().argmax(-1).tolist()\n"
        "out['attention'] = list(s['attention'].shape)\n"
        "out['rnnzoo'] = 'rnnzoo' in sys.modules\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, env=env, timeout=300, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["rnnzoo"] is False
    np.testing.assert_array_equal(np.array(out["greedy"]), greedy)
    np.testing.assert_array_equal(np.array(out["beam"]), beam)
    assert out["text"] == [
        " ".join(VOCABULARY[i] for i in row if i > END) for row in expected[:3]
    ]
    assert out["first"] == expected[:2, 0].tolist()
    assert out["attention"] == [2, source.shape[1]]


def test_export_errors_name_the_argument(tmp_path):
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8)
    with pytest.raises(ValueError, match="start_token.*Received: start_token"):
        rnnzoo.export(model, str(tmp_path / "m"), max_length=4, end_token=2)
    with pytest.raises(ValueError, match="sampler.*Received: sampler=Sample"):
        rnnzoo.export(model, str(tmp_path / "m"), max_length=4, end_token=2,
                      start_token=1, sampler="sample")
    with pytest.raises(ValueError, match="sampler.*Received: sampler='beem'"):
        rnnzoo.export(model, str(tmp_path / "m"), max_length=4, end_token=2,
                      start_token=1, sampler="beem")
    assert not os.path.exists(tmp_path / "m")
    # Overwriting is atomic and leaves no temporary directories behind.
    for sampler in ("greedy", SecondBest()):  # a sampler written in a test
        rnnzoo.export(model, str(tmp_path / "m"), max_length=3, end_token=2,
                      start_token=1, sampler=sampler)
    assert os.listdir(tmp_path) == ["m"]
    assert "saved_model.pb" in os.listdir(tmp_path / "m")
    import tensorflow as tf

    source = np.array([[3, 4, 5], [6, 7, 0]], "int32")
    served = tf.saved_model.load(str(tmp_path / "m"))
    expected = rnnzoo.decode(model, source, sampler=SecondBest(), max_length=3,
                             start_token=1, end_token=2)
    np.testing.assert_array_equal(served.generate(tf.constant(source))["ids"], expected)
    greedy = rnnzoo.decode(model, source, max_length=3, start_token=1, end_token=2)
    assert (expected != greedy).any()
    # Out-of-range ids raise in the SavedModel (they used to wrap or clamp).
    for bad in ([[3, 99, 5]], [[3, -3, 5]]):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"token id in `inputs` to lie in \[0, 12\)"):
            served.generate(tf.constant(bad, tf.int32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="`inputs`"):
            served.encode(tf.constant(bad, tf.int32))
    states = served.encode(tf.constant(source))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"token id in `token` to lie in \[0, 12\)"):
        served.step(tf.constant([1, 12]), *[states[k] for k in sorted(states)
                                            if k.startswith("state")],
                    states["memory"], states["memory_mask"])


def test_onnx_encoder_and_step_decode_in_plain_onnxruntime_like_decode(tmp_path):
    """rnnzoo/decoding/onnx_greedy.py, run with NumPy and onnxruntime only, gives decode's ids."""
    model = trained_reverse_model()
    source, _, expected = reverse_data(40, seed=3)
    folder = rnnzoo.export(model, str(tmp_path / "reverse"), format="onnx")
    assert sorted(os.listdir(folder)) == ["encoder.onnx", "step.onnx"]
    ids = rnnzoo.decode(model, source, max_length=7, start_token=START, end_token=END)
    np.save(tmp_path / "source.npy", source.astype("int32"))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_greedy.py")
    check = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
             "run_name='__main__'); assert 'tensorflow' not in sys.modules "
             "and 'rnnzoo' not in sys.modules")
    done = subprocess.run(
        [sys.executable, "-c", check, script, folder, str(tmp_path / "source.npy"),
         str(tmp_path / "ids.npy"), "7", str(START), str(END)],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy"), ids)
    assert (ids == expected[:, :7]).mean() > 0.9  # the trained model reverses
