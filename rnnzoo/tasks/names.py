"""Surname -> language of origin (18 languages), character level.

The model is an ensemble, saved as ONE `.keras` file that takes raw strings:
`members` character BiGRU classifiers (`rnnzoo.sequence_classifier` through
the `char_gru_name_classifier` preset: a stack of bidirectional GRUs with
attention pooling, member i seeded `seed + 1 + i`) plus one MLP over the
name's boundary-marked character 1-4-grams (`rnnzoo.dense_baseline` on a
multi-hot `TextVectorization` output); their probabilities are averaged
(`rnnzoo.tasks.ensembles`). Splits are over distinct names
(`rnnzoo.data.datasets.load_names`), so no test name was seen in training.
Reports test accuracy and macro-F1 against the majority-class baseline, and
writes loss/accuracy curves and the 18x18 row-normalised confusion matrix.
With `runner.tune_with`, searches the character RNN's builder instead.
"""

import dataclasses
import sys

import numpy as np

from rnnzoo.tasks import field
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

NAME = "names"
NGRAMS = (1, 2, 3, 4)
DEMO_NAMES = ("Hinton", "Satoshi", "Dovesky", "Nguyen", "Schmidt", "Rossi")
SUMMARY = ("test_accuracy", "test_macro_f1", "majority_baseline_accuracy", "train_seconds")


