"""Word-level translation task: English -> French seq2seq with attention, sacreBLEU.

`recipes/translation.py` is `cli.main` over this module:

- `word_tokens` lower-cases and splits words from punctuation (French
  apostrophes stay inside words: "j'ai", "l'homme"); `detokenize` joins with
  spaces. Scores are computed by sacreBLEU on that text against the raw
  references, case-insensitively, with sacreBLEU's own 13a tokenisation
  (`rnnzoo.metrics.corpus_bleu`): never a hand-written BLEU.
- Vocabularies are counted in Python over the TRAINING pairs only, capped
  (`max_tokens`, most frequent first), and turned into Keras `StringLookup`
  layers (`vocabulary=`, no `adapt()`): id 0 is padding (`""`), 1 the
  out-of-vocabulary token, 2 `[START]`, 3 `[END]`.
- Pairs longer than `max_length` tokens on either side are left out of
  TRAINING only; every test pair is translated and scored.
- The model is `rnnzoo.seq2seq` (bidirectional encoder, Luong attention),
  trained through the `rnnzoo.training.Runner` on batches of similar-length
  pairs (`rnnzoo.LengthBatches`), picked by validation next-token accuracy;
  compared with greedy and beam search, the same model without attention,
  and copying the source.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import typing

import keras
import numpy as np

from rnnzoo import plots
from rnnzoo.data.datasets import load_fra_eng
from rnnzoo.data.decoder_targets import teacher_forcing
from rnnzoo.data.text import count_vocabulary
from rnnzoo.data.text import ids_to_tokens
from rnnzoo.decoding import decode
from rnnzoo.decoding.samplers import Beam
from rnnzoo.io import read_json
from rnnzoo.io import write_json
from rnnzoo.metrics import corpus_bleu
from rnnzoo.metrics import corpus_chrf
from rnnzoo.tasks import field
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

NAME = "translation"
SUMMARY = ("beam_bleu", "greedy_bleu", "no_attention_bleu", "copy_source_bleu", "beam_chrf",
           "train_seconds")
VOCABULARY_FILE = "vocabularies.json"

PAD, UNK, START, END = "", "[UNK]", "[START]", "[END]"
START_ID, END_ID = 2, 3
BEAM = Beam(width=4, length_penalty=0.6)
"""The beam search the task scores and translates with (GNMT length penalty)."""


@dataclasses.dataclass
class Config:
    """Settings of one translation run (`Config.quick()`: the tests' small run)."""

    reverse: bool = field(False, "translate French -> English")
    attention: str = field("luong", "attention of the decoder", choices=("luong", "bahdanau"))
    cell: str = field("gru", "recurrent cell", choices=("gru", "lstm"))
    units: int = field(128, "encoder units per direction (the decoder gets twice)")
    embedding_dim: int = field(128, "embedding width")
    max_length: int = field(15, "longest training pair kept, in tokens (either side)")
    source_max_tokens: int = field(8000, "source vocabulary cap, [START] and [END] included "
                                         "(padding and OOV ids come on top)")
    target_max_tokens: int = field(8000, "target vocabulary cap, as --source-max-tokens")
    limit: int | None = field(None, "at most this many training pairs (a fixed random subset)")
    test_limit: int | None = field(None, "score at most this many test pairs")
    baseline: bool = field(True, "also train the no-attention baseline")
    baseline_epochs: int | None = field(
        None, "epochs of the no-attention baseline (default --epochs)")
    max_minutes: float | None = field(
        None, "stop each model's training after the epoch that passes this time")
    epochs: int = field(10, "training epochs")
    batch_size: int = field(128, "batch size")
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "`--set KEY=VALUE`: rnnzoo.seq2seq arguments (under --tune, "
                                "choices narrowing the search)")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    def __post_init__(self):
        for key in ("units", "embedding_dim", "max_length", "source_max_tokens",
                    "target_max_tokens", "epochs", "batch_size"):
            check_positive_int(key, getattr(self, key))
        for key in ("limit", "test_limit", "baseline_epochs"):
            check_optional_positive_int(key, getattr(self, key))

    @classmethod
    def quick(cls, **changes):
        """The tests' run: pairs of at most 6 tokens, 8,000 of them, small model, 3 epochs."""
        return cls(**{**dict(max_length=6, limit=8000, test_limit=200, units=64,
                             embedding_dim=64, source_max_tokens=2000,
                             target_max_tokens=2000, epochs=3,
                             tune_space=dict(units=[32, 64], num_layers=1)), **changes})


