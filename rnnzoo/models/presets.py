"""Named presets over the builders: one dict literal, `list_models()`, `build()`."""

from rnnzoo import models

PRESETS = {
    "char_lstm_lm": {
        "builder": "language_model",
        "topology": "language model",
        "description": "Character LSTM language model, the d2l deep-RNN setup: 2 x 256 LSTM.",
        "config": dict(vocabulary_size=28, embedding_dim=32, cell="lstm", units=256, num_layers=2),
    },
    "bilstm_sentiment": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "Word-level BiLSTM with max pooling for binary sentiment (SST-2).",
        "config": dict(vocabulary_size=20000, embedding_dim=128, cell="lstm", units=128,
                       bidirectional=True, pooling="max", num_classes="binary",
                       head_dropout_rate=0.3),
    },
    "char_gru_name_classifier": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "Character BiGRU classifying surnames into 18 languages.",
        "config": dict(vocabulary_size=96, embedding_dim=64, cell="gru", units=128,
                       bidirectional=True, pooling="last", num_classes=18),
    },
    "lstm_seq2seq_attention": {
        "builder": "seq2seq",
        "topology": "many-to-many (Tx != Ty)",
        "description": "BiLSTM encoder, LSTM decoder with Luong attention, for translation.",
        "config": dict(source_vocabulary_size=8000, target_vocabulary_size=8000,
                       embedding_dim=256, cell="lstm", units=256, bidirectional=True,
                       attention="luong"),
    },
    "lstm_captioner": {
        "builder": "sequence_generator",
        "topology": "one-to-many",
        "description": "LSTM caption decoder attending over a 7x7 grid of image features.",
        "config": dict(vocabulary_size=5000, feature_grid_shape=(49, 512), embedding_dim=256,
                       cell="lstm", units=256, attention="bahdanau"),
    },
    "gru_forecaster": {
        "builder": "forecaster",
        "topology": "forecaster",
        "description": "GRU forecaster: 72 past hours of 8 features -> the next 24 hours.",
        "config": dict(input_width=72, num_features=8, horizon=24, num_targets=1,
                       cell="gru", units=64, num_layers=2),
    },
    "bilstm_tagger": {
        "builder": "sequence_tagger",
        "topology": "many-to-many aligned",
        "description": "Word-level BiLSTM tagger, one tag per token.",
        "config": dict(vocabulary_size=10000, embedding_dim=128, cell="lstm", units=128,
                       bidirectional=True, num_classes=17),
    },
    "irnn_classifier": {
        "builder": "sequence_classifier",
        "topology": "many-to-one",
        "description": "IRNN (ReLU, identity recurrent init) over a long feature sequence.",
        "config": dict(num_features=1, cell="simple", identity_init=True, units=100,
                       num_classes=10),
    },
    "mlp_baseline": {
        "builder": "dense_baseline",
        "topology": "one-to-one",
        "description": "Bag-of-embeddings MLP: the no-recurrence baseline for token tasks.",
        "config": dict(vocabulary_size=20000, embedding_dim=128, units=128, num_classes=2),
    },
}


def _check_name(name):
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset. Expected one of {sorted(PRESETS)}. Received: name={name!r}"
        )


def preset_config(name, **overrides):
    """The builder name and keyword arguments of a preset, with overrides."""
    _check_name(name)
    preset = PRESETS[name]
    config = dict(preset["config"], name=name)
    config.update(overrides)
    return preset["builder"], config


def build(preset, *, name=None, **overrides):
    """Builds a named preset; keyword arguments override its configuration.

    Args:
        preset: a preset name (see `list_models()`).
        name: the model's name (its layers' prefix); default the preset's.
        **overrides: builder keyword arguments replacing the preset's.

    Returns:
        A Functional `keras.Model` named after the preset (or `name=`).

    Example:

    >>> import rnnzoo
    >>> model = rnnzoo.build("char_lstm_lm", units=64, num_layers=1)
    >>> model.name
    'char_lstm_lm'
    """
    builder, config = preset_config(preset, **overrides)
    if name is not None:
        config["name"] = name
    return getattr(models, builder)(**config)


def list_models(print_table=True):
    """Lists the presets: name, topology, description, parameter count.

    Args:
        print_table: also print them as a table.

    Returns:
        A list of dicts with keys `name`, `builder`, `topology`,
        `description`, `parameters`.

    Example:

    >>> import rnnzoo
    >>> rows = rnnzoo.list_models(print_table=False)
    >>> "char_lstm_lm" in [r["name"] for r in rows]
    True
    """
    rows = []
    for name, preset in PRESETS.items():
        model = build(name)
        rows.append(dict(
            name=name,
            builder=preset["builder"],
            topology=preset["topology"],
            description=preset["description"],
            parameters=model.count_params(),
        ))
    if print_table:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['topology']:<24} {r['parameters']:>11,}  {r['description']}")
    return rows
