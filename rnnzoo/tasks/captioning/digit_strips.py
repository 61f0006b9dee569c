"""Digit strips: captioning images composed from REAL handwritten digit scans.

scikit-learn bundles 1,797 real 8x8 scans of handwritten digits
(`sklearn.datasets.load_digits`, UCI "Optical Recognition of Handwritten
Digits"; no network needed). A strip places 3 to 6 of those scans left to
right, with small random gaps, on a blank canvas; its "caption" is its digit
sequence. The strips are composed here, but every digit in them is a real
scan. The scans are split once (stratified by digit, fixed seed) into
train / validation / test scans, and each split's strips use only that
split's scans: test strips contain only scans never seen in training.

Token ids: 0 padding, 1 start, 2 end, digit `d` is `d + 3`
(`VOCABULARY_SIZE = 13`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import keras
import numpy as np

from rnnzoo.validation import check_positive_int

PAD, START, END, DIGIT_OFFSET = 0, 1, 2, 3
VOCABULARY_SIZE = 13
HEIGHT = 8
CHANNELS = 2
SCAN_FRACTIONS = (0.6, 0.2, 0.2)
"""Fractions of the scans for train / validation / test strips."""


@dataclasses.dataclass
class Strips:
    """One split of strips.

    Attributes:
        images: `(n, 8, width, 2)` float32 in [0, 1]: channel 0 the
            pixels, channel 1 the column coordinate (0 at the left edge, 1
            at the right; a CoordConv channel: convolutions alone cannot
            tell the first digit from the third).
        digits: list of the digit sequences (lists of ints).
        target_in: `(n, max_digits + 1)` int32 decoder inputs
            (start, digits..., padding).
        target_out: `(n, max_digits + 1)` int32 next tokens
            (digits..., end, padding).
        scan_ids: list of the scan indices used by each strip.
    """

    images: np.ndarray
    digits: list
    target_in: np.ndarray
    target_out: np.ndarray
    scan_ids: list


def split_scans(seed=0):
    """Indices of the train / validation / test scans (stratified, fixed).

    Returns:
        `(images, labels, {"train": idx, "validation": idx, "test": idx})`
        with `images` `(1797, 8, 8)` float32 in [0, 1].

    Example:

    >>> _, _, parts = split_scans()
    >>> [len(parts[k]) for k in ("train", "validation", "test")]
    [1077, 360, 360]
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype("float32")
    labels = data.target.astype("int64")
    rng = np.random.default_rng(seed)
    parts = {"train": [], "validation": [], "test": []}
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        rng.shuffle(idx)
        n_train = int(round(len(idx) * SCAN_FRACTIONS[0]))
        n_val = int(round(len(idx) * SCAN_FRACTIONS[1]))
        parts["train"].extend(idx[:n_train])
        parts["validation"].extend(idx[n_train:n_train + n_val])
        parts["test"].extend(idx[n_train + n_val:])
    return images, labels, {k: np.sort(np.array(v)) for k, v in parts.items()}


def make_strips(num_strips, split="train", *, min_digits=3, max_digits=6,
                width=56, max_gap=1, seed=0, scan_seed=0):
    """Composes `num_strips` strips from one split's real digit scans.

    Args:
        num_strips: number of strips.
        split: `"train"`, `"validation"` or `"test"` (which scans are used).
        min_digits, max_digits: strip length range (inclusive).
        width: canvas width in pixels (>= 8 * max_digits + gaps).
        max_gap: the largest random gap between digits and before the
            first one, in pixels.
        seed: seed of the composition (lengths, scans, gaps).
        scan_seed: seed of the scan split (`split_scans`).

    Returns:
        A `Strips`.

    Example:

    >>> strips = make_strips(4, "test", seed=1)
    >>> strips.images.shape, strips.target_in.shape
    ((4, 8, 56, 2), (4, 7))
    """
    num_strips = check_positive_int("num_strips", num_strips)
    if split not in ("train", "validation", "test"):
        raise ValueError(
            "Expected `split` to be 'train', 'validation' or 'test'. "
            f"Received: split={split!r}"
        )
    if not 1 <= min_digits <= max_digits:
        raise ValueError(
            "Expected 1 <= min_digits <= max_digits. Received: "
            f"min_digits={min_digits}, max_digits={max_digits}"
        )
    if width < max_digits * (8 + max_gap) + max_gap:
        raise ValueError(
            "Expected `width` to fit max_digits scans and gaps, at least "
            f"{max_digits * (8 + max_gap) + max_gap}. Received: width={width}"
        )
    images, labels, parts = split_scans(scan_seed)
    pool = parts[split]
    rng = np.random.default_rng([seed, ("train", "validation", "test").index(split)])
    canvas = np.zeros((num_strips, HEIGHT, width, CHANNELS), dtype="float32")
    # Channel 1: the column coordinate (CoordConv), so the image features
    # carry where they are and attention can step from digit to digit.
    canvas[..., 1] = np.linspace(0.0, 1.0, width, dtype="float32")[None, None, :]
    t_len = max_digits + 1
    target_in = np.zeros((num_strips, t_len), dtype="int32")
    target_out = np.zeros((num_strips, t_len), dtype="int32")
    digits, scan_ids = [], []
    for i in range(num_strips):
        n = int(rng.integers(min_digits, max_digits + 1))
        chosen = rng.choice(pool, size=n)
        x = int(rng.integers(0, max_gap + 1))
        for scan in chosen:
            canvas[i, :, x:x + 8, 0] = images[scan]
            x += 8 + int(rng.integers(0, max_gap + 1))
        seq = [int(labels[s]) for s in chosen]
        digits.append(seq)
        scan_ids.append([int(s) for s in chosen])
        tokens = [d + DIGIT_OFFSET for d in seq]
        target_in[i, : n + 1] = [START, *tokens]
        target_out[i, : n + 1] = [*tokens, END]
    return Strips(canvas, digits, target_in, target_out, scan_ids)


