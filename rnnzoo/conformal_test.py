"""Split conformal intervals and conformalized quantile regression: thresholds and coverage."""

import numpy as np
import pytest

from rnnzoo.conformal import conformal_quantile
from rnnzoo.conformal import conformalize_quantiles
from rnnzoo.conformal import split_conformal_intervals

pytestmark = pytest.mark.multi_backend


def test_threshold_is_the_ceil_n_plus_1_rank_per_position():
    scores = np.stack([np.arange(1.0, 20.0), 10 * np.arange(1.0, 20.0)], axis=1)  # (19, 2)
    # n = 19, alpha 0.1: rank ceil(20 * 0.9) = 18 -> the 18th smallest, per column
    np.testing.assert_array_equal(conformal_quantile(scores, 0.1), [18.0, 180.0])
    with pytest.raises(ValueError, match="Received: n=5"):
        conformal_quantile(np.arange(5.0), 0.05)  # needs 19 examples for 95 %
    with pytest.raises(ValueError, match="Received: alpha=0"):
        conformal_quantile(np.arange(5.0), 0)


@pytest.mark.parametrize("alpha", [0.2, 0.05])
def test_split_conformal_reaches_nominal_coverage_on_exchangeable_data(alpha):
    """GENERATED exchangeable data: y = f(x) + heavy-tailed noise, a biased point model.

    Over 400 calibration/test draws of (200 calibration, 200 test) examples the
    mean coverage must be within 3 standard errors of the guarantee's
    expectation, which lies in [1 - alpha, 1 - alpha + 1/(n + 1)].
    """
    rng = np.random.default_rng(0)
    n = m = 200
    covered = []
    for _ in range(400):
        x = rng.uniform(-2, 2, size=(n + m, 3))  # 3 positions (e.g. horizon steps)
        y = np.sin(x) + rng.standard_t(3, size=x.shape) * (1 + np.arange(3))
        point = 0.8 * np.sin(x) + 0.3  # a wrong model: the guarantee still holds
        lower, upper = split_conformal_intervals(point[:n], y[:n], point[n:], alpha)
        covered.append(np.mean((y[n:] >= lower) & (y[n:] <= upper), axis=0))
    covered = np.array(covered)
    se = covered.std(axis=0) / np.sqrt(len(covered))
    assert np.all(covered.mean(axis=0) >= 1 - alpha - 3 * se)
    assert np.all(covered.mean(axis=0) <= 1 - alpha + 1 / (n + 1) + 3 * se)


def test_conformalized_quantiles_fix_intervals_that_are_too_narrow_or_too_wide():
    """GENERATED: y ~ N(0, 1); the model's 80 % interval is +-0.5 (too narrow) or +-3 (too wide)."""
    rng = np.random.default_rng(1)
    y_cal, y_test = rng.normal(size=(1000, 1)), rng.normal(size=(20000, 1))
    for half in (0.5, 3.0):
        lower, upper = conformalize_quantiles(
            -half * np.ones_like(y_cal), half * np.ones_like(y_cal), y_cal,
            -half * np.ones_like(y_test), half * np.ones_like(y_test), alpha=0.2)
        cover = np.mean((y_test >= lower) & (y_test <= upper))
        assert abs(cover - 0.8) < 0.03, (half, cover)
        np.testing.assert_allclose(upper[0], 1.2816, atol=0.12)  # N(0, 1)'s 0.9 quantile


def test_rolling_calibration_uses_only_known_scores_and_follows_a_regime_change():
    """GENERATED: noise sd 2 during calibration, sd 1 in the test part (a calmer regime)."""
    from rnnzoo.conformal import rolling_conformalize_quantiles

    rng = np.random.default_rng(3)
    n_cal, n_test, horizon = 200, 400, 3
    sd = np.where(np.arange(n_cal + n_test) < n_cal, 2.0, 1.0)[:, None]
    truth = rng.normal(size=(n_cal + n_test, horizon)) * sd
    zeros = np.zeros_like(truth)
    origins = np.arange(n_cal + n_test) * horizon  # each window's steps known before the next
    lower, upper = rolling_conformalize_quantiles(zeros, zeros, truth, origins, n_cal, 0.2)
    split_lower, split_upper = conformalize_quantiles(
        zeros[:n_cal], zeros[:n_cal], truth[:n_cal], zeros[n_cal:], zeros[n_cal:], 0.2)
    late = slice(n_test // 2, None)  # once the calm windows fill the rolling window
    rolling_cover = np.mean((truth[n_cal:][late] >= lower[late]) & (truth[n_cal:][late] <= upper[late]))
    split_cover = np.mean((truth[n_cal:][late] >= split_lower[late])
                          & (truth[n_cal:][late] <= split_upper[late]))
    assert abs(rolling_cover - 0.8) < 0.05 and split_cover > 0.95
    # The first test forecast equals the split correction (only calibration scores known).
    np.testing.assert_allclose(upper[0], split_upper[0])
    # No look-ahead: changing a later truth leaves every earlier correction unchanged.
    changed = truth.copy()
    changed[n_cal + 100:] *= 10
    lower2, upper2 = rolling_conformalize_quantiles(zeros, zeros, changed, origins, n_cal, 0.2)
    np.testing.assert_array_equal(upper2[:101], upper[:101])
    assert np.any(upper2[101:] != upper[101:])
    # With overlapping windows (origins one step apart) step h of forecast j
    # is known at origin i only if origins[j] + h < origins[i].
    lo, hi = rolling_conformalize_quantiles(zeros[:40], zeros[:40], truth[:40],
                                            np.arange(40), 20, 0.2, window=10)
    assert hi.shape == (20, horizon)
