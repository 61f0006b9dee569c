import numpy as np
import pytest

from rnnzoo.tasks.captioning import digit_strips as D


@pytest.mark.multi_backend
def test_scan_splits_are_disjoint_and_stratified():
    _, labels, parts = D.split_scans()
    train, val, test = (set(parts[k].tolist()) for k in ("train", "validation", "test"))
    assert not train & test and not train & val and not val & test
    assert len(train | val | test) == 1797
    assert set(labels[parts["test"]].tolist()) == set(range(10))


@pytest.mark.multi_backend
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
        assert D.strip_digits(t_out[None])[0] == digits


@pytest.mark.multi_backend
def test_strip_images_hold_the_real_scans():
    strips = D.make_strips(1, "train", seed=0, max_gap=0)
    images, _, _ = D.split_scans()
    first = strips.scan_ids[0][0]
    np.testing.assert_array_equal(strips.images[0, :, :8, 0], images[first])


@pytest.mark.multi_backend
def test_accuracies_and_centroids():
    assert D.sequence_accuracy([[1, 2], [3]], [[1, 2], [3, 4]]) == 0.5
    assert D.digit_accuracy([[1, 2], [3]], [[1, 2], [3, 4]]) == 0.75
    attention = np.zeros((1, 3, 4))
    attention[0, 0, 0] = attention[0, 1, 2] = attention[0, 2, 3] = 1.0
    c = D.attention_centroids(attention, [3], grid_width=2)
    np.testing.assert_array_equal(c[0], [0, 0, 1])
    assert D.left_to_right_fraction(c) == 0.0


@pytest.mark.multi_backend
def test_width_too_small_is_rejected():
    with pytest.raises(ValueError, match="width"):
        D.make_strips(2, width=20)


@pytest.mark.multi_backend
def test_strip_digits_stops_at_the_end_token():
    assert D.strip_digits(np.array([[4, 5, 2, 6], [1, 3, 0, 4]])) == [[1, 2], [0]]
    assert D.VOCABULARY_SIZE == 13 and D.TOKENS[D.DIGIT_OFFSET + 7] == 7


@pytest.mark.multi_backend
def test_quick_config_is_the_old_quick_run():
    from rnnzoo.tasks import captioning

    quick = captioning.resolve(captioning.Config.quick(dataset="digit_strips"))
    assert (quick.num_train, quick.num_validation, quick.num_test, quick.units, quick.epochs,
            quick.batch_size, quick.max_minutes) == (3000, 200, 200, 64, 10, 64, 9.0)
    full = captioning.resolve(captioning.Config(dataset="digit_strips"))
    assert (full.num_train, full.num_validation, full.num_test, full.epochs) == \
        (30000, 1000, 2000, 15)
    with pytest.raises(ValueError, match="Received: dataset='coco'"):
        captioning.resolve(captioning.Config(dataset="coco"))


# Training, decoding, saving and reloading on digit strips (GENERATED from
# scikit-learn's bundled scans, so a clean clone runs it) are tested by the
# recipe's quick run: tests/recipes_sequence_test.py::test_captioning_quick_beats_chance.
