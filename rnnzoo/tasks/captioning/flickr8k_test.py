"""The Flickr8k captioning run end to end, offline, on GENERATED data.

TEST FIXTURES: the images AND the captions here are GENERATED (images of two
flat colour halves, captions naming the colours, written in the official
Flickr8k file formats); the encoder runs with `weights=None`, so nothing is
downloaded. Plumbing and invariants, not caption quality.
"""

import os

import numpy as np
import pytest

from rnnzoo import cli
from rnnzoo.io import read_json
from rnnzoo.tasks import captioning
from rnnzoo.tasks.captioning import flickr8k
from rnnzoo.training.saving import load_model

N = 4  # images per split
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220),
           "yellow": (230, 230, 40)}


@pytest.fixture(scope="module")
def generated_flickr8k(tmp_path_factory):
    """GENERATED images and captions in the Flickr8k layout: `(images, captions, cache)`."""
    import keras

    root = tmp_path_factory.mktemp("generated_flickr8k")
    images, captions = root / "images", root / "captions"
    images.mkdir()
    captions.mkdir()
    rng = np.random.default_rng(0)
    names = list(COLOURS)
    tokens, lists = [], {"train": [], "dev": [], "test": []}
    for split in lists:
        for k in range(N):
            image_id = f"{split}_{k}.jpg"
            left, right = rng.choice(names, 2, replace=False)
            image = np.zeros((40, 60, 3), "float32")
            image[:, :30], image[:, 30:] = COLOURS[left], COLOURS[right]
            keras.utils.save_img(str(images / image_id), image)
            for n, text in enumerate([f"A {left} and {right} picture.",
                                      f"{left} and {right}.", f"A {left} half and a {right} half.",
                                      f"Two colours: {left} and {right}.",
                                      f"A picture in {left} and {right}."]):
                tokens.append(f"{image_id}#{n}\t{text}")
            lists[split].append(image_id)
    (captions / "Flickr8k.token.txt").write_text("\n".join(tokens) + "\n")
    for split, fname in (("train", "Flickr_8k.trainImages.txt"),
                         ("dev", "Flickr_8k.devImages.txt"),
                         ("test", "Flickr_8k.testImages.txt")):
        (captions / fname).write_text("\n".join(lists[split]) + "\n")
    return str(images), str(captions), str(root / "feature_cache")


def _flags(data, out, *extra):
    images, captions, cache = data
    return ["--dataset", "flickr8k", "--quick", "--images-dir", images, "--data-dir", captions,
            "--encoder-weights", "none", "--feature-cache", cache, "--batch-size", "8",
            "--output-dir", str(out), "--verbose", "0", *extra]


@pytest.mark.multi_backend
def test_bleu_scores_are_cumulative_orders():
    refs = [("A dog runs on the grass.", "A brown dog is running.")]
    perfect = flickr8k.bleu_scores(["a dog runs on the grass ."], refs)
    assert perfect == {"bleu_1": 100.0, "bleu_2": 100.0, "bleu_3": 100.0, "bleu_4": 100.0}
    worse = flickr8k.bleu_scores(["a cat sleeps"], refs)
    assert all(worse[k] < perfect[k] for k in perfect)


def test_flickr8k_run_trains_through_the_runner(generated_flickr8k, tmp_path):
    out = tmp_path / "run"
    metrics = cli.main(captioning, _flags(generated_flickr8k, out, "--epochs", "2"))
    assert {"model.keras", "vocabulary.json", "metrics.json", "captions.png",
            "loss.png"} <= set(os.listdir(out))
    # Trained by runner.fit (strategy, resume, best epoch): its checkpoint.
    assert os.path.exists(out / "checkpoints" / "captioner" / "best.keras")
    assert metrics["images"] == {"train": N, "validation": N, "test": N}
    assert metrics["epochs_run"] == 2
    for method in ("beam", "greedy"):
        b = [metrics[f"{method}_bleu_{n}"] for n in range(1, 5)]
        assert all(0.0 <= v <= 100.0 for v in b)
        assert b == sorted(b, reverse=True)  # cumulative BLEU-n cannot rise with n
    assert read_json(out / "metrics.json")["beam_bleu_4"] == metrics["beam_bleu_4"]
    vocab = read_json(out / "vocabulary.json")
    assert vocab[:2] == ["", "[UNK]"] and "startseq" in vocab and "red" in vocab
    model = load_model(str(out / "model.keras"))
    x = [np.random.default_rng(0).normal(size=(2, 49, 1280)).astype("float32"),
         np.array([[2, 3, 4], [5, 6, 7]], "int32")]
    again = load_model(str(out / "checkpoints" / "captioner" / "best.keras"))
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_flickr8k_tune_searches_the_generator(generated_flickr8k, tmp_path):
    out = tmp_path / "tune"
    metrics = cli.main(captioning, _flags(generated_flickr8k, out, "--epochs", "1",
                                          "--tune", "random", "--max-trials", "1"))
    assert metrics["trials"] == 1 and metrics["builder"] == "sequence_generator"
    assert tuple(metrics["fixed"]["feature_grid_shape"]) == (49, 1280)
    assert {"trials.tsv", "best.keras", "metrics.json"} <= set(os.listdir(out))
