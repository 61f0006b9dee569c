"""SST-2: binary sentiment of movie-review sentences (GLUE train/dev)."""

from __future__ import annotations

import csv
import functools

import numpy as np

from rnnzoo.data.datasets import resolve
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_fraction

DATASET = "sst2"

CLASS_NAMES = ("negative", "positive")

_BASE = (
    "https://raw.githubusercontent.com/awake020/pytorch_Bert_sst2/"
    "ce2ab1719d32182e6233b24b2de246bd32814fde/SST-2/"
)
DOWNLOADS = (
    resolve.Download(
        "train.tsv",
        _BASE + "train.tsv",
        file_hash=(
            "e981ceb4fe6c9acd1c79851d0d091b9e78103f1f2a399ca83dda27915d41c56c"
        ),
    ),
    resolve.Download(
        "dev.tsv",
        _BASE + "dev.tsv",
        file_hash=(
            "84207e6be5873fb18db798cc6faec86871f5a426554650ff64a1c34e87665f6f"
        ),
    ),
)
"""The files at a pinned commit, with sha256 of the (decompressed) bytes."""

SOURCES = ("files", "tfds")

VALIDATION_UNITS = ("sentences", "rows")


def _spans(tokens):
    """Every contiguous token span of a row, shorter than the row, joined."""
    n = len(tokens)
    return {
        " ".join(tokens[a:b])
        for a in range(n) for b in range(a + 1, n + 1) if b - a < n
    }


@functools.lru_cache(maxsize=2)
def _complete_rows(joined):
    """Indices of the rows (a tuple of strings) that are no token span of another row.

    The expensive part of `sentence_holdout` (~3 s on SST-2's 67,349 rows)
    and the same for every fraction and fold, so kept for the last two files.
    """
    inner = set()
    for row in joined:
        inner.update(_spans(row.split()))
    return tuple(i for i, row in enumerate(joined) if row not in inner)


def sentence_holdout(texts, validation_fraction, fold=0):
    """Splits SST-2 train rows so validation is whole, unseen sentences.

    The train file holds every labelled phrase of each training sentence's
    parse tree as its own row. A row that is no token span of another row is
    a complete sentence (6,886 of the 67,349 rows; SST has 6,920 training
    sentences). A `validation_fraction` of those sentences, by
    `resolve.hash_fraction` of the text (fold `k`: the sentences whose hash
    falls in `[k * fraction, (k + 1) * fraction)`), is held out, and every
    row that is a span of a held-out sentence is dropped from training, so
    no phrase of a validation sentence is ever trained on. Validation then
    measures what the dev split measures (whole sentences never seen in any
    part); rows held out by hash alone leave their sub- and super-phrases in
    training and score far above dev (0.93 against 0.83 for the same model).

    Args:
        texts: the train file's rows.
        validation_fraction: fraction of the complete sentences held out.
        fold: which fraction-wide slice of the hash range is held out;
            folds are disjoint (an ensemble may validate each member on
            another fold, so that together the members train on every row).

    Returns:
        `(train_indices, validation_indices)`, lists in file order; rows that
        are spans of held-out sentences are in neither.

    Example:

    >>> sentence_holdout(["a b c", "a b", "c", "d e"], 0.0)
    ([0, 1, 2, 3], [])
    """
    tokens = [str(t).split() for t in texts]
    joined = tuple(" ".join(row) for row in tokens)
    low, high = fold * validation_fraction, (fold + 1) * validation_fraction
    held = [
        i for i in _complete_rows(joined)
        if low <= resolve.hash_fraction(joined[i]) < high
    ]
    dropped = set(joined[i] for i in held)  # the sentences and all their phrases
    for i in held:
        dropped.update(_spans(tokens[i]))
    train = [i for i, row in enumerate(joined) if row not in dropped]
    return train, held


def _read_tsv(path):
    """Reads a `label<TAB>text` file with a header; returns (texts, labels)."""
    texts, labels = [], []
    with resolve.open_text(path) as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if len(header) != 2 or header[0] != "label":
            raise ValueError(
                f"Unexpected SST-2 header in {path}: expected "
                f"'label<TAB>sentence'. Received: header={header}"
            )
        for row in reader:
            if not row:
                continue
            texts.append(row[1])
            labels.append(int(row[0]))
    return texts, labels


def _read_tfds(data_dir):
    import tensorflow_datasets as tfds

    splits = tfds.load(
        "glue/sst2",
        split=["train", "validation"],
        data_dir=None if data_dir is None else str(data_dir),
    )
    result = []
    for split in splits:
        texts, labels = [], []
        for batch in tfds.as_numpy(split.batch(4096)):
            texts += [
                t.decode("utf-8") if isinstance(t, bytes) else str(t)
                for t in batch["sentence"]
            ]
            labels += [int(v) for v in batch["label"]]
        result.append((texts, labels))
    return result


