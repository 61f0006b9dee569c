import random

import numpy as np
import pytest

from rnnzoo.data.datasets import names
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.names_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("names")


@pytest.fixture(scope="module")
def data(shared):
    return names.load_names(data_dir=shared)


def test_sizes_and_classes(data):
    assert (len(data.train), len(data.validation), len(data.test)) == (
        8821, 1102, 1074,
    )  # fmt: skip
    assert data.num_classes == 18
    assert data.class_names == tuple(sorted(data.class_names))
    assert data.class_names[0] == "Arabic" and data.class_names[-1] == (
        "Vietnamese"
    )
    for split in (data.train, data.validation, data.test):
        assert split.x.dtype == object and split.y.dtype == np.int64
        assert len(split.x) == len(split.y)
        assert all(isinstance(n, str) and n == n.strip() and n for n in split.x)


def test_every_language_in_every_split(data):
    for split in (data.train, data.validation, data.test):
        assert set(split.y.tolist()) == set(range(18))
    # Roughly 80/10/10 within each language (by hash).
    total = np.bincount(data.train.y, minlength=18) + np.bincount(
        data.test.y, minlength=18
    ) + np.bincount(data.validation.y, minlength=18)
    assert total[data.class_names.index("English")] > 3000
    assert 0.08 < len(data.test) / total.sum() < 0.12


def test_distinct_pairs_and_no_name_straddles_splits(data):
    pairs = [
        (name, label)
        for split in (data.train, data.validation, data.test)
        for name, label in zip(split.x, split.y)
    ]
    assert len(pairs) == len(set(pairs)) == 10997
    train, val, test = (set(s.x) for s in (data.train, data.validation,
                                            data.test))  # fmt: skip
    assert not train & val and not train & test and not val & test
    # Some names are listed under several languages (same split then).
    assert len({n for n, _ in pairs}) < len(pairs)


def test_accents_are_kept(data):
    assert any(any(ord(c) > 127 for c in name) for name in data.train.x)


def test_deterministic(shared, data):
    again = names.load_names(data_dir=shared / "names")
    assert again.train == data.train and again.test == data.test
    assert again.validation == data.validation


def test_independent_of_file_order_and_duplicates(shared, data, tmp_path):
    rng = random.Random(0)
    for language in names.LANGUAGES:
        lines = (shared / "names" / f"{language}.txt").read_text(
            encoding="utf-8"
        ).splitlines()
        lines = lines + lines[:5]
        rng.shuffle(lines)
        (tmp_path / f"{language}.txt").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
    shuffled = names.load_names(data_dir=tmp_path)
    assert shuffled.train == data.train and shuffled.test == data.test


def test_argument_checks(shared):
    with pytest.raises(ValueError, match="Received: test_fraction=1.5"):
        names.load_names(data_dir=shared, test_fraction=1.5)
    with pytest.raises(ValueError, match="Received: validation_fraction=0.5"):
        names.load_names(
            data_dir=shared, validation_fraction=0.5, test_fraction=0.5
        )
