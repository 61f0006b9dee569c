"""The Flickr8k captioning task: generated photographs offline, then real ones.

TEST FIXTURES of the first part: the images AND the captions are GENERATED
(images of two flat colour halves, captions naming the colours, written in
the official Flickr8k file formats), so a clean clone tests the task's
plumbing without `RNNZOO_DATA_DIR`. The second part runs the quick
configuration on about 300 REAL Flickr8k photographs (skipped without
them) and checks what it learned against a random-caption baseline.
"""

import os

import numpy as np
import pytest

from rnnzoo import cli
from rnnzoo.data.datasets import flickr8k_images as data_images
from rnnzoo.data.datasets.resolve import DatasetNotFoundError
from rnnzoo.io import read_json
from rnnzoo.tasks import captioning
from rnnzoo.tasks.captioning import flickr8k
from rnnzoo.training.saving import load_model

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.tasks.captioning.flickr8k_test")

N = 6  # generated images per split
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220),
           "yellow": (230, 230, 40)}
REAL = os.path.join(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent"), "flickr8k_images")
needs_real_images = pytest.mark.skipif(not os.path.isdir(REAL),
                                       reason="needs RNNZOO_DATA_DIR with flickr8k_images/")


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
            if split != "test":  # the test images are absent, as in the shared data
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
    return ["--quick", "--images-dir", images, "--data-dir", captions,
            "--feature-cache", cache, "--validation-images", "2", "--min-count", "1",
            "--batch-size", "8", "--units", "16", "--embedding-dim", "8",
            "--beams", "((2, 0.0), (2, 1.0))", "--neighbours", "(1, 2)", "--output-dir", str(out), "--verbose", "0", *extra]


@pytest.mark.multi_backend
def test_caption_scores_are_cumulative_bleu_and_cider_on_the_same_tokens():
    refs = [("A dog runs on the grass.", "A brown dog is running."),
            ("A man rides a bike.", "A cyclist on a road.")]
    perfect = flickr8k.caption_scores(["a dog runs on the grass", "a man rides a bike"], refs)
    assert [perfect[f"bleu_{n}"] for n in range(1, 5)] == [100.0] * 4
    swapped = flickr8k.caption_scores(["a man rides a bike", "a dog runs on the grass"], refs)
    assert swapped["cider_d"] < perfect["cider_d"]
    assert all(swapped[f"bleu_{n}"] < perfect[f"bleu_{n}"] for n in range(2, 5))
    # Case and punctuation are the references' only difference: ignored.
    assert flickr8k.caption_scores([["a", "dog", "runs"]], [("A dog, runs!",)])["bleu_1"] == 100


def test_run_trains_decodes_and_reports_dev_on_generated_photos(generated_flickr8k, tmp_path,
                                                                capsys):
    out = tmp_path / "run"
    metrics = cli.main(captioning, _flags(generated_flickr8k, out, "--epochs", "2"))
    assert {"model.keras", "no_attention.keras", "vocabulary.json", "metrics.json",
            "attention.png", "attention.npz", "loss.png"} <= set(os.listdir(out))
    # Trained by runner.fit (strategy, resume, best epoch): its checkpoints.
    assert os.path.exists(out / "checkpoints" / "captioner" / "best.keras")
    assert os.path.exists(out / "checkpoints" / "no_attention" / "best.keras")
    assert metrics["images"] == {"train": N - 2, "validation": 2, "dev": N}
    assert metrics["absent_splits"] == ["test"]
    assert "test images are not in" in capsys.readouterr().out  # said once
    assert metrics["epochs_run"] == 2
    # Each decoder ends with the mean of its two best epochs' weights.
    assert {k: sorted(v) for k, v in metrics["averaged_epochs"].items()} == {
        "attention": [1, 2], "no_attention": [1, 2]}
    for method in ("beam", "greedy", "no_attention_beam", "nearest_neighbour"):
        b = [metrics["scores"]["dev"][method][f"bleu_{n}"] for n in range(1, 5)]
        assert all(0.0 <= v <= 100.0 for v in b)
        assert b == sorted(b, reverse=True)  # cumulative BLEU-n cannot rise with n
    assert read_json(out / "metrics.json")["beam_bleu_4"] == metrics["beam_bleu_4"]
    # Grids are cached by image content: identical pictures are encoded once.
    import hashlib

    images = generated_flickr8k[0]
    contents = {hashlib.sha1(open(os.path.join(images, f), "rb").read()).hexdigest()
                for f in os.listdir(images)}
    assert metrics["features_computed"] == len(contents) < 3 * N
    vocab = read_json(out / "vocabulary.json")
    assert vocab[:4] == ["", "[UNK]", "startseq", "endseq"] and "red" in vocab


def test_tune_searches_the_generator(generated_flickr8k, tmp_path):
    out = tmp_path / "tune"
    metrics = cli.main(captioning, _flags(generated_flickr8k, out, "--epochs", "1",
                                          "--tune", "random", "--max-trials", "1"))
    assert metrics["trials"] == 1 and metrics["builder"] == "sequence_generator"
    assert tuple(metrics["fixed"]["feature_grid_shape"]) == (49, 1280)
    assert {"trials.tsv", "best.keras", "metrics.json"} <= set(os.listdir(out))


def test_missing_images_name_the_folder_and_the_variable(generated_flickr8k, tmp_path,
                                                         monkeypatch):
    images, captions, _ = generated_flickr8k
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with pytest.raises(DatasetNotFoundError, match=r"RNNZOO_DATA_DIR.*--images-dir"):
        data_images.find_images_dir()
    monkeypatch.setenv("RNNZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "flickr8k_images")):
        data_images.find_images_dir()
    with pytest.raises(ValueError, match=r"Received: images_dir='/no/such'"):
        data_images.find_images_dir("/no/such")
    empty = tmp_path / "some_images"
    empty.mkdir()
    (empty / "train_0.jpg").write_bytes(open(os.path.join(images, "train_0.jpg"), "rb").read())
    with pytest.raises(FileNotFoundError,
                       match=rf"4 of the 5 Flickr8k train images are missing from "
                             rf"'{empty}'.*RNNZOO_DATA_DIR"):
        flickr8k.load_data(str(empty), captions, validation_images=1)


@needs_real_images
def test_quick_run_on_real_photographs(tmp_path, capsys):
    out = tmp_path / "real"
    # The decoder without attention, and the choice among beams and
    # neighbour counts, are exercised in the generated-data test above.
    metrics = cli.main(captioning, ["--quick", "--output-dir", str(out), "--verbose", "0",
                                    "--no-baseline", "--beams", "((3, 1.0),)",
                                    "--neighbours", "(5,)"])
    assert metrics["images"] == {"train": 260, "validation": 40, "dev": 100}
    dev = metrics["scores"]["dev"]
    # The floor: a random training caption per photograph. Trained on 260
    # photographs for a few epochs, the attention captioner must beat it.
    assert dev["beam"]["bleu_4"] > dev["random_train_caption"]["bleu_4"] + 2
    assert dev["beam"]["cider_d"] > dev["random_train_caption"]["cider_d"]
    assert dev["nearest_neighbour"]["bleu_1"] > dev["random_train_caption"]["bleu_1"]

    # The saved model reloads and decodes the same captions.
    vocabulary = read_json(out / "vocabulary.json")
    data = flickr8k.load_data(validation_images=40, max_images=300, max_dev_images=8)
    paths = data.paths["dev"]
    from rnnzoo.tasks.captioning import features

    grids, _ = features.grid_features(paths, verbose=0)
    model = load_model(str(out / "model.keras"))
    beam = flickr8k.Beam(**metrics["beam"])
    words = flickr8k.decode_captions(model, grids, vocabulary, sampler=beam, max_length=22)
    assert [" ".join(w) for w in words] == [e["beam"] for e in metrics["examples"]["dev"]]

    # The attention figure: one map per generated word, each summing to one.
    assert os.path.getsize(out / "attention.png") > 10_000
    with np.load(out / "attention.npz") as maps:
        captions = [str(c).split() for c in maps["words"]]
        for i, caption in enumerate(captions):
            m = maps[f"maps_{i}"]
            assert m.shape == (len(caption), 49)
            np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-4)

    # `predict` captions any image file (here a dev photograph resized to
    # 300 x 200 PNG) and writes its attention figure.
    import keras

    photo = tmp_path / "photo.png"
    keras.utils.save_img(str(photo), keras.utils.img_to_array(
        keras.utils.load_img(paths[0], target_size=(200, 300))))
    captions = cli.main(captioning, ["predict", str(photo), "--output-dir", str(out),
                                     "--attention", str(tmp_path / "why.png")])
    assert len(captions) == 1 and captions[0]
    assert f"{photo}: {captions[0]}" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "why.png") and os.path.exists(tmp_path / "why.npz")
