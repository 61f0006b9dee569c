import functools
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.decoding import samplers
from rnnzoo.decoding.portable_greedy import open_model
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


PORTABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "portable_greedy.py")
# Runs portable_greedy.py as a script, then checks it imported neither TensorFlow nor rnnzoo.
RUN_PORTABLE = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
                "run_name='__main__'); assert 'tensorflow' not in sys.modules "
                "and 'rnnzoo' not in sys.modules")


def _portable(tmp_path, *args):
    done = subprocess.run([sys.executable, "-c", RUN_PORTABLE, PORTABLE, *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(args[3] if args[0] == "--lm" else args[2])


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_encoder_and_step_files_decode_without_tensorflow_like_decode(tmp_path, fmt):
    """portable_greedy.py, with NumPy and onnxruntime / ai_edge_litert only, gives decode's ids.

    With `max_length`, the folder also holds `generate.<ext>`: the whole
    decoding loop of the sampler (here a beam), equal to `decode`'s.
    """
    model = trained_reverse_model()
    source, _, expected = reverse_data(40, seed=3)
    beam = samplers.Beam(width=3)
    folder = rnnzoo.export(model, str(tmp_path / "reverse"), format=fmt, max_length=7,
                           start_token=START, end_token=END, sampler=beam)
    extension = ".onnx" if fmt == "onnx" else ".tflite"
    assert sorted(os.listdir(folder)) == [p + extension for p in ("encoder", "generate", "step")]
    ids = rnnzoo.decode(model, source, max_length=7, start_token=START, end_token=END)
    np.save(tmp_path / "source.npy", source.astype("int32"))
    got = _portable(tmp_path, folder, tmp_path / "source.npy", tmp_path / "ids.npy", 7, START,
                    END, extension)
    np.testing.assert_array_equal(got, ids)
    assert (ids == expected[:, :7]).mean() > 0.9  # the trained model reverses
    shapes, generate = open_model(os.path.join(folder, "generate" + extension))
    beam_ids, beam_scores = generate({next(iter(shapes)): source.astype("int32")})
    want_ids, want_scores = rnnzoo.decode(model, source, sampler=beam, max_length=7,
                                          start_token=START, end_token=END, return_scores=True)
    np.testing.assert_array_equal(beam_ids, want_ids)
    np.testing.assert_allclose(beam_scores, want_scores, atol=1e-4)


@functools.lru_cache(maxsize=None)
def trained_counting_lm():
    """A language model trained to count: after token k comes k + 1 (3..11), then the end, 2."""
    keras.utils.set_random_seed(0)
    rows = [list(range(first, 12)) + [2] for first in range(3, 11)] * 16
    width = max(len(r) for r in rows)
    ids = np.array([r + [0] * (width - len(r)) for r in rows], "int32")
    lm = rnnzoo.language_model(vocabulary_size=12, units=16, embedding_dim=8, num_layers=2,
                               name="counter")
    lm.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    lm.fit(ids[:, :-1], ids[:, 1:], epochs=40, batch_size=32, verbose=0)
    return lm


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_a_language_models_step_file_continues_prompts_like_decode(tmp_path, fmt):
    lm = trained_counting_lm()
    prompts = np.array([[3, 4, 5], [7, 0, 0], [4, 5, 0], [9, 10, 0]], "int32")
    extension = ".onnx" if fmt == "onnx" else ".tflite"
    path = rnnzoo.export(rnnzoo.decoder_step_model(lm), str(tmp_path / f"step{extension}"),
                         format=fmt)
    ids = rnnzoo.decode(lm, prompts, max_length=8, end_token=2)
    np.testing.assert_array_equal(ids[1, :6], [8, 9, 10, 11, 2, 0])  # it learned to count
    np.save(tmp_path / "prompts.npy", prompts)
    got = _portable(tmp_path, "--lm", path, tmp_path / "prompts.npy", tmp_path / "ids.npy", 8, 2)
    np.testing.assert_array_equal(got, ids)


def test_a_models_forward_call_as_a_saved_model_equals_predict(tmp_path):
    """Not a decoder: `format="saved_model"` serves the forward call (a CRF tagger's tags)."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    ids = np.array([[3, 4, 5, 0], [6, 7, 8, 9]], "int32")
    for name, model in (
            ("classifier", rnnzoo.sequence_classifier(vocabulary_size=12, num_classes=3,
                                                      units=4, pooling="attention")),
            ("crf_tagger", rnnzoo.sequence_tagger(vocabulary_size=12, num_classes=4, units=4,
                                                  crf=True, bidirectional=True))):
        model.get_layer(model.name + "_output").set_weights(
            [w * 10 for w in model.get_layer(model.name + "_output").get_weights()])
        path = rnnzoo.export(model, str(tmp_path / name))
        loaded = tf.saved_model.load(path)  # kept: its variables live as long as it does
        served = loaded.serve(tf.constant(ids)).numpy()
        np.testing.assert_allclose(served, model.predict(ids, verbose=0), atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["classifier", "crf_tagger"]
