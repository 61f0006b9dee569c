import numpy as np
import pytest

from rnnzoo import metrics

pytestmark = pytest.mark.multi_backend


def test_corpus_bleu_matches_sacrebleu_and_is_case_insensitive():
    import sacrebleu

    hyps = ["il fait froid .", "où est la gare ?"]
    refs = ["Il fait froid.", "Où est la station ?"]
    expected = sacrebleu.metrics.BLEU(lowercase=True).corpus_score(hyps, [refs]).score
    assert metrics.corpus_bleu(hyps, refs) == round(expected, 2)
    assert metrics.corpus_bleu(["il fait froid ."], ["Il fait froid."]) == 100.0
    assert metrics.corpus_bleu(["bonjour"], ["Il fait froid."]) < 5
    assert metrics.corpus_chrf(["il fait froid ."], ["Il fait froid."]) == 100.0
    assert metrics.corpus_chrf(["bonjour"], ["Il fait froid."]) < 20


def test_corpus_bleu_with_several_references_and_orders():
    refs = [("A dog runs on the grass.", "A brown dog is running.")]
    perfect = [metrics.corpus_bleu(["a dog runs on the grass ."], refs, max_order=n,
                                   effective_order=True) for n in range(1, 5)]
    assert perfect == [100.0] * 4
    worse = [metrics.corpus_bleu(["a brown cat sleeps"], refs, max_order=n,
                                 effective_order=True) for n in range(1, 5)]
    # Cumulative BLEU-n cannot rise with n; a second reference that is
    # shorter than the first pads with "" (sacreBLEU needs equal streams).
    assert worse == sorted(worse, reverse=True) and worse[0] < 100
    mixed = metrics.corpus_bleu(["a dog runs .", "a cat ."], [("A dog runs.", "A dog."),
                                                              ("A cat.",)], max_order=2,
                                effective_order=True)
    assert mixed == 100.0
    # One word short of the closest reference: the brevity penalty exp(1 - 4/3).
    short = metrics.corpus_bleu(["a dog runs"], [("A dog runs.",)], max_order=1)
    assert short == round(100 * np.exp(1 - 4 / 3), 2)


def test_mase():
    assert metrics.mase([3, 4], [3, 5], [1, 2, 3]) == 0.5
    # Seasonal (2) in-sample MAE of [0, 1, 3, 4] is 3; the error is 3.
    assert metrics.mase(np.array([2.0]), np.array([5.0]), [0.0, 1.0, 3.0, 4.0], 2) == 1.0


def test_coverage_and_msis_equal_the_m4_formula_on_hand_made_cases():
    from rnnzoo.metrics import coverage
    from rnnzoo.metrics import msis
    from rnnzoo.metrics import seasonal_naive_scale

    y = np.array([1.0, 5.0, -1.0, 2.0])
    lower = np.array([0.0, 0.0, 0.0, 2.0])
    upper = np.array([2.0, 4.0, 1.0, 2.0])
    assert coverage(y, lower, upper) == 0.5  # 1 inside, 5 above, -1 below, 2 on both ends
    # M4: width + 2/alpha * (L - y if y < L) + 2/alpha * (y - U if y > U), mean / scale.
    # alpha 0.2 -> 2/alpha = 10: [2, 4 + 10*1, 1 + 10*1, 0] = [2, 14, 11, 0], mean 6.75.
    train = np.array([1.0, 3.0, 2.0, 6.0, 4.0])  # season 2: |2-1|, |6-3|, |4-2| -> 2
    assert seasonal_naive_scale(train, 2) == 2.0
    assert msis(y, lower, upper, 0.2, seasonal_naive_scale(train, 2)) == pytest.approx(3.375)
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        msis(y, lower, upper, 1.5, 1.0)
    with pytest.raises(ValueError, match=r"Received: y.shape=\(4,\), lower.shape=\(3,\)"):
        coverage(y, lower[:3], upper)


def test_weighted_quantile_loss_by_hand_and_mase_shares_its_scale():
    from rnnzoo.metrics import weighted_quantile_loss

    y = np.array([[2.0, 4.0]])
    f = np.array([[[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]])
    # level .1: errors 1, 0 -> .1; level .5: 0; level .9: errors -1 -> .1; sum|y| = 6
    expected = np.mean([2 * 0.1 / 6, 0.0, 2 * 0.1 / 6])
    assert weighted_quantile_loss(y, f, (0.1, 0.5, 0.9)) == pytest.approx(expected)
    # a perfect median-only forecast scores 0
    assert weighted_quantile_loss(y, y[..., None], (0.5,)) == 0.0
    assert metrics.mase([3, 4], [3, 5], [1, 2, 3]) == 0.5
