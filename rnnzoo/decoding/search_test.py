import functools
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

import rnnzoo
from rnnzoo.decoding import search as decoding

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
    beam = rnnzoo.decode(model, source, method="beam", beam_width=4,
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
    beam = rnnzoo.decode(model, inputs, method="beam", beam_width=1,
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
    for method in ("greedy", "beam"):
        ids, scores = rnnzoo.decode(
            model, source, method=method, beam_width=3, length_penalty=0.0,
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
    cold = rnnzoo.decode(model, source, method="sample", temperature=1e-3,
                         seed=0, max_length=7, start_token=START, end_token=END)
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
# Hand-made step functions with known probabilities (both backends).

# A tree: node 0 is the root, fed the start token. Each node lists the
# probability of every token (ids: 0 pad, 1 end, 2.. symbols) and where each
# token leads. Token 1 (end) leads to node 0, whose row is unused afterwards.
A, B, X, Y, Z = 3, 4, 5, 6, 7


def tree_step(probabilities, transitions):
    probabilities = np.asarray(probabilities, "float32")
    transitions = np.asarray(transitions, "int32")
    vocab = probabilities.shape[1]

    def step_fn(tokens, states, constants):
        (node,) = states
        node = ops.cast(node, "int32")
        flat = ops.take(ops.reshape(transitions, (-1,)), node * vocab + tokens)
        return ops.take(probabilities, flat, axis=0), (ops.cast(flat, "float32"),), None

    return step_fn


def greedy_trap():
    """Greedy takes A (0.6) then X (0.4): 0.24; the best is B X: 0.36."""
    vocab = 8
    probabilities = np.zeros((6, vocab), "float32")
    transitions = np.zeros((6, vocab), "int32")
    # node 0 (root, after start token 1): A 0.6, B 0.4.
    probabilities[1, [A, B]] = [0.6, 0.4]
    transitions[0, START] = 1
    transitions[1, A], transitions[1, B] = 2, 3
    probabilities[2, [X, Y, Z]] = [0.4, 0.35, 0.25]  # after A
    probabilities[3, [X, Y]] = [0.9, 0.1]  # after B
    for node in (2, 3):
        for token in (X, Y, Z):
            transitions[node, token] = 4
    probabilities[4, END] = 1.0  # after two symbols: end
    probabilities[0, END] = 1.0
    return tree_step(probabilities, transitions)


def run_search(search, step_fn, batch=1, **kwargs):
    states = (np.zeros((batch,), "float32"),)
    start = np.full((batch,), START, "int32")
    ids, scores, _ = search(step_fn, states, start, end_token=END, **kwargs)
    return ops.convert_to_numpy(ids), ops.convert_to_numpy(scores)


@pytest.mark.multi_backend
def test_beam_finds_the_known_best_where_greedy_does_not():
    step_fn = greedy_trap()
    greedy_ids, greedy_score = run_search(rnnzoo.greedy_search, step_fn, max_length=5)
    beam_ids, beam_scores = run_search(
        rnnzoo.beam_search, step_fn, max_length=5, beam_width=2, length_penalty=0.0
    )
    assert greedy_ids[0].tolist() == [A, X, END, 0, 0]
    np.testing.assert_allclose(greedy_score[0], math.log(0.24), rtol=1e-5)
    assert beam_ids[0, 0].tolist() == [B, X, END, 0, 0]
    np.testing.assert_allclose(beam_scores[0, 0], math.log(0.36), rtol=1e-5)
    np.testing.assert_allclose(beam_scores[0, 1], math.log(0.24), rtol=1e-5)
    one, _ = run_search(rnnzoo.beam_search, step_fn, max_length=5, beam_width=1)
    np.testing.assert_array_equal(one[:, 0], greedy_ids)


@pytest.mark.multi_backend
def test_length_penalty_ranks_exactly_as_the_gnmt_formula():
    # "A end" (p = 0.5, 2 tokens) against "B X end" (p = 0.475, 3 tokens).
    vocab = 8
    probabilities = np.zeros((5, vocab), "float32")
    transitions = np.zeros((5, vocab), "int32")
    transitions[0, START] = 1
    probabilities[1, [A, B]] = [0.5, 0.5]
    transitions[1, A], transitions[1, B] = 2, 3
    probabilities[2, END] = 1.0
    probabilities[3, [X, Y]] = [0.95, 0.05]
    transitions[3, X] = transitions[3, Y] = 4
    probabilities[4, END] = 1.0
    probabilities[0, END] = 1.0
    step_fn = tree_step(probabilities, transitions)
    short, long = [A, END, 0, 0, 0], [B, X, END, 0, 0]
    flips = set()
    for alpha in (0.0, 0.3, 0.6, 1.0, 2.0):
        ids, scores = run_search(rnnzoo.beam_search, step_fn, max_length=5,
                                 beam_width=2, length_penalty=alpha)
        expected = {
            tuple(short): math.log(0.5) / ((5 + 2) / 6) ** alpha,
            tuple(long): math.log(0.475) / ((5 + 3) / 6) ** alpha,
        }
        order = sorted(expected, key=expected.get, reverse=True)
        assert [tuple(r) for r in ids[0].tolist()] == order
        np.testing.assert_allclose(scores[0], [expected[o] for o in order], rtol=1e-5)
        flips.add(order[0])
    assert flips == {tuple(short), tuple(long)}  # the penalty changes the winner


@pytest.mark.multi_backend
def test_sampling_matches_the_distribution_and_filters():
    step_fn = greedy_trap()
    batch = 2000
    ids, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4, seed=7)
    again, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4, seed=7)
    other, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4, seed=8)
    np.testing.assert_array_equal(ids, again)  # seeded: reproducible
    assert (ids != other).any()
    first = ids[:, 0]
    assert abs((first == A).mean() - 0.6) < 0.05
    assert set(np.unique(ids[first == B, 1])) == {X, Y}
    assert abs((ids[first == B, 1] == X).mean() - 0.9) < 0.05
    top2, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4,
                         seed=7, top_k=2)
    assert set(np.unique(top2[top2[:, 0] == A, 1])) == {X, Y}  # Z filtered out
    nucleus, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch,
                            max_length=4, seed=7, top_p=0.8)
    assert set(np.unique(nucleus[nucleus[:, 0] == B, 1])) == {X}  # 0.9 >= 0.8
    greedy, _ = run_search(rnnzoo.greedy_search, step_fn, batch=batch, max_length=4)
    top1, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4,
                         seed=7, top_k=1)
    np.testing.assert_array_equal(top1, greedy)
    cold, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch, max_length=4,
                         seed=7, temperature=0.01)
    np.testing.assert_array_equal(cold, greedy)
    warm, _ = run_search(rnnzoo.sample_search, step_fn, batch=batch,
                         max_length=4, seed=7, temperature=0.5)
    # P(A) = 0.6^(1/T) / (0.6^(1/T) + 0.4^(1/T)) = 0.69 at T = 0.5.
    assert 0.65 < (warm[:, 0] == A).mean() < 0.74