_TOKEN = re.compile(r"\w+(?:['’]\w+)*['’]?|[^\w\s]")


def word_tokens(text):
    """Lower-cased word and punctuation tokens of one sentence.

    Example:

    >>> word_tokens("J'ai froid\\u202f!")
    ["j'ai", 'froid', '!']
    >>> word_tokens("Where is the station?")
    ['where', 'is', 'the', 'station', '?']
    """
    text = str(text).replace("\u202f", " ").replace("\xa0", " ").lower()
    return _TOKEN.findall(text)


_SPLIT_HYPHEN = re.compile(r"(?<=[\w\]]) - (?=[\w\[])")


def detokenize(tokens):
    """Joins tokens with single spaces, re-attaching hyphens inside words.

    sacreBLEU's 13a tokenisation splits punctuation again ("froid ." and
    "froid." score the same) but keeps word-internal hyphens, so
    "est - ce" must become "est-ce" to match the references.

    Example:

    >>> detokenize(["qu'est", "-", "ce", "que", "c'est", "?"])
    "qu'est-ce que c'est ?"
    >>> detokenize(["il", "fait", "froid", ".", "[END]"])
    'il fait froid .'
    """
    text = " ".join(t for t in tokens if t not in (PAD, START, END))
    return _SPLIT_HYPHEN.sub("-", text)


def word_vocabulary(token_lists, max_tokens):
    """`[START]`, `[END]`, then the `max_tokens - 2` most frequent words (ties alphabetical).

    Padding and OOV are added by `StringLookup` (ids 0 and 1).

    Example:

    >>> word_vocabulary([["a", "b", "a"], ["c", "a", "b"]], 4)
    ['[START]', '[END]', 'a', 'b']
    """
    words = count_vocabulary([" ".join(tokens) for tokens in token_lists])
    return [START, END] + words[: max(0, max_tokens - 2)]


def lookup_layer(vocabulary, invert=False):
    """A `StringLookup` over `vocabulary`: `""` -> 0, OOV -> 1, then 2, 3, ...

    Example:

    >>> layer = lookup_layer(["[START]", "[END]", "chat"])
    >>> np.asarray(layer(["chat", "chien", ""])).tolist()
    [4, 1, 0]
    """
    return keras.layers.StringLookup(
        vocabulary=list(vocabulary), mask_token=PAD, oov_token=UNK,
        invert=invert,
    )


def encode(lookup, token_lists, length):
    """Token lists -> right-padded int32 ids of `length` columns (longer lists cut).

    Decoder inputs and targets come from these ids through
    `rnnzoo.teacher_forcing` (`[START] + y`, `y + [END]`).

    Example:

    >>> encode(lookup_layer(["[START]", "[END]", "a"]), [["a"], ["b", "a", "a"]], 2).tolist()
    [[4, 0], [1, 4]]
    """
    rows = []
    for tokens in token_lists:
        row = list(tokens)[:length]
        rows.append(row + [PAD] * (length - len(row)))
    if not rows:
        return np.zeros((0, length), dtype="int32")
    return np.asarray(lookup(np.array(rows, dtype=object).astype(str)),
                      dtype="int32")


def decoded_words(ids, vocabulary):
    """Decoded ids -> word lists, each cut at `[END]` (`rnnzoo.data.text.ids_to_tokens`).

    Example:

    >>> decoded_words(np.array([[4, 5, 3, 0]]), ["[START]", "[END]", "a", "b"])
    [['a', 'b']]
    """
    return ids_to_tokens(ids, [PAD, UNK, *vocabulary], end_id=END_ID)


