"""English-French sentence pairs (Tatoeba via manythings.org, d2l's file)."""

from __future__ import annotations

import dataclasses

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_split_fractions

DATASET = "fra_eng"

ORIGIN = "http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip"
"""d2l's archive (holds `fra-eng/fra.txt` and `fra-eng/_about.txt`).

Its sha256 is NOT pinned: the shared copy had a group of English sentences
held out, so no copy of the canonical file was available to hash (d2l only
publishes a sha1, which `keras.utils.get_file` cannot check).
"""

DOWNLOADS = (
    resolve.Download("fra-eng.zip", ORIGIN, file_hash=None, extract=True),
)


@dataclasses.dataclass(frozen=True)
class TranslationDataset:
    """Train / validation / test `Split`s of sentence pairs.

    Each `Split` has `x` the source sentences (English) and `y` the target
    sentences (French), both object arrays of `str`, aligned by index.
    """

    train: resolve.Split
    validation: resolve.Split
    test: resolve.Split
    source_language: str = "en"
    target_language: str = "fr"


def load_fra_eng(
    data_dir=None, validation_fraction=0.02, test_fraction=0.02
) -> TranslationDataset:
    """Loads English-French sentence pairs with an English-disjoint split.

    Reads `fra.txt` (plain or `.gz`): one pair per line,
    `English<TAB>French`, optionally followed by a third attribution column
    (ignored). Every pair goes to a split by the salted hash of its ENGLISH
    sentence (`resolve.hash_fraction`), so all translations of one English
    sentence land in the same split and no test source sentence is ever
    seen in training. The assignment depends neither on file order nor on
    the source (shared copy or full download). With the defaults the test
    split holds more than 2,000 pairs. File order is kept within splits.
    Lengths are not filtered here.

    The file is looked up in `data_dir`, `$RNNZOO_DATA_DIR/fra_eng/`, the
    Keras cache, then d2l's `fra-eng.zip` is downloaded (not hash-verified,
    see `ORIGIN`).

    Args:
        data_dir: Folder holding `fra.txt`/`fra.txt.gz`, or its parent.
        validation_fraction: Fraction of distinct English sentences for
            validation.
        test_fraction: Fraction of distinct English sentences for test.

    Returns:
        A `TranslationDataset`; `split.x` English and `split.y` French
        object arrays of `str`.

    Example:

    >>> data = load_fra_eng()  # doctest: +SKIP
    >>> data.train.x[0], data.train.y[0]  # doctest: +SKIP
    ('Go.', 'Va !')
    """
    validation_fraction, test_fraction = check_split_fractions(validation_fraction,
                                                               test_fraction)
    path = resolve.resolve_files(
        DATASET, ["fra.txt"], data_dir=data_dir, downloads=DOWNLOADS
    )["fra.txt"]
    parts = {"train": ([], []), "validation": ([], []), "test": ([], [])}
    assigned = {}
    with resolve.open_text(path) as f:
        for line in f:
            line = line.rstrip("\r\n").lstrip("\ufeff")
            if not line.strip():
                continue
            columns = line.split("\t")
            if len(columns) < 2:
                raise ValueError(
                    f"Expected `English<TAB>French` lines in {path}. "
                    f"Received: line={line!r}"
                )
            english, french = columns[0], columns[1]
            split = assigned.get(english)
            if split is None:
                split = resolve.assign_split(
                    english, validation_fraction, test_fraction
                )
                assigned[english] = split
            parts[split][0].append(english)
            parts[split][1].append(french)

    def make(english, french):
        return resolve.Split(
            x=resolve.text_array(english), y=resolve.text_array(french)
        )

    return TranslationDataset(
        train=make(*parts["train"]),
        validation=make(*parts["validation"]),
        test=make(*parts["test"]),
    )
