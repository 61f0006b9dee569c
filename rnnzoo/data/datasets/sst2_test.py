
import numpy as np
import pytest

from rnnzoo.data.datasets import sst2
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.sst2_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("sst2")


@pytest.fixture(scope="module")
def data(shared):
    return sst2.load_sst2(data_dir=shared)


def test_sizes(data):
    assert (len(data.train), len(data.validation), len(data.test)) == (
        60679, 555, 872,
    )  # fmt: skip
    # 6,115 phrase rows of the held-out sentences are in neither split
    assert len(data.train) + len(data.validation) == 67349 - 6115
    assert data.class_names == ("negative", "positive")
    assert np.bincount(data.test.y).tolist() == [428, 444]
    assert set(data.validation.y.tolist()) == {0, 1}


def test_types_and_content(data):
    for split in (data.train, data.validation, data.test):
        assert split.x.dtype == object and split.y.dtype == np.int64
        assert set(split.y.tolist()) <= {0, 1}
    # the file's first row is a phrase of a held-out sentence: dropped
    assert "hide new secretions from the parental units" not in set(data.train.x)
    assert data.train.x[0] == (
        "that loves its characters and communicates something rather "
        "beautiful about human nature")
    assert data.train.y[0] == 1
    assert data.test.x[0] == "one long string of cliches ."


def test_validation_disjoint_from_train_by_sentence(data):
    assert not set(data.train.x) & set(data.validation.x)


def test_validation_sentences_are_whole_and_unseen(data):
    # no training row is a phrase (token span) of a validation sentence ...
    train = set(data.train.x)
    for sentence in data.validation.x:
        tokens = sentence.split()
        n = len(tokens)
        assert not any(" ".join(tokens[a:b]) in train
                       for a in range(n) for b in range(a + 1, n + 1))
    # ... and validation sentences look like dev's (whole sentences, not phrases)
    lengths = [len(s.split()) for s in data.validation.x]
    dev = [len(s.split()) for s in data.test.x]
    assert abs(np.median(lengths) - np.median(dev)) <= 2


def test_sentence_holdout_small():
    texts = ["a b c", "a b", "b c", "c", "d e f", "d e", "g"]
    train, held = sst2.sentence_holdout(texts, 0.0)
    assert (train, held) == (list(range(7)), [])
    train, held = sst2.sentence_holdout(texts, 0.9999)
    # the complete sentences are "a b c", "d e f" and "g"; every span goes
    assert held == [0, 4, 6] and train == []


def test_row_validation_keeps_the_old_split(shared):
    rows = sst2.load_sst2(data_dir=shared, validation_fraction=0.05, validation="rows")
    assert (len(rows.train), len(rows.validation)) == (63975, 3374)


def test_deterministic(shared, data):
    again = sst2.load_sst2(data_dir=shared / "sst2")
    assert again.train == data.train and again.validation == data.validation
    assert again.test == data.test


def test_validation_fraction(shared):
    small = sst2.load_sst2(data_dir=shared, validation_fraction=0.01)
    assert 0.005 < len(small.validation) / 6886 < 0.015  # complete sentences
    none = sst2.load_sst2(data_dir=shared, validation_fraction=0)
    assert len(none.train) == 67349 and len(none.validation) == 0


def test_validation_folds_are_disjoint_whole_sentences(shared, data):
    complete = set(data.validation.x)
    for fold in (1, 11):
        other = sst2.load_sst2(data_dir=shared, validation_fold=fold)
        held = set(other.validation.x)
        assert 450 < len(held) < 660 and not held & complete  # ~8% of 6,886
        assert not held & set(other.train.x)
        assert complete <= set(other.train.x)  # fold 0's sentences train here
        assert other.test == data.test
    texts = ["a b c", "a b", "b c", "c", "d e f", "d e", "g"]
    folds = [sst2.sentence_holdout(texts, 0.25, fold)[1] for fold in range(4)]
    assert sorted(sum(folds, [])) == [0, 4, 6]  # each sentence in exactly one fold
    rows = [sst2.load_sst2(data_dir=shared, validation_fraction=0.5, validation="rows",
                           validation_fold=fold).validation for fold in (0, 1)]
    assert len(rows[0]) + len(rows[1]) == 67349 and not set(rows[0].x) & set(rows[1].x)
    with pytest.raises(ValueError, match=r"\[0, 12\).*Received: validation_fold=12"):
        sst2.load_sst2(data_dir=shared, validation_fold=12)
    with pytest.raises(ValueError, match="Received: validation_fold=1"):
        sst2.load_sst2(data_dir=shared, validation_fraction=0, validation_fold=1)


def test_quotes_are_not_special(tmp_path):
    (tmp_path / "train.tsv").write_text(
        'label\tsentence\n1\t" a quoted start\n0\tit \'s "bad\n',
        encoding="utf-8",
    )
    (tmp_path / "dev.tsv").write_text(
        'label\tcontent\n1\t"ok" \n', encoding="utf-8"
    )
    data = sst2.load_sst2(data_dir=tmp_path, validation_fraction=0)
    assert list(data.train.x) == ['" a quoted start', 'it \'s "bad']
    assert list(data.test.x) == ['"ok" '] and data.test.y.tolist() == [1]


def test_bad_header_and_arguments(tmp_path, shared):
    (tmp_path / "train.tsv").write_text("sentence\tlabel\nx\t1\n")
    (tmp_path / "dev.tsv").write_text("label\tcontent\n1\tx\n")
    with pytest.raises(ValueError, match="Received: header="):
        sst2.load_sst2(data_dir=tmp_path)
    with pytest.raises(ValueError, match="Received: source='hub'"):
        sst2.load_sst2(data_dir=shared, source="hub")
    with pytest.raises(ValueError, match="Received: validation_fraction=1"):
        sst2.load_sst2(data_dir=shared, validation_fraction=1)
    with pytest.raises(ValueError, match="Received: validation='dev'"):
        sst2.load_sst2(data_dir=shared, validation="dev")


def test_tfds_source_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(
        num_examples=64, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        data = sst2.load_sst2(source="tfds", validation_fraction=0.25)
    assert len(data.train) + len(data.validation) == 64
    assert len(data.test) == 64  # tfds "validation" becomes our test
    assert 0 < len(data.validation) < 32
    for split in (data.train, data.validation, data.test):
        assert split.x.dtype == object
        assert all(isinstance(t, str) for t in split.x)
        assert set(split.y.tolist()) <= {0, 1}
    assert not set(data.train.x) & set(data.validation.x)
