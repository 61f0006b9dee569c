"""Flickr8k photographs: where the images are, caption vocabularies and caption batches.

The data of the captioning task's Flickr8k run (`recipes/captioning.py`,
`rnnzoo.tasks.captioning.flickr8k`):

- Images: a folder of the `.jpg` files, found by `find_images_dir`:
  `images_dir`, then `$RNNZOO_DATA_DIR/flickr8k_images/`, then the Keras
  cache (an extracted official zip). `images_dir="download"` fetches the
  official `Flickr8k_Dataset.zip` (8,091 JPEGs, about 1 GB) with
  `keras.utils.get_file`, checked against its MD5 (`IMAGES_MD5`). Nothing
  is downloaded unless asked: with no images anywhere the error names the
  folders searched and the variable.
- Captions: `rnnzoo.data.datasets.load_flickr8k_captions` with the official
  6,000 / 1,000 / 1,000 train / dev / test image lists.
- Captions are lower-cased with punctuation stripped (Keras'
  `lower_and_strip_punctuation`), split on whitespace and wrapped in
  `startseq ... endseq`; the vocabulary is every word seen `min_count`
  times in the training captions.

Image features (an ImageNet encoder's grid) are the task's business
(`rnnzoo.tasks.captioning.features`).
"""

from __future__ import annotations

import os

import keras
import numpy as np

from rnnzoo.data.datasets import resolve
from rnnzoo.data.length_batches import row_lengths

DATASET = "flickr8k_images"
IMAGES_ORIGIN = (
    "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/"
    "Flickr8k_Dataset.zip"
)
IMAGES_MD5 = "f18a1e2920de5bd84dae7cf08ec78978"
"""MD5 of `Flickr8k_Dataset.zip` (as pinned by mlverse/torchdatasets)."""

START, END = "startseq", "endseq"
STANDARDIZE = "lower_and_strip_punctuation"


def download_images(cache_dir=None):
    """Fetches and extracts the official `Flickr8k_Dataset.zip` (MD5-checked) once.

    Returns:
        The folder holding the `.jpg` files.
    """
    path = keras.utils.get_file(
        "Flickr8k_Dataset.zip", IMAGES_ORIGIN, file_hash=IMAGES_MD5,
        hash_algorithm="md5", extract=True, cache_dir=cache_dir,
        cache_subdir=os.path.join(resolve.CACHE_SUBDIR, DATASET),
    )
    folder = _jpeg_folder(path if os.path.isdir(path) else os.path.dirname(path))
    if folder is None:
        raise FileNotFoundError(f"No .jpg images under {path!r} after extracting "
                                f"{IMAGES_ORIGIN}.")
    return folder


def _jpeg_folder(root):
    for folder, _, files in os.walk(root):
        if any(f.lower().endswith(".jpg") for f in files):
            return folder
    return None


def find_images_dir(images_dir=None):
    """The folder of the Flickr8k `.jpg` images.

    Looks in `images_dir`, then `$RNNZOO_DATA_DIR/flickr8k_images/`, then
    the Keras cache (`$KERAS_HOME/datasets/rnnzoo/flickr8k_images/`, an
    extracted official zip). `images_dir="download"` downloads the official
    zip (about 1 GB, MD5-checked) instead.

    Args:
        images_dir: a folder of the images, `"download"`, or None.

    Returns:
        The folder (a `str`).

    Raises:
        ValueError: `images_dir` is given but is not a folder.
        rnnzoo.data.datasets.resolve.DatasetNotFoundError: no images in any
            folder searched (the message names them and `RNNZOO_DATA_DIR`).

    Example:

    >>> find_images_dir()  # doctest: +SKIP
    '/data/flickr8k_images'
    """
    if images_dir == "download":
        return download_images()
    if images_dir is not None:
        if not os.path.isdir(images_dir):
            raise ValueError("Expected `images_dir` to be a folder of Flickr8k .jpg images or "
                             f"'download'. Received: images_dir={images_dir!r}")
        return str(images_dir)
    searched = []
    parent = os.environ.get(resolve.ENV_VAR)
    if parent:
        searched.append(os.path.join(parent, DATASET))
    searched.append(str(resolve.cache_dir(DATASET)))
    for folder in searched:
        found = _jpeg_folder(folder) if os.path.isdir(folder) else None
        if found:
            return found
    raise resolve.DatasetNotFoundError(
        f"No Flickr8k images found. Searched: {', '.join(map(repr, searched))}"
        f"{'' if parent else f' (${resolve.ENV_VAR} is not set)'}. Set "
        f"${resolve.ENV_VAR} to the folder holding `{DATASET}/`, pass `images_dir` "
        "(`--images-dir`), or `images_dir='download'` to fetch the official zip "
        f"(about 1 GB) from {IMAGES_ORIGIN}."
    )


def image_paths(images_dir, image_ids, split="train"):
    """The paths of `image_ids` in `images_dir`; a clear error when any is missing.

    Raises:
        FileNotFoundError: naming the split, the folder, the first missing
            file and `RNNZOO_DATA_DIR`.

    Example:

    >>> image_paths("/data/flickr8k_images", ["a.jpg"])  # doctest: +SKIP
    ['/data/flickr8k_images/a.jpg']
    """
    paths = [os.path.join(images_dir, i) for i in image_ids]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} Flickr8k {split} images are missing from "
            f"{images_dir!r} (e.g. {os.path.basename(missing[0])!r}). Point "
            f"${resolve.ENV_VAR} at the folder holding `{DATASET}/`, or pass `images_dir`."
        )
    return paths


