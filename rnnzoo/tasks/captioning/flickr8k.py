"""Flickr8k captioning: Show-Attend-Tell over EfficientNet-Lite0 grids, BLEU-1..4 and CIDEr-D.

`python recipes/captioning.py` (the task's default dataset). The steps:

1. `load_data`: captions and the official split lists; the TRAIN images are
   split into a training part and a validation part (`validation_images`,
   a seeded draw), which picks the epoch and the beam settings. Dev (1,000
   images, 5 references each) is only ever reported; so is the official
   test split, whenever its images are present.
2. `features.grid_features`: 7 x 7 x 1280 EfficientNet-Lite0 grids, cached.
3. `build_captioner`: `rnnzoo.sequence_generator` with soft (Bahdanau)
   attention over the 49 regions, an LSTM and dropout: by default
   Show-Attend-Tell's decoder (`attention_context="input"`: the gated
   context of the previous state feeds each LSTM step,
   `rnnzoo.layers.AttentiveRNN`), or Luong's attention over the LSTM's
   outputs (`"output"`); optionally the doubly stochastic attention
   penalty (`attention_penalty`). The baseline
   without attention (the mean-pooled grid initialises the LSTM) is trained
   the same way.
4. `rnnzoo.decode` with greedy search and beam search (width and length
   penalty chosen on the validation part), then `caption_scores`: corpus
   BLEU-1..4 (sacreBLEU, all 5 references) and CIDEr-D (coco-caption's
   scorer) on the same tokens; nearest-neighbour captioning
   (`retrieval.py`) in the same table.
5. Plots: loss curves, and for a few dev photographs the attention map of
   each generated word over the image (`attention.png`, maps in
   `attention.npz`).

Tokens: both captions and references are lower-cased, stripped of
punctuation (Keras' `lower_and_strip_punctuation`) and split on whitespace.
coco-caption (the scorer of the published figures) instead runs the
Stanford PTB tokenizer, which also drops punctuation but splits clitics
("dog's" -> "dog 's") where this removes the apostrophe ("dogs").
"""

from __future__ import annotations

import dataclasses
import os
import typing

import numpy as np

from rnnzoo import plots
from rnnzoo.data.datasets import flickr8k_images as data_images
from rnnzoo.data.datasets.flickr8k import load_flickr8k_captions
from rnnzoo.data.text import ids_to_tokens
from rnnzoo.decoding import decode
from rnnzoo.decoding.samplers import Beam
from rnnzoo.io import read_json
from rnnzoo.io import write_json
from rnnzoo.metrics import cider_d
from rnnzoo.metrics import corpus_bleu
from rnnzoo.tasks.captioning import features as image_features
from rnnzoo.tasks.captioning.retrieval import nearest_neighbour_captions
from rnnzoo.training.runner import Timer

VOCABULARY_FILE = "vocabulary.json"

PUBLISHED = {
    # Flickr8k TEST split, coco-caption BLEU (PTB tokens), other encoders.
    "show_and_tell (Vinyals et al. 2015, GoogLeNet)": {"bleu_1": 63.0},
    "show_attend_tell_soft (Xu et al. 2015, VGG)": {
        "bleu_1": 67.0, "bleu_2": 44.8, "bleu_3": 29.9, "bleu_4": 19.5},
    "show_attend_tell_hard (Xu et al. 2015, VGG)": {
        "bleu_1": 67.0, "bleu_2": 45.7, "bleu_3": 31.4, "bleu_4": 21.3},
}
"""Published Flickr8k test figures: a different split (test, not dev), encoder and scorer."""


@dataclasses.dataclass
class CaptionData:
    """Image ids and captions per split of one run (see `load_data`).

    Attributes:
        image_ids: `{"train"|"validation"|"dev"[|"test"]: list of file names}`.
        paths: `{split: list of image paths}`, aligned (every file checked).
        captions: `{split: list of tuples of raw captions}`, aligned.
        images_dir: the folder of the images.
        absent: splits whose images are not in `images_dir` (e.g. `["test"]`).
    """

    image_ids: dict
    paths: dict
    captions: dict
    images_dir: str
    absent: list


