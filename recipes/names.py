"""Surname -> language of origin (18 languages), character level.

    python recipes/names.py                      # full run (13 min on 2 busy CPU cores)
    python recipes/names.py --quick              # the demo run
    python recipes/names.py predict Hinton Satoshi Dovesky
    python recipes/names.py --strategy mirrored --batch-size 256   # all GPUs
    python recipes/names.py --quick --tune random --max-trials 10   # search the RNN

The model is an ensemble, saved as ONE `.keras` file that takes raw strings:
`--members` character BiGRU classifiers (`rnnzoo.sequence_classifier`: a
stack of bidirectional GRUs with attention pooling, different seeds) plus
one MLP over the name's boundary-marked character 1-4-grams (`rnnzoo.dense_baseline` on a
multi-hot `TextVectorization` output); their probabilities are averaged.
Splits are over distinct names (`rnnzoo.data.datasets.load_names`), so no test
name was seen in training. Reports test accuracy and macro-F1 against the
majority-class baseline, and writes loss/accuracy curves and the 18x18
row-normalised confusion matrix.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from rnnzoo.training import recipe  # noqa: E402

NGRAMS = (1, 2, 3, 4)
DEMO_NAMES = ("Hinton", "Satoshi", "Dovesky", "Nguyen", "Schmidt", "Rossi")


def build_parser():
    p = recipe.parser("names", __doc__.splitlines()[0], epochs=20, batch_size=64,
                      preset="char_gru_name_classifier")
    p.add_argument("--members", type=int, default=1,
                   help="character RNNs in the ensemble (default %(default)s)")
    p.add_argument("--limit", type=int, default=None,
                   help="use at most this many training names (tests)")
    return p


def rnn_overrides(args):
    """The preset overrides of the character RNN members."""
    if args.quick:
        config = dict(embedding_dim=32, units=48, num_layers=1, pooling="attention",
                      dropout=0.0, head_dropout_rate=0.2)
    else:
        config = dict(embedding_dim=64, units=128, num_layers=2, pooling="attention",
                      dropout=0.2, head_dropout_rate=0.3)
    config.update(recipe.parse_overrides(args.set))
    return config


def train(args):
    """Trains the ensemble; returns the metrics dict (also written to metrics.json)."""
    import keras

    import rnnzoo
    from rnnzoo import plots
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_names
    from sklearn.metrics import f1_score

    output_dir = recipe.start(args)
    timer = recipe.Timer()
    data = load_names(data_dir=args.data_dir)
    train_x, train_y = recipe.training_subset(data.train.x, data.train.y, args.limit, args.seed)
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
    ids = {k: text.vectorize(char_layer, s.x) for k, s in
           (("validation", data.validation), ("test", data.test))}
    ids["train"] = text.vectorize(char_layer, train_x)
    bags = {k: text.vectorize(gram_layer, s.x) for k, s in
            (("validation", data.validation), ("test", data.test))}
    bags["train"] = text.vectorize(gram_layer, train_x)
    if args.tune:  # search the character RNN's builder instead of training the ensemble
        return recipe.tune(
            args, "sequence_classifier", ids["train"], train_y,
            validation_data=(ids["validation"], data.validation.y), recipe_name="names",
            fixed=dict(vocabulary_size=len(chars) + text.NUM_RESERVED,
                       num_classes=num_classes),
            quick_space=dict(embedding_dim=32, units=[16, 32], num_layers=[1, 2]),
            wrap=lambda model: text.string_model((char_layer, model), name="names"))

    branches, histories, member_accuracy = [], {}, {}
    with recipe.scope(args):
        mlp = rnnzoo.dense_baseline(num_features=bags["train"].shape[1],
                                    num_classes=num_classes,
                                    units=64 if args.quick else 256, dropout=0.5,
                                    name="names_ngram_mlp")
    histories["ngram_mlp"] = recipe.fit_classifier(
        mlp, bags["train"], train_y, (bags["validation"], data.validation.y),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=1e-3,
        patience=4, verbose=args.verbose, args=args, name="ngram_mlp")
    branches.append((gram_layer, mlp))
    overrides = rnn_overrides(args)
    for member in range(args.members):
        keras.utils.set_random_seed(args.seed + 1 + member)
        with recipe.scope(args):
            model = recipe.build_preset(args.preset, f"names_rnn_{member + 1}",
                                        vocabulary_size=len(chars) + text.NUM_RESERVED,
                                        num_classes=num_classes, **overrides)
        histories[f"rnn_{member + 1}"] = recipe.fit_classifier(
            model, ids["train"], train_y, (ids["validation"], data.validation.y),
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=3e-3,
            label_smoothing=0.1, patience=4, verbose=args.verbose, args=args,
            name=f"rnn_{member + 1}")
        branches.append((char_layer, model))
    for (layer, model), key in zip(branches, histories):
        x = bags["test"] if layer is gram_layer else ids["test"]
        member_accuracy[key] = float(np.mean(
            model.predict(x, verbose=0).argmax(-1) == data.test.y))

    recipe.drop_training_state(model for _, model in branches)  # weights only
    ensemble = text.string_model(branches, name="names")
    model_path = rnnzoo.save_model(ensemble, os.path.join(output_dir, recipe.MODEL_FILE))
    probabilities = ensemble.predict(data.test.x, batch_size=256, verbose=0)
    predicted = probabilities.argmax(-1)
    majority = int(np.bincount(train_y, minlength=num_classes).argmax())
    metrics = dict(
        recipe="names",
        test_accuracy=float(np.mean(predicted == data.test.y)),
        test_macro_f1=float(f1_score(data.test.y, predicted, average="macro")),
        majority_baseline_accuracy=float(np.mean(data.test.y == majority)),
        majority_baseline_macro_f1=float(f1_score(
            data.test.y, np.full_like(data.test.y, majority), average="macro")),
        majority_class=data.class_names[majority],
        class_names=list(data.class_names),
        demo_top3=dict(zip(DEMO_NAMES, top_k(ensemble, DEMO_NAMES, data.class_names))),
        member_test_accuracy=member_accuracy,
        train_names=int(len(train_x)),
        validation_names=int(len(data.validation)),
        test_names=int(len(data.test)),
        members=args.members,
        rnn_overrides=overrides,
        quick=args.quick,
        seed=args.seed,
        train_seconds=timer.seconds(),
        model=model_path,
    )
    first_rnn = next((k for k in histories if k.startswith("rnn")), "ngram_mlp")
    metrics["plots"] = [
        plots.plot_history(histories[first_rnn], os.path.join(output_dir, "curves.png"),
                           metrics=["loss", "accuracy"],
                           title=f"names: character BiGRU ({first_rnn})"),
        os.path.join(output_dir, "confusion_matrix.png"),
    ]
    plots.plot_confusion_matrix(data.test.y, predicted, data.class_names,
                                metrics["plots"][1],
                                title="names: test confusion matrix (row-normalised)")
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    print_predictions(ensemble, DEMO_NAMES, data.class_names)
    recipe.summary("names", metrics, ["test_accuracy", "test_macro_f1",
                                      "majority_baseline_accuracy", "train_seconds"],
                   output_dir)
    return metrics


def top_k(model, names, class_names, k=3):
    """Top-k `(language, log-probability)` pairs for each name."""
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


def predict(argv):
    from rnnzoo.data.datasets.names import LANGUAGES

    p = recipe.command_parser("names", "predict", "Top-3 languages of surnames.",
                              "names")
    p.add_argument("--top", type=int, default=3)
    args = p.parse_args(argv)
    print_predictions(recipe.load_trained(p, args), args.names, LANGUAGES, args.top)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "predict":
        return predict(argv[1:])
    args = build_parser().parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 5)
        args.members = min(args.members, 1)
    return train(args)


if __name__ == "__main__":
    main()