def corpus_scores(hypotheses, references):
    """`{"bleu", "chrf"}`: corpus BLEU and chrF (`rnnzoo.metrics`, case-insensitive).

    Example:

    >>> corpus_scores(["il fait froid ."], ["Il fait froid."])
    {'bleu': 100.0, 'chrf': 100.0}
    """
    return {"bleu": corpus_bleu(hypotheses, references),
            "chrf": corpus_chrf(hypotheses, references)}


@dataclasses.dataclass
class TranslationData:
    """Encoded pairs and vocabularies (see `prepare`)."""

    source_vocabulary: list
    target_vocabulary: list
    x_train: np.ndarray
    y_in_train: np.ndarray
    y_out_train: np.ndarray
    x_validation: np.ndarray
    y_in_validation: np.ndarray
    y_out_validation: np.ndarray
    test_sources: list
    test_references: list
    x_test: np.ndarray
    max_length: int


def prepare(dataset, *, max_length=12, source_max_tokens=8000, target_max_tokens=10000,
            reverse=False, limit=None, test_limit=None, validation_limit=2000):
    """Tokenises, filters and encodes a `TranslationDataset`.

    Args:
        dataset: from `rnnzoo.data.datasets.load_fra_eng`.
        max_length: longest training pair kept (tokens, either side).
        source_max_tokens, target_max_tokens: vocabulary caps (including
            `[START]`, `[END]`; ids 0/1, padding/OOV, come on top).
        reverse: translate French -> English.
        limit: keep at most this many training pairs: a fixed random
            subset (seed 0) of those within `max_length`, in file order (the
            file is sorted by length, so its first pairs are the shortest).
        test_limit: score at most this many test pairs (file order).
        validation_limit: validation pairs used for early stopping.

    Returns:
        A `TranslationData`.
    """
    def side(split):
        src, tgt = (split.y, split.x) if reverse else (split.x, split.y)
        return [word_tokens(s) for s in src], [word_tokens(t) for t in tgt], src, tgt

    s_train, t_train, _, _ = side(dataset.train)
    keep = [i for i in range(len(s_train))
            if len(s_train[i]) <= max_length and len(t_train[i]) <= max_length]
    if limit and limit < len(keep):
        pick = np.random.default_rng(0).choice(len(keep), limit, replace=False)
        keep = [keep[i] for i in np.sort(pick)]
    s_train = [s_train[i] for i in keep]
    t_train = [t_train[i] for i in keep]
    source_vocabulary = word_vocabulary(s_train, source_max_tokens)
    target_vocabulary = word_vocabulary(t_train, target_max_tokens)
    src_lookup = lookup_layer(source_vocabulary)
    tgt_lookup = lookup_layer(target_vocabulary)
    s_val, t_val, _, _ = side(dataset.validation)
    keep_val = [i for i in range(len(s_val))
                if len(s_val[i]) <= max_length and len(t_val[i]) <= max_length]
    keep_val = keep_val[:validation_limit]
    s_val = [s_val[i] for i in keep_val]
    t_val = [t_val[i] for i in keep_val]
    s_test, _, raw_src, raw_tgt = side(dataset.test)
    n_test = len(s_test) if not test_limit else min(test_limit, len(s_test))
    width = max_length + 1

    def targets(token_lists):  # [START] + y and y + [END], `width` steps each
        return teacher_forcing(encode(tgt_lookup, token_lists, max_length),
                               start_token=START_ID, end_token=END_ID, max_length=width)

    test_width = max(width, max(len(s) for s in s_test[:n_test]) if n_test else 1)
    return TranslationData(
        source_vocabulary=source_vocabulary,
        target_vocabulary=target_vocabulary,
        x_train=encode(src_lookup, s_train, max_length),
        **dict(zip(("y_in_train", "y_out_train"), targets(t_train))),
        x_validation=encode(src_lookup, s_val, max_length),
        **dict(zip(("y_in_validation", "y_out_validation"), targets(t_val))),
        test_sources=[str(s) for s in raw_src[:n_test]],
        test_references=[str(t) for t in raw_tgt[:n_test]],
        x_test=encode(src_lookup, s_test[:n_test], test_width),
        max_length=max_length,
    )


def build_translator(data, *, attention="luong", cell="gru", units=192, embedding_dim=128,
                     dropout=0.0, **overrides):
    """`rnnzoo.seq2seq` with a bidirectional encoder over `data`'s vocabularies (not compiled).

    `overrides` are further `rnnzoo.seq2seq` arguments.
    """
    from rnnzoo.models.seq2seq import seq2seq

    return seq2seq(**{
        **dict(source_vocabulary_size=len(data.source_vocabulary) + 2,
               target_vocabulary_size=len(data.target_vocabulary) + 2,
               embedding_dim=embedding_dim, cell=cell, units=units, bidirectional=True,
               dropout=dropout, attention=attention, name="translator"),
        **overrides,
    })


def translate_ids(model, x, *, sampler="greedy", max_length=None, return_attention=False,
                  batch_size=256):
    """Decodes source ids in batches with `rnnzoo.decode` (`sampler`: as there)."""
    max_length = max_length or x.shape[1] + 6
    ids, weights = [], []
    for start in range(0, len(x), batch_size):
        out = decode(model, x[start:start + batch_size], sampler=sampler,
                     max_length=max_length, start_token=START_ID, end_token=END_ID,
                     return_attention=return_attention)
        if return_attention:
            out, w = out
            weights.append(np.asarray(w))
        ids.append(np.asarray(out))
    ids = np.concatenate(ids) if ids else np.zeros((0, max_length), "int32")
    if return_attention:
        return ids, np.concatenate(weights)
    return ids


def translate(model, sentences, source_vocabulary, target_vocabulary, sampler=BEAM,
              **kwargs):
    """Translates raw sentences (tokenised, looked up, decoded).

    Returns:
        A list of translated strings.
    """
    tokens = [word_tokens(s) for s in sentences]
    width = max(1, max(len(t) for t in tokens))
    x = encode(lookup_layer(source_vocabulary), tokens, width)
    ids = translate_ids(model, x, sampler=sampler, **kwargs)
    return [detokenize(t) for t in decoded_words(ids, target_vocabulary)]


def evaluate(model, data, samplers=None):
    """sacreBLEU and chrF on the test pairs for each sampler (`{name: sampler}`).

    The default: greedy search and `BEAM`, as `scores["greedy"]` and
    `scores["beam"]`.
    """
    scores = {}
    for name, sampler in (samplers or {"greedy": "greedy", "beam": BEAM}).items():
        start = time.time()
        ids = translate_ids(model, data.x_test, sampler=sampler)
        hyps = [detokenize(t) for t in decoded_words(ids, data.target_vocabulary)]
        scores[name] = corpus_scores(hyps, data.test_references)
        scores[name]["seconds"] = round(time.time() - start, 1)
        scores[name]["examples"] = [
            [data.test_sources[i], hyps[i], data.test_references[i]]
            for i in range(min(5, len(hyps)))
        ]
    return scores


def unigram_accuracy(data):
    """Validation next-token accuracy of always predicting the most frequent
    training target token (`[END]` included, padding excluded): the floor a
    trained model's `val_accuracy` must clear.

    Example:

    >>> d = TranslationData([], [], None, None, np.array([[4, 4, 3, 0]]), None,
    ...                     None, np.array([[4, 5, 3, 0]]), [], [], None, 3)
    >>> unigram_accuracy(d)
    0.3333
    """
    train = data.y_out_train[data.y_out_train > 0]
    val = data.y_out_validation[data.y_out_validation > 0]
    if not len(train) or not len(val):
        return 0.0
    top = np.bincount(train).argmax()
    return round(float(np.mean(val == top)), 4)