def load_data(images_dir=None, captions_dir=None, *, validation_images=500, max_images=None,
              max_dev_images=None, seed=0):
    """The Flickr8k splits of a run: training part, validation part, dev (and test).

    Args:
        images_dir: the images' folder (`flickr8k_images.find_images_dir`).
        captions_dir: the captions' folder (`load_flickr8k_captions`).
        validation_images: training images held out to pick the epoch and
            the beam (a seeded draw; never dev).
        max_images: keep the first N official train images (quick runs; the
            validation part comes out of them).
        max_dev_images: keep the first N dev (and test) images.
        seed: the validation draw's seed.

    Returns:
        A `CaptionData`.
    """
    images_dir = data_images.find_images_dir(images_dir)
    captions = load_flickr8k_captions(data_dir=captions_dir)
    train = list(captions.train.items())[:max_images]
    if not 0 < validation_images < len(train):
        raise ValueError(
            f"Expected `validation_images` between 1 and {len(train) - 1} (the training "
            f"images). Received: validation_images={validation_images!r}")
    held_out = set(np.random.default_rng(seed).permutation(len(train))[:validation_images])
    parts = {
        "train": [item for i, item in enumerate(train) if i not in held_out],
        "validation": [item for i, item in enumerate(train) if i in held_out],
        "dev": list(captions.validation.items())[:max_dev_images],
        "test": list(captions.test.items())[:max_dev_images],
    }
    absent = []
    if not data_images.has_images(images_dir, [i for i, _ in parts["test"]]):
        absent.append("test")
        del parts["test"]
    ids = {split: [i for i, _ in items] for split, items in parts.items()}
    paths = {split: data_images.image_paths(images_dir, v, split)  # missing -> error
             for split, v in ids.items()}
    return CaptionData(ids, paths, {s: [c for _, c in v] for s, v in parts.items()},
                       images_dir, absent)


def build_captioner(vocabulary_size, grid_shape, *, units, embedding_dim, dropout,
                    embedding_dropout=0.0, feature_dropout=0.0, attention="bahdanau", attention_penalty=0.0,
                    name="flickr8k_captioner", **overrides):
    """The Flickr8k captioner: an LSTM `rnnzoo.sequence_generator` over the feature grid.

    `dropout` drops the decoder's final features before the softmax (and
    acts between recurrent layers when `num_layers` > 1);
    `embedding_dropout` drops whole word-embedding channels and
    `feature_dropout` the grid's features. `overrides`
    are further `rnnzoo.sequence_generator` arguments.

    Example:

    >>> build_captioner(50, (49, 32), units=16, embedding_dim=8, dropout=0.0).output_shape
    (None, None, 50)
    """
    from rnnzoo.models.generator import sequence_generator

    return sequence_generator(**{
        **dict(vocabulary_size=vocabulary_size, feature_grid_shape=tuple(grid_shape),
               embedding_dim=embedding_dim, units=units, cell="lstm", dropout=dropout,
               head_dropout_rate=dropout, embedding_dropout=embedding_dropout,
               feature_dropout=feature_dropout,
               attention=attention, attention_penalty=attention_penalty, name=name),
        **overrides,
    })


def caption_scores(hypotheses, references):
    """BLEU-1..4 (sacreBLEU, corpus level) and CIDEr-D on the same tokens.

    Args:
        hypotheses: one caption per image (a string or a list of words).
        references: one tuple of raw reference captions per image.

    Returns:
        `{"bleu_1": .., "bleu_4": .., "cider_d": ..}` (all x 100).

    Example:

    >>> caption_scores([["a", "dog", "runs"]], [("A dog runs.", "A dog is running!")])
    {'bleu_1': 100.0, 'bleu_2': 100.0, 'bleu_3': 100.0, 'bleu_4': 100.0, 'cider_d': 0.0}
    """
    hyps = [h if isinstance(h, str) else " ".join(h) for h in hypotheses]
    hyps = [" ".join(t) for t in data_images.caption_tokens(hyps)] if hyps else []
    flat = [c for refs in references for c in refs]
    tokens = iter(" ".join(t) for t in data_images.caption_tokens(flat)) if flat else iter(())
    refs = [tuple(next(tokens) for _ in r) for r in references]
    scores = {f"bleu_{n}": corpus_bleu(hyps, refs, max_order=n, effective_order=True)
              for n in range(1, 5)}
    scores["cider_d"] = cider_d(hyps, refs)
    return scores


