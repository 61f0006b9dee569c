"""Saving models atomically and loading them."""

import os

import keras

from rnnzoo.io import atomic_path


def save_model(model, path):
    """Saves `model` to a `.keras` file atomically.

    The model is written to a temporary file in the same folder, then
    renamed over `path`: an interrupted save never leaves a half-written
    file, and an existing file at `path` stays intact until the new one is
    complete.

    Args:
        model: a Keras model.
        path: the destination, ending in `.keras`.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile, rnnzoo
    >>> model = rnnzoo.dense_baseline(num_features=3, num_outputs=1, units=4)
    >>> path = rnnzoo.save_model(model, os.path.join(tempfile.mkdtemp(), "m.keras"))
    >>> rnnzoo.load_model(path).count_params() == model.count_params()
    True
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"Expected `path` to end in '.keras'. Received: path={path!r}")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def load_model(path, compile=True):
    """Loads a `.keras` model (rnnzoo layers registered; `safe_mode=True`).

    Example:

    >>> model = load_model  # see save_model's example
    """
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
