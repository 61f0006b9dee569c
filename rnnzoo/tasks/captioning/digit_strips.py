"""Digit strips: captioning images composed from REAL handwritten digit scans.

scikit-learn bundles 1,797 real 8x8 scans of handwritten digits
(`sklearn.datasets.load_digits`, UCI "Optical Recognition of Handwritten
Digits"; no network needed). A strip places 3 to 6 of those scans left to
right, with small random gaps, on a blank canvas; its "caption" is its digit
sequence. The strips are composed here, but every digit in them is a real
scan. The scans are split once (stratified by digit, fixed seed) into
train / validation / test scans, and each split's strips use only that
split's scans: test strips contain only scans never seen in training.

Token ids: 0 padding, 1 start, 2 end, digit `d` is `d + 3` (`TOKENS`,
`VOCABULARY_SIZE = 13`). `run` trains `rnnzoo.sequence_generator` over a
small CNN of the strip through the `rnnzoo.training.Runner` and scores it on
held-out-scan strips (`rnnzoo.tasks.captioning` is the task).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rnnzoo import plots
from rnnzoo.data.text import ids_to_tokens
from rnnzoo.training.runner import Timer
from rnnzoo.validation import check_positive_int

PAD, START, END, DIGIT_OFFSET = 0, 1, 2, 3
TOKENS = ("", "[START]", "[END]", *range(10))
"""The token of each id: padding, start, end, then the digits 0..9 (as ints)."""
VOCABULARY_SIZE = len(TOKENS)
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
    [1078, 359, 360]
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


def strip_digits(ids):
    """Digit lists from decoded ids, each cut at the end token (`ids_to_tokens` over `TOKENS`).

    Example:

    >>> strip_digits(np.array([[4, 5, 2, 0], [1, 3, 2, 7]]))
    [[1, 2], [0]]
    """
    return ids_to_tokens(ids, TOKENS, end_id=END, pad_id=PAD, skip_ids=(START,))


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
                    filters=(32, 64), **overrides):
    """`rnnzoo.sequence_generator` over a small CNN grid of the strip (not compiled).

    `overrides` are further `rnnzoo.sequence_generator` arguments.

    Returns:
        `(model, grid_width)`: the model and the width of the attention
        grid (columns of the CNN's output).

    Example:

    >>> model, grid_width = build_captioner(units=16, filters=(4, 8))
    >>> model.output_shape, grid_width
    ((None, None, 13), 14)
    """
    from rnnzoo.models.generator import sequence_generator
    from rnnzoo.models.generator import small_cnn

    encoder = small_cnn((HEIGHT, width, CHANNELS), name="strip_cnn", filters=filters)
    model = sequence_generator(**{
        **dict(vocabulary_size=VOCABULARY_SIZE, image_shape=(HEIGHT, width, CHANNELS),
               image_encoder=encoder, embedding_dim=embedding_dim, units=units,
               attention=attention, name="digit_captioner"),
        **overrides,
    })
    return model, int(encoder.output_shape[2])


def decode_strips(model, images, max_length=7, return_attention=True):
    """Greedy decoding of strips with `rnnzoo.decode`.

    Returns:
        `(ids, attention)`: `(n, max_length)` ids and `(n, max_length,
        regions)` attention weights (`ids` alone without `return_attention`).
    """
    from rnnzoo.decoding import decode

    return decode(model, images, sampler="greedy", max_length=max_length,
                  start_token=START, end_token=END, return_attention=return_attention)


def run(config, runner):
    """Trains the strip captioner and scores it on held-out-scan strips.

    Writes `model.keras`, `metrics.json`, `attention.png` and `loss.png`.
    With `runner.tune_with`, searches `rnnzoo.sequence_generator` over the
    strips instead.

    Args:
        config: a resolved `rnnzoo.tasks.captioning.Config`
            (`captioning.resolve`).
        runner: the `rnnzoo.training.Runner` of the run (not started).

    Returns:
        The metrics dict: `sequence_accuracy`, `digit_accuracy`,
        `chance_sequence_accuracy`, `attention_left_to_right`, ...
    """
    runner.start(config)
    print("Digit strips composed from real handwritten digit scans "
          "(scikit-learn load_digits); test strips use held-out scans only.")
    train = make_strips(config.num_train, "train", seed=runner.seed)
    validation = make_strips(config.num_validation, "validation", seed=runner.seed)
    if runner.tune_with:
        return runner.tune(
            "sequence_generator", [train.images, train.target_in], train.target_out,
            validation_data=([validation.images, validation.target_in],
                             validation.target_out),
            fixed=dict(vocabulary_size=VOCABULARY_SIZE,
                       image_shape=tuple(train.images.shape[1:]),
                       image_encoder="small_cnn", embedding_dim=32),
            space={**config.tune_space, **config.overrides},
            epochs=config.epochs, batch_size=config.batch_size, task_name="captioning")
    test = make_strips(config.num_test, "test", seed=runner.seed)
    with runner.scope():
        model, grid_width = build_captioner(units=config.units, **config.overrides)
    runner.compile(model, learning_rate=2e-3)
    timer = Timer()
    history = runner.fit(
        model, [train.images, train.target_in], train.target_out, name="captioner",
        patience=3, time_limit=config.max_minutes * 60 if config.max_minutes else None,
        validation_data=([validation.images, validation.target_in], validation.target_out),
        epochs=config.epochs, batch_size=config.batch_size)
    train_seconds = timer.seconds()
    runner.save_model(model)
    ids, attention = decode_strips(model, test.images)
    predicted = strip_digits(ids)
    centroids = attention_centroids(attention, [len(p) for p in predicted], grid_width)
    picks = list(range(min(4, len(predicted))))
    plots.plot_strip_attention(
        runner.path("attention.png"), test.images[picks][..., 0],
        [np.asarray(attention)[i] for i in picks],
        [[str(d) for d in predicted[i]] for i in picks], grid_width)
    plots.plot_history(history, runner.path("loss.png"), metrics=["loss"])
    metrics = {
        "task": "captioning",
        "dataset": "digit_strips",
        "data": "digit strips composed from real scans (sklearn load_digits)",
        "test_strips": len(test.digits),
        "sequence_accuracy": round(sequence_accuracy(predicted, test.digits), 4),
        "digit_accuracy": round(digit_accuracy(predicted, test.digits), 4),
        "chance_sequence_accuracy": chance_sequence_accuracy(),
        "attention_left_to_right": round(left_to_right_fraction(centroids), 4),
        "epochs_run": len(history.history["loss"]),
        "train_seconds": train_seconds,
        "history": history.history,
        "examples": [{"true": test.digits[i], "predicted": predicted[i]}
                     for i in range(min(8, len(predicted)))],
        "quick": config.quick_settings,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics
