"""SST-2 sentiment (binary), word level, reported on the official dev split (872).

The model is an ensemble saved as ONE `.keras` file that takes raw strings:
`members` bidirectional recurrent classifiers (`rnnzoo.sequence_classifier`
via the `bilstm_sentiment` preset: word embedding, spatial dropout,
bidirectional layer, pooling, head dropout; member i takes the i-th of
`MEMBER_VARIANTS` (BiLSTM + max pooling, BiGRU + max pooling, BiLSTM +
attention pooling, ...) and seed `seed + 1 + i`) plus the bag-of-n-gram MLPs
of `bags` (`rnnzoo.dense_baseline`, `BAGS`): over word 1-2-grams, word
1-3-grams, character 2-5-grams and character 3-6-grams (the character ones
read words never seen in training by their pieces); their probabilities of
"positive" are averaged (`rnnzoo.tasks.ensembles`). The vocabularies are
counted in Python and handed to `TextVectorization(vocabulary=...)` (no
`adapt()`).

Model selection (early stopping, best epoch restored) uses whole training
sentences held out with all their phrases (`load_sst2(validation=
"sentences")`), and each member holds out another fold of them
(`member_fold`), so that together the members train on every row of the
train file. The official dev split is only scored. With `runner.tune_with`,
searches the BiLSTM's builder instead.
"""

import dataclasses
import sys

import numpy as np

from rnnzoo.tasks import field
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

NAME = "sentiment"
STANDARDIZE = "lower_and_strip_punctuation"
VALIDATION_FRACTION = 0.08  # of the complete train sentences, per member
# The bag-of-n-gram members: (name, TextVectorization split, n-gram sizes,
# minimum count, vocabulary size in multiples of `max_tokens`).
BAGS = (
    ("words12", "whitespace", (1, 2), 2, 2),
    ("words123", "whitespace", (1, 2, 3), 2, 3),
    ("chars25", "character", (2, 3, 4, 5), 3, 3),
    ("chars36", "character", (3, 4, 5, 6), 3, 5),
)
MEMBER_VARIANTS = (
    dict(cell="lstm", pooling="max"),
    dict(cell="gru", pooling="max"),
    dict(cell="lstm", pooling="attention"),
)
DEMO_SENTENCES = (
    "a gorgeous, witty film",
    "a dull, tedious mess",
    "not bad at all",
)
SUMMARY = ("dev_accuracy", "majority_baseline_accuracy", "train_seconds")


@dataclasses.dataclass
class Config:
    """The sentiment task's settings (each is a flag of `recipes/sentiment.py`).

    Example:

    >>> Config().members, Config.quick().members, Config.quick().bags
    (16, 1, 'words12,chars25')
    """

    epochs: int = field(3, "the most training epochs of each member (early stopping on "
                       "validation accuracy)")
    batch_size: int = field(64, "batch size")
    preset: str = field("bilstm_sentiment", "the recurrent members' builder preset")
    members: int = field(16, "recurrent members of the ensemble")
    bags: str = field(",".join(b[0] for b in BAGS),
                      "comma-separated bag-of-n-gram members, of BAGS")
    max_tokens: int = field(20000, "word vocabulary size")
    rnn: dict = field(dict(embedding_dim=128, units=64, head_dropout_rate=0.5,
                           embedding_dropout=0.3),
                      "the recurrent members' builder arguments over the preset's and their "
                      "variant's (`--set` overrides them)")
    mlp_units: int = field(64, "units of each bag-of-n-gram MLP")
    limit: int | None = field(None, "use at most this many training rows (tests)")
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "builder overrides of the recurrent members (`--set "
                                "KEY=VALUE`); under --tune, choices narrowing the search")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    def __post_init__(self):
        for key in ("epochs", "batch_size", "members", "max_tokens", "mlp_units"):
            check_positive_int(key, getattr(self, key))
        check_optional_positive_int("limit", self.limit)
        selected_bags(self.bags)

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests: 1 small BiLSTM and the two cheapest bags; `changes` win."""
        settings = dict(
            epochs=3, members=1, bags="words12,chars25", mlp_units=32,
            rnn=dict(embedding_dim=32, units=32, head_dropout_rate=0.3),
            tune_space=dict(embedding_dim=32, units=[16, 32], num_layers=1),
        )
        settings.update(changes)
        return cls(**settings)


def member_fold(index):
    """The validation fold of the index-th member (the bags come first).

    Example:

    >>> [member_fold(i) for i in (0, 1, 12, 13)]
    [0, 1, 0, 1]
    """
    return index % int(1 / VALIDATION_FRACTION)


def selected_bags(names):
    """The BAGS entries named in the comma-separated `names`, in BAGS order.

    Example:

    >>> [bag[0] for bag in selected_bags("chars36, words12")]
    ['words12', 'chars36']
    """
    known = {bag[0]: bag for bag in BAGS}
    wanted = [n.strip() for n in str(names).split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"Expected `bags` to name members of {sorted(known)}. "
                         f"Received: bags={names!r}")
    return [bag for bag in BAGS if bag[0] in wanted]


def member_variant(member):
    """The cell and pooling of ensemble member `member` (0-based), in turn.

    Example:

    >>> member_variant(4)
    {'cell': 'gru', 'pooling': 'max'}
    """
    return MEMBER_VARIANTS[member % len(MEMBER_VARIANTS)]


def _bag_dataset(layer, texts, labels, batch_size, shuffle_seed=None):
    """Batches of (multi-hot n-grams, label), vectorised on the fly (the full matrix is too big)."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(
        (np.array([str(t) for t in texts]), labels.astype("float32")))
    if shuffle_seed is not None:
        data = data.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda x, y: (layer(x), y)).prefetch(2)