def load_sst2(
    data_dir=None, source="files", validation_fraction=0.08,
    validation="sentences", validation_fold=0,
) -> resolve.ClassificationDataset:
    """Loads SST-2 (Stanford Sentiment Treebank, binary, as in GLUE).

    Splits:

    - `train`: the official train file (67,349 labelled sentences and
      phrases) minus the validation part;
    - `validation`: with `validation="sentences"` (the default), complete
      sentences held out of the train file by the salted hash of their
      text, with every phrase of theirs dropped from `train` (see
      `sentence_holdout`: 555 sentences held out and 6,115 phrase rows
      dropped at the default fraction); with `validation="rows"`, rows
      held out by hash alone (phrases of one sentence then straddle the
      split, and validation accuracy runs far above dev's); not stratified;
    - `test`: the official dev split (872 sentences; the labelled test split
      is not public).

    With `source="files"` the `train.tsv` / `dev.tsv` files are read (plain
    or `.gz`; header `label<TAB>sentence`, label first) with the `csv`
    module and `quoting=csv.QUOTE_NONE`. They are looked up in `data_dir`,
    `$RNNZOO_DATA_DIR/sst2/`, the Keras cache, then downloaded from
    `awake020/pytorch_Bert_sst2` at a pinned commit (sha256-verified).

    With `source="tfds"`, `glue/sst2` is loaded with `tensorflow_datasets`
    (which may download it); its `validation` split becomes our `test`, and
    its `test` split (labels -1) is not used. `data_dir` is then passed to
    `tfds.load` as its data folder.

    Args:
        data_dir: See above. `None` uses the default search (or TFDS's
            default folder).
        source: `"files"` or `"tfds"`.
        validation_fraction: Fraction of the complete train sentences
            (`"sentences"`) or of the train rows (`"rows"`) held out for
            validation, by hash.
        validation: `"sentences"` or `"rows"`, see above.
        validation_fold: hold out the `validation_fold`-th slice of the
            hash range, `[k * validation_fraction, (k + 1) *
            validation_fraction)`, instead of the first; 0 to
            `floor(1 / validation_fraction) - 1`. Folds are disjoint.

    Returns:
        A `ClassificationDataset`: each `Split` has `x` an object array of
        `str` sentences (lower-cased, tokenized as in GLUE) and `y` an
        `int64` array (0 = negative, 1 = positive); `class_names` is
        `("negative", "positive")`. Examples keep their file order.

    Example:

    >>> data = load_sst2()  # doctest: +SKIP
    >>> len(data.test)  # doctest: +SKIP
    872
    >>> data.train.x[0], data.train.y[0]  # doctest: +SKIP
    ('hide new secretions from the parental units', 0)
    """
    if source not in SOURCES:
        raise ValueError(
            f"`source` must be one of {SOURCES}. Received: source={source!r}"
        )
    validation_fraction = check_fraction(
        "validation_fraction", validation_fraction
    )
    check_choice("validation", validation, VALIDATION_UNITS)
    folds = int(1 / validation_fraction) if validation_fraction else 1
    if (isinstance(validation_fold, bool) or not isinstance(validation_fold, int)
            or not 0 <= validation_fold < folds):
        raise ValueError(
            f"`validation_fold` must be an int in [0, {folds}) at "
            f"validation_fraction={validation_fraction}. "
            f"Received: validation_fold={validation_fold!r}"
        )
    if source == "files":
        paths = resolve.resolve_files(
            DATASET,
            ["train.tsv", "dev.tsv"],
            data_dir=data_dir,
            downloads=DOWNLOADS,
        )
        train = _read_tsv(paths["train.tsv"])
        test = _read_tsv(paths["dev.tsv"])
    else:
        train, test = _read_tfds(data_dir)

    texts, labels = train
    if validation == "sentences":
        train_rows, validation_rows = sentence_holdout(
            texts, validation_fraction, validation_fold)
    else:
        low = validation_fold * validation_fraction
        high = (validation_fold + 1) * validation_fraction
        held = [low <= resolve.hash_fraction(t) < high for t in texts]
        train_rows = [i for i, h in enumerate(held) if not h]
        validation_rows = [i for i, h in enumerate(held) if h]

    def make(texts, labels):
        return resolve.Split(
            x=resolve.text_array(texts), y=np.array(labels, dtype=np.int64)
        )

    def rows(indices):
        return make([texts[i] for i in indices], [labels[i] for i in indices])

    return resolve.ClassificationDataset(
        train=rows(train_rows),
        validation=rows(validation_rows),
        test=make(*test),
        class_names=CLASS_NAMES,
    )
