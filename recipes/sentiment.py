"""SST-2 sentiment (binary), word level, reported on the official dev split (872).

    python recipes/sentiment.py                  # full run
    python recipes/sentiment.py --quick          # a small run
    python recipes/sentiment.py predict "a gorgeous, witty film"
    python recipes/sentiment.py --strategy mirrored --batch-size 256   # all GPUs
    python recipes/sentiment.py --tune bayesian --max-trials 10         # search the BiLSTM

The model is an ensemble saved as ONE `.keras` file that takes raw strings:
`--members` bidirectional recurrent classifiers (`rnnzoo.sequence_classifier`
via the `bilstm_sentiment` preset: word embedding, spatial dropout,
bidirectional layer, pooling, head dropout; member i takes the i-th of
`MEMBER_VARIANTS` (BiLSTM + max pooling, BiGRU + max pooling, BiLSTM +
attention pooling, ...) and seed `--seed + i`) plus four bag-of-n-gram MLPs
(`rnnzoo.dense_baseline`, `BAGS`): over word 1-2-grams, word 1-3-grams,
character 2-5-grams and character 3-6-grams (the character ones read words
never seen in training by their pieces); their probabilities of "positive"
are averaged. The vocabularies are counted in Python and handed to
`TextVectorization(vocabulary=...)` (no `adapt()`).

Model selection (early stopping, best epoch restored) uses whole training
sentences held out with all their phrases (`load_sst2(validation=
"sentences")`), and each member holds out another fold of them
(`validation_fold`), so that together the members train on every row of
the train file. The official dev split is only scored.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from rnnzoo.training import recipe  # noqa: E402

STANDARDIZE = "lower_and_strip_punctuation"
VALIDATION_FRACTION = 0.08  # of the complete train sentences, per member
# The bag-of-n-gram members: (name, TextVectorization split, n-gram sizes,
# minimum count, vocabulary size in multiples of --max-tokens).
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


def member_fold(index):
    """The validation fold of the index-th member (the bags come first)."""
    return index % int(1 / VALIDATION_FRACTION)


def selected_bags(names):
    """The BAGS entries named in the comma-separated `names`, in BAGS order."""
    known = {bag[0]: bag for bag in BAGS}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"`--bags` must name members of {sorted(known)}. "
                         f"Received: --bags={names!r}")
    return [bag for bag in BAGS if bag[0] in wanted]


def member_variant(member):
    """The cell and pooling of ensemble member `member` (0-based), in turn."""
    return MEMBER_VARIANTS[member % len(MEMBER_VARIANTS)]


def build_parser():
    p = recipe.parser("sentiment", __doc__.splitlines()[0], epochs=3, batch_size=64,
                      preset="bilstm_sentiment")
    p.add_argument("--members", type=int, default=16,
                   help="recurrent members of the ensemble (default %(default)s)")
    p.add_argument("--bags", default=",".join(b[0] for b in BAGS),
                   help="comma-separated bag-of-n-gram members, of BAGS (default %(default)s)")
    p.add_argument("--limit", type=int, default=None,
                   help="use at most this many training rows (tests)")
    p.add_argument("--max-tokens", type=int, default=20000,
                   help="word vocabulary size (default %(default)s)")
    return p


def rnn_overrides(args):
    """The preset overrides of the BiLSTM members."""
    if args.quick:
        config = dict(embedding_dim=32, units=32, head_dropout_rate=0.3)
    else:
        config = dict(embedding_dim=128, units=64, head_dropout_rate=0.5,
                      embedding_dropout=0.3)
    config.update(recipe.parse_overrides(args.set))
    return config


def _bag_dataset(layer, texts, labels, batch_size, shuffle_seed=None):
    """Batches of (multi-hot n-grams, label), vectorised on the fly (the full matrix is too big)."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(
        (np.array([str(t) for t in texts]), labels.astype("float32")))
    if shuffle_seed is not None:
        data = data.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda x, y: (layer(x), y)).prefetch(2)