# ---------------------------------------------------------------------------
# Untrained models of every kind (both backends).


def manual_greedy(model, inputs, max_length, start_token=None):
    """A plain Python loop over the one-step decoder (the reference)."""
    parts = decoding._parts(model)
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
    parts = decoding._parts(model)
    function = next(iter(parts.functions.values()))
    bias = model.get_layer("cached_decoder_output").bias
    value = np.zeros(12, "float32")
    value[7] = 50.0
    bias.assign(value)
    ids = rnnzoo.decode(model, source, **kwargs)
    assert ids.tolist() == [[7, 7, 7, 7]]
    assert decoding._parts(model) is parts
    assert next(iter(parts.functions.values())) is function
    value[7], value[9] = 0.0, 50.0
    bias.assign(value)
    assert rnnzoo.decode(model, source, **kwargs).tolist() == [[9, 9, 9, 9]]


@pytest.mark.multi_backend
def test_num_return_shapes_and_n_best_order():
    keras.utils.set_random_seed(6)
    model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=12,
                           units=8, embedding_dim=8)
    source = np.array([[3, 4, 5, 0], [6, 7, 8, 9]], "int32")
    ids, scores, weights = rnnzoo.decode(
        model, source, method="beam", beam_width=4, num_return=3, max_length=5,
        start_token=START, end_token=END, return_scores=True,
        return_attention=True, coverage_penalty=0.2,
    )
    assert ids.shape == (2, 3, 5) and scores.shape == (2, 3)
    assert weights.shape == (2, 3, 5, 4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    samples = rnnzoo.decode(model, source, method="sample", num_return=5,
                            seed=1, max_length=5, start_token=START, end_token=END)
    assert samples.shape == (2, 5, 5)


@pytest.mark.multi_backend
@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(method="beem"), "method"),
        (dict(max_length=0), "max_length"),
        (dict(num_return=2), "num_return"),
        (dict(method="beam", beam_width=2, num_return=3), "num_return"),
        (dict(method="sample", top_p=1.5), "top_p"),
        (dict(method="sample", temperature=0.0), "temperature"),
        (dict(start_token=None), "start_token"),
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
