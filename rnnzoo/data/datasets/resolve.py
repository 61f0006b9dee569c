"""Locate (or download) the files of a dataset, plus small shared helpers.

Every loader in `rnnzoo.data.datasets` finds its files with `resolve_files`, which
searches, in this order:

1. the loader's `data_dir` argument: either the dataset's own folder or a
   parent folder that contains `<dataset>/`;
2. `$RNNZOO_DATA_DIR/<dataset>/` (the environment variable names a parent
   folder);
3. the Keras cache, `$KERAS_HOME/datasets/rnnzoo/<dataset>/` (`KERAS_HOME`
   defaults to `~/.keras`), searched recursively so that extracted archives
   are found;
4. a download from the dataset's canonical public address with
   `keras.utils.get_file(..., cache_subdir="datasets/rnnzoo/<dataset>")`,
   after which the cache is searched again.

A folder only counts when it holds *all* the files a dataset needs, so files
from two sources are never mixed. Each file may be stored plain or gzipped
(`x.txt` or `x.txt.gz`); the plain one wins when both exist. When nothing is
found and the download fails (for example on a machine without network),
`DatasetNotFoundError` is raised; its message names the dataset, the
`RNNZOO_DATA_DIR` variable, every folder searched and the download address.

Keras (and with it TensorFlow) is imported only when a download is needed.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

ENV_VAR = "RNNZOO_DATA_DIR"
"""Name of the environment variable holding a parent folder of datasets."""

CACHE_SUBDIR = "datasets/rnnzoo"
"""Sub-folder of the Keras home where downloads are cached."""

SPLIT_SALT = "rnnzoo:"
"""Salt prepended to split keys before hashing (see `hash_fraction`)."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files were found nowhere and could not be downloaded."""


@dataclasses.dataclass(frozen=True)
class Download:
    """One file to fetch with `keras.utils.get_file`.

    Attributes:
        fname: File name in the cache folder (e.g. `"train.tsv"`).
        origin: Canonical public URL.
        file_hash: sha256 of the file (`None` when no copy of the canonical
            file was available to hash; then nothing is verified).
        extract: Whether the file is an archive (zip) to extract.
    """

    fname: str
    origin: str
    file_hash: str | None = None
    extract: bool = False


