"""PinballLoss, DistributionNLL, distribution_quantiles: hand values, recovery, serialisation."""

import math

import keras
import numpy as np
import pytest
from scipy import stats

from rnnzoo.losses import DistributionNLL
from rnnzoo.losses import PinballLoss
from rnnzoo.losses import _lgamma
from rnnzoo.losses import distribution_quantiles


@pytest.mark.multi_backend
def test_pinball_equals_a_hand_computation():
    y = np.array([[1.0, 2.0], [0.0, -1.0]], "float32")  # (batch 2, horizon 2)
    pred = np.array([[[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]],
                     [[-1.0, 0.5, 1.0], [-2.0, -1.5, 0.0]]], "float32")
    q = (0.1, 0.5, 0.9)
    hand = np.mean([[np.mean([max(qk * (y[b, h] - pred[b, h, k]),
                                  (qk - 1) * (y[b, h] - pred[b, h, k]))
                              for k, qk in enumerate(q)]) for h in range(2)]
                    for b in range(2)])
    loss = float(PinballLoss(q)(y, pred))
    assert loss == pytest.approx(hand, rel=1e-6)
    # first value by hand: y=1 over 0 (q .1: .1), under 1 (q .5: 0), under 3 (q .9: .2)
    assert float(PinballLoss(q)(y[:1, :1], pred[:1, :1])) == pytest.approx(0.1, rel=1e-6)
    # targets with a trailing axis of 1 are the same targets
    assert float(PinballLoss(q)(y[..., None], pred)) == pytest.approx(loss, rel=1e-6)
    # weights: the weighted mean over the levels; only the median -> half the MAE
    only_median = float(PinballLoss(q, weights=(0, 1, 0))(y, pred))
    assert only_median == pytest.approx(0.5 * np.mean(np.abs(y - pred[..., 1])), rel=1e-6)
    heavy = float(PinballLoss(q, weights=(1, 3, 1))(y, pred))
    per_level = [float(PinballLoss(q, weights=w)(y, pred))
                 for w in ((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    assert heavy == pytest.approx(np.dot([1, 3, 1], per_level) / 5, rel=1e-6)
    with pytest.raises(ValueError, match="Received: weights=.*1.0, 2.0"):
        PinballLoss(q, weights=(1, 2))


def test_minimising_pinball_recovers_the_quantiles_of_a_known_distribution():
    """GENERATED data: y ~ Exponential(1) (skewed); a constant model learns its quantiles."""
    rng = np.random.default_rng(0)
    y = rng.exponential(1.0, size=(4096, 1)).astype("float32")
    levels = (0.1, 0.5, 0.9)
    inputs = keras.Input((1,))
    raw = keras.layers.Dense(3, kernel_initializer="zeros")(inputs)
    model = keras.Model(inputs, raw)
    model.compile(keras.optimizers.Adam(0.05), loss=PinballLoss(levels))
    model.fit(np.ones((4096, 1), "float32"), y, batch_size=512, epochs=60, verbose=0)
    learned = keras.ops.convert_to_numpy(model(np.ones((1, 1), "float32")))[0]
    truth = stats.expon.ppf(levels)  # 0.105, 0.693, 2.303
    # Tolerance: the sample quantiles of 4096 draws spread by ~0.03-0.06 (binomial).
    np.testing.assert_allclose(learned, truth, atol=0.1)


@pytest.mark.multi_backend
def test_normal_and_student_t_nll_equal_scipy():
    y = np.array([[0.3], [-2.0], [5.0]], "float32")
    normal = np.array([[[0.0, 1.0]], [[1.0, 0.5]], [[2.0, 3.0]]], "float32")
    expected = -stats.norm.logpdf(y[..., 0], normal[..., 0, 0], normal[..., 0, 1])
    got = keras.ops.convert_to_numpy(DistributionNLL("normal", reduction=None)(y, normal))
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-5)
    t = np.array([[[0.0, 1.0, 2.5]], [[1.0, 0.5, 4.0]], [[2.0, 3.0, 30.0]]], "float32")
    expected = -stats.t.logpdf(y[..., 0], t[..., 0, 2], t[..., 0, 0], t[..., 0, 1])
    got = keras.ops.convert_to_numpy(DistributionNLL("student_t", reduction=None)(y, t))
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-5)


def test_lgamma_equals_math_lgamma():
    x = np.array([0.5, 1.0, 1.5, 2.0, 3.7, 10.0, 55.0, 400.0], "float32")
    got = keras.ops.convert_to_numpy(_lgamma(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(got, [math.lgamma(v) for v in x], atol=2e-5, rtol=1e-6)


def test_distribution_quantiles_equal_scipy_and_increase():
    p = np.array([[1.0, 2.0], [0.0, 0.5]])
    q = distribution_quantiles(p, (0.1, 0.5, 0.9), "normal")
    np.testing.assert_allclose(q[0], stats.norm.ppf([0.1, 0.5, 0.9], 1.0, 2.0))
    t = distribution_quantiles(np.array([[0.0, 1.0, 3.0]]), (0.025, 0.975), "student_t")
    np.testing.assert_allclose(t[0], [-3.182446, 3.182446], rtol=1e-5)  # t(3) table
    assert np.all(np.diff(q, axis=-1) > 0)
    with pytest.raises(ValueError, match="Received: distribution='normal', parameters.shape"):
        distribution_quantiles(np.zeros((2, 3)), (0.5,), "normal")


def test_losses_serialise_and_check_their_inputs():
    for loss in (PinballLoss((0.1, 0.9)), PinballLoss((0.1, 0.9), weights=(1, 2)),
                 DistributionNLL("student_t")):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    with pytest.raises(ValueError, match=r"Received: y_pred.shape=\(2, 3, 2\)"):
        PinballLoss((0.1, 0.5, 0.9))(np.zeros((2, 3)), np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="Received: y_true.shape"):
        PinballLoss((0.1, 0.9))(np.zeros((2, 3, 4)), np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="Received: quantiles=.*0.9, 0.1"):
        PinballLoss((0.9, 0.1))
