"""SST-2: binary sentiment of movie-review sentences (GLUE train/dev)."""

from __future__ import annotations

import csv

import numpy as np

from rnnzoo.datasets import resolve

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
    data_dir=None, source="files", validation_fraction=0.05
) -> resolve.ClassificationDataset:
    """Loads SST-2 (Stanford Sentiment Treebank, binary, as in GLUE).

    Splits:

    - `train`: the official train file (67,349 labelled sentences and
      phrases) minus the validation part;
    - `validation`: held out of the official train file by the salted hash
      of the sentence text (`resolve.hash_fraction`), so duplicate sentences
      never straddle train/validation; not stratified;
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
        validation_fraction: Fraction of the train sentences (by hash) held
            out for validation.

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
    validation_fraction = resolve.check_fraction(
        "validation_fraction", validation_fraction
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

    parts = {"train": ([], []), "validation": ([], [])}
    for text, label in zip(*train):
        split = resolve.assign_split(text, validation_fraction, 0.0)
        parts[split][0].append(text)
        parts[split][1].append(label)

    def make(texts, labels):
        return resolve.Split(
            x=resolve.text_array(texts), y=np.array(labels, dtype=np.int64)
        )

    return resolve.ClassificationDataset(
        train=make(*parts["train"]),
        validation=make(*parts["validation"]),
        test=make(*test),
        class_names=CLASS_NAMES,
    )
