import numpy as np
import pytest

from rnnzoo.tasks.captioning import digit_strips as D


def test_scan_splits_are_disjoint_and_stratified():
    _, labels, parts = D.split_scans()
    train, val, test = (set(parts[k].tolist()) for k in ("train", "validation", "test"))
    assert not train & test and not train & val and not val & test
    assert len(train | val | test) == 1797
    assert set(labels[parts["test"]].tolist()) == set(range(10))


def test_strips_deterministic_and_from_their_split():
    a = D.make_strips(20, "test", seed=3)
    b = D.make_strips(20, "test", seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.digits == b.digits
    _, labels, parts = D.split_scans()
    test_scans = set(parts["test"].tolist())
    for digits, scans, t_in, t_out in zip(a.digits, a.scan_ids, a.target_in, a.target_out):
        assert 3 <= len(digits) <= 6
        assert set(scans) <= test_scans
        assert [int(labels[s]) for s in scans] == digits
        n = len(digits)
        assert t_in[0] == D.START and t_out[n] == D.END
        assert D.ids_to_digits(t_out[None])[0] == digits


def test_strip_images_hold_the_real_scans():
    strips = D.make_strips(1, "train", seed=0, max_gap=0)
    images, _, _ = D.split_scans()
    first = strips.scan_ids[0][0]
    np.testing.assert_array_equal(strips.images[0, :, :8, 0], images[first])


def test_accuracies_and_centroids():
    assert D.sequence_accuracy([[1, 2], [3]], [[1, 2], [3, 4]]) == 0.5
    assert D.digit_accuracy([[1, 2], [3]], [[1, 2], [3, 4]]) == 0.75
    attention = np.zeros((1, 3, 4))
    attention[0, 0, 0] = attention[0, 1, 2] = attention[0, 2, 3] = 1.0
    c = D.attention_centroids(attention, [3], grid_width=2)
    np.testing.assert_array_equal(c[0], [0, 0, 1])
    assert D.left_to_right_fraction(c) == 0.0


def test_width_too_small_is_rejected():
    with pytest.raises(ValueError, match="width"):
        D.make_strips(2, width=20)


def test_fallback_loop_equals_compiled_decode():
    model, _ = D.build_captioner(units=16, embedding_dim=8, filters=(4, 8))
    images = D.make_strips(5, "validation").images
    ids_loop, att_loop = D.greedy_loop(model, images, 7)
    ids, att = D.decode_strips(model, images)
    np.testing.assert_array_equal(ids, ids_loop)
    np.testing.assert_allclose(att, att_loop, atol=1e-5)