def copy_baseline(data):
    """Scores of copying the source sentence as its own translation."""
    return corpus_scores(data.test_sources, data.test_references)


def save_vocabularies(path, data, reverse=False):
    """Writes both vocabularies (and the direction) as JSON, atomically."""
    return write_json(path, {"source": data.source_vocabulary,
                             "target": data.target_vocabulary,
                             "reverse": bool(reverse)})


def load_vocabularies(path):
    """Reads `save_vocabularies`' file: `(source, target, reverse)`."""
    data = read_json(path)
    if data is None:
        raise FileNotFoundError(f"No vocabularies at {path!r}.")
    return data["source"], data["target"], data["reverse"]


def _attention_picks(data, count=3):
    """Three distinct test sentences of 5-10 tokens, spread over the split
    (the file is sorted by length and repeats sources)."""
    distinct = {}
    for i, source in enumerate(data.test_sources):
        distinct.setdefault(source, i)
    fits = sorted(i for s, i in distinct.items() if 5 <= len(word_tokens(s)) <= 10)
    fits = fits or sorted(distinct.values())  # short test subsets (quick runs)
    return [fits[k] for k in np.linspace(0, len(fits) - 1, count).astype(int)] if fits else []


def _fit(runner, model, data, config, epochs, name):
    """Trains one translator; returns `(history dict, seconds)`."""
    from rnnzoo.data.length_batches import LengthBatches

    runner.compile(model, learning_rate=2e-3)
    # Batches of similar-length pairs, each trimmed to its longest pair:
    # about half the padded steps of fixed-width batches (docs/recipes.md).
    train = LengthBatches([data.x_train, data.y_in_train], data.y_out_train,
                          batch_size=config.batch_size, seed=runner.seed)
    validation = LengthBatches([data.x_validation, data.y_in_validation],
                               data.y_out_validation, batch_size=256, shuffle=False)
    # Validation next-token accuracy, not loss, picks the model: BLEU follows
    # accuracy while the loss turns up from overconfidence (full run: epoch 5
    # had a higher val_loss than epoch 4, 1.0390 vs 1.0387, yet greedy BLEU
    # 32.57 vs 32.16).
    history = runner.fit(
        model, train, name=name, monitor="val_accuracy", patience=2,
        time_limit=config.max_minutes * 60 if config.max_minutes else None,
        validation_data=validation, epochs=epochs)
    # Every epoch's seconds, those of a killed earlier run included.
    return history.history, round(sum(history.seconds), 1)


