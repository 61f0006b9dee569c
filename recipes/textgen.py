"""Character language model on H. G. Wells' "The Time Machine" (the d2l setup).

    python recipes/textgen.py                    # full run: 2 x LSTM 256, batch 32, 35 steps
    python recipes/textgen.py --set cell=gru     # the cell comparison
    python recipes/textgen.py --quick            # a small run
    python recipes/textgen.py predict "the time traveller" --temperature 0.5
    python recipes/textgen.py --mixed-precision       # bfloat16 on CPU, float16 on GPU
    python recipes/textgen.py --tune hyperband         # search a (stateless) LM

A stateful `rnnzoo.language_model` (the `char_lstm_lm` preset) is trained
with truncated backpropagation through time over the contiguous text
(`rnnzoo.tbptt_batches`, `shuffle=False`, `rnnzoo.ResetStates`), with
gradient clipping (`clipnorm=1`). Validation is the last 10% of the book,
never trained on, read the same stateful way. Its perplexity is printed
beside those of unigram, bigram and trigram character models of the same
training text (`rnnzoo.data.text.ngram_perplexity`). The saved model is a
stateless copy behind a character `TextVectorization`: it takes raw
strings and returns next-character probabilities at every position.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from rnnzoo.training import recipe  # noqa: E402

PROMPT = "the time traveller"
TEMPERATURES = (0.5, 1.0)


def build_parser():
    p = recipe.parser("textgen", __doc__.splitlines()[0], epochs=30, batch_size=32,
                      preset="char_lstm_lm")
    p.add_argument("--num-steps", type=int, default=35,
                   help="truncated-BPTT length (default %(default)s)")
    p.add_argument("--learning-rate", type=float, default=4e-3)
    p.add_argument("--limit", type=int, default=None,
                   help="use at most this many training characters (tests)")
    p.add_argument("--sample-length", type=int, default=200)
    return p


def lm_overrides(args):
    """The preset overrides (the preset itself is the d2l configuration)."""
    config = dict(embedding_dim=32, dropout=0.0)
    if args.quick:
        config.update(units=64, num_layers=1)
    config.update(recipe.parse_overrides(args.set))
    return config


def encode(text_, vocabulary):
    """Characters -> ids as the model's `TextVectorization` gives them (first char -> 2)."""
    from rnnzoo.data.text import NUM_RESERVED

    index = {c: i + NUM_RESERVED for i, c in enumerate(vocabulary)}
    return np.array([index.get(c, 1) for c in text_], dtype="int32")


def decode_ids(ids, vocabulary):
    from rnnzoo.data.text import NUM_RESERVED

    return "".join(vocabulary[i - NUM_RESERVED] if i >= NUM_RESERVED else ""
                   for i in np.asarray(ids).ravel())


def generate(model, prompt, vocabulary, *, length, temperature, seed=0):
    """Samples `length` characters after `prompt` from a (stateless) language model.

    Uses `rnnzoo.decode(sampler=rnnzoo.samplers.Sample(...))`; only the recipe depends on the
    decoding module, so another decoder can replace it here.
    """
    import rnnzoo

    ids = encode(prompt, vocabulary)[None, :]
    out = rnnzoo.decode(model, ids, max_length=length, end_token=-1,
                        sampler=rnnzoo.samplers.Sample(temperature=temperature,
                                                       seed=seed))
    return prompt + decode_ids(out[0], vocabulary)


