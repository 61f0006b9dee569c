import math

import keras
import numpy as np
import pytest
from keras import ops

import rnnzoo
from rnnzoo.decoding import samplers
from rnnzoo.decoding.inference import inference_parts

START, END = 1, 2

# ---------------------------------------------------------------------------
# Hand-made step functions with known probabilities (both backends).

# A tree: node 0 is the root, fed the start token. Each node lists the
# probability of every token (ids: 0 pad, 1 start, 2 end, 3.. symbols) and
# where each token leads.
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


def run_search(sampler, step_fn, batch=1, **kwargs):
    """`(ids, scores)` of a sampler on a step function, as NumPy: one
    sequence per example `(batch, max_length)`, or the n-best with
    `num_return`."""
    states = (np.zeros((batch,), "float32"),)
    start = np.full((batch,), START, "int32")
    ids, scores, _ = sampler(step_fn, states, start, end_token=END, **kwargs)
    ids, scores = ops.convert_to_numpy(ids), ops.convert_to_numpy(scores)
    if "num_return" not in kwargs:
        ids, scores = ids[:, 0], scores[:, 0]
    return ids, scores


@pytest.mark.multi_backend
def test_beam_finds_the_known_best_where_greedy_does_not():
    step_fn = greedy_trap()
    greedy_ids, greedy_score = run_search(samplers.Greedy(), step_fn, max_length=5)
    beam_ids, beam_scores = run_search(
        samplers.Beam(width=2, length_penalty=0.0), step_fn, max_length=5,
        num_return=2,
    )
    assert greedy_ids[0].tolist() == [A, X, END, 0, 0]
    np.testing.assert_allclose(greedy_score[0], math.log(0.24), rtol=1e-5)
    assert beam_ids[0, 0].tolist() == [B, X, END, 0, 0]
    np.testing.assert_allclose(beam_scores[0, 0], math.log(0.36), rtol=1e-5)
    np.testing.assert_allclose(beam_scores[0, 1], math.log(0.24), rtol=1e-5)
    one, _ = run_search(samplers.Beam(width=1), step_fn, max_length=5)
    np.testing.assert_array_equal(one, greedy_ids)


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
        ids, scores = run_search(samplers.Beam(width=2, length_penalty=alpha),
                                 step_fn, max_length=5, num_return=2)
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

    def sample(**settings):
        return run_search(samplers.Sample(**settings), step_fn, batch=batch,
                          max_length=4, seed=settings.get("seed", 7))[0]

    ids = sample(seed=7)
    np.testing.assert_array_equal(ids, sample(seed=7))  # seeded: reproducible
    assert (ids != sample(seed=8)).any()
    first = ids[:, 0]
    assert abs((first == A).mean() - 0.6) < 0.05
    assert set(np.unique(ids[first == B, 1])) == {X, Y}
    assert abs((ids[first == B, 1] == X).mean() - 0.9) < 0.05
    top2 = sample(top_k=2)
    assert set(np.unique(top2[top2[:, 0] == A, 1])) == {X, Y}  # Z filtered out
    nucleus = sample(top_p=0.8)
    assert set(np.unique(nucleus[nucleus[:, 0] == B, 1])) == {X}  # 0.9 >= 0.8
    greedy, _ = run_search(samplers.Greedy(), step_fn, batch=batch, max_length=4)
    np.testing.assert_array_equal(sample(top_k=1), greedy)
    np.testing.assert_array_equal(sample(temperature=0.01), greedy)
    warm = sample(temperature=0.5)
    # P(A) = 0.6^(1/T) / (0.6^(1/T) + 0.4^(1/T)) = 0.69 at T = 0.5.
    assert 0.65 < (warm[:, 0] == A).mean() < 0.74


@pytest.mark.multi_backend
def test_num_return_samples_each_input_independently():
    step_fn = greedy_trap()
    ids, scores = run_search(samplers.Sample(), step_fn, batch=3, max_length=4,
                             num_return=400, seed=1)
    assert ids.shape == (3, 400, 4) and scores.shape == (3, 400)
    for row in ids:  # every input gets both first tokens, in proportion
        assert abs((row[:, 0] == A).mean() - 0.6) < 0.1
    expected = np.where(ids[..., 0] == A, math.log(0.6), math.log(0.4))
    probabilities = {(A, X): 0.4, (A, Y): 0.35, (A, Z): 0.25, (B, X): 0.9, (B, Y): 0.1}
    expected += np.log([[probabilities[(a, b)] for a, b in r] for r in ids[..., :2]])
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


