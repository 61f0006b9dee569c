"""The CRF against brute-force enumeration of every tag sequence (float64 numpy)."""

import itertools

import keras
import numpy as np
import pytest

from rnnzoo.layers.crf import CRF
from rnnzoo.layers.crf import crf_decode
from rnnzoo.layers.crf import crf_log_likelihood
from rnnzoo.layers.layer_test_case import SAME
from rnnzoo.layers.layer_test_case import run_layer_test

RNG = np.random.default_rng(0)


def _problem(num_tags=3, lengths=(5, 3, 1, 0)):
    """Random potentials, tags, transitions, start/end scores and a right-padded mask."""
    batch, time = len(lengths), max(lengths)
    potentials = RNG.normal(size=(batch, time, num_tags))
    transitions = RNG.normal(size=(num_tags, num_tags))
    start, end = RNG.normal(size=num_tags), RNG.normal(size=num_tags)
    tags = RNG.integers(0, num_tags, size=(batch, time))
    mask = np.arange(time)[None] < np.array(lengths)[:, None]
    return potentials, tags, transitions, mask, start, end


def _score(p, y, transitions, start, end):
    return (start[y[0]] + sum(p[t, y[t]] for t in range(len(y)))
            + sum(transitions[y[t - 1], y[t]] for t in range(1, len(y))) + end[y[-1]])


def brute_force(potentials, tags, transitions, mask, start, end):
    """Log-likelihoods, best paths and best scores by enumerating every sequence."""
    num_tags = potentials.shape[-1]
    lls, paths, bests = [], [], []
    for p, y, m in zip(potentials, tags, mask):
        n = int(m.sum())
        if n == 0:
            lls.append(0.0), paths.append([0] * len(m)), bests.append(0.0)
            continue
        scores = {seq: _score(p, seq, transitions, start, end)
                  for seq in itertools.product(range(num_tags), repeat=n)}
        log_z = np.logaddexp.reduce(list(scores.values()))
        lls.append(_score(p, tuple(y[:n]), transitions, start, end) - log_z)
        best = max(scores, key=scores.get)
        paths.append(list(best) + [0] * (len(m) - n))
        bests.append(scores[best])
    return np.array(lls), np.array(paths), np.array(bests)


def _f32(*arrays):
    return [np.asarray(a, "float32") for a in arrays]


@pytest.mark.multi_backend
@pytest.mark.parametrize("num_tags", [3, 4])
def test_likelihood_and_viterbi_equal_brute_force_with_padding(num_tags):
    potentials, tags, transitions, mask, start, end = _problem(num_tags)
    expected_ll, expected_tags, expected_best = brute_force(
        potentials, tags, transitions, mask, start, end)
    p, tr, s, e = _f32(potentials, transitions, start, end)
    ll = keras.ops.convert_to_numpy(crf_log_likelihood(p, tags, tr, mask, s, e))
    np.testing.assert_allclose(ll, expected_ll, atol=1e-4)
    assert (ll <= 1e-6).all() and ll[-1] == 0.0  # the empty row scores 0
    decoded, best = crf_decode(p, tr, mask, s, e)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(decoded), expected_tags)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(best), expected_best, atol=1e-4)
    # Padded steps change nothing: other potentials and tags there, same results.
    changed_p = np.where(mask[..., None], p, 9.0).astype("float32")
    changed_tags = np.where(mask, tags, (tags + 1) % num_tags)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(
        crf_log_likelihood(changed_p, changed_tags, tr, mask, s, e)), ll, atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(
        crf_decode(changed_p, tr, mask, s, e)[0]), expected_tags)
    # Without start/end scores and mask: every step real, zero boundary scores.
    zeros = np.zeros(num_tags)
    full = np.ones_like(mask)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(crf_log_likelihood(p, tags, tr)),
        brute_force(potentials, tags, transitions, full, zeros, zeros)[0], atol=1e-4)


@pytest.mark.multi_backend
def test_gradients_equal_finite_differences_of_brute_force():
    potentials, tags, transitions, mask, start, end = _problem(3, lengths=(4, 2))

    def total(p, tr):  # float64 reference
        return brute_force(p, tags, tr, mask, start, end)[0].sum()

    eps = 1e-6
    numeric_p = np.zeros_like(potentials)
    for index in np.ndindex(potentials.shape):
        step = np.zeros_like(potentials)
        step[index] = eps
        numeric_p[index] = (total(potentials + step, transitions)
                            - total(potentials - step, transitions)) / (2 * eps)
    numeric_t = np.zeros_like(transitions)
    for index in np.ndindex(transitions.shape):
        step = np.zeros_like(transitions)
        step[index] = eps
        numeric_t[index] = (total(potentials, transitions + step)
                            - total(potentials, transitions - step)) / (2 * eps)

    p, tr, s, e = _f32(potentials, transitions, start, end)
    if keras.backend.backend() == "jax":
        import jax

        grad_p, grad_t = jax.grad(
            lambda p, tr: crf_log_likelihood(p, tags, tr, mask, s, e).sum(),
            argnums=(0, 1))(p, tr)
    else:
        import tensorflow as tf

        p, tr = tf.constant(p), tf.constant(tr)
        with tf.GradientTape() as tape:
            tape.watch([p, tr])
            total_ll = tf.reduce_sum(crf_log_likelihood(p, tags, tr, mask, s, e))
        grad_p, grad_t = tape.gradient(total_ll, [p, tr])
    np.testing.assert_allclose(np.asarray(grad_p), numeric_p, atol=1e-4)
    np.testing.assert_allclose(np.asarray(grad_t), numeric_t, atol=1e-4)
    assert np.all(np.asarray(grad_p)[~mask] == 0)  # padded steps get no gradient


@pytest.mark.multi_backend
def test_crf_layer_shared_checks(tmp_path):
    potentials = RNG.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    # The layer's output is its input in float32 (the loss and decoding use
    # its weights), so the generic training step is left to the model tests.
    run_layer_test(
        CRF, {}, potentials, call_kwargs=dict(mask=mask), expected_output_shape=(3, 5, 4),
        expected_num_trainable_weights=3, supports_masking=True, input_mask=mask,
        expected_output_mask=SAME, mask_changes_output=False,
        mixed_precision_dtypes="float32", run_training_step=False, tmp_path=tmp_path)
    layer = CRF()
    layer(potentials)
    layer.transitions.assign(RNG.normal(size=(4, 4)).astype("float32"))
    tags, scores = layer.decode(potentials, mask)
    expected = brute_force(potentials.astype("float64"), np.zeros((3, 5), int),
                           keras.ops.convert_to_numpy(layer.transitions).astype("float64"),
                           mask, np.zeros(4), np.zeros(4))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(tags), expected[1])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), expected[2], atol=1e-4)
    with pytest.raises(ValueError, match="Received: input_shape"):
        CRF().build((2, 3, None))