def decode_captions(model, grids, vocabulary, *, sampler, max_length, batch_size=250,
                    return_attention=False):
    """Captions (lists of words) of feature grids, decoded in batches with `rnnzoo.decode`."""
    start_id, end_id = vocabulary.index(data_images.START), vocabulary.index(data_images.END)
    words, maps = [], []
    for begin in range(0, len(grids), batch_size):
        batch = np.asarray(grids[begin:begin + batch_size], "float32")
        out = decode(model, batch, sampler=sampler, max_length=max_length,
                     start_token=start_id, end_token=end_id, return_attention=return_attention)
        if return_attention:
            out, attention = out
            maps.extend(np.asarray(attention))
        words.extend(ids_to_tokens(np.asarray(out), vocabulary, end_id=end_id))
    return (words, maps) if return_attention else words


def _train(runner, config, name, vocabulary, grid, batches, **kwargs):
    with runner.scope():
        model = build_captioner(len(vocabulary), grid, units=config.units,
                                embedding_dim=config.embedding_dim, dropout=config.dropout,
                                embedding_dropout=config.embedding_dropout,
                                feature_dropout=config.feature_dropout,
                                name=f"flickr8k_{name}", **{**config.overrides, **kwargs})
    runner.compile(model, learning_rate=config.learning_rate)
    callbacks = []
    if config.lr_decay != 1:
        import keras

        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=config.lr_decay, patience=0, min_lr=1e-5, verbose=0))
    timer = Timer()
    history = runner.fit(
        model, batches["train"], name=name, patience=config.patience, callbacks=callbacks,
        average_best=config.average_epochs,
        time_limit=config.max_minutes * 60 if config.max_minutes else None,
        validation_data=batches["validation"], epochs=config.epochs)
    return model, history, timer.seconds()