def has_images(images_dir, image_ids):
    """Whether every one of `image_ids` is a file in `images_dir` (and there is one)."""
    return bool(image_ids) and all(os.path.isfile(os.path.join(images_dir, i))
                                   for i in image_ids)


def caption_tokens(captions):
    """Captions as word lists: lower-cased, punctuation stripped, whitespace split.

    Example:

    >>> caption_tokens(["A dog's ball, in the air."])
    [['a', 'dogs', 'ball', 'in', 'the', 'air']]
    """
    from rnnzoo.data.text import tokenize

    return tokenize(captions, standardize=STANDARDIZE)


def caption_vocabulary(train_captions, *, min_count=5, max_tokens=None):
    """The caption vocabulary: `["", "[UNK]", startseq, endseq, words...]`.

    Args:
        train_captions: the training images' captions (one tuple per image).
        min_count: keep words seen at least this many times.
        max_tokens: cap on the number of words (the most frequent).

    Returns:
        The vocabulary list; id = index (0 padding, 1 unknown).

    Example:

    >>> caption_vocabulary([("A dog.", "A cat!")], min_count=2)
    ['', '[UNK]', 'startseq', 'endseq', 'a']
    """
    from rnnzoo.data.text import count_vocabulary

    words = count_vocabulary([c for caps in train_captions for c in caps],
                             standardize=STANDARDIZE, min_count=min_count,
                             max_tokens=max_tokens)
    return ["", "[UNK]", START, END] + [w for w in words if w not in (START, END)]


def caption_vectorizer(vocabulary, *, max_length=24):
    """A `TextVectorization` over `vocabulary` (`caption_vocabulary`) giving ids.

    `max_length` includes the two markers.

    Example:

    >>> v = caption_vectorizer(caption_vocabulary([("A dog sits.",)], min_count=1),
    ...                        max_length=6)
    >>> np.asarray(v([f"{START} A dog sits. {END}"]))[0].tolist()
    [2, 4, 5, 6, 3, 0]
    """
    from rnnzoo.data.text import text_vectorizer

    return text_vectorizer(vocabulary[2:], standardize=STANDARDIZE,
                           sequence_length=max_length)


def encode_captions(vectorizer, captions):
    """`(image_index, ids)`: every caption of every image as `startseq ... endseq` ids.

    Example:

    >>> v = caption_vectorizer(caption_vocabulary([("A dog.", "A cat.")]), max_length=4)
    >>> index, ids = encode_captions(v, [("A dog.", "A cat."), ("A dog.",)])
    >>> index.tolist(), ids.shape
    ([0, 0, 1], (3, 4))
    """
    from rnnzoo.data.text import vectorize

    flat = [f"{START} {c} {END}" for caps in captions for c in caps]
    image_index = np.repeat(np.arange(len(captions)), [len(caps) for caps in captions])
    ids = np.asarray(vectorize(vectorizer, flat), dtype="int32")
    return image_index, ids


class CaptionBatches(keras.utils.PyDataset):
    """`([features, ids_in], ids_out, weights)` batches of similar-length captions.

    One row per caption; features are indexed per image, never copied 5
    times. Captions are sorted by length (random tie-breaking, new every
    epoch when shuffling), cut into batches, and each batch is trimmed to
    its longest caption, so little time goes to padding; the batch order is
    shuffled every epoch. The first two batches are the narrowest one and a
    wider one: Keras' TensorFlow adapter fixes every dimension on which the
    first batches agree (as `rnnzoo.data.LengthBatches` does).

    `weights` is 1 on real target steps and 0 on padding and on the unknown
    word (`unknown_id`): the model is never trained to say "[UNK]".

    Args:
        features: `(images, regions, channels)` feature grids (any float
            dtype; batches are float32).
        image_index: the image of each caption row.
        ids: `(captions, length)` caption ids (`encode_captions`).
        batch_size: captions per batch.
        shuffle: reshuffle (ties and batch order) every epoch, from `seed`.
        seed: the shuffling seed.
        unknown_id: the id of the unknown word (1 for `caption_vocabulary`).
    """

    def __init__(self, features, image_index, ids, batch_size, shuffle, seed=0, unknown_id=1):
        super().__init__()
        self.features, self.image_index, self.ids = features, image_index, ids
        self.batch_size, self.shuffle, self.unknown_id = batch_size, shuffle, unknown_id
        self.lengths = row_lengths(ids)
        self.rng = np.random.default_rng(seed)
        self._make_batches()

    def arrays(self):
        """`([grids, ids], ids)`: the arrays the batches are cut from, for `rnnzoo.fit`'s checks.

        The grids are per image, not per caption row: each array is checked
        on its own (finite features, ids inside the vocabulary).
        """
        return [self.features, self.ids], self.ids

    def _make_batches(self):
        n = len(self.ids)
        tie = self.rng.random(n) if self.shuffle else np.arange(n)
        order = np.lexsort([tie, self.lengths])
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(batches)
        widths = [self._width(b) for b in batches]
        if len(set(widths)) > 1:
            first = int(np.argmin(widths))
            second = int(np.argmax(widths))
            rest = [b for i, b in enumerate(batches) if i not in (first, second)]
            batches = [batches[first], batches[second]] + rest
        self.batches = batches

    def _width(self, rows):
        return max(2, int(self.lengths[rows].max()))

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        rows = np.sort(self.batches[i])
        seq = self.ids[rows, :self._width(rows)]
        target = seq[:, 1:]
        weights = ((target != 0) & (target != self.unknown_id)).astype("float32")
        features = np.asarray(self.features[self.image_index[rows]], dtype="float32")
        return (features, seq[:, :-1]), target, weights

    def on_epoch_end(self):
        if self.shuffle:
            self._make_batches()
