"""Flickr8k image captions (text only; the images are not loaded here)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Mapping

from rnnzoo.data.datasets import resolve

DATASET = "flickr8k_captions"

TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {
    "train": "Flickr_8k.trainImages.txt",
    "validation": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}

_BASE = (
    "https://raw.githubusercontent.com/Sadika1212/Image-Caption-Generator/"
    "e45272a67531ecb627880de8ff035f9118c16b40/"
)
_HASHES = {
    TOKEN_FILE: (
        "34ad7b233d723293637efc8d45bb09e94c49a99d8309f271c7a4f3653416cb94"
    ),
    "Flickr_8k.trainImages.txt": (
        "338a2ac8f4df14648e7b13166442ba1ac3f92009cb1f47bf37c2bc401c9acea6"
    ),
    "Flickr_8k.devImages.txt": (
        "18ba829f47f6df1cb830bf7f0506e2ddf333818925299babbd1bbcaf50fdc504"
    ),
    "Flickr_8k.testImages.txt": (
        "c0924146c131458ceba45da59670fe9520eadce1e5cafffa16a817672a9b1f17"
    ),
}
DOWNLOADS = tuple(
    resolve.Download(fname, _BASE + fname, file_hash=file_hash)
    for fname, file_hash in _HASHES.items()
)
"""The four text files at a pinned commit (sha256-verified)."""


@dataclasses.dataclass(frozen=True)
class CaptionsDataset:
    """Captions per image for the standard Flickr8k splits.

    Attributes:
        train: Read-only mapping `image_id -> tuple of captions` (image ids
            are file names such as `"1000268201_693b08cb0e.jpg"`; 5
            captions each, in caption-number order). Keys follow the order
            of the official split file.
        validation: Same, for the official dev list.
        test: Same, for the official test list.
    """

    train: Mapping[str, tuple[str, ...]]
    validation: Mapping[str, tuple[str, ...]]
    test: Mapping[str, tuple[str, ...]]


def _read_captions(path):
    numbered = {}
    with resolve.open_text(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            key, _, caption = line.partition("\t")
            image_id, _, number = key.partition("#")
            numbered.setdefault(image_id, []).append(
                (int(number) if number.isdigit() else 0, caption.strip())
            )
    return {
        image_id: tuple(caption for _, caption in sorted(items))
        for image_id, items in numbered.items()
    }


def _read_ids(path):
    with resolve.open_text(path) as f:
        return [line.strip() for line in f if line.strip()]


def load_flickr8k_captions(data_dir=None) -> CaptionsDataset:
    """Loads the Flickr8k captions grouped by image, per official split.

    Reads `Flickr8k.token.txt` (lines `IMAGE.jpg#N<TAB>caption`, 5 captions
    per image) and the official image lists `Flickr_8k.trainImages.txt`,
    `Flickr_8k.devImages.txt`, `Flickr_8k.testImages.txt` (plain or `.gz`).
    Captions are returned as written (not lower-cased or tokenized).
    Images listed in a split file but without captions are skipped.

    The files are looked up in `data_dir`,
    `$RNNZOO_DATA_DIR/flickr8k_captions/`, the Keras cache, then downloaded
    from Sadika1212/Image-Caption-Generator at a pinned commit
    (sha256-verified). The images themselves are not handled here.

    Args:
        data_dir: Folder holding the four files, or its parent folder.

    Returns:
        A `CaptionsDataset` whose `train` / `validation` / `test` map image
        ids (`str`) to tuples of caption strings.

    Example:

    >>> data = load_flickr8k_captions()  # doctest: +SKIP
    >>> len(data.train), len(data.validation), len(data.test)  # doctest: +SKIP
    (5997, 1000, 1000)
    >>> image_id, captions = next(iter(data.train.items()))  # doctest: +SKIP
    """
    paths = resolve.resolve_files(
        DATASET,
        [TOKEN_FILE, *SPLIT_FILES.values()],
        data_dir=data_dir,
        downloads=DOWNLOADS,
    )
    captions = _read_captions(paths[TOKEN_FILE])
    splits = {}
    for split, fname in SPLIT_FILES.items():
        ids = _read_ids(paths[fname])
        splits[split] = MappingProxyType(
            {i: captions[i] for i in ids if i in captions}
        )
    return CaptionsDataset(**splits)
