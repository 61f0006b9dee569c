"""Split conformal prediction intervals, for point and for quantile forecasts.

Calibrate on held-out forecasts whose truth is known (a validation part),
then widen (or narrow) the test forecasts by one calibrated amount per
position (horizon step, target):

- `split_conformal_intervals`: a point forecast `+-` the calibrated quantile
  of the absolute validation errors (split conformal prediction, Vovk et
  al. 2005; Lei et al. 2018);
- `conformalize_quantiles`: a quantile forecaster's `[lower, upper]` moved
  out by the calibrated quantile of `max(lower - y, y - upper)` (conformalized
  quantile regression, Romano, Patterson & Candes 2019), which keeps the
  model's own widths (wide where it is unsure) and fixes their coverage.

The guarantee: if the calibration examples and a test example are
exchangeable (their joint distribution does not change when they are
permuted), the interval covers the test value with probability at least
`1 - alpha`, marginally (on average over calibration sets and test
examples; not for each example). It holds for any model, however wrong.

Its limits for time series: forecast windows are neither independent nor
exchangeable. Neighbouring windows overlap, so n calibration windows carry
less information than n independent ones, and the coverage on one test
period spreads more than a binomial count would say; a change of regime
between the calibration part and the test part (a new trend, a different
season) breaks the guarantee outright. Calibrate on the part just before
the test part, per horizon step (errors grow with the step), and check the
coverage on held-out windows, as `rnnzoo.tasks.timeseries` does; under
drift, recalibrate on a rolling window (adaptive conformal inference,
Gibbs & Candes 2021) - not done here.
"""

import math

import numpy as np


def conformal_quantile(scores, alpha, axis=0):
    """The split-conformal threshold: the ceil((n + 1)(1 - alpha))-th smallest score.

    Args:
        scores: conformity scores of the `n` calibration examples along `axis`.
        alpha: the miss rate (0.2 for 80 % intervals).
        axis: the calibration-example axis; each other position gets its own
            threshold.

    Returns:
        The thresholds, `scores`' shape without `axis`.

    Example:

    >>> float(conformal_quantile(np.arange(1.0, 20.0), alpha=0.1))  # 18th of 19
    18.0
    """
    scores = np.asarray(scores, dtype="float64")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"Expected `alpha` inside (0, 1). Received: alpha={alpha!r}")
    n = scores.shape[axis]
    rank = math.ceil((n + 1) * (1.0 - alpha))
    if rank > n:
        raise ValueError(
            f"Expected at least {math.ceil(1.0 / alpha) - 1} calibration examples for "
            f"alpha={alpha} (ceil((n + 1)(1 - alpha)) <= n). Received: n={n}"
        )
    return np.sort(scores, axis=axis).take(rank - 1, axis=axis)


def split_conformal_intervals(calibration_forecasts, calibration_targets, forecasts, alpha):
    """Intervals `forecasts -+ q`, q calibrated on absolute errors (axis 0: examples).

    Args:
        calibration_forecasts: `(n, ...)` point forecasts of the calibration
            examples.
        calibration_targets: their truth, same shape.
        forecasts: `(m, ...)` point forecasts to put intervals around.
        alpha: the miss rate.

    Returns:
        `(lower, upper)`, each shaped like `forecasts`.

    Example:

    >>> lower, upper = split_conformal_intervals(
    ...     np.zeros(9), np.arange(9.0), np.array([10.0]), alpha=0.2)
    >>> lower.tolist(), upper.tolist()  # the 8th of the 9 errors 0 .. 8
    ([3.0], [17.0])
    """
    forecasts = np.asarray(forecasts, dtype="float64")
    scores = np.abs(np.asarray(calibration_targets, dtype="float64")
                    - np.asarray(calibration_forecasts, dtype="float64"))
    q = conformal_quantile(scores, alpha)
    return forecasts - q, forecasts + q


