"""Captioning task: attend over an image grid and emit a token sequence.

One task, two datasets (`Config.dataset`), both trained through the
`rnnzoo.training.Runner` (strategy, mixed precision, `--tune`, resume):

- `"digit_strips"` (offline default, `digit_strips.py`): strips composed
  left to right from scikit-learn's bundled REAL handwritten digit scans (3
  to 6 per strip), "captioned" with their digit sequence; test strips use
  held-out scans only.
- `"flickr8k"` (`flickr8k.py`): Flickr8k photographs through a cached
  ImageNet encoder's feature grid, captions scored with BLEU-1..4.

`recipes/captioning.py` is `cli.main` over this package. Settings left at
None take the dataset's own (`DATASET_SETTINGS`, and `QUICK` for
`Config.quick()`); `resolve` fills them in.
"""

from __future__ import annotations

import dataclasses

from rnnzoo.tasks import field
from rnnzoo.tasks.resolved import ResolvedConfig
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

NAME = "captioning"
DATASETS = ("digit_strips", "flickr8k")


_DEFAULT = " (default: the dataset's setting)"


@dataclasses.dataclass
class Config(ResolvedConfig):
    """Settings of one captioning run; None takes the dataset's setting (see `resolve`).

    Example:

    >>> resolve(Config.quick()).num_train, resolve(Config()).num_train
    (3000, 30000)
    """

    dataset: str = field("digit_strips", "digit_strips (offline) or flickr8k",
                         choices=DATASETS)
    epochs: int | None = field(None, "training epochs" + _DEFAULT)
    batch_size: int | None = field(None, "batch size" + _DEFAULT)
    units: int | None = field(None, "decoder width" + _DEFAULT)
    max_minutes: float | None = field(
        None, "stop training after the epoch passing this time" + _DEFAULT)
    num_train: int | None = field(None, "digit strips: training strips" + _DEFAULT)
    num_validation: int | None = field(None, "digit strips: validation strips" + _DEFAULT)
    num_test: int | None = field(None, "digit strips: test strips" + _DEFAULT)
    images_dir: str | None = field(
        None, "flickr8k: folder of the .jpg images (default: download, MD5-checked)")
    encoder: str = field("mobilenet_v2", "flickr8k: keras.applications encoder "
                         "(mobilenet_v2, efficientnet_b0, inception_v3)")
    encoder_weights: str = field(
        "imagenet", "flickr8k: encoder weights ('none': random, offline tests)")
    max_images: int | None = field(None, "flickr8k: first N images of each split")
    feature_cache: str | None = field(None, "flickr8k: folder of the cached encoder features")
    max_tokens: int = field(5000, "flickr8k: caption vocabulary cap")
    max_length: int = field(24, "flickr8k: caption length in tokens, the markers included")
    dropout: float | None = field(None, "flickr8k: decoder dropout" + _DEFAULT)
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "`--set KEY=VALUE`: rnnzoo.sequence_generator arguments "
                                "(under --tune, choices narrowing the search)")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests and the demo: the dataset's `QUICK` settings."""
        return super().quick(**{"tune_space": dict(units=[32, 64], num_layers=1), **changes})


DATASET_SETTINGS = {
    "digit_strips": dict(epochs=15, batch_size=128, units=128, max_minutes=9.0,
                         num_train=30000, num_validation=1000, num_test=2000),
    "flickr8k": dict(epochs=15, batch_size=128, units=128, dropout=0.3),
}
"""The recipe's settings per dataset."""

QUICK = {
    "digit_strips": dict(epochs=10, batch_size=64, units=64, num_train=3000,
                         num_validation=200, num_test=200),
    "flickr8k": dict(epochs=2, units=64, dropout=0.0),
}
"""`Config.quick()` settings per dataset (about a minute on 2 cores)."""


def resolve(config):
    """`config` with every None setting filled in: given > QUICK > the dataset's.

    Example:

    >>> settings = resolve(Config(dataset="flickr8k", epochs=3))
    >>> settings.epochs, settings.units, settings.dropout, settings.max_minutes
    (3, 128, 0.3, None)
    """
    check_choice("dataset", config.dataset, DATASETS)
    settings = dict(DATASET_SETTINGS[config.dataset])
    if config.quick_settings:
        settings.update(QUICK[config.dataset])
    config = config.filled(settings)
    for name in ("epochs", "batch_size", "units"):
        check_positive_int(name, getattr(config, name))
    return config


def SUMMARY(config):
    """The summary line's metrics: accuracies (digit strips) or BLEU (Flickr8k)."""
    if config.dataset == "flickr8k":
        return ("beam_bleu_1", "beam_bleu_4", "greedy_bleu_4", "train_seconds")
    return ("sequence_accuracy", "digit_accuracy", "attention_left_to_right", "train_seconds")


def run(config, runner):
    """Trains and scores the captioner of `config.dataset`; returns the metrics.

    Args:
        config: a `Config`.
        runner: the `rnnzoo.training.Runner` of the run (not started).

    Returns:
        The metrics dict (also in `metrics.json`).
    """
    from rnnzoo.tasks.captioning import digit_strips
    from rnnzoo.tasks.captioning import flickr8k

    settings = resolve(config)
    module = flickr8k if settings.dataset == "flickr8k" else digit_strips
    return module.run(settings, runner)
