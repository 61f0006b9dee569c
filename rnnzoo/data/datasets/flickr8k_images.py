"""Flickr8k with images: cached encoder features, Keras tokenisation, the captioning run.

The real captioning task of `recipes/captioning.py --data flickr8k`:

- Images: Jason Brownlee's mirror of `Flickr8k_Dataset.zip` (8,091 JPEGs,
  about 1 GB), fetched with `keras.utils.get_file` and checked against its
  MD5 (`IMAGES_MD5`, the hash pinned by mlverse/torchdatasets), or read from
  `images_dir` (any folder holding the `.jpg` files).
- Captions: `rnnzoo.data.datasets.load_flickr8k_captions` (shared folder, Keras
  cache, or the pinned sha256-verified download) with the official
  6,000 / 1,000 / 1,000 train / dev / test image lists.
- Features: a `keras.applications` encoder without its top (weights
  downloaded by Keras; `weights=None` for offline tests) maps each image to
  a grid of region features `(regions, channels)`, computed ONCE and cached
  to disk (`features_<encoder>_<weights>_<split>.npz`, keyed by image ids).
- Captions are lower-cased and split by a Keras `TextVectorization` layer
  adapted on the training captions, each wrapped in `startseq ... endseq`.
- Decoding: `rnnzoo.decode` (beam search); scores: corpus BLEU-1..4 with
  sacrebleu against the 5 references of each of the 1,000 test images.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import keras
import numpy as np

from rnnzoo.io import atomic_path

IMAGES_ORIGIN = (
    "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/"
    "Flickr8k_Dataset.zip"
)
IMAGES_MD5 = "f18a1e2920de5bd84dae7cf08ec78978"
"""MD5 of `Flickr8k_Dataset.zip` (as pinned by mlverse/torchdatasets)."""

START, END = "startseq", "endseq"

ENCODERS = {
    # name: (keras.applications attribute, its module, input size)
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2", 224),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet", 224),
    "inception_v3": ("InceptionV3", "inception_v3", 299),
}
"""Image encoders: MobileNetV2 (7x7x1280 grid) is the CPU-friendly default;
InceptionV3 (8x8x2048) is the "Show, Attend and Tell"-style choice."""


@dataclasses.dataclass
class Flickr8kFeatures:
    """Image-feature grids and captions per split (see `load_flickr8k`).

    Attributes:
        features: `{"train"|"validation"|"test": float32 array (images,
            regions, channels)}`.
        image_ids: `{split: list of image file names}` aligned with
            `features`.
        captions: `{split: list of tuples of raw captions}` (5 per image).
        images_dir: the folder the images were read from.
        encoder: encoder name; `grid_shape`: `(rows, columns)` of its grid.
    """

    features: dict
    image_ids: dict
    captions: dict
    images_dir: str
    encoder: str
    grid_shape: tuple


def download_images(cache_dir=None):
    """Fetches and extracts `Flickr8k_Dataset.zip` (MD5-checked) once.

    Returns:
        The folder holding the `.jpg` files.
    """
    path = keras.utils.get_file(
        "Flickr8k_Dataset.zip", IMAGES_ORIGIN, file_hash=IMAGES_MD5,
        hash_algorithm="md5", extract=True, cache_dir=cache_dir,
        cache_subdir=os.path.join("datasets", "rnnzoo", "flickr8k_images"),
    )
    return _jpeg_folder(path if os.path.isdir(path) else os.path.dirname(path))


def _jpeg_folder(root):
    for folder, _, files in os.walk(root):
        if any(f.lower().endswith(".jpg") for f in files):
            return folder
    raise FileNotFoundError(f"No .jpg images under {root!r}.")


def _encoder(name, weights):
    if name not in ENCODERS:
        raise ValueError(
            f"Expected `encoder` to be one of {sorted(ENCODERS)}. "
            f"Received: encoder={name!r}"
        )
    attr, module, size = ENCODERS[name]
    builder = getattr(keras.applications, attr)
    model = builder(include_top=False, weights=weights,
                    input_shape=(size, size, 3))
    preprocess = getattr(keras.applications, module).preprocess_input
    return model, preprocess, size


def image_features(paths, *, encoder="mobilenet_v2", weights="imagenet",
                   batch_size=32, verbose=0):
    """Encodes images into `(n, regions, channels)` float32 feature grids.

    Args:
        paths: image file paths.
        encoder: a name of `ENCODERS`.
        weights: `"imagenet"` (downloaded by Keras) or `None` (random;
            offline tests).
        batch_size: images per encoder call.

    Returns:
        `(features, grid_shape)`.

    Example:

    >>> f, grid = image_features(["a.jpg"], weights=None)  # doctest: +SKIP
    >>> f.shape, grid  # doctest: +SKIP
    ((1, 49, 1280), (7, 7))
    """
    model, preprocess, size = _encoder(encoder, weights)
    rows, cols, channels = model.output_shape[1:]
    out = np.zeros((len(paths), rows * cols, channels), dtype="float32")
    for start in range(0, len(paths), batch_size):
        batch = np.stack([
            keras.utils.img_to_array(
                keras.utils.load_img(p, target_size=(size, size)))
            for p in paths[start:start + batch_size]
        ])
        grid = np.asarray(model.predict(preprocess(batch), verbose=verbose))
        out[start:start + len(batch)] = grid.reshape(len(batch), rows * cols,
                                                     channels)
    return out, (int(rows), int(cols))


def cached_features(cache_path, image_ids, paths, **kwargs):
    """`image_features`, read from / written to `cache_path` (`.npz`).

    The cache is used only when it holds exactly `image_ids` in that order;
    it is written atomically (temp file + rename).

    Returns:
        `(features, grid_shape)`.
    """
    if os.path.exists(cache_path):
        with np.load(cache_path) as cache:
            if list(cache["image_ids"]) == list(image_ids):
                return cache["features"], tuple(int(v) for v in cache["grid"])
    features, grid = image_features(paths, **kwargs)
    with atomic_path(cache_path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, features=features, image_ids=np.array(image_ids), grid=np.array(grid))
    return features, grid


def load_flickr8k(images_dir=None, captions_dir=None, *,
                  encoder="mobilenet_v2", weights="imagenet", cache_dir=None,
                  max_images=None, verbose=0):
    """Flickr8k image-feature grids and captions for the official splits.

    Args:
        images_dir: folder of the `.jpg` images (default: download
            `IMAGES_ORIGIN`, MD5-checked, into the Keras cache).
        captions_dir: passed to `load_flickr8k_captions` as `data_dir`.
        encoder: a name of `ENCODERS`.
        weights: `"imagenet"` or `None`.
        cache_dir: where feature caches go (default: `<images_dir>/../
            rnnzoo_features`, or `~/.keras/rnnzoo_features` when that is
            not writable).
        max_images: keep the first N images of each split (official order).
        verbose: Keras verbosity while encoding.

    Returns:
        A `Flickr8kFeatures`.

    Example:

    >>> data = load_flickr8k()  # doctest: +SKIP
    >>> data.features["test"].shape  # doctest: +SKIP
    (1000, 49, 1280)
    """
    from rnnzoo.data.datasets.flickr8k import load_flickr8k_captions

    captions = load_flickr8k_captions(data_dir=captions_dir)
    images_dir = images_dir or download_images()
    if cache_dir is None:
        cache_dir = os.path.join(os.path.dirname(os.path.abspath(images_dir)),
                                 "rnnzoo_features")
        if not os.access(os.path.dirname(cache_dir), os.W_OK):
            cache_dir = os.path.join(os.path.expanduser("~"), ".keras",
                                     "rnnzoo_features")
    tag = f"{encoder}_{weights or 'random'}"
    out = Flickr8kFeatures({}, {}, {}, images_dir, encoder, None)
    for split in ("train", "validation", "test"):
        items = list(getattr(captions, split).items())[:max_images]
        ids = [image_id for image_id, _ in items]
        paths = [os.path.join(images_dir, i) for i in ids]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} {split} images missing from {images_dir!r}, "
                f"e.g. {missing[0]!r}."
            )
        suffix = f"_first{max_images}" if max_images else ""
        features, grid = cached_features(
            os.path.join(cache_dir, f"features_{tag}_{split}{suffix}.npz"),
            ids, paths, encoder=encoder, weights=weights, verbose=verbose,
        )
        out.features[split] = features
        out.image_ids[split] = ids
        out.captions[split] = [c for _, c in items]
        out.grid_shape = grid
    return out


def caption_vectorizer(train_captions, *, max_tokens=5000, max_length=24):
    """A Keras `TextVectorization` adapted on `startseq caption endseq`.

    Lower-cases and strips punctuation; `max_length` includes the two
    markers.

    Example:

    >>> v = caption_vectorizer([("A dog runs.",), ("A cat sits!",)],
    ...                        max_length=6)
    >>> vocab = v.get_vocabulary()
    >>> [vocab[i] for i in np.asarray(v(["A dog sits."]))[0] if i]
    ['startseq', 'a', 'dog', 'sits', 'endseq']
    """
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize="lower_and_strip_punctuation",
        output_sequence_length=max_length,
    )
    layer.adapt([f"{START} {c} {END}" for caps in train_captions for c in caps])
    return layer


class _CaptionBatches(keras.utils.PyDataset):
    """`([features, ids_in], ids_out)` batches, one row per caption (features
    are indexed per image, never copied 5 times)."""

    def __init__(self, features, image_index, ids, batch_size, shuffle, seed=0):
        super().__init__()
        self.features, self.image_index, self.ids = features, image_index, ids
        self.batch_size, self.shuffle = batch_size, shuffle
        self.order = np.arange(len(ids))
        self.rng = np.random.default_rng(seed)
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self):
        return int(np.ceil(len(self.ids) / self.batch_size))

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        seq = self.ids[rows]
        return (self.features[self.image_index[rows]], seq[:, :-1]), seq[:, 1:]

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


def _encode_captions(vectorizer, captions):
    flat = [c for caps in captions for c in caps]
    image_index = np.repeat(np.arange(len(captions)),
                            [len(caps) for caps in captions])
    ids = np.asarray(vectorizer([f"{START} {c} {END}" for c in flat]),
                     dtype="int32")
    return image_index, ids


def ids_to_words(ids, vocabulary):
    """Decoded ids -> word lists (stops at `endseq` or padding)."""
    out = []
    for row in np.asarray(ids):
        words = []
        for i in row:
            word = vocabulary[int(i)] if int(i) < len(vocabulary) else "[UNK]"
            if int(i) == 0 or word == END:
                break
            words.append(word)
        out.append(words)
    return out


def bleu_scores(hypotheses, references):
    """Corpus BLEU-1..4 (sacrebleu, cumulative n-gram orders, lower-cased).

    Args:
        hypotheses: one string per image.
        references: one tuple of reference captions per image.

    Example:

    >>> bleu_scores(["a dog runs"], [("A dog runs.", "A dog is running.")])
    {'bleu_1': 100.0, 'bleu_2': 100.0, 'bleu_3': 100.0, 'bleu_4': 0.0}
    """
    import sacrebleu

    n_refs = max(len(r) for r in references)
    streams = [[r[k] if k < len(r) else "" for r in references]
               for k in range(n_refs)]
    scores = {}
    for n in range(1, 5):
        metric = sacrebleu.metrics.BLEU(max_ngram_order=n, lowercase=True,
                                        effective_order=True)
        scores[f"bleu_{n}"] = round(
            float(metric.corpus_score(list(hypotheses), streams).score), 2)
    return scores


def plot_captions(path, image_paths, captions, attention, grid_shape, words=5):
    """Images with their generated caption and where the model looked.

    One row per image: the image titled with the caption, then the
    attention map of each of the first `words` emitted words overlaid on it.
    """
    from rnnzoo.plots import pyplot as _pyplot
    from rnnzoo.plots import save_figure as _save

    plt = _pyplot()
    rows = len(image_paths)
    fig, axes = plt.subplots(rows, words + 1, figsize=(2.0 * (words + 1), 2.2 * rows),
                             squeeze=False)
    for r, (p, caption) in enumerate(zip(image_paths, captions)):
        image = keras.utils.img_to_array(keras.utils.load_img(p)) / 255.0
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(" ".join(caption)[:48] or "(empty)", fontsize=7)
        for k in range(words):
            ax = axes[r, k + 1]
            ax.imshow(image)
            if k < len(caption):
                grid = np.asarray(attention[r][k]).reshape(grid_shape)
                ax.imshow(grid, cmap="inferno", alpha=0.6,
                          extent=(0, image.shape[1], image.shape[0], 0))
                ax.set_title(caption[k], fontsize=8)
        for ax in axes[r]:
            ax.axis("off")
    fig.tight_layout()
    _save(fig, path)
    return path


def run_recipe(args):
    """`recipes/captioning.py --data flickr8k`: train, beam-decode, BLEU-1..4.

    Uses the recipe flags (`--images-dir --data-dir --encoder
    --encoder-weights --max-images --units --epochs --batch-size
    --output-dir --quick`). Writes `model.keras`, `vocabulary.json`,
    `metrics.json`, `captions.png`, `loss.png`.

    Returns:
        The metrics dict.
    """
    import rnnzoo
    from rnnzoo.training import recipe
    from rnnzoo.decoding import decode
    from rnnzoo.models.generator import sequence_generator

    output_dir = recipe.start(args)
    weights = None if str(args.encoder_weights).lower() == "none" else args.encoder_weights
    data = load_flickr8k(args.images_dir, args.data_dir, encoder=args.encoder,
                         weights=weights, max_images=args.max_images,
                         cache_dir=args.feature_cache, verbose=args.verbose)
    vectorizer = caption_vectorizer(data.captions["train"],
                                    max_tokens=args.caption_vocabulary,
                                    max_length=args.caption_length)
    vocabulary = vectorizer.get_vocabulary()
    start_id, end_id = vocabulary.index(START), vocabulary.index(END)
    regions, channels = data.features["train"].shape[1:]
    model = sequence_generator(
        vocabulary_size=len(vocabulary), feature_grid_shape=(regions, channels),
        embedding_dim=args.units, units=args.units, cell="lstm",
        dropout=0.0 if args.quick else 0.3, attention="bahdanau",
        name="flickr8k_captioner",
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batches = {}
    for split in ("train", "validation"):
        index, ids = _encode_captions(vectorizer, data.captions[split])
        batches[split] = _CaptionBatches(data.features[split], index, ids,
                                         args.batch_size, split == "train",
                                         args.seed)
    start = time.time()
    fit = model.fit(
        batches["train"], validation_data=batches["validation"],
        epochs=args.epochs, verbose=args.verbose,
        callbacks=[keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=2, restore_best_weights=True)],
    )
    train_seconds = time.time() - start
    rnnzoo.save_model(model, os.path.join(output_dir, recipe.MODEL_FILE))
    with open(os.path.join(output_dir, "vocabulary.json"), "w") as f:
        json.dump(vocabulary, f)

    test = data.features["test"]
    scores, hyps_by_method = {}, {}
    for method in ("greedy", "beam"):
        ids = decode(model, test, sampler=method, max_length=args.caption_length,
                     start_token=start_id, end_token=end_id)
        words = ids_to_words(ids, vocabulary)
        hyps_by_method[method] = words
        scores[method] = bleu_scores([" ".join(w) for w in words],
                                     data.captions["test"])
    picks = list(range(min(4, len(test))))
    ids, attention = decode(model, test[picks], sampler="greedy",
                            max_length=args.caption_length, start_token=start_id,
                            end_token=end_id, return_attention=True)
    plot_captions(os.path.join(output_dir, "captions.png"),
                  [os.path.join(data.images_dir, data.image_ids["test"][i])
                   for i in picks],
                  ids_to_words(ids, vocabulary), attention, data.grid_shape)
    from rnnzoo.plots import pyplot as _pyplot
    from rnnzoo.plots import save_figure as _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
    ax.plot(history["loss"], label="train loss")
    ax.plot(history["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.legend()
    _save(fig, os.path.join(output_dir, "loss.png"))
    metrics = {
        "recipe": "captioning",
        "data": "flickr8k",
        "encoder": data.encoder,
        "encoder_weights": weights,
        "images": {s: len(v) for s, v in data.image_ids.items()},
        "vocabulary": len(vocabulary),
        **{f"beam_{k}": v for k, v in scores["beam"].items()},
        **{f"greedy_{k}": v for k, v in scores["greedy"].items()},
        "epochs_run": len(history["loss"]),
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "examples": [
            {"image": data.image_ids["test"][i],
             "caption": " ".join(hyps_by_method["beam"][i]),
             "references": list(data.captions["test"][i])}
            for i in range(min(5, len(test)))
        ],
        "quick": args.quick,
    }
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.summary("captioning flickr8k", metrics,
                   ["beam_bleu_1", "beam_bleu_4", "greedy_bleu_4",
                    "train_seconds"], output_dir)
    return metrics