def keras_home() -> Path:
    """Returns the Keras home folder, honouring `KERAS_HOME` at call time."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home).expanduser()
    return Path("~/.keras").expanduser()


def cache_dir(dataset: str) -> Path:
    """Returns the Keras cache folder of `dataset`."""
    return keras_home() / CACHE_SUBDIR / dataset


def _find_in(folder: Path, names: Sequence[str], recursive: bool):
    """Returns the first existing `name` or `name.gz` in `folder`, or None."""
    for name in names:
        for candidate in (name, name + ".gz"):
            path = folder / candidate
            if path.is_file():
                return path
    if recursive and folder.is_dir():
        for name in names:
            for candidate in (name, name + ".gz"):
                hits = sorted(p for p in folder.rglob(candidate) if p.is_file())
                if hits:
                    return hits[0]
    return None


def _find_all(folder: Path, files: Mapping[str, Sequence[str]], recursive):
    found = {}
    for key, names in files.items():
        path = _find_in(folder, names, recursive)
        if path is None:
            return None
        found[key] = path
    return found


def _normalize_files(files) -> dict[str, tuple[str, ...]]:
    normalized = {}
    for entry in files:
        if isinstance(entry, str):
            normalized[entry] = (entry,)
        else:
            entry = tuple(entry)
            normalized[entry[0]] = entry
    return normalized


def _get_file(**kwargs):
    """Calls `keras.utils.get_file` (imported lazily: it pulls in a backend).

    Tests replace this function (or `keras.utils.get_file`) to simulate an
    offline machine.
    """
    import keras

    return keras.utils.get_file(**kwargs)


def resolve_files(
    dataset: str,
    files: Iterable[str | Sequence[str]],
    data_dir: str | os.PathLike | None = None,
    downloads: Sequence[Download] = (),
) -> dict[str, Path]:
    """Finds the files of `dataset`, downloading them if needed.

    Args:
        dataset: Dataset folder name, e.g. `"sst2"`.
        files: The files needed. Each entry is a file name, or a sequence of
            alternative names whose first element is the key in the result.
            Each name also matches `name + ".gz"`.
        data_dir: Optional folder: the dataset's own folder, or a parent
            folder containing `<dataset>/`. Must exist when given.
        downloads: What to fetch when no local copy is found.

    Returns:
        A dict mapping each file key to the `pathlib.Path` of a plain or
        gzipped file (open it with `open_text`).

    Raises:
        DatasetNotFoundError: nothing found and the download failed.
        ValueError: `data_dir` is given but is not a folder.

    Example:

    >>> paths = resolve_files("timemachine", ["timemachine.txt"])  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['timemachine.txt']
    """
    files = _normalize_files(files)
    searched = []
    local = []
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        if not data_dir.is_dir():
            raise ValueError(
                f"`data_dir` must be an existing folder holding the "
                f"'{dataset}' files or a '{dataset}/' sub-folder. "
                f"Received: data_dir={data_dir}"
            )
        local += [data_dir, data_dir / dataset]
    env = os.environ.get(ENV_VAR)
    if env:
        local.append(Path(env).expanduser() / dataset)
    for folder in local:
        searched.append(str(folder))
        found = _find_all(folder, files, recursive=False)
        if found is not None:
            return found

    cache = cache_dir(dataset)
    searched.append(str(cache))
    found = _find_all(cache, files, recursive=True)
    if found is not None:
        return found

    cause = None
    if downloads:
        try:
            for item in downloads:
                _get_file(
                    fname=item.fname,
                    origin=item.origin,
                    file_hash=item.file_hash,
                    cache_subdir=f"{CACHE_SUBDIR}/{dataset}",
                    cache_dir=str(keras_home()),
                    extract=item.extract,
                )
        except ValueError:
            # A hash mismatch: the download worked but the file is wrong.
            raise
        except Exception as err:  # get_file wraps URL errors in Exception.
            cause = err
        else:
            found = _find_all(cache, files, recursive=True)
            if found is not None:
                return found
    origins = ", ".join(item.origin for item in downloads) or "(none)"
    wanted = ", ".join(names[0] for names in files.values())
    message = (
        f"Could not find the '{dataset}' dataset (files: {wanted}; plain or "
        f".gz). Searched: {'; '.join(searched)}. Pass `data_dir=`, or set "
        f"the {ENV_VAR} environment variable to a folder containing "
        f"'{dataset}/', or allow the download from: {origins}."
    )
    if cause is not None:
        message += f" The download failed: {cause}"
    raise DatasetNotFoundError(message) from cause


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Opens a plain or gzipped (`.gz`) UTF-8 text file for reading.

    Newlines are not translated (`newline=""`), as the `csv` module wants.
    """
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_text(path: str | os.PathLike) -> str:
    """Reads a whole plain or gzipped UTF-8 text file."""
    with open_text(path) as f:
        return f.read()


def hash_fraction(key: str) -> float:
    """Maps a split key to a deterministic number in `[0, 1)`.

    Uses `sha1("rnnzoo:" + key)` modulo 10,000. The salt makes the value
    independent of the unsalted `sha1(key) % n` groups that were removed from
    the shared copies of the data, so no split ends up empty there. The
    value depends only on the key, never on file order or on the source.
    """
    digest = hashlib.sha1((SPLIT_SALT + key).encode("utf-8")).hexdigest()
    return (int(digest, 16) % 10000) / 10000.0


def assign_split(key: str, validation_fraction: float, test_fraction: float):
    """Returns `"train"`, `"validation"` or `"test"` for `key`.

    Keys with `hash_fraction(key) < test_fraction` go to test, the next
    `validation_fraction` to validation, the rest to train.
    """
    u = hash_fraction(key)
    if u < test_fraction:
        return "test"
    if u < test_fraction + validation_fraction:
        return "validation"
    return "train"


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
    """One split of a dataset: inputs `x` and targets `y` (NumPy arrays).

    Text is stored as object arrays of Python `str`; integer labels as
    `int64`. `len(split)` is the number of examples.
    """

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def __iter__(self):
        # Allows `x, y = split`.
        return iter((self.x, self.y))

    def __eq__(self, other):
        if not isinstance(other, Split):
            return NotImplemented
        return np.array_equal(self.x, other.x) and np.array_equal(
            self.y, other.y
        )

    __hash__ = None


@dataclasses.dataclass(frozen=True)
class ClassificationDataset:
    """Train / validation / test `Split`s of a text classification dataset.

    Attributes:
        train: `Split` with `x` an object array of `str`, `y` `int64` ids.
        validation: Same, held out of the training data.
        test: Same, never used for training or model selection.
        class_names: Tuple of class names; `y` indexes into it.
    """

    train: Split
    validation: Split
    test: Split
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def text_array(values) -> np.ndarray:
    """Returns a 1-D object array of `str` (never a fixed-width `<U` array)."""
    values = list(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
