"""The one atomic write: files and folders appear whole or not at all.

Everything rnnzoo writes for a user (models, weights, checkpoints,
metrics.json, plots, exported SavedModels, feature caches) goes through
`atomic_path`: the writer fills a temporary path in the destination's
folder, which is flushed to disk and renamed over the destination only when
the writer succeeded. An interrupted write never leaves a half-written file,
and an existing file stays intact until its replacement is complete.

This module sits below every other rnnzoo package (data, training,
decoding, plots all write files), so it imports nothing from rnnzoo.
"""

import contextlib
import json
import os
import shutil
import tempfile


def _umask_mode(directory):
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, *, directory=False):
    """Yields a temporary path beside `path`, renamed over `path` when the block succeeds.

    The temporary path keeps `path`'s file name as its suffix (so writers
    that check extensions, such as `.keras` or `.weights.h5`, accept it). It
    gets the mode any new file gets under the user's umask. If the block
    raises, the temporary path is removed and `path` is left as it was.

    Args:
        path: the destination file (or folder with `directory=True`).
        directory: the writer creates a folder (e.g. a SavedModel); an
            existing folder at `path` is replaced whole.

    Yields:
        The temporary path to write.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_path(path) as tmp:
    ...     _ = open(tmp, "w").write("hello")
    >>> open(path).read()
    'hello'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    holder = tempfile.mkdtemp(prefix=".tmp-", dir=folder)
    tmp = os.path.join(holder, os.path.basename(path))
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise FileNotFoundError(f"The writer did not create {tmp!r} for {path!r}.")
        os.chmod(tmp, _umask_mode(directory))
        if directory:
            for root, _, names in os.walk(tmp):
                for name in names:
                    _fsync(os.path.join(root, name))
            if os.path.exists(path):
                old = os.path.join(holder, ".old")
                os.replace(path, old)
            os.replace(tmp, path)
        else:
            _fsync(tmp)
            os.replace(tmp, path)
        _fsync(folder)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _to_python(value):
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    raise TypeError(f"Not JSON serializable: {value!r}")


def write_json(path, data, *, indent=2):
    """Writes `data` as JSON atomically; NumPy scalars and arrays become numbers and lists.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.json")
    >>> _ = write_json(path, {"accuracy": np.float32(0.5)})
    >>> read_json(path)
    {'accuracy': 0.5}
    """
    text = json.dumps(data, indent=indent, default=_to_python)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text + "\n")
    return path


def read_json(path, default=None):
    """The JSON at `path`, or `default` when it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default
