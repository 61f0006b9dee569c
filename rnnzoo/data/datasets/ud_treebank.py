"""Universal Dependencies treebanks (CoNLL-U): words with their UPOS and XPOS tags."""

from __future__ import annotations

import dataclasses

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_choice

TREEBANKS = {
    # name: (dataset folder, file stem, GitHub repository, release tag,
    #        sha256 of the uncompressed train / dev / test files)
    "en_ewt": ("ud_english_ewt", "en_ewt-ud", "UD_English-EWT", "r2.16", {
        "train": "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
        "dev": "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
        "test": None,  # not in the shared data: no copy was hashed
    }),
}
"""The treebanks `load_ud_treebank` knows, with their public release files."""

SPLITS = ("train", "dev", "test")
TAGSETS = ("upos", "xpos")


@dataclasses.dataclass
class TaggedSentences:
    """The sentences of one split: words and their tags, one list per sentence.

    Attributes:
        words: word forms (syntactic words: multiword tokens are split, as
            the treebank annotates them; empty nodes are left out).
        upos: Universal POS tags (17).
        xpos: language-specific tags (Penn Treebank tags for English).
    """

    words: list
    upos: list
    xpos: list

    def tags(self, tagset):
        """`upos` or `xpos`."""
        return getattr(self, check_choice("tagset", tagset, TAGSETS))

    def __len__(self):
        return len(self.words)


def origin(name, split):
    """The public address of a release file, e.g. of en_ewt's dev split."""
    _, stem, repository, tag, _ = TREEBANKS[name]
    return (f"https://raw.githubusercontent.com/UniversalDependencies/{repository}/{tag}/"
            f"{stem}-{split}.conllu")


FIELDS = ("id", "form", "lemma", "upos", "xpos")
"""The CoNLL-U columns parsed (the rest of each line is ignored: 2x faster)."""


def _blocks(lines):
    """`(first line number, lines)` of each sentence."""
    block, first = [], 1
    for number, line in enumerate(lines + [""], start=1):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield first, block
            block = []


def read_conllu(path):
    """The sentences of one CoNLL-U file (plain or gzipped) as `TaggedSentences`.

    Lines are parsed with the `conllu` package (the first five columns);
    multiword-token lines (`3-4`) and empty nodes (`8.1`) are skipped. A
    malformed line raises a ValueError naming the file and the line number.
    """
    import conllu

    text = resolve.read_text(path)
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.startswith("#") and line.count("\t") != 9:
            raise ValueError(f"{path}, line {number}: expected 10 tab-separated CoNLL-U "
                             f"columns. Received: {line!r}")
    try:
        sentences = conllu.parse(text, fields=FIELDS)
    except Exception:  # conllu's ParseException and friends: find the sentence
        for first, block in _blocks(lines):
            try:
                conllu.parse("\n".join(block) + "\n\n", fields=FIELDS)
            except Exception as error:
                raise ValueError(f"{path}, lines {first}-{first + len(block) - 1}: "
                                 f"malformed CoNLL-U sentence: {error}") from error
        raise
    words, upos, xpos = [], [], []
    for sentence in sentences:
        kept = [token for token in sentence if isinstance(token["id"], int)]
        words.append([token["form"] for token in kept])
        upos.append([token["upos"] for token in kept])
        xpos.append([token["xpos"] or "_" for token in kept])
    return TaggedSentences(words, upos, xpos)


def load_ud_treebank(name="en_ewt", data_dir=None, splits=("train", "dev")):
    """Loads the tagged sentences of a Universal Dependencies treebank.

    Files are found in `data_dir`, `$RNNZOO_DATA_DIR/<folder>/` (for en_ewt:
    `ud_english_ewt/`), the Keras cache, or downloaded from the UD release
    on GitHub with a sha256 check (`resolve.resolve_files`).

    Args:
        name: the treebank (`"en_ewt"`: English Web Treebank, UD v2.16).
        data_dir: a folder with the `.conllu` (or `.conllu.gz`) files, or its
            parent.
        splits: the splits to load, among `"train"`, `"dev"`, `"test"` (the
            shared data has no test split).

    Returns:
        `{split: TaggedSentences}`.

    Example:

    >>> data = load_ud_treebank()  # doctest: +SKIP
    >>> len(data["train"]), data["dev"].words[0][:3]  # doctest: +SKIP
    (12544, ['From', 'the', 'AP'])
    """
    check_choice("name", name, tuple(TREEBANKS))
    for split in splits:
        check_choice("splits", split, SPLITS)
    folder, stem, _, _, hashes = TREEBANKS[name]
    files = {split: f"{stem}-{split}.conllu" for split in splits}
    paths = resolve.resolve_files(
        folder, list(files.values()), data_dir=data_dir,
        downloads=[resolve.Download(files[s], origin(name, s), file_hash=hashes[s])
                   for s in splits])
    return {split: read_conllu(paths[fname]) for split, fname in files.items()}