# ---------------------------------------------------------------------------
# A sampler written here: only `get_next_token`, run in decode's compiled loop.


class SecondBest(samplers.Sampler):
    """Always the second most likely token (the pad id never counts)."""

    def get_next_token(self, probabilities, step, seed):
        return ops.top_k(probabilities, 2)[1][:, 1]


def numpy_second_best(model, source, max_length):
    """The reference: a NumPy loop over the one-step decoder."""
    parts = inference_parts(model)
    memory, mask, *states = [np.asarray(o) for o in parts.encoder(source)]
    token = np.full((len(source),), START, "int32")
    ids = np.zeros((len(source), max_length), "int32")
    scores = np.zeros(len(source))
    done = np.zeros(len(source), bool)
    for t in range(max_length):
        outputs = [np.asarray(o) for o in
                   parts.step([token[:, None], *states, memory, mask])]
        probabilities = outputs[0].astype("float64")
        probabilities[:, 0] = 0.0
        choice = np.argsort(-probabilities, axis=1, kind="stable")[:, 1]
        ids[:, t] = np.where(done, 0, choice)
        scores += np.where(done, 0.0, np.log(outputs[0][np.arange(len(choice)), choice]))
        new_states = outputs[1:1 + len(states)]
        states = [np.where(done[:, None], s, n) for s, n in zip(states, new_states)]
        done |= choice == END
        token = choice.astype("int32")
    return ids, scores


@pytest.mark.multi_backend
def test_a_sampler_written_here_decodes_in_the_compiled_loop():
    keras.utils.set_random_seed(8)
    model = rnnzoo.seq2seq(source_vocabulary_size=10, target_vocabulary_size=10,
                           units=8, embedding_dim=8, attention="luong",
                           name="second")
    # Make the end token the second choice at the first step of some rows:
    # a large end-token bias under a larger bias on token 5.
    bias = model.get_layer("second_decoder_output").bias
    value = np.zeros(10, "float32")
    value[5], value[END] = 3.0, 2.9
    bias.assign(value)
    source = np.random.default_rng(8).integers(1, 10, size=(6, 5)).astype("int32")
    source[0, 3:] = 0
    ids, scores = rnnzoo.decode(model, source, sampler=SecondBest(),
                                max_length=6, start_token=START, end_token=END,
                                return_scores=True)
    expected_ids, expected_scores = numpy_second_best(model, source, 6)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-4, atol=1e-4)
    assert (ids == END).any() and (ids != END).any()  # both paths taken
    forbidden = rnnzoo.decode(model, source, sampler=Forbid([5, END]),
                              max_length=6, start_token=START, end_token=END)
    assert not np.isin(forbidden, [0, 5, END]).any()
    keys = [key[0][0] for key in inference_parts(model).functions]
    assert keys == [SecondBest, Forbid]  # one compiled function per class


# ---------------------------------------------------------------------------
# Settings: config round trip, errors, cache key.


@keras.saving.register_keras_serializable(package="rnnzoo_test")
class Forbid(samplers.Sampler):
    """Greedy with some tokens forbidden (keras-hub's custom example)."""

    def __init__(self, tokens=()):
        self.tokens = [int(t) for t in tokens]

    def get_next_token(self, probabilities, step, seed):
        hit = np.isin(np.arange(probabilities.shape[-1]), self.tokens)
        return ops.argmax(ops.where(hit, 0.0, probabilities), axis=-1)

    def get_config(self):
        return {"tokens": self.tokens}


@pytest.mark.parametrize("sampler", [
    samplers.Greedy(),
    samplers.Beam(width=3, length_penalty=1.0, coverage_penalty=0.2),
    samplers.Sample(temperature=0.7, top_k=5, top_p=0.9, seed=3),
    samplers.Sample(),
    Forbid(tokens=[3, 4]),
])
def test_config_round_trip(sampler):
    config = sampler.get_config()
    again = type(sampler).from_config(config)
    assert type(again) is type(sampler) and again.get_config() == config
    restored = samplers.get(samplers.serialize(sampler))
    assert type(restored) is type(sampler) and restored.get_config() == config
    assert restored.cache_key() == sampler.cache_key()
    assert repr(again) == repr(sampler)


