"""The UD treebank loader on a small CoNLL-U string, then on the shared EWT files."""

import gzip
import os

import pytest

from rnnzoo.data.datasets.ud_treebank import load_ud_treebank
from rnnzoo.data.datasets.ud_treebank import read_conllu

# A TEST FIXTURE written here: one multiword token ("don't"), one empty node (2.1).
SAMPLE = """# sent_id = a
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
2.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = b
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_

"""


def test_multiword_tokens_and_empty_nodes_are_skipped(tmp_path):
    path = tmp_path / "sample.conllu.gz"
    with gzip.open(path, "wt") as f:
        f.write(SAMPLE)
    data = read_conllu(path)
    assert data.words == [["I", "do", "n't", "know", "."], ["Yes"]]
    assert data.tags("upos") == [["PRON", "AUX", "PART", "VERB", "PUNCT"], ["INTJ"]]
    assert data.tags("xpos")[0] == ["PRP", "VBP", "RB", "VB", "."]
    with pytest.raises(ValueError, match="Received: tagset='ner'"):
        data.tags("ner")


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text(SAMPLE.replace("5\t.\t.\tPUNCT", "5\t.\tPUNCT"))
    with pytest.raises(ValueError, match=rf"{path}, line 9: expected 10 tab-separated"):
        read_conllu(path)
    path.write_text(SAMPLE.replace("4\tknow\tknow\tVERB\tVB\t_\t0", "x\tknow\tknow\tVERB\tVB\t_\t0"))
    with pytest.raises(ValueError, match=rf"{path}, lines 1-9: malformed CoNLL-U"):
        read_conllu(path)


def test_load_finds_the_splits_and_checks_arguments(tmp_path):
    folder = tmp_path / "ud_english_ewt"
    folder.mkdir()
    for split in ("train", "dev"):
        (folder / f"en_ewt-ud-{split}.conllu").write_text(SAMPLE)
    data = load_ud_treebank(data_dir=tmp_path)
    assert set(data) == {"train", "dev"} and len(data["dev"]) == 2
    with pytest.raises(ValueError, match="Received: splits='validation'"):
        load_ud_treebank(data_dir=tmp_path, splits=("validation",))
    with pytest.raises(ValueError, match="Received: name='de_gsd'"):
        load_ud_treebank("de_gsd")


REAL = os.path.join(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent"), "ud_english_ewt")


@pytest.mark.skipif(not os.path.isdir(REAL), reason="needs RNNZOO_DATA_DIR/ud_english_ewt")
def test_the_shared_english_web_treebank():
    data = load_ud_treebank()
    # The README's counts: sentences and syntactic words per split.
    assert (len(data["train"]), sum(map(len, data["train"].words))) == (12544, 204577)
    assert (len(data["dev"]), sum(map(len, data["dev"].words))) == (2001, 25147)
    assert len({t for s in data["train"].upos for t in s}) == 17
