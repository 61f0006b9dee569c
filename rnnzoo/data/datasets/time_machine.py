"""H. G. Wells' "The Time Machine", preprocessed as in d2l.ai."""

from __future__ import annotations

import dataclasses
import re

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_fraction

DATASET = "timemachine"

DOWNLOADS = (
    resolve.Download(
        "timemachine.txt",
        "https://raw.githubusercontent.com/probml/probml-data/"
        "f74e6f00ef1570f5b3843c49818d0bfa6b473069/data/timemachine.txt",
        file_hash=(
            "4149e15a170aa94068969282e8b2cee7aaab0d889bf1c0d684378177040267dd"
        ),
    ),
)
"""probml/probml-data's copy at a pinned commit (sha256-verified)."""

LEVELS = ("char", "word")


@dataclasses.dataclass(frozen=True)
class TextCorpus:
    """A language-modelling corpus split chronologically.

    Attributes:
        train: Training text (`str`): the first part of the book.
        validation: Held-out text (`str`): the end of the book, never
            trained on.
        vocabulary: Sorted tuple of the tokens of `train` (characters, space
            included, for `level="char"`; words for `level="word"`).
        level: `"char"` or `"word"`.
    """

    train: str
    validation: str
    vocabulary: tuple[str, ...]
    level: str

    def tokenize(self, text: str) -> list[str]:
        """Splits `text` into characters or words, according to `level`."""
        return list(text) if self.level == "char" else text.split()


def preprocess(raw: str) -> str:
    """d2l preprocessing: letters only, lower case, lines joined by spaces.

    Each line becomes `re.sub('[^A-Za-z]+', ' ', line).strip().lower()` and
    the lines are joined with a single space (empty lines included, as d2l
    does, which may leave runs of spaces).
    """
    lines = raw.splitlines()
    return " ".join(
        re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in lines
    )


def load_time_machine(
    data_dir=None, level="char", validation_fraction=0.1
) -> TextCorpus:
    """Loads "The Time Machine" as a character- or word-level corpus.

    The text is preprocessed as in d2l (`preprocess`): only the 26 letters
    (lower-cased) and spaces remain. With `level="char"` the first
    `1 - validation_fraction` of the characters form `train` and the rest
    `validation`; with `level="word"` the split is by words (the texts then
    hold the words joined by single spaces). `vocabulary` is built from the
    training part.

    The file `timemachine.txt` (plain or `.gz`) is looked up in `data_dir`,
    `$RNNZOO_DATA_DIR/timemachine/`, the Keras cache, then downloaded from
    probml/probml-data at a pinned commit (sha256-verified).

    Args:
        data_dir: Folder holding `timemachine.txt`, or its parent folder.
        level: `"char"` or `"word"`.
        validation_fraction: Fraction of the characters (or words) at the
            end of the book held out for validation.

    Returns:
        A `TextCorpus` (`train` and `validation` are `str`; `vocabulary` a
        sorted tuple of `str`; 27 characters for `level="char"`).

    Example:

    >>> corpus = load_time_machine()  # doctest: +SKIP
    >>> len(corpus.vocabulary), corpus.vocabulary[:3]  # doctest: +SKIP
    (27, (' ', 'a', 'b'))
    >>> corpus.train[:16]  # doctest: +SKIP
    'the time machine'
    """
    if level not in LEVELS:
        raise ValueError(
            f"`level` must be one of {LEVELS}. Received: level={level!r}"
        )
    validation_fraction = check_fraction(
        "validation_fraction", validation_fraction
    )
    path = resolve.resolve_files(
        DATASET, ["timemachine.txt"], data_dir=data_dir, downloads=DOWNLOADS
    )["timemachine.txt"]
    text = preprocess(resolve.read_text(path))
    if level == "char":
        cut = len(text) - int(round(len(text) * validation_fraction))
        train, validation = text[:cut], text[cut:]
        vocabulary = tuple(sorted(set(train)))
    else:
        words = text.split()
        cut = len(words) - int(round(len(words) * validation_fraction))
        train, validation = " ".join(words[:cut]), " ".join(words[cut:])
        vocabulary = tuple(sorted(set(words[:cut])))
    return TextCorpus(
        train=train, validation=validation, vocabulary=vocabulary, level=level
    )
