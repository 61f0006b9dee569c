"""Translation recipe: word-level English -> French seq2seq with attention.

Trains `rnnzoo.seq2seq` (bidirectional GRU encoder, Luong attention) on the
Tatoeba English-French pairs (`rnnzoo.data.datasets.load_fra_eng`, test split
disjoint from training by English sentence), scores corpus BLEU and chrF with
sacrebleu for greedy and beam search (width 4, GNMT length penalty), the
same model without attention, and copying the source; saves attention
heatmaps.

    python recipes/translation.py                      # English -> French
    python recipes/translation.py --reverse            # French -> English
    python recipes/translation.py --quick              # small run (tests)
    python recipes/translation.py translate "I am cold." "Where is the station?"
    python recipes/translation.py --strategy mirrored --batch-size 512   # all GPUs
    python recipes/translation.py --quick --tune random --max-trials 10

Writes `model.keras`, `vocabularies.json`, `metrics.json`,
`attention_*.png`, `loss.png` to `--output-dir`.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import rnnzoo  # noqa: E402
from rnnzoo import plots  # noqa: E402
from rnnzoo.training import recipe  # noqa: E402
from rnnzoo.tasks import translation as T  # noqa: E402
from rnnzoo.data.datasets import load_fra_eng  # noqa: E402

VOCAB_FILE = "vocabularies.json"


def _parser():
    p = recipe.parser("translation", __doc__.splitlines()[0], epochs=10,
                      batch_size=128)
    p.add_argument("--reverse", action="store_true", help="French -> English")
    p.add_argument("--attention", choices=["luong", "bahdanau"], default="luong")
    p.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    p.add_argument("--units", type=int, default=128,
                   help="encoder units per direction (the decoder gets twice)")
    p.add_argument("--embedding-dim", type=int, default=128)
    p.add_argument("--max-tokens", type=int, default=15)
    p.add_argument("--source-vocabulary", type=int, default=8000)
    p.add_argument("--target-vocabulary", type=int, default=8000)
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many training pairs")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--baseline-epochs", type=int, default=None,
                   help="epochs of the no-attention baseline (default --epochs)")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the no-attention baseline (the test's quick run)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop each model's training after this time (checked "
                        "after every batch; the epoch's validation still runs)")
    return p


def translate_command(argv):
    p = recipe.command_parser("translation", "translate",
                              "Translates sentences with the trained model.", "sentences")
    p.add_argument("--method", choices=["beam", "greedy"], default="beam")
    args = p.parse_args(argv)
    model = recipe.load_trained(p, args)
    source, target, _ = T.load_vocabularies(os.path.join(args.output_dir, VOCAB_FILE))
    for sentence, out in zip(args.sentences, T.translate(
            model, args.sentences, source, target, sampler=args.method)):
        print(f"{sentence} -> {out}")


def _deadline_callback():
    import keras

    class Deadline(keras.callbacks.Callback):
        """Stops training after `seconds`, checked after every batch."""

        def __init__(self, seconds):
            super().__init__()
            self.seconds = seconds
            self.start = None

        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_train_batch_end(self, batch, logs=None):
            if time.time() - self.start > self.seconds:
                self.model.stop_training = True

    return Deadline


def _Deadline(seconds):
    return _deadline_callback()(seconds)


def _fit(model, data, args, epochs, name="attention"):
    import keras

    from rnnzoo.data.length_batches import LengthBatches

    # Validation next-token accuracy, not loss, picks the model: BLEU follows
    # accuracy while the loss turns up from overconfidence (full run: epoch 5
    # had a higher val_loss than epoch 4, 1.0390 vs 1.0387, yet greedy BLEU
    # 32.57 vs 32.16).
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2)]
    if args.max_minutes:
        callbacks.append(_Deadline(args.max_minutes * 60))
    # Batches of similar-length pairs, each trimmed to its longest pair:
    # about half the padded steps of fixed-width batches (docs/recipes.md).
    train = LengthBatches([data.x_train, data.y_in_train], data.y_out_train,
                          batch_size=args.batch_size, seed=args.seed)
    validation = LengthBatches([data.x_validation, data.y_in_validation],
                               data.y_out_validation, batch_size=256, shuffle=False)
    start = time.time()
    fit = recipe.fit(  # the run's strategy, resume after a kill, best.keras
        model, train, args=args, name=name, validation_data=validation,
        epochs=epochs, verbose=args.verbose, callbacks=callbacks,
        monitor="val_accuracy",
    )
    # Every epoch's seconds, those of a killed earlier run included.
    return fit.history, (sum(fit.seconds) if fit.seconds else time.time() - start)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "translate":
        return translate_command(argv[1:])
    args = _parser().parse_args(argv)
    given = set(argv)
    if args.quick:  # the test's run: short pairs, small vocabularies
        args.max_tokens = min(args.max_tokens, 6)
        args.limit = args.limit or 8000
        args.test_limit = args.test_limit or 200
        args.units = min(args.units, 64)
        args.embedding_dim = min(args.embedding_dim, 64)
        args.source_vocabulary = min(args.source_vocabulary, 2000)
        args.target_vocabulary = min(args.target_vocabulary, 2000)
        if "--epochs" not in given:
            args.epochs = 3
    output_dir = recipe.start(args)
    dataset = load_fra_eng(data_dir=args.data_dir)
    data = T.prepare(
        dataset, max_tokens=args.max_tokens,
        source_vocabulary_size=args.source_vocabulary,
        target_vocabulary_size=args.target_vocabulary, reverse=args.reverse,
        limit=args.limit, test_limit=args.test_limit,
    )
    direction = "fr->en" if args.reverse else "en->fr"
    print(f"{direction}: {len(data.x_train)} training pairs (<= {args.max_tokens} "
          f"tokens), {len(data.test_references)} test pairs, vocabularies "
          f"{len(data.source_vocabulary) + 2} / {len(data.target_vocabulary) + 2}")
    if args.tune:
        return recipe.tune(
            args, "seq2seq", [data.x_train, data.y_in_train], data.y_out_train,
            validation_data=([data.x_validation, data.y_in_validation],
                             data.y_out_validation), recipe_name="translation",
            fixed=dict(source_vocabulary_size=len(data.source_vocabulary) + 2,
                       target_vocabulary_size=len(data.target_vocabulary) + 2,
                       embedding_dim=args.embedding_dim),
            quick_space=dict(units=[32, 64], num_layers=1))
    with recipe.scope(args):
        model = T.build_translator(data, attention=args.attention, cell=args.cell,
                                   units=args.units, embedding_dim=args.embedding_dim)
    history, seconds = _fit(model, data, args, args.epochs)
    rnnzoo.save_model(model, os.path.join(output_dir, recipe.MODEL_FILE))
    T.save_vocabularies(os.path.join(output_dir, VOCAB_FILE), data, args.reverse)
    scores = T.evaluate(model, data)

    if args.no_baseline:
        baseline = None
        b_history, b_seconds = {"loss": [], "val_loss": []}, 0.0
        baseline_scores = {"greedy": {"bleu": None, "chrf": None}}
    else:
        with recipe.scope(args):
            baseline = T.build_translator(data, attention=None, cell=args.cell,
                                          units=args.units,
                                          embedding_dim=args.embedding_dim)
        b_history, b_seconds = _fit(baseline, data, args,
                                    args.baseline_epochs or args.epochs, "no_attention")
        baseline_scores = T.evaluate(baseline, data, methods=("greedy",))
    copy = T.copy_baseline(data)

    # Heatmaps of three distinct test sentences of 5-10 tokens, spread over
    # the split (the file is sorted by length and repeats sources).
    distinct = {}
    for i, source in enumerate(data.test_sources):
        distinct.setdefault(source, i)
    fits = sorted(i for s, i in distinct.items() if 5 <= len(T.tokenize(s)) <= 10)
    fits = fits or sorted(distinct.values())  # short test subsets (--quick)
    picks = [fits[k] for k in np.linspace(0, len(fits) - 1, 3).astype(int)] if fits else []
    x = data.x_test[picks]
    ids, weights = T.translate_ids(model, x, return_attention=True)
    hyps = T.ids_to_tokens(ids, data.target_vocabulary)
    for k, i in enumerate(picks):
        src = T.tokenize(data.test_sources[i])
        plots.plot_attention(
            os.path.join(output_dir, f"attention_{k}.png"), weights[k],
            src, hyps[k] + ["[END]"], title=data.test_sources[i],
        )
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["loss"], label="attention: train")
    ax.plot(history["val_loss"], label="attention: validation")
    ax.plot(b_history["loss"], "--", label="no attention: train")
    ax.plot(b_history["val_loss"], "--", label="no attention: validation")
    ax.set_xlabel("epoch")
    ax.legend()
    plots.save_figure(fig, os.path.join(output_dir, "loss.png"))

    metrics = {
        "recipe": "translation",
        "direction": direction,
        "train_pairs": len(data.x_train),
        "test_pairs": len(data.test_references),
        "max_tokens": args.max_tokens,
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
        "units": args.units,
        "batch_size": args.batch_size,
        "baseline_parameters": baseline.count_params() if baseline else None,
        "unigram_accuracy": T.unigram_accuracy(data),
        "baseline_history": b_history,
        "train_seconds": round(seconds, 1),
        "baseline_train_seconds": round(b_seconds, 1),
        "scores": scores,
        "history": history,
        "quick": args.quick,
    }
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    recipe.summary("translation", metrics,
                   ["beam_bleu", "greedy_bleu", "no_attention_bleu",
                    "copy_source_bleu", "beam_chrf", "train_seconds"], output_dir)
    return metrics


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