def train(args):
    """Trains the ensemble; returns the metrics dict (also written to metrics.json)."""
    import keras

    import rnnzoo
    from rnnzoo import plots
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_sst2
    from rnnzoo.data.datasets.sst2 import CLASS_NAMES

    output_dir = recipe.start(args)
    timer = recipe.Timer()
    folds = {}

    def fold(k):
        """(train x, train y, validation split) holding out fold k, cached."""
        if k not in folds:
            split = load_sst2(data_dir=args.data_dir, validation_fraction=VALIDATION_FRACTION,
                              validation_fold=k)
            folds[k] = (*recipe.training_subset(split.train.x, split.train.y, args.limit,
                                                args.seed), split.validation, split.test)
        return folds[k]

    train_x, train_y, validation, test = fold(0)
    majority = int(np.bincount(train_y, minlength=2).argmax())
    train_rows, validation_rows = len(train_x), len(validation)
    # Vocabularies from every train-file sentence (fold 0's training rows and
    # its held-out sentences), so that no member's fold changes them.
    texts = np.concatenate([train_x, validation.x])
    words = text.count_vocabulary(texts, standardize=STANDARDIZE,
                                  max_tokens=args.max_tokens)
    word_layer = text.text_vectorizer(words, standardize=STANDARDIZE,
                                      name="sentiment_words")
    test_ids = text.vectorize(word_layer, test.x)
    if args.tune:  # search the BiLSTM's builder instead of training the ensemble
        return recipe.tune(
            args, "sequence_classifier", text.vectorize(word_layer, train_x), train_y,
            validation_data=(text.vectorize(word_layer, validation.x), validation.y),
            recipe_name="sentiment",
            fixed=dict(vocabulary_size=len(words) + text.NUM_RESERVED, num_classes="binary"),
            quick_space=dict(embedding_dim=32, units=[16, 32], num_layers=1),
            wrap=lambda model: text.string_model((word_layer, model), name="sentiment"))

    branches, histories, member_accuracy, bag_sizes, member_folds = [], {}, {}, {}, {}
    bags = selected_bags(args.bags)
    for index, (bag, split, ngrams, min_count, size) in enumerate(bags):
        member_folds[f"{bag}_mlp"] = member_fold(index)
        train_x, train_y, validation, _ = fold(member_fold(index))
        grams = text.count_vocabulary(texts, split=split, standardize=STANDARDIZE,
                                      ngrams=ngrams, min_count=min_count,
                                      max_tokens=size * args.max_tokens)
        gram_layer = text.text_vectorizer(grams, split=split, standardize=STANDARDIZE,
                                          ngrams=ngrams, output_mode="multi_hot",
                                          name=f"sentiment_{bag}_ngrams")
        with recipe.scope(args):
            mlp = rnnzoo.dense_baseline(num_features=len(grams) + 1, num_classes="binary",
                                        units=32 if args.quick else 64, dropout=0.5,
                                        name=f"sentiment_{bag}_mlp")
        histories[f"{bag}_mlp"] = recipe.fit_classifier(
            mlp, _bag_dataset(gram_layer, train_x, train_y, args.batch_size, args.seed), None,
            _bag_dataset(gram_layer, validation.x, validation.y, 1024),
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=1e-3,
            patience=1, verbose=args.verbose, args=args, name=f"{bag}_mlp")
        branches.append((gram_layer, mlp))
        bag_sizes[bag] = len(grams)
        member_accuracy[f"{bag}_mlp"] = float(np.mean(
            (mlp.predict(_bag_dataset(gram_layer, test.x, test.y, 1024),
                         verbose=0)[:, 0] > 0.5) == test.y))
    overrides = rnn_overrides(args)
    for member in range(args.members):
        member_folds[f"bilstm_{member + 1}"] = member_fold(len(bags) + member)
        train_x, train_y, validation, _ = fold(member_fold(len(bags) + member))
        keras.utils.set_random_seed(args.seed + 1 + member)
        variant = {**member_variant(member), **overrides}
        with recipe.scope(args):
            model = recipe.build_preset(args.preset, f"sentiment_bilstm_{member + 1}",
                                        vocabulary_size=len(words) + text.NUM_RESERVED,
                                        **variant)
        # Length-bucketed batches, each trimmed to its longest row: the rows
        # run from 1 to 52 tokens (mean 9.4), so padded batches waste most steps.
        histories[f"bilstm_{member + 1}"] = recipe.fit_classifier(
            model, rnnzoo.LengthBatches(text.vectorize(word_layer, train_x), train_y,
                                        batch_size=args.batch_size, seed=args.seed + member),
            None, rnnzoo.LengthBatches(text.vectorize(word_layer, validation.x),
                                       validation.y, batch_size=256, shuffle=False),
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=2e-3,
            patience=1, verbose=args.verbose, args=args, name=f"bilstm_{member + 1}")
        branches.append((word_layer, model))
        member_accuracy[f"bilstm_{member + 1}"] = float(np.mean(
            (model.predict(test_ids, verbose=0)[:, 0] > 0.5) == test.y))

    recipe.drop_training_state(model for _, model in branches)  # weights only
    ensemble = text.string_model(branches, name="sentiment")
    model_path = rnnzoo.save_model(ensemble, os.path.join(output_dir, recipe.MODEL_FILE))
    positive = ensemble.predict(test.x, batch_size=512, verbose=0)[:, 0]
    predicted = (positive > 0.5).astype("int64")
    metrics = dict(
        recipe="sentiment",
        dev_accuracy=float(np.mean(predicted == test.y)),
        majority_baseline_accuracy=float(np.mean(test.y == majority)),
        member_dev_accuracy=member_accuracy,
        member_validation_accuracy={k: max(h["val_accuracy"]) for k, h in histories.items()},
        member_validation_folds=member_folds,
        train_rows=train_rows,  # fold 0's
        validation_rows=validation_rows,
        dev_rows=int(len(test)),
        vocabulary_size=len(words),
        ngram_vocabulary_sizes=bag_sizes,
        members=args.members,
        member_variants=[member_variant(i) for i in range(args.members)],
        rnn_overrides=overrides,
        quick=args.quick,
        seed=args.seed,
        train_seconds=timer.seconds(),
        model=model_path,
    )
    first = "bilstm_1" if "bilstm_1" in histories else next(iter(histories))
    metrics["plots"] = [
        plots.plot_history(histories[first], os.path.join(output_dir, "curves.png"),
                           metrics=["loss", "accuracy"], title=f"sentiment: {first}"),
        os.path.join(output_dir, "confusion_matrix.png"),
    ]
    plots.plot_confusion_matrix(test.y, predicted, CLASS_NAMES,
                                metrics["plots"][1],
                                title="SST-2 dev confusion matrix (row-normalised)")
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    print_predictions(ensemble, DEMO_SENTENCES)
    recipe.summary("sentiment", metrics, ["dev_accuracy", "majority_baseline_accuracy",
                                          "train_seconds"], output_dir)
    return metrics


def print_predictions(model, sentences):
    """Prints P(positive) and the label for each sentence."""
    positive = np.asarray(model.predict(np.array(sentences, dtype=object), verbose=0))[:, 0]
    for sentence, p in zip(sentences, positive):
        label = "positive" if p > 0.5 else "negative"
        print(f"P(positive)={p:.3f} {label}: {sentence}")
    sys.stdout.flush()


def predict(argv):
    p = recipe.command_parser("sentiment", "predict", "P(positive) of sentences.",
                              "sentences")
    args = p.parse_args(argv)
    print_predictions(recipe.load_trained(p, args), args.sentences)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "predict":
        return predict(argv[1:])
    args = build_parser().parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 4)
        args.members = min(args.members, 1)
        args.bags = "words12,chars25"
    return train(args)


if __name__ == "__main__":
    main()