def conformalize_quantiles(calibration_lower, calibration_upper, calibration_targets,
                           lower, upper, alpha):
    """Conformalized quantile regression: `[lower - q, upper + q]` (axis 0: examples).

    `q` is the calibrated quantile of `max(lower - y, y - upper)` over the
    calibration examples: negative where the model's intervals were too wide
    (they shrink), positive where too narrow.

    Args:
        calibration_lower, calibration_upper: `(n, ...)` the model's interval
            ends on the calibration examples.
        calibration_targets: their truth, same shape.
        lower, upper: `(m, ...)` the model's interval ends to correct.
        alpha: the miss rate of the interval (e.g. 0.2 for the 0.1-0.9
            quantiles).

    Returns:
        `(lower, upper)` corrected.

    Example:

    >>> y = np.arange(9.0)
    >>> lo, hi = conformalize_quantiles(y - 1, y + 1, y, np.array([0.0]), np.array([2.0]),
    ...                                 alpha=0.2)
    >>> lo.tolist(), hi.tolist()  # every calibration interval was 1 too wide
    ([1.0], [1.0])
    """
    y = np.asarray(calibration_targets, dtype="float64")
    scores = np.maximum(np.asarray(calibration_lower, dtype="float64") - y,
                        y - np.asarray(calibration_upper, dtype="float64"))
    q = conformal_quantile(scores, alpha)
    return np.asarray(lower, dtype="float64") - q, np.asarray(upper, dtype="float64") + q


def rolling_conformalize_quantiles(lower, upper, truth, origins, start, alpha, window=None):
    """Conformalized quantile regression recalibrated at each origin on the scores known by then.

    For time series whose errors drift: forecast `i >= start` (a test
    origin) is corrected, per horizon step `h`, with the conformity scores
    `max(lower - y, y - upper)` of the earlier forecasts whose step-`h`
    value was already observed at origin `i` (`origins[j] + h <
    origins[i]`), the most recent `window` of them. The first corrections
    use the calibration forecasts (`i < start`); later ones also the test
    forecasts whose truth has come in, so an old regime ages out. Nothing
    from the future is used: each correction could have been made at its
    origin.

    Args:
        lower, upper: `(n, horizon)` the model's interval ends, calibration
            forecasts then test forecasts, in origin order.
        truth: `(n, horizon)` the actual values (only past ones are read
            for each correction).
        origins: `(n,)` the row index of each forecast's first step,
            increasing.
        start: index of the first forecast to correct (the calibration
            forecasts come before it; their steps must all be observed by
            `origins[start]`).
        alpha: the miss rate.
        window: how many of the most recent known scores calibrate each
            correction (None: `start`, the calibration set's size).

    Returns:
        `(lower, upper)` of the forecasts `start:`, corrected.

    Example:

    >>> y = np.arange(40.0)[:, None]  # one step ahead; errors of 1 before origin 20, 3 after
    >>> err = np.where(np.arange(40) < 20, 1.0, 3.0)[:, None]
    >>> lo, hi = rolling_conformalize_quantiles(y, y, y + err, np.arange(40), 20, 0.2, 10)
    >>> (hi - y[20:])[[0, 1, 19], 0].tolist()  # widens once 2 of the last 10 errors are 3
    [1.0, 1.0, 3.0]
    """
    lower, upper, truth = (np.asarray(a, dtype="float64") for a in (lower, upper, truth))
    origins = np.asarray(origins)
    if not lower.shape == upper.shape == truth.shape or lower.ndim != 2 or len(
            origins) != len(lower):
        raise ValueError(
            "Expected lower, upper and truth of one (n, horizon) shape and one origin per "
            f"forecast. Received: lower.shape={lower.shape}, upper.shape={upper.shape}, "
            f"truth.shape={truth.shape}, len(origins)={len(origins)}"
        )
    window = start if window is None else int(window)
    scores = np.maximum(lower - truth, truth - upper)
    horizon = lower.shape[1]
    out_lower, out_upper = lower[start:].copy(), upper[start:].copy()
    for i in range(start, len(lower)):
        for h in range(horizon):
            known = np.flatnonzero(origins[:i] + h < origins[i])[-window:]
            q = conformal_quantile(scores[known, h], alpha)
            out_lower[i - start, h] -= q
            out_upper[i - start, h] += q
    return out_lower, out_upper
