
import numpy as np
import pytest

from rnnzoo.datasets import sst2
from rnnzoo.datasets._testing import shared_data_dir


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("sst2")


@pytest.fixture(scope="module")
def data(shared):
    return sst2.load_sst2(data_dir=shared)


def test_sizes(data):
    assert (len(data.train), len(data.validation), len(data.test)) == (
        63975, 3374, 872,
    )  # fmt: skip
    assert len(data.train) + len(data.validation) == 67349
    assert data.class_names == ("negative", "positive")
    assert np.bincount(data.test.y).tolist() == [428, 444]
    assert set(data.validation.y.tolist()) == {0, 1}


def test_types_and_content(data):
    for split in (data.train, data.validation, data.test):
        assert split.x.dtype == object and split.y.dtype == np.int64
        assert set(split.y.tolist()) <= {0, 1}
    assert data.train.x[0] == "hide new secretions from the parental units"
    assert data.train.y[0] == 0
    assert data.test.x[0] == "one long string of cliches ."


def test_validation_disjoint_from_train_by_sentence(data):
    assert not set(data.train.x) & set(data.validation.x)


def test_deterministic(shared, data):
    again = sst2.load_sst2(data_dir=shared / "sst2")
    assert again.train == data.train and again.validation == data.validation
    assert again.test == data.test


def test_validation_fraction(shared):
    small = sst2.load_sst2(data_dir=shared, validation_fraction=0.01)
    assert 0.005 < len(small.validation) / 67349 < 0.015
    none = sst2.load_sst2(data_dir=shared, validation_fraction=0)
    assert len(none.train) == 67349 and len(none.validation) == 0


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
