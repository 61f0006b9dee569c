import gzip

import pytest

from rnnzoo.data.datasets import fra_eng
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.fra_eng_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("fra_eng")


@pytest.fixture(scope="module")
def data(shared):
    return fra_eng.load_fra_eng(data_dir=shared)


def test_sizes(data):
    sizes = (len(data.train), len(data.validation), len(data.test))
    assert sizes == (152355, 3334, 3146)
    assert sum(sizes) == 158835
    assert len(data.test) >= 2000
    assert len(set(data.test.x)) == 2220


def test_english_disjoint_splits(data):
    train, val, test = (
        set(s.x) for s in (data.train, data.validation, data.test)
    )
    assert not train & test and not train & val and not val & test


def test_pairs_are_aligned(data):
    assert (data.train.x[0], data.train.y[0]) == ("Go.", "Va !")
    for split in (data.train, data.validation, data.test):
        assert split.x.dtype == object and split.y.dtype == object
        assert len(split.x) == len(split.y)
        assert all("\t" not in t for t in split.y[:1000])
    assert (data.source_language, data.target_language) == ("en", "fr")


def test_deterministic(shared, data):
    again = fra_eng.load_fra_eng(data_dir=shared / "fra_eng")
    assert again.test == data.test and again.validation == data.validation
    assert again.train == data.train


def test_three_columns_gzip_and_file_order(tmp_path):
    rows = [
        (f"Sentence {i}.", f"Phrase {i} {j} !")
        for i in range(300)
        for j in range(1 + i % 3)
    ]
    attribution = "\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (x)"
    three = "".join(f"{e}\t{f}{attribution}\n" for e, f in rows)
    with gzip.open(tmp_path / "fra.txt.gz", "wt", encoding="utf-8") as f:
        f.write(three)
    reordered = tmp_path / "reordered"
    reordered.mkdir()
    (reordered / "fra.txt").write_text(
        "".join(f"{e}\t{f}\n" for e, f in reversed(rows)), encoding="utf-8"
    )
    a = fra_eng.load_fra_eng(tmp_path, validation_fraction=0.2,
                             test_fraction=0.2)  # fmt: skip
    b = fra_eng.load_fra_eng(reordered, validation_fraction=0.2,
                             test_fraction=0.2)  # fmt: skip
    for split in ("train", "validation", "test"):
        pa, pb = getattr(a, split), getattr(b, split)
        assert sorted(zip(pa.x, pa.y)) == sorted(zip(pb.x, pb.y))
        assert all(y.startswith("Phrase") and y.endswith("!") for y in pa.y)
    assert len(a.train) + len(a.validation) + len(a.test) == len(rows)
    assert len(a.test) > 0 and len(a.validation) > 0


def test_argument_checks(shared, tmp_path):
    with pytest.raises(ValueError, match="Received: test_fraction=2"):
        fra_eng.load_fra_eng(data_dir=shared, test_fraction=2)
    (tmp_path / "fra.txt").write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Received: line="):
        fra_eng.load_fra_eng(data_dir=tmp_path)