def train(args):
    """Trains the language model; returns the metrics dict (also written to metrics.json)."""
    import keras

    import rnnzoo
    from rnnzoo import plots
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_time_machine

    output_dir = recipe.start(args)
    timer = recipe.Timer()
    corpus = load_time_machine(data_dir=args.data_dir, level="char")
    train_text, valid_text = corpus.train, corpus.validation
    if args.limit:
        train_text = train_text[:args.limit]
        valid_text = valid_text[:max(args.limit // 9, args.batch_size * args.num_steps + 1)]
    vocabulary = list(corpus.vocabulary)
    vocabulary_size = len(vocabulary) + text.NUM_RESERVED
    x, y = rnnzoo.tbptt_batches(encode(train_text, vocabulary), args.batch_size, args.num_steps)
    vx, vy = rnnzoo.tbptt_batches(encode(valid_text, vocabulary), args.batch_size,
                                  args.num_steps)

    char_layer = text.text_vectorizer(vocabulary, split="character", name="textgen_chars")
    if args.tune:  # search a stateless LM over the same windows
        return recipe.tune(
            args, "language_model", x, y, validation_data=(vx, vy), recipe_name="textgen",
            fixed=dict(vocabulary_size=vocabulary_size, embedding_dim=32),
            quick_space=dict(units=[32, 64], num_layers=1),
            wrap=lambda lm: text.string_model((char_layer, lm), name="textgen_strings"))
    if rnnzoo.num_replicas(recipe.distribution(args)) > 1:
        raise ValueError(
            "textgen trains a stateful model over contiguous streams (one state row "
            "per batch row); it runs on one replica. Use --strategy one_device. "
            f"Received: --strategy {args.strategy} "
            f"({rnnzoo.num_replicas(recipe.distribution(args))} replicas)")

    overrides = lm_overrides(args)
    with recipe.scope(args):
        model = recipe.build_preset(args.preset, "textgen", vocabulary_size=vocabulary_size,
                                    stateful=True, batch_size=args.batch_size, **overrides)
        rnnzoo.compile_for(model, task="language_model", learning_rate=args.learning_rate,
                           clipnorm=1.0)
    callbacks = [rnnzoo.ResetStates(),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                   patience=1, min_lr=1e-4),
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)]
    fit_timer = recipe.Timer()
    history = recipe.fit(model, x, y, args=args, name="lm", callbacks=callbacks,
                         batch_size=args.batch_size, epochs=args.epochs, shuffle=False,
                         validation_data=(vx, vy), validation_batch_size=args.batch_size,
                         verbose=args.verbose)
    fit_seconds = fit_timer.seconds()
    logs = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    epochs_run = len(logs["loss"])
    tokens_per_second = epochs_run * x.size / max(fit_seconds, 1e-9)
    # Both texts read start to end, states carried across batches, reset first.
    valid = model.evaluate(vx, vy, batch_size=args.batch_size, verbose=0, return_dict=True,
                           callbacks=[rnnzoo.ResetStates()])
    train_eval = model.evaluate(x, y, batch_size=args.batch_size, verbose=0, return_dict=True,
                                callbacks=[rnnzoo.ResetStates()])

    # A stateless twin with the trained weights, behind the character vectorizer.
    stateless = recipe.build_preset(args.preset, "textgen", vocabulary_size=vocabulary_size,
                                    **overrides)
    stateless.set_weights(model.get_weights())
    wrapped = text.string_model((char_layer, stateless), name="textgen_strings")
    model_path = rnnzoo.save_model(wrapped, os.path.join(output_dir, recipe.MODEL_FILE))

    baselines = {f"{n}gram": text.ngram_perplexity(train_text, valid_text, n)
                 for n in (1, 2, 3, 4)}
    samples = {str(t): generate(stateless, PROMPT, vocabulary, length=args.sample_length,
                                temperature=t, seed=args.seed) for t in TEMPERATURES}
    metrics = dict(
        recipe="textgen",
        validation_perplexity=float(valid["perplexity"]),
        train_perplexity=float(train_eval["perplexity"]),
        unigram_perplexity=baselines["1gram"],
        bigram_perplexity=baselines["2gram"],
        trigram_perplexity=baselines["3gram"],
        fourgram_perplexity=baselines["4gram"],
        cell=overrides.get("cell", "lstm"),
        overrides=overrides,
        epochs_run=epochs_run,
        tokens_per_second=float(tokens_per_second),
        train_characters=len(train_text),
        validation_characters=len(valid_text),
        batch_size=args.batch_size,
        num_steps=args.num_steps,
        samples=samples,
        quick=args.quick,
        seed=args.seed,
        train_seconds=timer.seconds(),
        model=model_path,
        vocabulary=vocabulary,
    )
    metrics["plots"] = [plots.plot_history(
        logs, os.path.join(output_dir, "curves.png"), metrics=["loss", "perplexity"],
        title="textgen: character LM on The Time Machine")]
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    print("validation perplexity: "
          + "  ".join(f"{k}={metrics[k]:.2f}" for k in
                      ("unigram_perplexity", "bigram_perplexity", "trigram_perplexity",
                       "fourgram_perplexity", "validation_perplexity")))
    for t, sample in samples.items():
        print(f"[temperature {t}] {sample}")
    recipe.summary("textgen", metrics, ["validation_perplexity", "train_perplexity",
                                        "trigram_perplexity", "tokens_per_second",
                                        "train_seconds"], output_dir)
    return metrics


def predict(argv):
    import argparse
    import json

    import keras

    import rnnzoo

    p = argparse.ArgumentParser(prog="textgen.py predict",
                                description="Continue a prompt by sampling.")
    p.add_argument("prompt", nargs="?", default=PROMPT)
    p.add_argument("--output-dir", default=os.path.join("runs", "textgen"))
    p.add_argument("--temperature", type=float, action="append", default=None)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    path = os.path.join(args.output_dir, recipe.MODEL_FILE)
    if not os.path.exists(path):
        p.error(f"no trained model at {path}: run `python recipes/textgen.py` first")
    with open(os.path.join(args.output_dir, recipe.METRICS_FILE)) as f:
        vocabulary = json.load(f)["vocabulary"]
    wrapped = rnnzoo.load_model(path, compile=False)
    lm = next(layer for layer in wrapped.layers if isinstance(layer, keras.Model))
    for t in args.temperature or TEMPERATURES:
        sample = generate(lm, args.prompt.lower(), vocabulary, length=args.length,
                          temperature=t, seed=args.seed)
        print(f"[temperature {t}] {sample}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "predict":
        return predict(argv[1:])
    args = build_parser().parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 3)
    return train(args)


if __name__ == "__main__":
    main()
