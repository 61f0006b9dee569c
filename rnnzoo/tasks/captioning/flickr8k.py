"""Flickr8k captioning run: attend over an ImageNet encoder's grid, BLEU-1..4.

`recipes/captioning.py --dataset flickr8k` (`rnnzoo.tasks.captioning` is the
task): image-feature grids cached once per encoder
(`rnnzoo.data.datasets.flickr8k_images`), captions vectorised by a Keras
`TextVectorization` adapted on the training captions, an LSTM
`rnnzoo.sequence_generator` with Bahdanau attention trained through the
`rnnzoo.training.Runner`, greedy and beam decoding with `rnnzoo.decode`, and
corpus BLEU-1..4 with sacreBLEU against the 5 references of each test image.
"""

from __future__ import annotations

import os

from rnnzoo import plots
from rnnzoo.data.datasets import flickr8k_images
from rnnzoo.data.text import ids_to_tokens
from rnnzoo.decoding import decode
from rnnzoo.decoding.samplers import Beam
from rnnzoo.io import write_json
from rnnzoo.metrics import corpus_bleu
from rnnzoo.training.runner import Timer

VOCABULARY_FILE = "vocabulary.json"
BEAM = Beam(width=4, length_penalty=0.6)
"""The beam search the captions are scored with."""


def bleu_scores(hypotheses, references):
    """Corpus BLEU-1..4 (cumulative n-gram orders, sacreBLEU's effective order).

    Args:
        hypotheses: one caption per image.
        references: one tuple of reference captions per image.

    Example:

    >>> bleu_scores(["a dog runs ."], [("A dog runs.", "A dog is running.")])
    {'bleu_1': 100.0, 'bleu_2': 100.0, 'bleu_3': 100.0, 'bleu_4': 100.0}
    """
    return {f"bleu_{n}": corpus_bleu(hypotheses, references, max_order=n, effective_order=True)
            for n in range(1, 5)}


def build_captioner(vocabulary_size, grid_shape, *, units, dropout, **overrides):
    """The Flickr8k captioner: an LSTM `rnnzoo.sequence_generator` over the feature grid.

    `overrides` are further `rnnzoo.sequence_generator` arguments.

    Example:

    >>> build_captioner(50, (49, 32), units=16, dropout=0.0).output_shape
    (None, None, 50)
    """
    from rnnzoo.models.generator import sequence_generator

    return sequence_generator(**{
        **dict(vocabulary_size=vocabulary_size, feature_grid_shape=tuple(grid_shape),
               embedding_dim=units, units=units, cell="lstm", dropout=dropout,
               attention="bahdanau", name="flickr8k_captioner"),
        **overrides,
    })


def run(config, runner):
    """Trains the Flickr8k captioner, decodes the test images, scores BLEU-1..4.

    Writes `model.keras`, `vocabulary.json`, `metrics.json`, `captions.png`
    and `loss.png`. With `runner.tune_with`, searches
    `rnnzoo.sequence_generator` over the same caption batches instead.

    Args:
        config: a resolved `rnnzoo.tasks.captioning.Config`
            (`captioning.resolve`).
        runner: the `rnnzoo.training.Runner` of the run (not started).

    Returns:
        The metrics dict: `beam_bleu_1` .. `beam_bleu_4`, `greedy_bleu_*`, ...
    """
    runner.start(config)
    weights = None if str(config.encoder_weights).lower() == "none" else config.encoder_weights
    data = flickr8k_images.load_flickr8k(
        config.images_dir, config.data_dir, encoder=config.encoder, weights=weights,
        max_images=config.max_images, cache_dir=config.feature_cache, verbose=runner.verbose)
    vectorizer = flickr8k_images.caption_vectorizer(
        data.captions["train"], max_tokens=config.max_tokens, max_length=config.max_length)
    vocabulary = vectorizer.get_vocabulary()
    start_id = vocabulary.index(flickr8k_images.START)
    end_id = vocabulary.index(flickr8k_images.END)
    grid = data.features["train"].shape[1:]
    batches = {}
    for split in ("train", "validation"):
        index, ids = flickr8k_images.encode_captions(vectorizer, data.captions[split])
        batches[split] = flickr8k_images.CaptionBatches(
            data.features[split], index, ids, config.batch_size, split == "train", runner.seed)
    if runner.tune_with:
        return runner.tune(
            "sequence_generator", batches["train"], validation_data=batches["validation"],
            fixed=dict(vocabulary_size=len(vocabulary), feature_grid_shape=tuple(grid),
                       embedding_dim=config.units),
            space={**config.tune_space, **config.overrides},
            epochs=config.epochs, batch_size=None,  # CaptionBatches are batched
            task_name="captioning")
    with runner.scope():
        model = build_captioner(len(vocabulary), grid, units=config.units,
                                dropout=config.dropout, **config.overrides)
    runner.compile(model, learning_rate=1e-3)
    timer = Timer()
    history = runner.fit(
        model, batches["train"], name="captioner", patience=2,
        time_limit=config.max_minutes * 60 if config.max_minutes else None,
        validation_data=batches["validation"], epochs=config.epochs)
    train_seconds = timer.seconds()
    runner.save_model(model)
    write_json(runner.path(VOCABULARY_FILE), vocabulary)

    def words(ids):
        return ids_to_tokens(ids, vocabulary, end_id=end_id)

    test = data.features["test"]
    scores, captions = {}, {}
    for name, sampler in (("greedy", "greedy"), ("beam", BEAM)):
        ids = decode(model, test, sampler=sampler, max_length=config.max_length,
                     start_token=start_id, end_token=end_id)
        captions[name] = words(ids)
        scores[name] = bleu_scores([" ".join(w) for w in captions[name]],
                                   data.captions["test"])
    picks = list(range(min(4, len(test))))
    ids, attention = decode(model, test[picks], sampler="greedy",
                            max_length=config.max_length, start_token=start_id,
                            end_token=end_id, return_attention=True)
    plots.plot_captions(runner.path("captions.png"),
                        [os.path.join(data.images_dir, data.image_ids["test"][i]) for i in picks],
                        words(ids), attention, data.grid_shape)
    plots.plot_history(history, runner.path("loss.png"), metrics=["loss"])
    metrics = {
        "task": "captioning",
        "dataset": "flickr8k",
        "encoder": data.encoder,
        "encoder_weights": weights,
        "images": {s: len(v) for s, v in data.image_ids.items()},
        "vocabulary": len(vocabulary),
        **{f"beam_{k}": v for k, v in scores["beam"].items()},
        **{f"greedy_{k}": v for k, v in scores["greedy"].items()},
        "epochs_run": len(history.history["loss"]),
        "train_seconds": train_seconds,
        "history": history.history,
        "examples": [
            {"image": data.image_ids["test"][i],
             "caption": " ".join(captions["beam"][i]),
             "references": list(data.captions["test"][i])}
            for i in range(min(5, len(test)))
        ],
        "quick": config.quick_settings,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics
