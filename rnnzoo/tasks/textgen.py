"""Character language model on H. G. Wells' "The Time Machine" (the d2l setup).

A stateful `rnnzoo.language_model` (the `char_lstm_lm` preset) is trained
with truncated backpropagation through time over the contiguous text
(`rnnzoo.tbptt_batches`, `shuffle=False`, `rnnzoo.ResetStates`), with
gradient clipping (`clipnorm=1`). Validation is the last 10% of the book,
never trained on, read the same stateful way. Its perplexity is reported
beside those of unigram to 4-gram character models of the same training
text (`rnnzoo.data.text.ngram_perplexity`). The saved model is a stateless
copy behind a character `TextVectorization`: it takes raw strings and
returns next-character probabilities at every position. With
`runner.tune_with`, searches a stateless LM over the same windows instead.
"""

import dataclasses

import numpy as np

from rnnzoo.tasks import field
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int

NAME = "textgen"
PROMPT = "the time traveller"
TEMPERATURES = (0.5, 1.0)
SUMMARY = ("validation_perplexity", "train_perplexity", "trigram_perplexity",
           "tokens_per_second", "train_seconds")


@dataclasses.dataclass
class Config:
    """The textgen task's settings (each is a flag of `recipes/textgen.py`).

    Example:

    >>> Config().epochs, Config.quick().epochs, Config.quick().lm["units"]
    (30, 3, 64)
    """

    epochs: int = field(30, "the most training epochs (early stopping on validation loss)")
    batch_size: int = field(32, "batch size: parallel streams of the text")
    preset: str = field("char_lstm_lm", "the language model's builder preset")
    sequence_length: int = field(35, "truncated-BPTT length")
    learning_rate: float = field(4e-3, "Adam's learning rate")
    lm: dict = field(dict(embedding_dim=32, dropout=0.0),
                     "the language model's builder arguments over the preset's (`--set` "
                     "overrides them)")
    sample_length: int = field(200, "characters sampled after the prompt")
    limit: int | None = field(None, "use at most this many training characters (tests)")
    data_dir: str | None = field(None, "dataset folder (default: $RNNZOO_DATA_DIR, the Keras "
                                       "cache, a download)")
    overrides: dict = field({}, "builder overrides of the language model (`--set KEY=VALUE`); "
                                "under --tune, choices narrowing the search")
    tune_space: dict = field({}, "choices narrowing the --tune search space")

    def __post_init__(self):
        for key in ("epochs", "batch_size", "sequence_length", "sample_length"):
            check_positive_int(key, getattr(self, key))
        check_optional_positive_int("limit", self.limit)
        if (isinstance(self.learning_rate, bool)
                or not isinstance(self.learning_rate, (int, float))
                or not self.learning_rate > 0):
            raise ValueError("Expected `learning_rate` to be a positive number. "
                             f"Received: learning_rate={self.learning_rate!r}")

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests: 3 epochs of one LSTM layer of 64; `changes` win."""
        settings = dict(
            epochs=3, lm=dict(embedding_dim=32, dropout=0.0, units=64, num_layers=1),
            tune_space=dict(units=[32, 64], num_layers=1),
        )
        settings.update(changes)
        return cls(**settings)


def encode(text_, vocabulary):
    """Characters -> ids as the model's `TextVectorization` gives them (first char -> 2).

    Example:

    >>> encode("ba?", ["a", "b"]).tolist()
    [3, 2, 1]
    """
    from rnnzoo.data.text import NUM_RESERVED

    index = {c: i + NUM_RESERVED for i, c in enumerate(vocabulary)}
    return np.array([index.get(c, 1) for c in text_], dtype="int32")


def decode_ids(ids, vocabulary):
    """Ids -> characters, the reserved ids (padding, unknown) left out.

    Example:

    >>> decode_ids([3, 0, 2, 1], ["a", "b"])
    'ba'
    """
    from rnnzoo.data.text import NUM_RESERVED

    return "".join(vocabulary[i - NUM_RESERVED] if i >= NUM_RESERVED else ""
                   for i in np.asarray(ids).ravel())


def generate(model, prompt, vocabulary, *, length, temperature, seed=0):
    """Samples `length` characters after `prompt` from a (stateless) language model.

    Args:
        model: an id-level stateless language model.
        prompt: the text to continue (characters of `vocabulary`).
        vocabulary: the model's characters (id `i + 2` is `vocabulary[i]`).
        length: characters to sample.
        temperature: the sampling temperature.
        seed: the sampler's seed.

    Returns:
        `prompt` followed by the sampled characters.
    """
    import rnnzoo

    ids = encode(prompt, vocabulary)[None, :]
    out = rnnzoo.decode(model, ids, max_length=length, end_token=-1,
                        sampler=rnnzoo.samplers.Sample(temperature=temperature, seed=seed))
    return prompt + decode_ids(out[0], vocabulary)


def run(config, runner):
    """Trains the language model (or tunes one); returns the metrics, also in metrics.json.

    Args:
        config: a `Config`.
        runner: the run's `rnnzoo.training.Runner` (not started yet); it
            must train on one replica (the model is stateful over contiguous
            streams).

    Returns:
        The metrics dict: validation and train perplexity, the n-gram
        baselines' perplexities, throughput, samples, the plot and the
        model's path.
    """
    import keras

    import rnnzoo
    from rnnzoo import plots
    from rnnzoo.data import text
    from rnnzoo.data.datasets import load_time_machine

    runner.start(config)
    corpus = load_time_machine(data_dir=config.data_dir, level="char")
    train_text, valid_text = corpus.train, corpus.validation
    if config.limit:
        train_text = train_text[:config.limit]
        valid_text = valid_text[:max(config.limit // 9,
                                     config.batch_size * config.sequence_length + 1)]
    vocabulary = list(corpus.vocabulary)
    vocabulary_size = len(vocabulary) + text.NUM_RESERVED
    x, y = rnnzoo.tbptt_batches(encode(train_text, vocabulary), config.batch_size,
                                sequence_length=config.sequence_length)
    vx, vy = rnnzoo.tbptt_batches(encode(valid_text, vocabulary), config.batch_size,
                                  sequence_length=config.sequence_length)

    char_layer = text.text_vectorizer(vocabulary, split="character", name="textgen_chars")
    if runner.tune_with:  # search a stateless LM over the same windows
        return runner.tune(
            "language_model", x, y, validation_data=(vx, vy),
            fixed=dict(vocabulary_size=vocabulary_size, embedding_dim=32),
            space={**config.tune_space, **config.overrides},
            wrap=lambda lm: text.string_model((char_layer, lm), name="textgen_strings"),
            epochs=config.epochs, batch_size=config.batch_size, task_name=NAME)
    replicas = rnnzoo.num_replicas(runner.distribution)
    if replicas > 1:
        raise ValueError(
            "textgen trains a stateful model over contiguous streams (one state row "
            "per batch row); it runs on one replica. Use --strategy one_device. "
            f"Received: --strategy {runner.strategy_kind} ({replicas} replicas)")

    lm = {**config.lm, **config.overrides}
    with runner.scope():
        model = rnnzoo.build(config.preset, name=NAME, vocabulary_size=vocabulary_size,
                             stateful=True, batch_size=config.batch_size, **lm)
    runner.compile(model, task="language_model", learning_rate=config.learning_rate,
                   clipnorm=1.0)
    callbacks = [rnnzoo.ResetStates(),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                   patience=1, min_lr=1e-4)]
    history = runner.fit(model, x, y, name="lm", patience=3, callbacks=callbacks,
                         batch_size=config.batch_size, epochs=config.epochs, shuffle=False,
                         validation_data=(vx, vy), validation_batch_size=config.batch_size)
    logs = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    epochs_run = len(logs["loss"])
    # Every epoch's wall seconds, those of a killed earlier run included.
    tokens_per_second = epochs_run * x.size / max(sum(history.seconds), 1e-9)
    # Both texts read start to end, states carried across batches, reset first.
    valid = model.evaluate(vx, vy, batch_size=config.batch_size, verbose=0,
                           return_dict=True, callbacks=[rnnzoo.ResetStates()])
    train_eval = model.evaluate(x, y, batch_size=config.batch_size, verbose=0,
                                return_dict=True, callbacks=[rnnzoo.ResetStates()])

    # A stateless twin with the trained weights, behind the character vectorizer.
    stateless = rnnzoo.build(config.preset, name=NAME, vocabulary_size=vocabulary_size, **lm)
    stateless.set_weights(model.get_weights())
    model_path = runner.save_model(text.string_model((char_layer, stateless),
                                                     name="textgen_strings"))

    baselines = {n: text.ngram_perplexity(train_text, valid_text, n) for n in (1, 2, 3, 4)}
    samples = {str(t): generate(stateless, PROMPT, vocabulary, length=config.sample_length,
                                temperature=t, seed=runner.seed) for t in TEMPERATURES}
    metrics = dict(
        task=NAME,
        validation_perplexity=float(valid["perplexity"]),
        train_perplexity=float(train_eval["perplexity"]),
        unigram_perplexity=baselines[1],
        bigram_perplexity=baselines[2],
        trigram_perplexity=baselines[3],
        fourgram_perplexity=baselines[4],
        cell=lm.get("cell", "lstm"),
        overrides=lm,
        epochs_run=epochs_run,
        tokens_per_second=float(tokens_per_second),
        train_characters=len(train_text),
        validation_characters=len(valid_text),
        batch_size=config.batch_size,
        sequence_length=config.sequence_length,
        samples=samples,
        quick=runner.quick,
        seed=runner.seed,
        train_seconds=runner.timer.seconds(),
        model=model_path,
        vocabulary=vocabulary,
    )
    metrics["plots"] = [plots.plot_history(
        logs, runner.path("curves.png"), metrics=["loss", "perplexity"],
        title="textgen: character LM on The Time Machine")]
    runner.write_metrics(metrics)
    runner.finish()
    print("validation perplexity: "
          + "  ".join(f"{k}={metrics[k]:.2f}" for k in
                      ("unigram_perplexity", "bigram_perplexity", "trigram_perplexity",
                       "fourgram_perplexity", "validation_perplexity")))
    for t, sample in samples.items():
        print(f"[temperature {t}] {sample}", flush=True)
    return metrics


def predict(trained, prompt: str = PROMPT, *, temperature: list[float] | None = None,
            length: int = 200, seed: int = 0):
    """Continues a prompt by sampling from a trained run.

    Args:
        prompt: the text to continue (lower-cased; letters and spaces).
        temperature: sampling temperature, repeatable (default 0.5 and 1.0).
        length: characters to sample.
        seed: the sampler's seed.

    Example (from the shell): `python recipes/textgen.py predict "the time" --temperature 0.5`.
    """
    import keras

    check_positive_int("length", length)
    vocabulary = trained.metrics["vocabulary"]
    lm = next(layer for layer in trained.model.layers if isinstance(layer, keras.Model))
    for t in temperature or TEMPERATURES:
        sample = generate(lm, prompt.lower(), vocabulary, length=length, temperature=t,
                          seed=seed)
        print(f"[temperature {t}] {sample}")


COMMANDS = {"predict": predict}
