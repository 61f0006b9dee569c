"""Flickr8k path end to end, offline.

TEST FIXTURES: the images here are GENERATED (flat-coloured rectangles saved
under real Flickr8k file names); only the captions are real (from
`RNNZOO_DATA_DIR`). The encoder runs with `weights=None`, so nothing is
downloaded. These tests check plumbing and invariants, not caption quality.
"""

import json
import os

import numpy as np
import pytest

import rnnzoo
from rnnzoo.data.datasets import flickr8k_images as F

pytestmark = pytest.mark.skipif(
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


def test_caption_vectorizer_and_bleu():
    v = F.caption_vectorizer([("A Dog runs.", "a dog, running!")], max_length=6)
    vocab = v.get_vocabulary()
    ids = np.asarray(v(["startseq A DOG runs endseq"]))[0]
    assert F.ids_to_words(ids[1:][None], vocab) == [["a", "dog", "runs"]]
    refs = [("A dog runs on the grass.", "A brown dog is running.")]
    perfect = F.bleu_scores(["a dog runs on the grass ."], refs)
    assert perfect == {"bleu_1": 100.0, "bleu_2": 100.0, "bleu_3": 100.0,
                       "bleu_4": 100.0}
    worse = F.bleu_scores(["a cat sleeps"], refs)
    assert all(worse[k] < perfect[k] for k in perfect)


def test_flickr8k_recipe_end_to_end(fixture_images, tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "recipes"))
    import captioning

    saved = []
    real = rnnzoo.save_model
    monkeypatch.setattr(rnnzoo, "save_model",
                        lambda m, p, *a, **k: (saved.append((m, p)), real(m, p, *a, **k))[1])
    folder, _, cache = fixture_images
    out = tmp_path / "run"
    metrics = captioning.main([
        "--data", "flickr8k", "--quick", "--images-dir", folder,
        "--encoder-weights", "none", "--max-images", str(N), "--epochs", "1",
        "--feature-cache", cache, "--output-dir", str(out),
    ])
    assert {"model.keras", "vocabulary.json", "metrics.json", "captions.png",
            "loss.png"} <= set(os.listdir(out))
    assert metrics["images"] == {"train": N, "validation": N, "test": N}
    for method in ("beam", "greedy"):
        for n in range(1, 5):
            assert 0.0 <= metrics[f"{method}_bleu_{n}"] <= 100.0
        # Cumulative BLEU-n cannot rise with n.
        b = [metrics[f"{method}_bleu_{n}"] for n in range(1, 5)]
        assert b == sorted(b, reverse=True)
    assert json.load(open(out / "metrics.json"))["beam_bleu_4"] == metrics["beam_bleu_4"]
    vocab = json.load(open(out / "vocabulary.json"))
    assert vocab[:2] == ["", "[UNK]"] and "startseq" in vocab and "endseq" in vocab
    model, path = saved[0]
    reloaded = rnnzoo.load_model(str(path))
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(2, 49, 1280)).astype("float32"),
         rng.integers(1, len(vocab), size=(2, 5)).astype("int32")]
    np.testing.assert_allclose(reloaded.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