def run(config, runner):
    """Trains the ensemble (or tunes the BiLSTM); returns the metrics, also in metrics.json.

    Args:
        config: a `Config`.
        runner: the run's `rnnzoo.training.Runner` (not started yet).

    Returns:
        The metrics dict: dev accuracy of the ensemble and of the majority
        class, each member's dev and validation accuracy and fold, the
        vocabulary sizes, the plots and the model's path.
    """
    import rnnzoo
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_sst2
    from rnnzoo.data.datasets.sst2 import CLASS_NAMES
    from rnnzoo.tasks.ensembles import Ensemble
    from rnnzoo.tasks.ensembles import classification_plots
    from rnnzoo.tasks.ensembles import fit_classifier
    from rnnzoo.tasks.ensembles import training_subset

    runner.start(config)
    folds = {}

    def fold(k):
        """(train x, train y, validation split, test split) holding out fold k, cached."""
        if k not in folds:
            split = load_sst2(data_dir=config.data_dir, validation_fraction=VALIDATION_FRACTION,
                              validation_fold=k)
            folds[k] = (*training_subset(split.train.x, split.train.y, config.limit,
                                         runner.seed), split.validation, split.test)
        return folds[k]

    train_x, train_y, validation, test = fold(0)
    majority = int(np.bincount(train_y, minlength=2).argmax())
    train_rows, validation_rows = len(train_x), len(validation)
    # Vocabularies from every train-file sentence (fold 0's training rows and
    # its held-out sentences), so that no member's fold changes them.
    texts = np.concatenate([train_x, validation.x])
    words = text.count_vocabulary(texts, standardize=STANDARDIZE, max_tokens=config.max_tokens)
    word_layer = text.text_vectorizer(words, standardize=STANDARDIZE, name="sentiment_words")
    test_ids = text.vectorize(word_layer, test.x)
    if runner.tune_with:  # search the BiLSTM's builder instead of training the ensemble
        return runner.tune(
            "sequence_classifier", text.vectorize(word_layer, train_x), train_y,
            validation_data=(text.vectorize(word_layer, validation.x), validation.y),
            fixed=dict(vocabulary_size=len(words) + text.NUM_RESERVED, num_classes="binary"),
            space={**config.tune_space, **config.overrides},
            wrap=lambda model: text.string_model((word_layer, model), name=NAME),
            epochs=config.epochs, batch_size=config.batch_size, task_name=NAME)

    ensemble, bag_sizes, member_folds = Ensemble(NAME), {}, {}
    bags = selected_bags(config.bags)
    for index, (bag, split, ngrams, min_count, size) in enumerate(bags):
        key = f"{bag}_mlp"
        member_folds[key] = member_fold(index)
        train_x, train_y, validation, _ = fold(member_fold(index))
        grams = text.count_vocabulary(texts, split=split, standardize=STANDARDIZE,
                                      ngrams=ngrams, min_count=min_count,
                                      max_tokens=size * config.max_tokens)
        gram_layer = text.text_vectorizer(grams, split=split, standardize=STANDARDIZE,
                                          ngrams=ngrams, output_mode="multi_hot",
                                          name=f"sentiment_{bag}_ngrams")
        with runner.scope():
            mlp = rnnzoo.dense_baseline(num_features=len(grams) + 1, num_classes="binary",
                                        units=config.mlp_units, dropout=0.5,
                                        name=f"sentiment_{key}")
        history = fit_classifier(
            runner, mlp,
            _bag_dataset(gram_layer, train_x, train_y, config.batch_size, runner.seed),
            validation_data=_bag_dataset(gram_layer, validation.x, validation.y, 1024),
            name=key, epochs=config.epochs, learning_rate=1e-3, patience=1)
        ensemble.add(key, gram_layer, mlp, history,
                     test=(_bag_dataset(gram_layer, test.x, test.y, 1024), test.y))
        bag_sizes[bag] = len(grams)
    rnn = {**config.rnn, **config.overrides}
    for member in range(config.members):
        key = f"bilstm_{member + 1}"
        member_folds[key] = member_fold(len(bags) + member)
        train_x, train_y, validation, _ = fold(member_fold(len(bags) + member))
        runner.reseed(1 + member)
        with runner.scope():
            model = rnnzoo.build(config.preset, name=f"sentiment_{key}",
                                 vocabulary_size=len(words) + text.NUM_RESERVED,
                                 **{**member_variant(member), **rnn})
        # Length-bucketed batches, each trimmed to its longest row: the rows
        # run from 1 to 52 tokens (mean 9.4), so padded batches waste most steps.
        history = fit_classifier(
            runner, model,
            rnnzoo.LengthBatches(text.vectorize(word_layer, train_x), train_y,
                                 batch_size=config.batch_size, seed=runner.seed + member),
            validation_data=rnnzoo.LengthBatches(text.vectorize(word_layer, validation.x),
                                                 validation.y, batch_size=256, shuffle=False),
            name=key, epochs=config.epochs, learning_rate=2e-3, patience=1)
        ensemble.add(key, word_layer, model, history, test=(test_ids, test.y))

    model, model_path = ensemble.save(runner)
    positive = model.predict(test.x, batch_size=512, verbose=0)[:, 0]
    predicted = (positive > 0.5).astype("int64")
    metrics = dict(
        task=NAME,
        dev_accuracy=float(np.mean(predicted == test.y)),
        majority_baseline_accuracy=float(np.mean(test.y == majority)),
        member_dev_accuracy=ensemble.test_accuracy,
        member_validation_accuracy={k: max(h.history["val_accuracy"])
                                    for k, h in ensemble.histories.items()},
        member_validation_folds=member_folds,
        train_rows=train_rows,  # fold 0's
        validation_rows=validation_rows,
        dev_rows=int(len(test)),
        vocabulary_size=len(words),
        ngram_vocabulary_sizes=bag_sizes,
        members=config.members,
        member_variants=[member_variant(i) for i in range(config.members)],
        rnn_overrides=rnn,
        quick=runner.quick,
        seed=runner.seed,
        train_seconds=runner.timer.seconds(),
        model=model_path,
    )
    first = "bilstm_1" if "bilstm_1" in ensemble.histories else next(iter(ensemble.histories))
    metrics["plots"] = classification_plots(
        runner, ensemble.histories[first], test.y, predicted, CLASS_NAMES,
        curves_title=f"sentiment: {first}",
        confusion_title="SST-2 dev confusion matrix (row-normalised)")
    runner.write_metrics(metrics)
    runner.finish()
    print_predictions(model, DEMO_SENTENCES)
    return metrics


def print_predictions(model, sentences):
    """Prints P(positive) and the label for each sentence."""
    positive = np.asarray(model.predict(np.array(sentences, dtype=object), verbose=0))[:, 0]
    for sentence, p in zip(sentences, positive):
        label = "positive" if p > 0.5 else "negative"
        print(f"P(positive)={p:.3f} {label}: {sentence}")
    sys.stdout.flush()


def predict(trained, sentences: list[str]):
    """Prints P(positive) of sentences, from a trained run.

    Args:
        sentences: the sentences to score.

    Example (from the shell): `python recipes/sentiment.py predict "a gorgeous, witty film"`.
    """
    print_predictions(trained.model, sentences)


COMMANDS = {"predict": predict}
