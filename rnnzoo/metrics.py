"""Task metrics: perplexity (a Keras metric), forecast errors and intervals, BLEU, chrF.

BLEU and chrF are sacreBLEU's (never a hand-written BLEU), case-insensitive,
with its own 13a tokenisation of hypotheses and references alike.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="rnnzoo")
class Perplexity(keras.metrics.MeanMetricWrapper):
    """exp(mean token cross-entropy); padded steps (the output mask) left out.

    Example:

    >>> m = Perplexity()
    >>> m.update_state(np.array([[1]]), np.array([[[0.5, 0.5]]]))
    >>> round(float(m.result()), 4)
    2.0
    """

    def __init__(self, name="perplexity", dtype=None):
        super().__init__(
            keras.losses.sparse_categorical_crossentropy, name=name, dtype=dtype
        )

    def result(self):
        return ops.exp(super().result())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def mase(y_true, y_pred, y_train, season=1):
    """Mean absolute scaled error: MAE over the in-sample seasonal-naive MAE.

    Args:
        y_true: actual values of the forecast period.
        y_pred: forecasts, same shape.
        y_train: the training series the scale is computed on.
        season: the season length of the naive forecast used for scaling
            (1 = plain naive).

    Returns:
        A float; below 1 beats the in-sample naive forecast.

    Example:

    >>> mase([3, 4], [3, 5], [1, 2, 3])
    0.5
    """
    scale = seasonal_naive_scale(y_train, season)
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))) / scale)


def seasonal_naive_scale(y_train, season=1):
    """The in-sample MAE of the seasonal-naive forecast: MASE's and MSIS's denominator.

    `mean(|y[t] - y[t - season]|)` over the training series.

    Example:

    >>> seasonal_naive_scale([1, 2, 4])
    1.5
    """
    y_train = np.asarray(y_train, dtype="float64")
    if y_train.ndim != 1 or len(y_train) <= season:
        raise ValueError(
            "Expected a 1-D training series longer than one season. Received: "
            f"shape={y_train.shape}, season={season}"
        )
    return float(np.mean(np.abs(y_train[season:] - y_train[:-season])))


def _interval_arrays(y, lower, upper):
    y, lower, upper = (np.asarray(a, dtype="float64") for a in (y, lower, upper))
    if not y.shape == lower.shape == upper.shape:
        raise ValueError(
            "Expected y, lower and upper of one shape. Received: "
            f"y.shape={y.shape}, lower.shape={lower.shape}, upper.shape={upper.shape}"
        )
    return y, lower, upper


def coverage(y, lower, upper):
    """The fraction of `y` inside `[lower, upper]` (ends included).

    Example:

    >>> coverage([1.0, 5.0], [0.0, 0.0], [2.0, 2.0])
    0.5
    """
    y, lower, upper = _interval_arrays(y, lower, upper)
    return float(np.mean((y >= lower) & (y <= upper)))


def msis(y, lower, upper, alpha, scale):
    """Mean scaled interval score (M4 competition) of `(1 - alpha)` intervals.

    Per value: the width `upper - lower`, plus `2 / alpha` times the
    distance by which `y` falls outside the interval; averaged over every
    value (every origin and horizon step), divided by `scale` (the
    in-sample seasonal-naive MAE, `seasonal_naive_scale`, as in MASE).
    Lower is better; a wide interval and a missed value both cost.

    Args:
        y: actual values.
        lower, upper: the interval ends, shaped like `y`.
        alpha: the interval's miss rate (0.05 for 95 % intervals, M4's).
        scale: the denominator (`seasonal_naive_scale(y_train, season)`).

    Returns:
        A float.

    Example:

    >>> # width 2; y = 4 misses the upper end 2 by 2, costing 2 / 0.5 * 2 = 8
    >>> msis([1.0, 4.0], [0.0, 0.0], [2.0, 2.0], alpha=0.5, scale=2.0)
    3.0
    """
    y, lower, upper = _interval_arrays(y, lower, upper)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"Expected `alpha` inside (0, 1). Received: alpha={alpha!r}")
    score = (upper - lower + 2.0 / alpha * np.maximum(lower - y, 0.0)
             + 2.0 / alpha * np.maximum(y - upper, 0.0))
    return float(np.mean(score) / scale)


def weighted_quantile_loss(y, forecasts, quantiles):
    """Mean weighted quantile loss: a CRPS approximation from quantile forecasts.

    Per level `q`: `2 * sum(pinball_q) / sum(|y|)` (GluonTS' `wQuantileLoss`);
    the mean over the levels approximates the CRPS divided by `mean(|y|)`.

    Args:
        y: actual values, shape `S`.
        forecasts: `S + (len(quantiles),)` quantile forecasts.
        quantiles: their levels.

    Returns:
        A float (0 for a perfect forecast; lower is better).

    Example:

    >>> weighted_quantile_loss([2.0], [[1.0, 3.0]], (0.25, 0.75))
    0.25
    """
    y = np.asarray(y, dtype="float64")
    forecasts = np.asarray(forecasts, dtype="float64")
    q = np.asarray(quantiles, dtype="float64")
    if forecasts.shape != y.shape + (len(q),):
        raise ValueError(
            "Expected forecasts shaped y.shape + (len(quantiles),). Received: "
            f"y.shape={y.shape}, forecasts.shape={forecasts.shape}, quantiles={tuple(q)}"
        )
    error = y[..., None] - forecasts
    pinball = np.maximum(q * error, (q - 1.0) * error)
    per_level = 2.0 * pinball.reshape(-1, len(q)).sum(axis=0) / np.sum(np.abs(y))
    return float(np.mean(per_level))


def _reference_streams(references):
    """sacreBLEU's reference streams from one reference (str) or a tuple of them per hypothesis."""
    references = [(r,) if isinstance(r, str) else tuple(r) for r in references]
    count = max((len(r) for r in references), default=1)
    return [[r[k] if k < len(r) else "" for r in references] for k in range(count)]


def corpus_bleu(hypotheses, references, *, max_order=4, effective_order=False):
    """Corpus BLEU with sacreBLEU, lower-cased, rounded to 2 decimals.

    Args:
        hypotheses: one string per example.
        references: per example, one reference string or a tuple of them
            (Flickr8k's 5 captions).
        max_order: the longest n-gram (cumulative BLEU-1 .. BLEU-4).
        effective_order: leave out n-gram orders without any match instead
            of scoring 0 (sacreBLEU's option; for short captions).

    Returns:
        A float in [0, 100].

    Example:

    >>> corpus_bleu(["il fait froid ."], ["Il fait froid."])
    100.0
    >>> corpus_bleu(["a dog runs ."], [("A dog runs.", "A dog is running.")],
    ...             max_order=2, effective_order=True)
    100.0
    >>> corpus_bleu(["a dog runs"], [("A dog runs.", "A dog is running.")], max_order=1)
    71.65
    """
    import sacrebleu

    # force=True: hypotheses are often space-joined tokens ("froid ."), which
    # the 13a tokeniser re-splits exactly as it splits the raw references
    # ("froid."), so sacreBLEU's "forgot to detokenize" warning is moot.
    metric = sacrebleu.metrics.BLEU(max_ngram_order=max_order, lowercase=True,
                                    effective_order=effective_order, force=True)
    score = metric.corpus_score(list(hypotheses), _reference_streams(references))
    return round(float(score.score), 2)


def corpus_chrf(hypotheses, references):
    """Corpus chrF with sacreBLEU, lower-cased, rounded to 2 decimals.

    Args:
        hypotheses, references: as `corpus_bleu`.

    Example:

    >>> corpus_chrf(["il fait froid ."], ["Il fait froid."])
    100.0
    """
    import sacrebleu

    metric = sacrebleu.metrics.CHRF(lowercase=True)
    score = metric.corpus_score(list(hypotheses), _reference_streams(references))
    return round(float(score.score), 2)


def cider_d(hypotheses, references):
    """Corpus CIDEr-D with the coco-caption scorer (`pycocoevalcap`), x 100, 2 decimals.

    TF-IDF-weighted 1-4-gram cosine of each hypothesis against its
    references, with CIDEr-D's count clipping and length penalty (sigma 6),
    document frequencies taken over these references, averaged over the
    examples. Texts are compared as whitespace-split tokens: tokenise (and
    lower-case) both sides the same way first.

    Args:
        hypotheses: one string per example.
        references: per example, one reference string or a tuple of them.

    Returns:
        A float (0 for no overlap; 100 is not a ceiling).

    Example:

    >>> refs = [("a dog runs on grass", "a brown dog runs"),
    ...         ("a man rides a bike", "a cyclist on a road")]
    >>> cider_d(["a dog runs on grass", "a man rides a bike"], refs) > cider_d(
    ...     ["a man rides a bike", "a dog runs on grass"], refs)
    True
    """
    from pycocoevalcap.cider.cider import Cider

    hypotheses = list(hypotheses)
    references = [(r,) if isinstance(r, str) else tuple(r) for r in references]
    if len(hypotheses) != len(references):
        raise ValueError("Expected one reference tuple per hypothesis. Received: "
                         f"{len(hypotheses)} hypotheses and {len(references)} references")
    if not hypotheses:
        return 0.0
    gts = {i: list(r) for i, r in enumerate(references)}
    res = {i: [h] for i, h in enumerate(hypotheses)}
    score, _ = Cider().compute_score(gts, res)
    return round(100.0 * float(score), 2)