def run(config, runner):
    """Trains the Flickr8k captioner and its baselines; scores dev (and test) captions.

    Writes `model.keras`, `no_attention.keras`, `vocabulary.json`,
    `metrics.json`, `loss.png`, `attention.png` and `attention.npz`. With
    `runner.tune_with`, searches `rnnzoo.sequence_generator` over the same
    caption batches instead.

    Args:
        config: a resolved `rnnzoo.tasks.captioning.Config`.
        runner: the `rnnzoo.training.Runner` of the run (not started).

    Returns:
        The metrics dict: `scores[split][method]` with BLEU-1..4 and
        CIDEr-D, `beam`, `train_seconds`, `feature_seconds`, ...
    """
    runner.start(config)
    weights = None if str(config.encoder_weights).lower() == "none" else config.encoder_weights
    data = load_data(config.images_dir, config.data_dir,
                     validation_images=config.validation_images,
                     max_images=config.max_images, max_dev_images=config.max_dev_images,
                     seed=runner.seed)
    for split in data.absent:
        print(f"captioning: the official {split} images are not in {data.images_dir}; "
              "reporting dev (add them to report test too).", flush=True)
    grids, feature_stats = {}, {}
    for split, paths in data.paths.items():
        grids[split], feature_stats[split] = image_features.grid_features(
            paths, encoder=config.encoder, weights=weights,
            cache_dir=config.feature_cache if weights is not None else None,
            verbose=runner.verbose)
    vocabulary = data_images.caption_vocabulary(data.captions["train"],
                                                min_count=config.min_count)
    vectorizer = data_images.caption_vectorizer(vocabulary, max_length=config.max_length)
    grid = grids["train"].shape[1:]
    batches = {}
    for split in ("train", "validation"):
        index, ids = data_images.encode_captions(vectorizer, data.captions[split])
        batches[split] = data_images.CaptionBatches(
            grids[split], index, ids, config.batch_size, split == "train", runner.seed)
    if runner.tune_with:
        return runner.tune(
            "sequence_generator", batches["train"], validation_data=batches["validation"],
            fixed=dict(vocabulary_size=len(vocabulary), feature_grid_shape=tuple(grid)),
            space={**config.tune_space, **config.overrides},
            epochs=config.epochs, batch_size=None,  # CaptionBatches are batched
            task_name="captioning")
    write_json(runner.path(VOCABULARY_FILE), vocabulary)
    model, history, train_seconds = _train(
        runner, config, "captioner", vocabulary, grid, batches,
        attention_context=config.attention_context, attention_penalty=config.attention_penalty)
    runner.save_model(model)
    histories = {"attention": history.history}
    seconds = {"attention": train_seconds}
    if config.baseline:
        runner.reseed(1)
        baseline, b_history, seconds["no_attention"] = _train(
            runner, config, "no_attention", vocabulary, grid, batches, attention=None)
        runner.save_model(baseline, "no_attention.keras")
        histories["no_attention"] = b_history.history

    # The beam (`config.beams`: (width, length penalty) pairs) and the retrieval
    # baseline's k (`config.neighbours`), chosen by BLEU-4 on the validation part.
    timer = Timer()
    valid_refs = data.captions["validation"]
    beam_scores = {}
    for width, penalty in config.beams:
        words = decode_captions(model, grids["validation"], vocabulary,
                                sampler=Beam(width=width, length_penalty=penalty),
                                max_length=config.max_length)
        beam_scores[f"{width}/{penalty}"] = caption_scores(words, valid_refs)["bleu_4"]
    width, penalty = max(config.beams,
                         key=lambda c: beam_scores[f"{c[0]}/{c[1]}"])  # first best wins ties
    beam = Beam(width=width, length_penalty=penalty)
    train_tokens = [[" ".join(t) for t in data_images.caption_tokens(caps)]
                    for caps in data.captions["train"]]
    neighbour_scores = {}
    for k in config.neighbours:
        words, _ = nearest_neighbour_captions(grids["train"], train_tokens,
                                              grids["validation"], k=k)
        neighbour_scores[k] = caption_scores(words, valid_refs)["bleu_4"]
    k = max(config.neighbours, key=lambda c: neighbour_scores[c])
    selection_seconds = timer.seconds()

    scores, examples = {}, {}
    for split in [s for s in ("dev", "test") if s in grids]:
        refs = data.captions[split]
        timer = Timer()
        captions = {
            "beam": decode_captions(model, grids[split], vocabulary, sampler=beam,
                                    max_length=config.max_length),
            "greedy": decode_captions(model, grids[split], vocabulary, sampler="greedy",
                                      max_length=config.max_length),
        }
        decode_seconds = timer.seconds()
        if config.baseline:
            captions["no_attention_beam"] = decode_captions(
                baseline, grids[split], vocabulary, sampler=beam, max_length=config.max_length)
        captions["nearest_neighbour"], _ = nearest_neighbour_captions(
            grids["train"], train_tokens, grids[split], k=k)
        # The floor: a random training caption per image (seeded).
        pool = [c for caps in train_tokens for c in caps]
        draw = np.random.default_rng(runner.seed).integers(0, len(pool), len(refs))
        captions["random_train_caption"] = [pool[i] for i in draw]
        scores[split] = {name: caption_scores(c, refs) for name, c in captions.items()}
        scores[split]["decode_seconds"] = decode_seconds
        examples[split] = [
            {"image": data.image_ids[split][i],
             **{name: c[i] if isinstance(c[i], str) else " ".join(c[i])
                for name, c in captions.items()},
             "references": list(refs[i])}
            for i in range(min(8, len(refs)))
        ]

    picks = list(range(min(config.attention_images, len(grids["dev"]))))
    words, maps = decode_captions(model, grids["dev"][picks], vocabulary, sampler=beam,
                                  max_length=config.max_length, return_attention=True)
    write_attention(runner.path("attention"), [data.paths["dev"][i] for i in picks], words, maps)
    plots.plot_history(histories, runner.path("loss.png"), metrics=["loss", "accuracy"])
    metrics = {
        "task": "captioning",
        "dataset": "flickr8k",
        "encoder": config.encoder,
        "encoder_weights": weights,
        "max_length": config.max_length,
        "images": {s: len(v) for s, v in data.image_ids.items()},
        "absent_splits": data.absent,
        "vocabulary": len(vocabulary),
        "beam": {"width": width, "length_penalty": penalty},
        "validation_beam_bleu_4": beam_scores,
        "nearest_neighbour_k": k,
        "validation_nearest_neighbour_bleu_4": {str(c): v for c, v in neighbour_scores.items()},
        "scores": scores,
        **{f"beam_{key}": value for key, value in scores["dev"]["beam"].items()},
        "greedy_bleu_4": scores["dev"]["greedy"]["bleu_4"],
        "no_attention_bleu_4": scores["dev"].get("no_attention_beam", {}).get("bleu_4"),
        "nearest_neighbour_bleu_4": scores["dev"]["nearest_neighbour"]["bleu_4"],
        "random_caption_bleu_4": scores["dev"]["random_train_caption"]["bleu_4"],
        "published_test": PUBLISHED,
        "feature_seconds": round(sum(s["seconds"] for s in feature_stats.values()), 1),
        "features_computed": sum(s["computed"] for s in feature_stats.values()),
        "selection_seconds": selection_seconds,
        "epochs_run": len(history.history["loss"]),
        "averaged_epochs": {"attention": history.averaged_epochs,
                            "no_attention": b_history.averaged_epochs if config.baseline else None},
        "train_seconds": seconds["attention"],
        "baseline_train_seconds": seconds.get("no_attention"),
        "history": histories,
        "examples": examples,
        "quick": config.quick_settings,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics


def write_attention(stem, image_paths, words, maps, grid_shape=(7, 7)):
    """The Show-Attend-Tell figure (`stem.png`) and its maps (`stem.npz`).

    One row per image: the photograph with its caption, then the attention
    map of each generated word over it. `stem.npz` holds, per image, the
    `(words, regions)` maps actually drawn (`maps_0`, `maps_1`, ...).

    Returns:
        The PNG path.
    """
    drawn = [np.asarray(m)[:len(w)] for w, m in zip(words, maps)]
    path = plots.plot_captions(stem + ".png", image_paths, words, drawn, grid_shape,
                               words=None)
    from rnnzoo.io import atomic_path

    with atomic_path(stem + ".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{f"maps_{i}": m for i, m in enumerate(drawn)},
                     words=np.array([" ".join(w) for w in words]))
    return path


def caption_images(trained, images: list[str], *, attention: typing.Optional[str] = None):
    """Prints the beam caption of each image (JPEG or PNG, any size).

    Args:
        images: image files.
        attention: also write the attention figure of each word to this PNG.

    Returns:
        The captions (strings).
    """
    metrics = trained.metrics
    if metrics.get("dataset") != "flickr8k":
        raise ValueError("Expected a Flickr8k captioning run (`--dataset flickr8k`) in "
                         f"--output-dir. Received: dataset={metrics.get('dataset')!r}")
    for path in images:
        if not os.path.isfile(path):
            raise ValueError(f"Expected image files. Received: images={path!r} (no such file)")
    vocabulary = read_json(os.path.join(trained.output_dir, VOCABULARY_FILE))
    pixels = image_features.load_images(images)
    grids = image_features.encode_images(pixels, encoder=metrics["encoder"],
                                         weights=metrics["encoder_weights"])
    beam = Beam(**metrics["beam"])
    words, maps = decode_captions(trained.model, grids, vocabulary, sampler=beam,
                                  max_length=metrics["max_length"], return_attention=True)
    captions = [" ".join(w) for w in words]
    for path, caption in zip(images, captions):
        print(f"{path}: {caption}")
    if attention:
        stem = attention[:-4] if attention.lower().endswith(".png") else attention
        write_attention(stem, images, words, maps)
    return captions

