"""Flickr8k image features and captions, offline.

TEST FIXTURES: the images here are GENERATED (flat-coloured rectangles saved
under real Flickr8k file names); only the captions are real (from
`RNNZOO_DATA_DIR`). The encoder runs with `weights=None`, so nothing is
downloaded. The training run is tested in
`rnnzoo/tasks/captioning/flickr8k_test.py` (on generated captions too).
"""

import os

import numpy as np
import pytest

from rnnzoo.data.datasets import flickr8k_images as F
from rnnzoo.data.text import ids_to_tokens

needs_captions = pytest.mark.skipif(
    not os.path.isdir(os.path.join(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent"),
                                   "flickr8k_captions")),
    reason="needs RNNZOO_DATA_DIR with flickr8k_captions/",
)

N = 4  # images per split


@pytest.fixture(scope="module")
def fixture_images(tmp_path_factory):
    """GENERATED test images named after the first N images of each split."""
    from rnnzoo.data.datasets import load_flickr8k_captions

    captions = load_flickr8k_captions()
    folder = tmp_path_factory.mktemp("generated_fixture_images")
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "test"):
        for image_id in list(getattr(captions, split))[:N]:
            image = np.zeros((48, 64, 3), "float32")
            image[:, :32] = rng.uniform(0, 255, 3)
            image[:, 32:] = rng.uniform(0, 255, 3)
            import keras

            keras.utils.save_img(str(folder / image_id), image)
    return str(folder), captions, str(folder.parent / "feature_cache")


@needs_captions
def test_load_flickr8k_features_cached_once(fixture_images, monkeypatch):
    folder, captions, cache = fixture_images
    data = F.load_flickr8k(folder, weights=None, max_images=N, cache_dir=cache)
    assert data.grid_shape == (7, 7)
    for split in ("train", "validation", "test"):
        assert data.features[split].shape == (N, 49, 1280)
        assert data.image_ids[split] == list(getattr(captions, split))[:N]
        assert all(len(c) == 5 for c in data.captions[split])
    # Two images of different colours give different features (random
    # weights keep activations tiny, hence the relative comparison).
    a, b = data.features["train"][0], data.features["train"][1]
    assert np.abs(a - b).max() > 1e-3 * np.abs(a).max() > 0

    def fail(*args, **kwargs):
        raise AssertionError("features recomputed instead of read from the cache")

    monkeypatch.setattr(F, "image_features", fail)
    again = F.load_flickr8k(folder, weights=None, max_images=N, cache_dir=cache)
    np.testing.assert_array_equal(again.features["test"], data.features["test"])
    with pytest.raises(FileNotFoundError, match="images missing"):
        F.load_flickr8k(folder, weights=None, max_images=N + 1, cache_dir=cache)


def test_caption_vectorizer_and_batches():
    v = F.caption_vectorizer([("A Dog runs.", "a dog, running!")], max_length=6)
    vocab = v.get_vocabulary()
    index, ids = F.encode_captions(v, [("A DOG runs",), ("a dog, running!", "A dog.")])
    assert index.tolist() == [0, 1, 1]
    assert ids_to_tokens(ids[:, 1:], vocab, end_id=vocab.index(F.END)) == [
        ["a", "dog", "runs"], ["a", "dog", "running"], ["a", "dog"]]
    features = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    batches = F.CaptionBatches(features, index, ids, batch_size=2, shuffle=False)
    assert len(batches) == 2
    (grid, ids_in), ids_out = batches[1]
    np.testing.assert_array_equal(grid, features[[1]])
    np.testing.assert_array_equal(ids_in, ids[2:, :-1])
    np.testing.assert_array_equal(ids_out, ids[2:, 1:])
