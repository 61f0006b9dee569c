"""Surnames classified by language (the PyTorch char-RNN tutorial data)."""

from __future__ import annotations

import unicodedata

import numpy as np

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_split_fractions

DATASET = "names"

LANGUAGES = (
    "Arabic", "Chinese", "Czech", "Dutch", "English", "French", "German",
    "Greek", "Irish", "Italian", "Japanese", "Korean", "Polish", "Portuguese",
    "Russian", "Scottish", "Spanish", "Vietnamese",
)  # fmt: skip
"""The 18 class names, sorted alphabetically (class id = index)."""

ORIGIN = "https://download.pytorch.org/tutorial/data.zip"
"""Canonical archive (holds `data/names/<Language>.txt`).

Its sha256 is NOT pinned: the shared copy was altered (10% held out, and its
source truncated Russian), so no copy of the canonical file was available to
hash.
"""

DOWNLOADS = (
    resolve.Download("data.zip", ORIGIN, file_hash=None, extract=True),
)


def load_names(
    data_dir=None, validation_fraction=0.1, test_fraction=0.1
) -> resolve.ClassificationDataset:
    """Loads surnames labelled with one of 18 languages.

    Each `<Language>.txt` file holds one surname per line (UTF-8, accents
    kept; names are NFC-normalized). The files repeat names, so the loader
    keeps DISTINCT (name, language) pairs. A pair goes to a split by the
    salted hash of the *name alone* (`resolve.hash_fraction`), so a name
    listed under two languages never straddles splits, and the assignment
    depends neither on file order nor on the source (shared copy or the
    full tutorial archive). Hashing splits each language roughly 80/10/10.
    Within a split, examples are sorted by (class id, name).

    Args:
        data_dir: Folder holding the `<Language>.txt` files (plain or `.gz`),
            or a parent folder with a `names/` sub-folder. When `None` (or
            when it lacks the files): `$RNNZOO_DATA_DIR/names/`, then the
            Keras cache, then a download of `ORIGIN` (not hash-verified).
        validation_fraction: Fraction of the distinct names for validation.
        test_fraction: Fraction of the distinct names for test.

    Returns:
        A `ClassificationDataset` with `train`, `validation` and `test`
        `Split`s: `x` is an object array of `str` (names), `y` an `int64`
        array of class ids into `class_names` (the 18 `LANGUAGES`).

    Example:

    >>> data = load_names()  # doctest: +SKIP
    >>> data.num_classes, data.class_names[0]  # doctest: +SKIP
    (18, 'Arabic')
    >>> name, label = data.train.x[0], data.train.y[0]  # doctest: +SKIP
    """
    validation_fraction, test_fraction = check_split_fractions(validation_fraction,
                                                               test_fraction)
    paths = resolve.resolve_files(
        DATASET,
        [f"{language}.txt" for language in LANGUAGES],
        data_dir=data_dir,
        downloads=DOWNLOADS,
    )
    pairs = set()
    for class_id, language in enumerate(LANGUAGES):
        text = resolve.read_text(paths[f"{language}.txt"])
        for line in text.splitlines():
            name = unicodedata.normalize("NFC", line.strip())
            if name:
                pairs.add((class_id, name))
    parts = {"train": [], "validation": [], "test": []}
    for class_id, name in sorted(pairs):
        split = resolve.assign_split(name, validation_fraction, test_fraction)
        parts[split].append((name, class_id))

    def make(items):
        return resolve.Split(
            x=resolve.text_array(name for name, _ in items),
            y=np.array([c for _, c in items], dtype=np.int64),
        )

    return resolve.ClassificationDataset(
        train=make(parts["train"]),
        validation=make(parts["validation"]),
        test=make(parts["test"]),
        class_names=LANGUAGES,
    )
