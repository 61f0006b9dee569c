import functools
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

import rnnzoo
from rnnzoo.decoding import samplers
from rnnzoo.decoding import search
from rnnzoo.decoding.inference import inference_parts

START, END = 1, 2
VOCAB = 10  # ids 3..9 are symbols


def reverse_data(n, seed, max_len=6):
    """Source ids (right-padded) and reversed target ids ending with END."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, max_len + 1, size=n)
    source = np.zeros((n, max_len), "int32")
    target_in = np.zeros((n, max_len + 1), "int32")
    target_out = np.zeros((n, max_len + 1), "int32")
    for i, length in enumerate(lengths):
        symbols = rng.integers(3, VOCAB, size=length)
        source[i, :length] = symbols
        target_in[i, 0] = START
        target_in[i, 1:length + 1] = symbols[::-1]
        target_out[i, :length] = symbols[::-1]
        target_out[i, length] = END
    return source, target_in, target_out


def build_reverse_model():
    return rnnzoo.seq2seq(
        source_vocabulary_size=VOCAB, target_vocabulary_size=VOCAB,
        embedding_dim=16, units=32, bidirectional=False, attention="luong",
        name="reverse",
    )


# Under `pytest -n 2 --dist loadgroup` this module and export_test.py run on
# one worker, which trains the reverse model once.
pytestmark = pytest.mark.xdist_group("reverse_model")


@functools.lru_cache(maxsize=None)
def trained_reverse_model():
    """A seq2seq trained once per process to reverse sequences (~15 s)."""
    keras.utils.set_random_seed(0)
    model = build_reverse_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy")
    source, target_in, target_out = reverse_data(4000, seed=0)
    model.fit([source, target_in], target_out, batch_size=64, epochs=3, verbose=0)
    return model


@pytest.fixture(scope="module")
def reverse():
    source, _, target_out = reverse_data(200, seed=1)  # held out
    return trained_reverse_model(), source, target_out


# ---------------------------------------------------------------------------
# Trained reverse-a-sequence model (TensorFlow run; JAX checked by the
# cross-backend test).


def test_greedy_and_beam_reverse_held_out_exactly(reverse):
    model, source, expected = reverse
    greedy = rnnzoo.decode(model, source, max_length=7, start_token=START,
                           end_token=END)
    beam = rnnzoo.decode(model, source, sampler=samplers.Beam(width=4),
                         max_length=7, start_token=START, end_token=END)
    np.testing.assert_array_equal(greedy, expected)
    np.testing.assert_array_equal(beam, expected)


def test_beam_width_one_equals_greedy_on_trained_model(reverse):
    model, source, _ = reverse
    # Held-out inputs, then noise the model was not trained on (near-ties).
    noise = np.random.default_rng(5).integers(1, VOCAB, size=source.shape)
    inputs = np.concatenate([source, noise.astype("int32")])
    greedy = rnnzoo.decode(model, inputs, max_length=7, start_token=START,
                           end_token=END)
    beam = rnnzoo.decode(model, inputs, sampler=samplers.Beam(width=1),
                         max_length=7, start_token=START, end_token=END)
    np.testing.assert_array_equal(beam, greedy)


def test_padding_after_end_and_batched_equals_alone(reverse):
    model, source, expected = reverse
    ids = rnnzoo.decode(model, source[:12], max_length=7, start_token=START,
                        end_token=END)
    lengths = (source[:12] != 0).sum(axis=1)
    assert len(set(lengths.tolist())) > 1  # different finished lengths
    for row, length in zip(ids, lengths):
        assert row[length] == END
        assert (row[length + 1:] == 0).all()  # pad_id after the end token
    for i in range(4):
        alone = rnnzoo.decode(model, source[i:i + 1, :lengths[i]], max_length=7,
                              start_token=START, end_token=END)
        np.testing.assert_array_equal(alone[0], ids[i])


def test_scores_match_teacher_forced_log_probabilities(reverse):
    model, source, _ = reverse
    source = source[:8]
    for sampler in (samplers.Greedy(), samplers.Beam(width=3, length_penalty=0.0)):
        ids, scores = rnnzoo.decode(
            model, source, sampler=sampler,
            max_length=7, start_token=START, end_token=END, return_scores=True,
        )
        decoder_in = np.concatenate([np.full((8, 1), START), ids[:, :-1]], axis=1)
        probabilities = np.asarray(model([source, decoder_in]))
        picked = np.take_along_axis(probabilities, ids[..., None], axis=-1)[..., 0]
        expected = np.where(ids != 0, np.log(picked), 0.0).sum(axis=1)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_attention_maps_follow_the_reversal(reverse):
    model, source, _ = reverse
    ids, weights = rnnzoo.decode(model, source[:50], max_length=7,
                                 start_token=START, end_token=END,
                                 return_attention=True)
    assert weights.shape == (50, 7, 6)
    lengths = (source[:50] != 0).sum(axis=1)
    hits = total = 0
    for row, length in enumerate(lengths):
        w = weights[row]
        np.testing.assert_allclose(w[:length + 1].sum(axis=1), 1.0, atol=1e-5)
        assert (np.abs(w[:, length:]) < 1e-6).all()  # padded source positions
        assert not w[length + 1:].any()  # after the end token
        # Output step i copies source position length - 1 - i.
        hits += sum(int(np.argmax(w[i]) == length - 1 - i) for i in range(length))
        total += length
    assert hits / total > 0.9


def test_temperature_to_zero_approaches_greedy_on_trained_model(reverse):
    model, source, _ = reverse
    greedy = rnnzoo.decode(model, source, max_length=7, start_token=START,
                           end_token=END)
    cold = rnnzoo.decode(model, source,
                         sampler=samplers.Sample(temperature=1e-3, seed=0),
                         max_length=7, start_token=START, end_token=END)
    np.testing.assert_array_equal(cold, greedy)


def test_tensorflow_and_jax_decode_the_same_ids(reverse, tmp_path):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("runs from the TensorFlow pass; it starts the JAX process")
    model, source, expected = reverse
    weights = str(tmp_path / "reverse.weights.h5")
    model.save_weights(weights)
    inputs = str(tmp_path / "source.npy")
    np.save(inputs, source)
    greedy = rnnzoo.decode(model, source, max_length=7, start_token=START,
                           end_token=END)
    code = (
        "import json, numpy as np, rnnzoo\n"
        "from rnnzoo.decoding.search_test import build_reverse_model\n"
        "m = build_reverse_model()\n"
        f"m.load_weights({weights!r})\n"
        f"x = np.load({inputs!r})\n"
        "g = rnnzoo.decode(m, x, max_length=7, start_token=1, end_token=2)\n"
        "print(json.dumps(g.tolist()))\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    jax_greedy = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.array(jax_greedy), greedy)
    np.testing.assert_array_equal(greedy, expected)  # and both reverse exactly


# ---------------------------------------------------------------------------
# Untrained models of every kind (both backends).


def manual_greedy(model, inputs, max_length, start_token=None):
    """A plain Python loop over the one-step decoder (the reference)."""
    parts = inference_parts(model)
    if parts.is_language_model:
        batch = inputs.shape[0]
        states = [np.zeros((batch, *s), "float32") for s in parts.state_shapes]
        for t in range(inputs.shape[1] - 1):
            outputs = parts.step([inputs[:, t:t + 1], *states])
            states = [np.asarray(s) for s in outputs[1:1 + parts.num_states]]
        token, constants = inputs[:, -1], []
    else:
        outputs = [np.asarray(o) for o in parts.encoder(inputs)]
        constants = outputs[:len(outputs) - parts.num_states]
        states = outputs[len(outputs) - parts.num_states:]
        token = np.full((inputs.shape[0],), start_token, "int32")
    result = []
    for _ in range(max_length):
        outputs = parts.step([token[:, None].astype("int32"), *states, *constants])
        probabilities = np.asarray(outputs[0]).copy()
        probabilities[:, 0] = 0.0
        token = probabilities.argmax(axis=-1)
        states = [np.asarray(s) for s in outputs[1:1 + parts.num_states]]
        result.append(token)
    return np.stack(result, axis=1)


def kind_and_inputs(kind):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    if kind == "sequence_generator":
        model = rnnzoo.sequence_generator(
            vocabulary_size=12, feature_grid_shape=(5, 6), units=16, cell="gru",
            embedding_dim=8,
        )
        return model, rng.normal(size=(4, 5, 6)).astype("float32")
    if kind == "language_model":
        model = rnnzoo.language_model(vocabulary_size=12, units=16, num_layers=2,
                                      embedding_dim=8)
        return model, rng.integers(1, 12, size=(4, 4)).astype("int32")
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8, attention="bahdanau")
    return model, rng.integers(1, 12, size=(4, 5)).astype("int32")


# The JAX pass runs the generator only: the language model and seq2seq paths
# run there in the prompt, cache and n-best tests and the TF-vs-JAX test.
@pytest.mark.parametrize("kind", [
    pytest.param("sequence_generator", marks=pytest.mark.multi_backend),
    "language_model",
    "seq2seq",
])
def test_every_model_kind_equals_a_python_step_loop(kind):
    model, inputs = kind_and_inputs(kind)
    ids = rnnzoo.decode(model, inputs, max_length=6, start_token=START,
                        end_token=-1)
    np.testing.assert_array_equal(ids, manual_greedy(model, inputs, 6, START))


@pytest.mark.multi_backend
def test_prompts_of_different_lengths_equal_each_alone():
    keras.utils.set_random_seed(4)
    lm = rnnzoo.language_model(vocabulary_size=15, units=16, embedding_dim=8)
    prompts = np.array([[3, 4, 5, 6], [7, 8, 0, 0], [9, 0, 0, 0]], "int32")
    batched = rnnzoo.decode(lm, prompts, max_length=5, end_token=-1)
    for row, prompt in zip(batched, prompts):
        alone = rnnzoo.decode(lm, prompt[prompt != 0][None], max_length=5,
                              end_token=-1)
        np.testing.assert_array_equal(alone[0], row)


@pytest.mark.multi_backend
def test_inference_parts_built_once_and_current_weights_used():
    keras.utils.set_random_seed(5)
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8, name="cached")
    source = np.array([[3, 4, 5]], "int32")
    kwargs = dict(max_length=4, start_token=START, end_token=-1)
    rnnzoo.decode(model, source, **kwargs)
    parts = inference_parts(model)
    function = next(iter(parts.functions.values()))
    bias = model.get_layer("cached_decoder_output").bias
    value = np.zeros(12, "float32")
    value[7] = 50.0
    bias.assign(value)
    ids = rnnzoo.decode(model, source, **kwargs)
    assert ids.tolist() == [[7, 7, 7, 7]]
    assert inference_parts(model) is parts
    assert next(iter(parts.functions.values())) is function
    value[7], value[9] = 0.0, 50.0
    bias.assign(value)
    assert rnnzoo.decode(model, source, **kwargs).tolist() == [[9, 9, 9, 9]]
    # The variable lists are kept between calls. Freezing a layer after a
    # decode moves its variables to the non-trainable list; the next decode
    # lists them again, so a function traced anew (here: a longer source,
    # another length bucket on JAX) maps every value to its variable.
    model.get_layer("cached_decoder_output").trainable = False
    longer = np.array([[3, 4, 5, 6, 7, 8, 9, 10, 11]], "int32")
    for step, token in enumerate((4, 6)):
        value[:] = 0.0
        value[token] = 50.0
        bias.assign(value)
        assert rnnzoo.decode(model, longer, **kwargs).tolist() == [[token] * 4], step
        assert rnnzoo.decode(model, source, **kwargs).tolist() == [[token] * 4], step


def test_compile_cache_is_keyed_by_the_sampler_config():
    keras.utils.set_random_seed(5)
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8, name="keyed")
    kwargs = dict(max_length=4, start_token=START, end_token=END)

    def function(sampler, **settings):
        return search.decoding_function(model, sampler, **{**kwargs, **settings})

    beam = function(samplers.Beam(width=2))
    assert function(samplers.Beam(width=2)) is beam  # an equal sampler
    assert function({"class_name": "Beam", "config": {"width": 2}}) is beam
    assert function(samplers.Beam(width=3)) is not beam
    assert function(samplers.Beam(width=2, length_penalty=0.0)) is not beam
    assert function("greedy") is function(samplers.Greedy())
    assert function("greedy") is not function("greedy", max_length=5)
    sample = function(samplers.Sample(seed=1))
    assert function(samplers.Sample(seed=2)) is sample  # the seed is an input
    assert function(samplers.Sample(seed=1, top_k=3)) is not sample
    assert len(inference_parts(model).functions) == 7
    source = np.array([[3, 4, 5]], "int32")
    one = rnnzoo.decode(model, source, sampler=samplers.Sample(seed=1), **kwargs)
    two = rnnzoo.decode(model, source, sampler=samplers.Sample(seed=1), **kwargs)
    np.testing.assert_array_equal(one, two)
    assert len(inference_parts(model).functions) == 7


@pytest.mark.multi_backend
def test_num_return_shapes_and_n_best_order():
    keras.utils.set_random_seed(6)
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8)
    source = np.array([[3, 4, 5, 0], [6, 7, 8, 9]], "int32")
    ids, scores, weights = rnnzoo.decode(
        model, source, sampler=samplers.Beam(width=4, coverage_penalty=0.2),
        num_return=3, max_length=5, start_token=START, end_token=END,
        return_scores=True, return_attention=True,
    )
    assert ids.shape == (2, 3, 5) and scores.shape == (2, 3)
    assert weights.shape == (2, 3, 5, 4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    samples = rnnzoo.decode(model, source, sampler=samplers.Sample(seed=1),
                            num_return=5, max_length=5, start_token=START,
                            end_token=END)
    assert samples.shape == (2, 5, 5)


@pytest.mark.multi_backend
@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(sampler="beem"), "sampler"),
        (dict(sampler=samplers.Beam), "sampler"),
        (dict(max_length=0), "max_length"),
        (dict(num_return=2), "num_return"),
        (dict(sampler=samplers.Beam(width=2), num_return=3), "num_return"),
        (dict(sampler=samplers.Beam(width=13)), "width"),
        (dict(sampler=samplers.Beam(coverage_penalty=0.5)), "coverage_penalty"),
        (dict(start_token=None), "start_token"),
        (dict(end_token="2"), "end_token"),
        (dict(return_attention=True), "return_attention"),
    ],
)
def test_errors_name_the_argument(kwargs, arg):
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8, attention=None, name="plain")
    call = dict(max_length=4, start_token=START, end_token=END)
    call.update(kwargs)
    with pytest.raises(ValueError, match=f"{arg}.*Received: {arg}"):
        rnnzoo.decode(model, np.array([[3, 4]]), **call)


def test_old_keywords_are_gone():
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8)
    for old in (dict(method="beam"), dict(beam_width=2), dict(temperature=0.5)):
        with pytest.raises(TypeError, match=next(iter(old))):
            rnnzoo.decode(model, np.array([[3, 4]]), max_length=4,
                          start_token=START, end_token=END, **old)


def test_bad_token_ids_raise_naming_the_argument_instead_of_wrapping():
    """Out-of-vocabulary source ids, float ids and out-of-range start/end tokens (issue #18)."""
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12, units=8)
    source = np.array([[3, 4, 5, 0]], "int32")
    with pytest.raises(ValueError, match=r"\[0, 12\) \(model input .*Received: 99 at inputs\[0, 1\]"):
        rnnzoo.decode(model, np.array([[3, 99]]), max_length=4, start_token=1, end_token=2)
    with pytest.raises(ValueError, match=r"Received: -3 at inputs\[0, 0\]"):
        rnnzoo.decode(model, np.array([[-3, 4]]), max_length=4, start_token=1, end_token=2)
    with pytest.raises(ValueError, match="integer token ids.*Received: inputs with dtype=float"):
        rnnzoo.decode(model, source.astype("float32"), max_length=4, start_token=1,
                      end_token=2)
    with pytest.raises(ValueError, match=r"start_token.*\[0, 12\).*Received: start_token=50"):
        rnnzoo.decode(model, source, max_length=4, start_token=50, end_token=2)
    with pytest.raises(ValueError, match=r"end_token.*Received: end_token=12"):
        rnnzoo.decode(model, source, max_length=4, start_token=1, end_token=12)
    lm = rnnzoo.language_model(vocabulary_size=30, units=8, num_layers=1)
    with pytest.raises(ValueError, match=r"\[0, 30\).*Received: 40 at inputs\[0, 1\]"):
        rnnzoo.decode(lm, np.array([[3, 40]]), max_length=3, end_token=2)
    # In range: decodes (end_token -1 never ends a sequence).
    assert rnnzoo.decode(model, source, max_length=4, start_token=11, end_token=-1).shape == (1, 4)
