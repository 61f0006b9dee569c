"""Part-of-speech tagging on UD English-EWT: a BiLSTM over words and their characters, with a CRF.

`python recipes/tagging.py` (UPOS; `--tagset xpos` for the Penn tags). The steps:

1. `rnnzoo.data.datasets.load_ud_treebank`: train and dev. A seeded part
   of the TRAIN sentences (`validation_sentences`) picks the epoch (by
   tagging accuracy: the validation loss starts rising epochs before the
   accuracy stops improving); dev is only reported (the official test
   split is not in the shared data).
2. `Vocabularies`: word forms seen at least `min_count` times in training
   (rarer ones, and `word_dropout`, train the unknown-word id), every
   training character, the tags.
3. The variants of `rnnzoo.sequence_tagger` trained the same way
   (`VARIANTS`): words only; + characters (a masked character CNN,
   Ma & Hovy 2016); + characters and a linear-chain CRF (`crf=True`);
   and the main model, an ensemble of three seeds of the character tagger
   (`average_taggers`: their tag probabilities averaged in one model; the
   first seed is the `characters` network itself). Words are looked up
   lower-cased (`lowercase`); the characters keep the case.
4. Dev accuracy overall and on words unseen in training, per-tag
   precision / recall / F1, the most-frequent-tag-per-word baseline, the
   largest confusions (`confusions.png`) and the loss curves (`loss.png`).

`python recipes/tagging.py predict "I saw her duck ."` prints word/TAG pairs.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os

import numpy as np

from rnnzoo.tasks import field
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

NAME = "tagging"
VARIANTS = {
    "words": dict(),
    "characters": dict(characters=True),
    "characters_crf": dict(characters=True, crf=True),
    "characters_ensemble": dict(base="characters", members=3),
}
"""The compared networks: the last one is the run's `model.keras`.

An entry with `base` is `members` seeds of that variant, averaged
(`average_taggers`); the run's own `base` network is its first member.
"""
VOCABULARY_FILE = "vocabularies.json"


def SUMMARY(config):
    """The summary line's metrics: the main variant, the others, the baseline."""
    return ("dev_accuracy", "dev_unseen_accuracy",
            *(f"{v}_dev_accuracy" for v in config.variants[:-1]),
            "most_frequent_tag_dev_accuracy", "train_seconds")

PUBLISHED = {
    # UPOS accuracy on EWT TEST, gold tokenisation (the figures).
    "UDPipe 1.2 (UD 2.5)": 94.4,
    "bilty, Plank et al. 2016, no pretrained embeddings (UD 1.3)": 94.43,
    "bilty with Polyglot embeddings (UD 1.3)": 95.00,
    "Stanza (raw text, pretrained character LM)": 96.20,
    "UDPipe 2 + multilingual BERT": 97.50,
}
"""Published EWT test figures: a different split (test, not dev) and, for some, other data."""