def test_get_takes_shortcuts_configs_and_objects():
    assert samplers.get("greedy").get_config() == {}
    assert samplers.get("beam").get_config() == {
        "width": 4, "length_penalty": 0.6, "coverage_penalty": 0.0}
    assert samplers.get("sample").get_config() == {
        "temperature": 1.0, "top_k": None, "top_p": None, "seed": None}
    beam = samplers.Beam(width=2)
    assert samplers.get(beam) is beam
    short = samplers.get({"class_name": "Beam", "config": {"width": 8}})
    assert isinstance(short, samplers.Beam) and short.width == 8
    unregistered = SecondBest()
    config = samplers.serialize(unregistered)
    with pytest.raises(ValueError, match="register.*Received: sampler=.*SecondBest"):
        samplers.get(config)
    restored = samplers.deserialize(config, custom_objects={"SecondBest": SecondBest})
    assert isinstance(restored, SecondBest)


@pytest.mark.parametrize("make, arg", [
    (lambda: samplers.Beam(width=0), "width"),
    (lambda: samplers.Beam(width=2.0), "width"),
    (lambda: samplers.Beam(length_penalty=-0.1), "length_penalty"),
    (lambda: samplers.Beam(coverage_penalty="0.2"), "coverage_penalty"),
    (lambda: samplers.Sample(temperature=0.0), "temperature"),
    (lambda: samplers.Sample(temperature=True), "temperature"),
    (lambda: samplers.Sample(top_k=0), "top_k"),
    (lambda: samplers.Sample(top_p=0.0), "top_p"),
    (lambda: samplers.Sample(top_p=1.5), "top_p"),
    (lambda: samplers.Sample(seed=1.5), "seed"),
    (lambda: samplers.get("beem"), "sampler"),
    (lambda: samplers.get(3), "sampler"),
    (lambda: samplers.get({"class_name": "Beam", "config": {"width": -1}}), "width"),
])
def test_bad_settings_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=f"Expected `{arg}`.*Received: {arg}="):
        make()


def test_check_bounds_num_return_and_beam_width():
    with pytest.raises(ValueError, match="num_return.*Received: num_return=2"):
        samplers.Greedy().check(num_return=2, vocabulary_size=9, has_attention=True)
    beam = samplers.Beam(width=3, coverage_penalty=0.1)
    beam.check(num_return=3, vocabulary_size=9, has_attention=True)
    with pytest.raises(ValueError, match="num_return.*Received: num_return=4"):
        beam.check(num_return=4, vocabulary_size=9, has_attention=True)
    with pytest.raises(ValueError, match="width.*Received: width=3"):
        beam.check(num_return=1, vocabulary_size=2, has_attention=True)
    with pytest.raises(ValueError, match="Received: coverage_penalty=0.1"):
        beam.check(num_return=1, vocabulary_size=9, has_attention=False)
    assert beam.needs_attention and not samplers.Beam().needs_attention
    samplers.Sample().check(num_return=50, vocabulary_size=9, has_attention=False)


def test_base_class_needs_get_next_token():
    with pytest.raises(NotImplementedError, match="get_next_token"):
        samplers.Sampler().get_next_token(np.ones((1, 3)), 0, 0)


def test_cache_key_differs_by_setting_and_ignores_the_seed():
    keys = {
        samplers.Greedy().cache_key(),
        samplers.Beam().cache_key(),
        samplers.Beam(width=2).cache_key(),
        samplers.Beam(length_penalty=0.0).cache_key(),
        samplers.Sample().cache_key(),
        samplers.Sample(top_k=3).cache_key(),
        SecondBest().cache_key(),
        Forbid([3]).cache_key(),
        Forbid([4]).cache_key(),
    }
    assert len(keys) == 9
    assert samplers.Beam(width=2).cache_key() == samplers.Beam(width=np.int64(2)).cache_key()
    assert samplers.Sample(temperature=1).cache_key() == samplers.Sample().cache_key()
    assert samplers.Sample(seed=1).cache_key() == samplers.Sample(seed=2).cache_key()
    assert samplers.Sample(seed=5).seed_value() == 5
    assert samplers.Greedy().seed_value() == 0
    draws = {samplers.Sample().seed_value() for _ in range(5)}
    assert len(draws) > 1  # seed=None: a new seed per call
