"""Named presets over the builders: one dict literal, `list_models()`, `build()`.

Each preset names its builder (a key of `rnnzoo.models.BUILDERS`), its
keyword arguments and its parameter count (checked against `count_params()`
by `presets_test.py`, so `list_models()` builds nothing). Vocabulary sizes
count every id, the reserved ones included (0 = padding, 1 =
out-of-vocabulary with `rnnzoo.text_vectorizer`).
"""

from rnnzoo.models import BUILDERS

PRESETS = {
    "char_lstm_lm": {
        "builder": "language_model",
        "topology": "language model",
        "description": "Character LSTM language model, the d2l deep-RNN setup: 2 x 256 LSTM.",
        "parameters": 829_340,
        "config": dict(vocabulary_size=28, embedding_dim=32, cell="lstm", units=256, num_layers=2),
    },
    "bilstm_sentiment": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "Word-level BiLSTM with max pooling for binary sentiment (SST-2).",
        "parameters": 2_823_425,
        "config": dict(vocabulary_size=20000, embedding_dim=128, cell="lstm", units=128,
                       bidirectional=True, pooling="max", num_classes="binary",
                       head_dropout_rate=0.3),
    },
    "char_gru_name_classifier": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "Character BiGRU classifying surnames into 18 languages.",
        "parameters": 159_762,
        "config": dict(vocabulary_size=96, embedding_dim=64, cell="gru", units=128,
                       bidirectional=True, pooling="last", num_classes=18),
    },
    "lstm_seq2seq_attention": {
        "builder": "seq2seq",
        "topology": "many-to-many (Tx != Ty)",
        "description": "BiLSTM encoder, LSTM decoder with Luong attention, for translation.",
        "parameters": 12_137_792,
        "config": dict(source_vocabulary_size=8000, target_vocabulary_size=8000,
                       embedding_dim=256, cell="lstm", units=256, bidirectional=True,
                       attention="luong"),
    },
    "lstm_captioner": {
        "builder": "sequence_generator",
        "topology": "one-to-many",
        "description": "LSTM caption decoder attending over a 7x7 grid of image features.",
        "parameters": 3_615_880,
        "config": dict(vocabulary_size=5000, feature_grid_shape=(49, 512), embedding_dim=256,
                       cell="lstm", units=256, attention="bahdanau"),
    },
    "gru_forecaster": {
        "builder": "forecaster",
        "topology": "forecaster",
        "description": "GRU forecaster: 72 past hours of 8 features -> the next 24 hours.",
        "parameters": 40_728,
        "config": dict(sequence_length=72, num_features=8, horizon=24, num_targets=1,
                       cell="gru", units=64, num_layers=2),
    },
    "bilstm_tagger": {
        "builder": "sequence_tagger",
        "topology": "many-to-many aligned",
        "description": "Word-level BiLSTM tagger, one tag per token.",
        "parameters": 1_547_537,
        "config": dict(vocabulary_size=10000, embedding_dim=128, cell="lstm", units=128,
                       bidirectional=True, num_classes=17),
    },
    "irnn_classifier": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "IRNN (ReLU, identity recurrent init) over a long feature sequence.",
        "parameters": 11_210,
        "config": dict(num_features=1, cell="simple", identity_init=True, units=100,
                       num_classes=10),
    },
    "mlp_baseline": {
        "builder": "dense_baseline",
        "topology": "one-to-one",
        "description": "Bag-of-embeddings MLP: the no-recurrence baseline for token tasks.",
        "parameters": 2_576_770,
        "config": dict(vocabulary_size=20000, embedding_dim=128, units=128, num_classes=2),
    },
}


def _check_preset(preset):
    if preset not in PRESETS:
        raise ValueError(
            f"Unknown preset. Expected one of {sorted(PRESETS)}. Received: preset={preset!r}"
        )


def preset_config(preset, /, **overrides):
    """The builder name and keyword arguments of a preset, with overrides.

    Args:
        preset: a preset name (see `list_models()`).
        **overrides: builder keyword arguments replacing the preset's
            (`name=` included: it defaults to the preset's name).

    Returns:
        `(builder, config)`: a key of `rnnzoo.models.BUILDERS` and the
        keyword arguments to call it with.

    Example:

    >>> preset_config("gru_forecaster", horizon=6, name="pm25")[1]["name"]
    'pm25'
    """
    _check_preset(preset)
    entry = PRESETS[preset]
    config = dict(entry["config"], name=preset)
    config.update(overrides)
    return entry["builder"], config


def build(preset, /, **overrides):
    """Builds a named preset; keyword arguments override its configuration.

    Args:
        preset: a preset name (see `list_models()`).
        **overrides: builder keyword arguments replacing the preset's,
            `name=` included (the model name and the prefix of every layer
            name; default: the preset's name).

    Returns:
        A Functional `keras.Model` named after the preset (or `name=`).

    Example:

    >>> import rnnzoo
    >>> rnnzoo.build("char_lstm_lm", units=64, num_layers=1).name
    'char_lstm_lm'
    >>> rnnzoo.build("char_gru_name_classifier", name="names_rnn_1",
    ...              vocabulary_size=60, units=8).name
    'names_rnn_1'
    """
    builder, config = preset_config(preset, **overrides)
    return BUILDERS[builder](**config)


def list_models(print_table=True):
    """Lists the presets: name, topology, description, parameter count.

    Builds nothing: the parameter counts are stored in `PRESETS`.

    Args:
        print_table: also print them as a table.

    Returns:
        A list of dicts with keys `name`, `builder`, `topology`,
        `description`, `parameters`.

    Example:

    >>> import rnnzoo
    >>> rows = rnnzoo.list_models(print_table=False)
    >>> next(r["parameters"] for r in rows if r["name"] == "gru_forecaster")
    40728
    """
    rows = [
        dict(name=name, builder=entry["builder"], topology=entry["topology"],
             description=entry["description"], parameters=entry["parameters"])
        for name, entry in PRESETS.items()
    ]
    if print_table:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['topology']:<24} {r['parameters']:>11,}  {r['description']}")
    return rows