@dataclasses.dataclass
class Config:
    """The tagging task's settings (each is a flag of `recipes/tagging.py`).

    Example:

    >>> Config().tagset, Config.quick().max_sentences
    ('upos', 1000)
    """

    tagset: str = field("upos", "the tags to predict: upos (17 universal tags) or xpos "
                                "(Penn Treebank tags)", choices=("upos", "xpos"))
    variants: tuple = field(tuple(VARIANTS), "the networks trained and compared, among "
                                             + ", ".join(VARIANTS))
    epochs: int = field(25, "the most training epochs of each variant (early stopping)")
    batch_size: int = field(32, "sentences per batch")
    units: int = field(128, "BiLSTM units per direction")
    num_layers: int = field(2, "BiLSTM layers")
    embedding_dim: int = field(128, "word embedding width")
    character_embedding_dim: int = field(32, "character embedding width")
    character_units: int = field(128, "character CNN filters")
    dropout: float = field(0.3, "dropout between BiLSTM layers and before the output")
    embedding_dropout: float = field(0.25, "rate of word-embedding channels dropped")
    word_dropout: float = field(0.1, "rate of training words replaced by the unknown word "
                                     "(0.1: the best validation accuracy of 0.1 and 0.25)")
    learning_rate: float = field(2e-3, "Adam learning rate")
    patience: int | None = field(3, "epochs without a better validation accuracy before "
                                    "stopping")
    max_minutes: float | None = field(12.0, "stop a variant after the epoch passing this time")
    min_count: int = field(1, "keep word forms seen this often in training")
    lowercase: bool = field(True, "look words up lower-cased (the characters keep the case), "
                                   "so 'Opposition' gets the embedding of 'opposition'")
    max_word_length: int = field(20, "characters kept per word (longer words are cut)")
    validation_sentences: int = field(600, "training sentences held out to pick the epoch")
    max_sentences: int | None = field(None, "use the first N training sentences (quick runs)")
    max_dev_sentences: int | None = field(None, "score the first N dev sentences (quick runs)")
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "more rnnzoo.sequence_tagger arguments (`--set KEY=VALUE`)")

    def __post_init__(self):
        for key in ("epochs", "batch_size", "units", "num_layers", "embedding_dim",
                    "character_embedding_dim", "character_units", "min_count",
                    "max_word_length", "validation_sentences"):
            check_positive_int(key, getattr(self, key))
        for key in ("patience", "max_sentences", "max_dev_sentences"):
            check_optional_positive_int(key, getattr(self, key))
        self.variants = tuple(self.variants)
        for variant in self.variants:
            check_choice("variants", variant, tuple(VARIANTS))

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests: 1,000 training sentences, small networks."""
        settings = dict(epochs=8, units=64, num_layers=1, embedding_dim=64,
                        character_embedding_dim=16, character_units=32, dropout=0.2,
                        embedding_dropout=0.1, patience=None, max_minutes=None,
                        validation_sentences=100, max_sentences=1000, max_dev_sentences=400)
        settings.update(changes)
        return cls(**settings)


@dataclasses.dataclass
class Vocabularies:
    """Words, characters and tags of the training sentences, and their encodings.

    Ids 0 (padding) and 1 (unknown) come first in `words` and `characters`;
    `tags` has padding id 0 too (real tags are 1..). With `lowercase`, words
    are counted and looked up lower-cased; characters always keep the case.
    """

    words: list
    characters: list
    tags: list
    max_word_length: int
    lowercase: bool = False

    @classmethod
    def count(cls, sentences, tags, *, min_count, max_word_length, lowercase=False):
        from rnnzoo.data import text

        forms = [w for sentence in sentences for w in sentence]
        return cls(
            words=["", "[UNK]"] + text.count_vocabulary(
                [w.lower() for w in forms] if lowercase else forms, split="whitespace",
                min_count=min_count),
            characters=["", "[UNK]"] + text.count_vocabulary(forms, split="character"),
            tags=[""] + sorted({t for row in tags for t in row}),
            max_word_length=max_word_length, lowercase=lowercase)

    @functools.cached_property
    def _indexes(self):
        """`{word: id}`, `{character: id}`, `{tag: id}`: built once, not per encoded batch."""
        return tuple({item: i for i, item in enumerate(items)}
                     for items in (self.words, self.characters, self.tags))

    def encode(self, sentences, tags=None):
        """`(word ids (n, time), character ids (n, time, chars)[, tag ids (n, time)])`."""
        word_index, char_index, tag_index = self._indexes
        width = max([len(s) for s in sentences] + [1])
        depth = max([min(len(w), self.max_word_length) for s in sentences for w in s] + [1])
        words = np.zeros((len(sentences), width), "int32")
        chars = np.zeros((len(sentences), width, depth), "int32")
        for i, sentence in enumerate(sentences):
            for j, word in enumerate(sentence):
                words[i, j] = word_index.get(word.lower() if self.lowercase else word, 1)
                chars[i, j, :min(len(word), depth)] = [
                    char_index.get(c, 1) for c in word[:depth]]
        if tags is None:
            return words, chars
        ids = np.zeros_like(words)
        for i, row in enumerate(tags):
            ids[i, :len(row)] = [tag_index[t] for t in row]
        return words, chars, ids


def split_training(data, validation_sentences, seed, limit=None):
    """(training part, validation part) of the train sentences: a seeded draw."""
    from rnnzoo.data.datasets.ud_treebank import TaggedSentences

    n = len(data) if limit is None else min(limit, len(data))
    if not 0 < validation_sentences < n:
        raise ValueError(f"Expected `validation_sentences` between 1 and {n - 1}. Received: "
                         f"validation_sentences={validation_sentences!r}")
    held = set(np.random.default_rng(seed).permutation(n)[:validation_sentences].tolist())

    def part(keep):
        rows = [i for i in range(n) if (i in held) == keep]
        return TaggedSentences(*([getattr(data, k)[i] for i in rows]
                                 for k in ("words", "upos", "xpos")))

    return part(False), part(True)


def most_frequent_tags(sentences, tags):
    """`(word -> its most frequent training tag, the most frequent tag overall)`."""
    by_word = collections.defaultdict(collections.Counter)
    overall = collections.Counter()
    for words, row in zip(sentences, tags):
        for word, tag in zip(words, row):
            by_word[word][tag] += 1
            overall[tag] += 1
    return ({w: c.most_common(1)[0][0] for w, c in by_word.items()},
            overall.most_common(1)[0][0])


def tag_scores(gold, predicted, words, seen, tagset):
    """Accuracy overall and on unseen words, per-tag P/R/F1, the largest confusions.

    Args:
        gold, predicted: one list of tags per sentence.
        words: the sentences' words.
        seen: the set of training word forms.
        tagset: the tag names (for the per-tag table).

    Returns:
        A dict (accuracies in %).

    Example:

    >>> s = tag_scores([["A", "B"]], [["A", "A"]], [["x", "y"]], {"x"}, ["A", "B"])
    >>> s["accuracy"], s["unseen_accuracy"], s["unseen_words"]
    (50.0, 0.0, 1)
    """
    from sklearn.metrics import precision_recall_fscore_support

    g = [t for row in gold for t in row]
    p = [t for row in predicted for t in row]
    unseen = np.array([w not in seen for row in words for w in row])
    right = np.array([a == b for a, b in zip(g, p)])
    labels = [t for t in tagset if t]
    precision, recall, f1, support = precision_recall_fscore_support(
        g, p, labels=labels, zero_division=0)
    pairs = collections.Counter((a, b) for a, b in zip(g, p) if a != b)
    return {
        "accuracy": round(100 * float(right.mean()), 2),
        "unseen_accuracy": round(100 * float(right[unseen].mean()), 2) if unseen.any() else None,
        "unseen_words": int(unseen.sum()),
        "words": len(g),
        "per_tag": {t: {"precision": round(100 * float(a), 2), "recall": round(100 * float(b), 2),
                        "f1": round(100 * float(c), 2), "support": int(d)}
                    for t, a, b, c, d in zip(labels, precision, recall, f1, support)},
        "confusions": [[a, b, n] for (a, b), n in pairs.most_common(10)],
    }


def variant_options(variant):
    """A variant's options, those of its `base` included.

    Example:

    >>> variant_options("characters_ensemble")["characters"]
    True
    """
    options = VARIANTS[variant]
    return {**VARIANTS.get(options.get("base"), {}), **options}


def build(variant, vocab, config, name=None):
    """The `rnnzoo.sequence_tagger` of one variant."""
    import rnnzoo

    options = variant_options(variant)
    characters = options.get("characters", False)
    return rnnzoo.sequence_tagger(**{
        **dict(vocabulary_size=len(vocab.words), embedding_dim=config.embedding_dim,
               embedding_dropout=config.embedding_dropout, word_dropout=config.word_dropout,
               character_vocabulary_size=len(vocab.characters) if characters else None,
               character_embedding_dim=config.character_embedding_dim,
               character_units=config.character_units,
               num_classes=len(vocab.tags), units=config.units, num_layers=config.num_layers,
               bidirectional=True, dropout=config.dropout, head_dropout_rate=config.dropout,
               crf=options.get("crf", False), name=name or f"{NAME}_{variant}"),
        **config.overrides})


def average_taggers(members, name):
    """One model averaging the tag probabilities of softmax taggers with the same inputs.

    Example:

    >>> import numpy as np, rnnzoo
    >>> members = [rnnzoo.sequence_tagger(vocabulary_size=9, num_classes=3, units=4,
    ...                                   name=f"t{k}") for k in range(2)]
    >>> ids = np.array([[3, 4, 0]])
    >>> mean = (np.asarray(members[0](ids)) + np.asarray(members[1](ids))) / 2
    >>> np.allclose(average_taggers(members, "both")(ids), mean)
    True
    """
    import keras

    from rnnzoo.models.crf_model import CRFModel

    if any(isinstance(m, CRFModel) for m in members):
        raise ValueError("Expected softmax taggers to average (a CRF gives tags, not "
                         f"probabilities). Received: members={[m.name for m in members]}")
    inputs = [keras.Input(t.shape[1:], dtype=t.dtype, name=f"{name}_{t.name.split('_')[-1]}")
              for t in members[0].inputs]
    outputs = [m(inputs if len(inputs) > 1 else inputs[0]) for m in members]
    return keras.Model(inputs, keras.layers.Average(name=f"{name}_average")(outputs),
                       name=name)


def predict_tags(model, vocab, sentences, batch_size=64):
    """One list of tag names per sentence, predicted in batches of similar length.

    The model's inputs (words, or words and characters) are chosen by its
    input count; a CRF model's `predict` gives tags, a softmax model's the
    probabilities (argmax).
    """
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    result = [None] * len(sentences)
    for begin in range(0, len(order), batch_size):
        rows = order[begin:begin + batch_size]
        words, chars = vocab.encode([sentences[i] for i in rows])
        scores = np.asarray(model.predict_on_batch(
            [words, chars] if len(model.inputs) == 2 else words))
        ids = scores if scores.ndim == 2 else scores.argmax(-1)
        for row, tags in zip(rows, ids):
            result[row] = [vocab.tags[i] if i else "X" for i in tags[:len(sentences[row])]]
    return result


def run(config, runner):
    """Trains the variants, scores dev; returns the metrics (also in metrics.json).

    Args:
        config: a `Config`.
        runner: the run's `rnnzoo.training.Runner` (not started yet).

    Returns:
        The metrics dict: per variant dev accuracy, unseen-word accuracy,
        parameters and training time; the main model's per-tag scores and
        confusions; the most-frequent-tag baseline; published figures.
    """
    from rnnzoo import plots
    from rnnzoo.data.datasets import load_ud_treebank
    from rnnzoo.data.length_batches import LengthBatches
    from rnnzoo.io import write_json
    from rnnzoo.tasks.ensembles import drop_training_state
    from rnnzoo.training.runner import Timer

    runner.start(config)
    data = load_ud_treebank(data_dir=config.data_dir)
    train, validation = split_training(data["train"], config.validation_sentences,
                                       runner.seed, config.max_sentences)
    dev = data["dev"]
    if config.max_dev_sentences:
        dev = type(dev)(*(getattr(dev, k)[:config.max_dev_sentences]
                          for k in ("words", "upos", "xpos")))
    vocab = Vocabularies.count(train.words, train.tags(config.tagset),
                               min_count=config.min_count, lowercase=config.lowercase,
                               max_word_length=config.max_word_length)
    write_json(runner.path(VOCABULARY_FILE), dataclasses.asdict(vocab) | {
        "tagset": config.tagset})
    encoded = {name: vocab.encode(part.words, part.tags(config.tagset))
               for name, part in (("train", train), ("validation", validation))}

    # The baseline: each word's most frequent training tag.
    seen = {w for s in train.words for w in s}
    lookup, overall = most_frequent_tags(train.words, train.tags(config.tagset))
    gold = dev.tags(config.tagset)
    baseline = tag_scores(gold, [[lookup.get(w, overall) for w in s] for s in dev.words],
                          dev.words, seen, vocab.tags)

    def fit_variant(variant, offset, name):
        """One network of `variant`, trained on the training part (validation: early stop)."""
        runner.reseed(offset)
        characters = variant_options(variant).get("characters", False)
        words, chars, tags = encoded["train"]
        v_words, v_chars, v_tags = encoded["validation"]
        with runner.scope():
            model = build(variant, vocab, config, name=f"{NAME}_{name}")
        runner.compile(model, learning_rate=config.learning_rate)
        timer = Timer()
        history = runner.fit(
            model, LengthBatches([words, chars] if characters else words, tags,
                                 batch_size=config.batch_size, seed=runner.seed),
            name=name, monitor="val_accuracy", patience=config.patience, epochs=config.epochs,
            time_limit=config.max_minutes * 60 if config.max_minutes else None,
            validation_data=LengthBatches([v_words, v_chars] if characters else v_words,
                                          v_tags, batch_size=128, shuffle=False))
        # Every epoch's seconds, those of a resumed earlier run included.
        return model, history, sum(getattr(history, "seconds", None) or [timer.seconds()])

    validation_gold = validation.tags(config.tagset)
    results, histories, models = {}, {}, {}
    for i, variant in enumerate(config.variants):
        count, base = VARIANTS[variant].get("members", 1), VARIANTS[variant].get("base")
        members, seconds, epochs = [], 0.0, []
        for k in range(count):
            if k == 0 and base in models:  # this run's `base` network is member 1
                model = models[base][0]
                seconds += results[base]["train_seconds"]
                epochs += results[base]["epochs_run"]
            else:
                name = variant if count == 1 else f"{variant}_{k + 1}"
                model, history, member_seconds = fit_variant(variant, i + 100 * k, name)
                seconds += member_seconds
                epochs.append(len(history.history["loss"]))
                histories[name] = history.history
            members.append(model)
        if count > 1:
            drop_training_state(members)  # weights only: no optimizer state in the saved model
            model = average_taggers(members, f"{NAME}_{variant}")
        predicted = predict_tags(model, vocab, dev.words)
        scores = tag_scores(gold, predicted, dev.words, seen, vocab.tags)
        validation_scores = tag_scores(validation_gold,
                                       predict_tags(model, vocab, validation.words),
                                       validation.words, seen, vocab.tags)
        results[variant] = {"dev_accuracy": scores["accuracy"],
                            "dev_unseen_accuracy": scores["unseen_accuracy"],
                            "validation_accuracy": validation_scores["accuracy"],
                            "parameters": int(model.count_params()),
                            "train_seconds": round(seconds, 1),
                            "epochs_run": epochs,  # one count per trained network
                            "scores": scores}
        models[variant] = (model, predicted)
        runner.save_model(model, f"{variant}.keras")

    main = config.variants[-1]
    model, predicted = models[main]
    runner.save_model(model)
    main_scores = results[main]["scores"]
    flat_gold = [t for row in gold for t in row]
    flat_predicted = [t for row in predicted for t in row]
    names = [t for t in vocab.tags if t]
    index = {t: k for k, t in enumerate(names)}
    plots.plot_confusion_matrix([index[t] for t in flat_gold],
                                [index.get(t, 0) for t in flat_predicted], names,
                                runner.path("confusions.png"),
                                title=f"{config.tagset.upper()} dev confusions ({main})")
    plots.plot_history(histories, runner.path("loss.png"), metrics=["loss"])
    metrics = {
        "task": NAME,
        "tagset": config.tagset,
        "main_variant": main,
        "dev_accuracy": results[main]["dev_accuracy"],
        "dev_unseen_accuracy": results[main]["dev_unseen_accuracy"],
        **{f"{v}_dev_accuracy": r["dev_accuracy"] for v, r in results.items()},
        **{f"{v}_dev_unseen_accuracy": r["dev_unseen_accuracy"] for v, r in results.items()},
        "most_frequent_tag_dev_accuracy": baseline["accuracy"],
        "most_frequent_tag_dev_unseen_accuracy": baseline["unseen_accuracy"],
        "variants": {v: {k: r[k] for k in r if k != "scores"} for v, r in results.items()},
        "per_tag": main_scores["per_tag"],
        "confusions": main_scores["confusions"],
        "sentences": {"train": len(train), "validation": len(validation), "dev": len(dev)},
        "dev_words": main_scores["words"],
        "dev_unseen_words": main_scores["unseen_words"],
        "vocabulary": {"words": len(vocab.words), "characters": len(vocab.characters),
                       "tags": len(vocab.tags) - 1},
        "published_test_upos": PUBLISHED,
        "history": histories,
        "train_seconds": round(sum(r["train_seconds"] for r in results.values()), 1),
        "quick": runner.quick,
        "seed": runner.seed,
    }
    runner.write_metrics(metrics)
    runner.finish()
    return metrics


def tag_sentences(trained, sentences: list[str]):
    """Prints word/TAG pairs for each sentence (words split on whitespace).

    Args:
        sentences: sentences, e.g. "I saw her duck ." (one argument each).

    Returns:
        One list of `(word, tag)` pairs per sentence.
    """
    from rnnzoo.io import read_json

    stored = read_json(os.path.join(trained.output_dir, VOCABULARY_FILE))
    vocab = Vocabularies(**{k: stored[k] for k in ("words", "characters", "tags",
                                                   "max_word_length")},
                         lowercase=stored.get("lowercase", False))  # older runs: as written
    split = [s.split() for s in sentences]
    if not all(split):
        raise ValueError(f"Expected non-empty sentences. Received: sentences={sentences!r}")
    tagged = [list(zip(words, tags)) for words, tags in
              zip(split, predict_tags(trained.model, vocab, split))]
    for pairs in tagged:
        print(" ".join(f"{w}/{t}" for w, t in pairs))
    return tagged


COMMANDS = {"predict": tag_sentences}
"""`python recipes/tagging.py predict "I saw her duck ."`."""
