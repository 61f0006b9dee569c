
import pytest

from rnnzoo.data.datasets import time_machine
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.time_machine_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("timemachine")


@pytest.fixture(scope="module")
def corpus(shared):
    return time_machine.load_time_machine(data_dir=shared)


def test_char_level_split_and_vocabulary(corpus):
    assert (len(corpus.train), len(corpus.validation)) == (156373, 17375)
    total = len(corpus.train) + len(corpus.validation)
    assert len(corpus.validation) == round(0.1 * total)
    assert corpus.vocabulary == tuple(" abcdefghijklmnopqrstuvwxyz")
    assert len(corpus.vocabulary) == 27
    assert set(corpus.validation) <= set(corpus.vocabulary)
    assert corpus.train.startswith("the time machine by h g wells")
    assert corpus.tokenize("ab c") == ["a", "b", " ", "c"]


def test_validation_is_the_end_of_the_book(shared, corpus):
    raw = (shared / "timemachine" / "timemachine.txt").read_text("utf-8")
    text = time_machine.preprocess(raw)
    assert corpus.train + corpus.validation == text
    assert text.endswith(corpus.validation)


def test_deterministic(shared, corpus):
    again = time_machine.load_time_machine(data_dir=shared / "timemachine")
    assert again == corpus


def test_word_level(shared):
    words = time_machine.load_time_machine(data_dir=shared, level="word")
    assert words.level == "word"
    train, validation = words.train.split(), words.validation.split()
    assert (len(train), len(validation)) == (29497, 3278)
    assert words.vocabulary == tuple(sorted(set(train)))
    assert len(words.vocabulary) == 4326
    assert words.tokenize(words.train)[:3] == ["the", "time", "machine"]


def test_preprocess_matches_d2l():
    raw = "The Time Machine, by H. G. Wells [1898]\n\n\nI\nIt's 42!\n"
    assert time_machine.preprocess(raw) == (
        "the time machine by h g wells   i it s"
    )


def test_gzipped_file(tmp_path):
    import gzip

    with gzip.open(tmp_path / "timemachine.txt.gz", "wt") as f:
        f.write("Abc def\nGhi jkl\n")
    corpus = time_machine.load_time_machine(
        data_dir=tmp_path, validation_fraction=0.2
    )
    assert corpus.train + corpus.validation == "abc def ghi jkl"
    assert len(corpus.validation) == 3


def test_argument_checks(shared):
    with pytest.raises(ValueError, match="Received: level='byte'"):
        time_machine.load_time_machine(data_dir=shared, level="byte")
    with pytest.raises(ValueError, match="Received: validation_fraction=-1"):
        time_machine.load_time_machine(
            data_dir=shared, validation_fraction=-1
        )