def run(config, runner, dataset=None):
    """Trains the translator (and the no-attention baseline), scores them with sacreBLEU.

    Writes `model.keras`, `vocabularies.json`, `metrics.json`,
    `attention_*.png` and `loss.png`. With `runner.tune_with`, searches
    `rnnzoo.seq2seq` over the same pairs instead.

    Args:
        config: a `Config`.
        runner: the `rnnzoo.training.Runner` of the run (not started).
        dataset: a `TranslationDataset` to use instead of loading the
            Tatoeba English-French pairs (`load_fra_eng`).

    Returns:
        The metrics dict (`beam_bleu`, `greedy_bleu`, `no_attention_bleu`,
        `copy_source_bleu`, chrF, histories, ...).
    """
    runner.start(config)
    if dataset is None:
        dataset = load_fra_eng(data_dir=config.data_dir)
    data = prepare(dataset, max_length=config.max_length,
                   source_max_tokens=config.source_max_tokens,
                   target_max_tokens=config.target_max_tokens, reverse=config.reverse,
                   limit=config.limit, test_limit=config.test_limit)
    direction = "fr->en" if config.reverse else "en->fr"
    print(f"{direction}: {len(data.x_train)} training pairs (<= {config.max_length} "
          f"tokens), {len(data.test_references)} test pairs, vocabularies "
          f"{len(data.source_vocabulary) + 2} / {len(data.target_vocabulary) + 2}")
    if runner.tune_with:
        return runner.tune(
            "seq2seq", [data.x_train, data.y_in_train], data.y_out_train,
            validation_data=([data.x_validation, data.y_in_validation],
                             data.y_out_validation),
            fixed=dict(source_vocabulary_size=len(data.source_vocabulary) + 2,
                       target_vocabulary_size=len(data.target_vocabulary) + 2,
                       embedding_dim=config.embedding_dim),
            space={**config.tune_space, **config.overrides},
            epochs=config.epochs, batch_size=config.batch_size, task_name=NAME)
    settings = dict(cell=config.cell, units=config.units, embedding_dim=config.embedding_dim,
                    **config.overrides)
    with runner.scope():
        model = build_translator(data, attention=config.attention, **settings)
    history, seconds = _fit(runner, model, data, config, config.epochs, "attention")
    runner.save_model(model)
    save_vocabularies(runner.path(VOCABULARY_FILE), data, config.reverse)
    scores = evaluate(model, data)

    histories = {"attention": history}
    baseline, b_history, b_seconds = None, {"loss": [], "val_loss": []}, 0.0
    baseline_scores = {"greedy": {"bleu": None, "chrf": None}}
    if config.baseline:
        with runner.scope():
            baseline = build_translator(data, **{**settings, "attention": None})
        b_history, b_seconds = _fit(runner, baseline, data, config,
                                    config.baseline_epochs or config.epochs, "no_attention")
        baseline_scores = evaluate(baseline, data, samplers={"greedy": "greedy"})
        histories["no attention"] = b_history
    copy = copy_baseline(data)

    picks = _attention_picks(data)
    ids, weights = translate_ids(model, data.x_test[picks], return_attention=True)
    hyps = decoded_words(ids, data.target_vocabulary)
    for k, i in enumerate(picks):
        plots.plot_attention(
            runner.path(f"attention_{k}.png"), weights[k],
            word_tokens(data.test_sources[i]), hyps[k] + [END], title=data.test_sources[i])
    plots.plot_history(histories, runner.path("loss.png"), metrics=["loss"])

    metrics = {
        "task": NAME,
        "direction": direction,
        "train_pairs": len(data.x_train),
        "test_pairs": len(data.test_references),
        "max_length": config.max_length,
        "vocabulary": [len(data.source_vocabulary) + 2, len(data.target_vocabulary) + 2],
        "parameters": model.count_params(),
        "greedy_bleu": scores["greedy"]["bleu"],
        "greedy_chrf": scores["greedy"]["chrf"],
        "beam_bleu": scores["beam"]["bleu"],
        "beam_chrf": scores["beam"]["chrf"],
        "no_attention_bleu": baseline_scores["greedy"]["bleu"],
        "no_attention_chrf": baseline_scores["greedy"]["chrf"],
        "copy_source_bleu": copy["bleu"],
        "copy_source_chrf": copy["chrf"],
        "epochs_run": len(history["loss"]),
        "baseline_epochs_run": len(b_history["loss"]),
        "units": config.units,
        "batch_size": config.batch_size,
        "baseline_parameters": baseline.count_params() if baseline else None,
        "unigram_accuracy": unigram_accuracy(data),
        "baseline_history": b_history,
        "train_seconds": seconds,
        "baseline_train_seconds": b_seconds,
        "scores": scores,
        "history": history,
        "quick": runner.quick,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics


def translate_sentences(trained, sentences: list[str], *,
                        sampler: typing.Literal["beam", "greedy"] = "beam"):
    """Translates sentences with the trained model (prints `sentence -> translation`).

    Args:
        sentences: the sentences to translate.
        sampler: beam (width 4, length penalty 0.6) or greedy search.

    Returns:
        The translations.
    """
    source, target, _ = load_vocabularies(os.path.join(trained.output_dir, VOCABULARY_FILE))
    translations = translate(trained.model, sentences, source, target,
                             sampler=BEAM if sampler == "beam" else sampler)
    for sentence, out in zip(sentences, translations):
        print(f"{sentence} -> {out}")
    return translations


COMMANDS = {"translate": translate_sentences}