def ids_to_digits(ids):
    """Digit lists from decoded ids (stops at the end token, skips others).

    Example:

    >>> ids_to_digits(np.array([[4, 5, 2, 0], [3, 2, 7, 0]]))
    [[1, 2], [0]]
    """
    out = []
    for row in np.asarray(ids):
        seq = []
        for token in row:
            token = int(token)
            if token == END or token == PAD:
                break
            if token >= DIGIT_OFFSET:
                seq.append(token - DIGIT_OFFSET)
        out.append(seq)
    return out


def sequence_accuracy(predicted, actual):
    """Fraction of strips whose whole digit sequence is right.

    Example:

    >>> sequence_accuracy([[1, 2], [3]], [[1, 2], [3, 4]])
    0.5
    """
    return float(np.mean([p == a for p, a in zip(predicted, actual)]))


def digit_accuracy(predicted, actual):
    """Fraction of digit positions right (position by position; missing or
    extra digits count as wrong against the longer of the two sequences).

    Example:

    >>> digit_accuracy([[1, 2], [3]], [[1, 2], [3, 4]])
    0.75
    """
    right = total = 0
    for p, a in zip(predicted, actual):
        total += max(len(p), len(a))
        right += sum(int(x == y) for x, y in zip(p, a))
    return right / max(total, 1)


def chance_sequence_accuracy(min_digits=3, max_digits=6):
    """Expected exact-sequence accuracy of uniform guessing (length, digits).

    Example:

    >>> round(chance_sequence_accuracy(3, 3), 6)
    0.001
    """
    lengths = range(min_digits, max_digits + 1)
    return float(np.mean([0.1**n for n in lengths]) / len(lengths))


def attention_centroids(attention, lengths, grid_width):
    """The mean column the model attended to at each emitted digit.

    Args:
        attention: `(n, steps, regions)` attention weights over a
            `(rows, grid_width)` grid flattened row-major.
        lengths: digits emitted per strip.
        grid_width: columns of the grid.

    Returns:
        A list of arrays, the centroid column of each emitted digit.
    """
    attention = np.asarray(attention)
    columns = np.arange(attention.shape[-1]) % grid_width
    out = []
    for weights, n in zip(attention, lengths):
        w = weights[:n]
        out.append((w * columns).sum(-1) / np.maximum(w.sum(-1), 1e-9))
    return out


def left_to_right_fraction(centroids):
    """Fraction of strips whose attention centroid strictly increases.

    Example:

    >>> left_to_right_fraction([np.array([0.5, 2.0]), np.array([3.0, 1.0])])
    0.5
    """
    return float(np.mean([np.all(np.diff(c) > 0) for c in centroids]))