@dataclasses.dataclass
class Config:
    """The names task's settings (each is a flag of `recipes/names.py`).

    Example:

    >>> Config().epochs, Config.quick().epochs, Config.quick(members=2).members
    (20, 5, 2)
    """

    epochs: int = field(20, "the most training epochs of each member (early stopping on "
                        "validation accuracy)")
    batch_size: int = field(64, "batch size")
    preset: str = field("char_gru_name_classifier", "the character RNNs' builder preset")
    members: int = field(1, "character RNNs in the ensemble")
    rnn: dict = field(dict(embedding_dim=64, units=128, num_layers=2, pooling="attention",
                           dropout=0.2, head_dropout_rate=0.3),
                      "the character RNNs' builder arguments over the preset's (`--set` "
                      "overrides them)")
    mlp_units: int = field(256, "units of the n-gram MLP")
    limit: int | None = field(None, "use at most this many training names (tests)")
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "builder overrides of the character RNNs (`--set KEY=VALUE`); "
                                "under --tune, choices narrowing the search")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    def __post_init__(self):
        for key in ("epochs", "batch_size", "members", "mlp_units"):
            check_positive_int(key, getattr(self, key))
        check_optional_positive_int("limit", self.limit)

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests and `make demo` (5 epochs, 1 small RNN); `changes` win."""
        settings = dict(
            epochs=5, members=1, mlp_units=64,
            rnn=dict(embedding_dim=32, units=48, num_layers=1, pooling="attention",
                     dropout=0.0, head_dropout_rate=0.2),
            tune_space=dict(embedding_dim=32, units=[16, 32], num_layers=[1, 2]),
        )
        settings.update(changes)
        return cls(**settings)


def run(config, runner):
    """Trains the ensemble (or tunes the RNN); returns the metrics, also in metrics.json.

    Args:
        config: a `Config`.
        runner: the run's `rnnzoo.training.Runner` (not started yet).

    Returns:
        The metrics dict: test accuracy and macro-F1 of the ensemble and of
        the majority class, each member's test accuracy, the demo names'
        top 3, the plots and the model's path.
    """
    import rnnzoo
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_names
    from rnnzoo.tasks.ensembles import Ensemble
    from rnnzoo.tasks.ensembles import classification_plots
    from rnnzoo.tasks.ensembles import fit_classifier
    from rnnzoo.tasks.ensembles import training_subset
    from sklearn.metrics import f1_score

    runner.start(config)
    data = load_names(data_dir=config.data_dir)
    train_x, train_y = training_subset(data.train.x, data.train.y, config.limit, runner.seed)
    num_classes = data.num_classes

    # Characters -> ids for the RNNs; character 1-4-grams -> multi-hot for the MLP.
    chars = text.count_vocabulary(train_x, split="character")
    char_layer = text.text_vectorizer(chars, split="character", name="names_chars")
    grams = text.count_vocabulary(train_x, split="character", ngrams=NGRAMS,
                                  standardize=text.mark_boundaries, min_count=2,
                                  max_tokens=20000)
    gram_layer = text.text_vectorizer(grams, split="character", ngrams=NGRAMS,
                                      standardize=text.mark_boundaries,
                                      output_mode="multi_hot", name="names_ngrams")
    splits = {"train": train_x, "validation": data.validation.x, "test": data.test.x}
    ids = {k: text.vectorize(char_layer, x) for k, x in splits.items()}
    bags = {k: text.vectorize(gram_layer, x) for k, x in splits.items()}
    if runner.tune_with:  # search the character RNN's builder instead of the ensemble
        return runner.tune(
            "sequence_classifier", ids["train"], train_y,
            validation_data=(ids["validation"], data.validation.y),
            fixed=dict(vocabulary_size=len(chars) + text.NUM_RESERVED,
                       num_classes=num_classes),
            space={**config.tune_space, **config.overrides},
            wrap=lambda model: text.string_model((char_layer, model), name=NAME),
            epochs=config.epochs, batch_size=config.batch_size, task_name=NAME)

    ensemble = Ensemble(NAME)
    with runner.scope():
        mlp = rnnzoo.dense_baseline(num_features=bags["train"].shape[1],
                                    num_classes=num_classes, units=config.mlp_units,
                                    dropout=0.5, name="names_ngram_mlp")
    history = fit_classifier(
        runner, mlp, bags["train"], train_y,
        validation_data=(bags["validation"], data.validation.y), name="ngram_mlp",
        epochs=config.epochs, batch_size=config.batch_size, learning_rate=1e-3, patience=4)
    ensemble.add("ngram_mlp", gram_layer, mlp, history, test=(bags["test"], data.test.y))
    rnn = {**config.rnn, **config.overrides}
    for member in range(config.members):
        key = f"rnn_{member + 1}"
        runner.reseed(1 + member)
        with runner.scope():
            model = rnnzoo.build(config.preset, name=f"names_{key}",
                                 vocabulary_size=len(chars) + text.NUM_RESERVED,
                                 num_classes=num_classes, **rnn)
        history = fit_classifier(
            runner, model, ids["train"], train_y,
            validation_data=(ids["validation"], data.validation.y), name=key,
            epochs=config.epochs, batch_size=config.batch_size, learning_rate=3e-3,
            label_smoothing=0.1, patience=4)
        ensemble.add(key, char_layer, model, history, test=(ids["test"], data.test.y))

    model, model_path = ensemble.save(runner)
    predicted = model.predict(data.test.x, batch_size=256, verbose=0).argmax(-1)
    majority = int(np.bincount(train_y, minlength=num_classes).argmax())
    metrics = dict(
        task=NAME,
        test_accuracy=float(np.mean(predicted == data.test.y)),
        test_macro_f1=float(f1_score(data.test.y, predicted, average="macro")),
        majority_baseline_accuracy=float(np.mean(data.test.y == majority)),
        majority_baseline_macro_f1=float(f1_score(
            data.test.y, np.full_like(data.test.y, majority), average="macro")),
        majority_class=data.class_names[majority],
        class_names=list(data.class_names),
        demo_top3=dict(zip(DEMO_NAMES, top_k(model, DEMO_NAMES, data.class_names))),
        member_test_accuracy=ensemble.test_accuracy,
        train_names=int(len(train_x)),
        validation_names=int(len(data.validation)),
        test_names=int(len(data.test)),
        members=config.members,
        rnn_overrides=rnn,
        quick=runner.quick,
        seed=runner.seed,
        train_seconds=runner.timer.seconds(),
        model=model_path,
    )
    first = next((k for k in ensemble.histories if k.startswith("rnn")), "ngram_mlp")
    metrics["plots"] = classification_plots(
        runner, ensemble.histories[first], data.test.y, predicted, data.class_names,
        curves_title=f"names: character BiGRU ({first})",
        confusion_title="names: test confusion matrix (row-normalised)")
    runner.write_metrics(metrics)
    runner.finish()
    print_predictions(model, DEMO_NAMES, data.class_names)
    return metrics


def top_k(model, names, class_names, k=3):
    """Top-k `(language, log-probability)` pairs for each name.

    Args:
        model: a string-input classifier (the saved ensemble).
        names: surnames.
        class_names: one name per class id.
        k: how many languages per name.

    Returns:
        One list of `(language, log-probability)` per name, most likely first.
    """
    probabilities = np.asarray(model.predict(np.array(names, dtype=object), verbose=0))
    log_p = np.log(np.clip(probabilities, 1e-12, 1.0))
    result = []
    for row in log_p:
        best = np.argsort(-row)[:k]
        result.append([(class_names[i], float(row[i])) for i in best])
    return result


def print_predictions(model, names, class_names, k=3):
    """Prints, for each name, its top-k languages with log-probabilities (the seed's format)."""
    for name, guesses in zip(names, top_k(model, names, class_names, k)):
        print(f"> {name}")
        for language, log_p in guesses:
            print(f"({log_p:.2f}) {language}")
    sys.stdout.flush()


def predict(trained, names: list[str], *, top: int = 3):
    """Prints the most likely languages of surnames, from a trained run.

    Args:
        names: surnames.
        top: languages per name.

    Example (from the shell): `python recipes/names.py predict Hinton Satoshi --top 2`.
    """
    from rnnzoo.data.datasets.names import LANGUAGES

    check_positive_int("top", top)
    print_predictions(trained.model, names, LANGUAGES, top)


COMMANDS = {"predict": predict}