def build_captioner(width=56, units=128, embedding_dim=32, attention="bahdanau",
                    filters=(32, 64)):
    """`rnnzoo.sequence_generator` over a small CNN grid of the strip.

    Returns:
        `(model, grid_width)`: the compiled model and the width of the
        attention grid (columns of the CNN's output).
    """
    from rnnzoo.models.generator import sequence_generator
    from rnnzoo.models.generator import small_cnn

    encoder = small_cnn((HEIGHT, width, CHANNELS), name="strip_cnn",
                        filters=filters)
    model = sequence_generator(
        vocabulary_size=VOCABULARY_SIZE, image_shape=(HEIGHT, width, CHANNELS),
        image_encoder=encoder, embedding_dim=embedding_dim, units=units,
        attention=attention, name="digit_captioner",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, int(encoder.output_shape[2])


def decode_strips(model, images, max_length=7, return_attention=True):
    """Greedy decoding of strips (`rnnzoo.decode`, or a step loop).

    Returns:
        `(ids, attention)`: `(n, max_length)` ids and `(n, max_length,
        regions)` attention weights.
    """
    try:
        from rnnzoo.decoding import decode
    except ImportError:  # decoding not available: plain batched loop.
        return greedy_loop(model, images, max_length)
    return decode(model, images, sampler="greedy", max_length=max_length,
                  start_token=START, end_token=END,
                  return_attention=return_attention)


def greedy_loop(model, inputs, max_length, start_token=START, end_token=END):
    """Batched greedy decoding with `encoder_model` and `decoder_step_model`.

    A replaceable fallback for `rnnzoo.decode`: one step-model call per
    output step for the whole batch.

    Returns:
        `(ids, attention)` as `decode_strips`.
    """
    from rnnzoo.decoding.inference import decoder_step_model
    from rnnzoo.decoding.inference import encoder_model

    encoded = encoder_model(model).predict(inputs, verbose=0)
    memory, states = encoded[0], list(encoded[1:])
    step = decoder_step_model(model)
    n = len(memory)
    token = np.full((n, 1), start_token, dtype="int32")
    ids = np.zeros((n, max_length), dtype="int32")
    attention = np.zeros((n, max_length, memory.shape[1]), dtype="float32")
    done = np.zeros(n, dtype=bool)
    for t in range(max_length):
        outputs = step.predict([token, *states, memory], verbose=0)
        probabilities, states, weights = outputs[0], outputs[1:-1], outputs[-1]
        chosen = probabilities.argmax(-1).astype("int32")
        chosen[done] = PAD
        ids[:, t] = chosen
        attention[:, t] = np.where(done[:, None], 0.0, weights)
        done |= chosen == end_token
        token = chosen[:, None]
        if done.all():
            break
    return ids, attention


def train_and_evaluate(*, num_train=24000, num_validation=1000, num_test=2000,
                       epochs=12, batch_size=128, units=128, seed=0,
                       verbose=1, max_seconds=None, scope=None, fit=None):
    """Trains the strip captioner and scores it on held-out-scan strips.

    Args:
        num_train, num_validation, num_test: strips per split.
        epochs, batch_size: training.
        units: decoder width.
        seed: composition and initialisation seed.
        verbose: Keras verbosity.
        max_seconds: stop training after the epoch that passes this time.
        scope: a function returning the context to build and compile the
            model in (e.g. a distribution strategy's `scope`); None: none.
        fit: `fit(model, x, y, **kwargs)` used instead of `model.fit`
            (e.g. `recipe.fit` with a strategy and resume callbacks); it
            must leave the best epoch's weights (by `val_loss`) in the
            model, as `recipe.fit` does: the early
            stopping only restores them when `fit` is None.

    Returns:
        dict with `model`, `grid_width`, `test` (the `Strips`), `predicted`
        digit lists, `attention`, `history` and the metrics
        `sequence_accuracy`, `digit_accuracy`, `chance_sequence_accuracy`,
        `left_to_right_fraction`, `train_seconds`.
    """
    keras.utils.set_random_seed(seed)
    train = make_strips(num_train, "train", seed=seed)
    validation = make_strips(num_validation, "validation", seed=seed)
    test = make_strips(num_test, "test", seed=seed)
    with scope() if scope is not None else contextlib.nullcontext():
        model, grid_width = build_captioner(units=units)
    # A given `fit` (recipe.fit) restores the best epoch itself, resumes included.
    callbacks = [keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=3, restore_best_weights=fit is None)]
    if max_seconds:
        callbacks.append(_TimeLimit(max_seconds))
    start = time.time()
    fit = (fit or type(model).fit)(
        model, [train.images, train.target_in], train.target_out,
        validation_data=([validation.images, validation.target_in],
                         validation.target_out),
        epochs=epochs, batch_size=batch_size, verbose=verbose,
        callbacks=callbacks,
    )
    train_seconds = time.time() - start
    ids, attention = decode_strips(model, test.images)
    predicted = ids_to_digits(ids)
    centroids = attention_centroids(attention, [len(p) for p in predicted],
                                    grid_width)
    return {
        "model": model,
        "grid_width": grid_width,
        "test": test,
        "predicted": predicted,
        "attention": np.asarray(attention),
        "history": {k: [float(x) for x in v] for k, v in fit.history.items()},
        "sequence_accuracy": sequence_accuracy(predicted, test.digits),
        "digit_accuracy": digit_accuracy(predicted, test.digits),
        "chance_sequence_accuracy": chance_sequence_accuracy(),
        "left_to_right_fraction": left_to_right_fraction(centroids),
        "train_seconds": train_seconds,
    }


class _TimeLimit(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if time.time() - self.start > self.seconds:
            self.model.stop_training = True
