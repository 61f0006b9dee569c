"""Every preset: tiny, through the shared model checks; full size, its stored parameter count."""

import numpy as np
import pytest

import rnnzoo
from rnnzoo.models import BUILDERS
from rnnzoo.models.model_test_case import run_model_test

RNG = np.random.default_rng(0)
VOCAB = 20


def _tokens(lengths, width=None, vocab=VOCAB):
    width = width or max(lengths)
    ids = np.zeros((len(lengths), width), dtype="int32")
    for i, n in enumerate(lengths):
        ids[i, :n] = RNG.integers(1, vocab, size=n)
    return ids


def _batch(preset):
    """Tiny overrides and one batch (x, y, output shape, lengths) per preset."""
    lengths = [7, 4, 5]
    if preset == "char_lstm_lm":
        x = _tokens(lengths)
        y = np.roll(x, -1, axis=1) * (x > 0)
        return dict(vocabulary_size=VOCAB, embedding_dim=8, units=8), x, y, (3, 7, VOCAB), [lengths], lengths
    if preset in ("bilstm_sentiment", "char_gru_name_classifier", "mlp_baseline"):
        x = _tokens(lengths)
        if preset == "bilstm_sentiment":
            return dict(vocabulary_size=VOCAB, embedding_dim=8, units=8), x, np.array([1, 0, 1]), (3, 1), [lengths], None
        classes = 18 if preset == "char_gru_name_classifier" else 2
        overrides = dict(vocabulary_size=VOCAB, embedding_dim=8, units=8)
        return overrides, x, np.array([1, 0, 1]), (3, classes), [lengths], None
    if preset == "bilstm_tagger":
        x = _tokens(lengths)
        y = (x % 5) * (x > 0)
        return dict(vocabulary_size=VOCAB, embedding_dim=8, units=8, num_classes=5), x, y, (3, 7, 5), [lengths], lengths
    if preset == "lstm_seq2seq_attention":
        source = _tokens(lengths)
        target_lengths = [3, 6, 2]
        target = _tokens(target_lengths)
        y = np.roll(target, -1, axis=1) * (target > 0)
        overrides = dict(source_vocabulary_size=VOCAB, target_vocabulary_size=VOCAB, embedding_dim=8, units=8)
        return overrides, [source, target], y, (3, 6, VOCAB), [lengths, target_lengths], target_lengths
    if preset == "lstm_captioner":
        grid = RNG.normal(size=(3, 4, 6)).astype("float32")
        target_lengths = [3, 6, 2]
        target = _tokens(target_lengths)
        y = np.roll(target, -1, axis=1) * (target > 0)
        overrides = dict(vocabulary_size=VOCAB, feature_grid_shape=(4, 6), embedding_dim=8, units=8)
        return overrides, [grid, target], y, (3, 6, VOCAB), [None, target_lengths], target_lengths
    if preset == "gru_forecaster":
        x = RNG.normal(size=(3, 12, 3)).astype("float32")
        y = RNG.normal(size=(3, 4, 1)).astype("float32")
        return dict(sequence_length=12, num_features=3, horizon=4, units=8), x, y, (3, 4, 1), None, None
    if preset == "irnn_classifier":
        x = RNG.normal(size=(3, 10, 1)).astype("float32")
        return dict(units=8, num_classes=3), x, np.array([0, 2, 1]), (3, 3), None, None
    raise AssertionError(f"no tiny batch for preset {preset!r}: add one here")


@pytest.mark.multi_backend
@pytest.mark.parametrize("preset", sorted(rnnzoo.PRESETS))
def test_preset(preset, tmp_path):
    overrides, x, y, shape, input_lengths, output_lengths = _batch(preset)

    def build(**config):
        return rnnzoo.build(preset, **config)

    model = run_model_test(
        build, overrides, x, y, shape,
        input_lengths=input_lengths, output_lengths=output_lengths, tmp_path=tmp_path,
    )
    assert model.name == preset


def test_every_preset_has_its_stored_parameter_count():
    # timm-style: one loop over every preset, at full size (building is
    # cheap; nothing runs). list_models() reports these stored counts.
    for name, preset in rnnzoo.PRESETS.items():
        assert preset["builder"] in BUILDERS, name
        model = rnnzoo.build(name)
        assert model.count_params() == preset["parameters"], name


def test_list_models_prints_every_preset_and_builds_nothing(capsys, monkeypatch):
    def no_build(**kwargs):
        raise AssertionError("list_models() built a model")

    for builder in BUILDERS:
        monkeypatch.setitem(BUILDERS, builder, no_build)
    rows = rnnzoo.list_models()
    printed = capsys.readouterr().out
    assert [r["name"] for r in rows] == list(rnnzoo.PRESETS)
    for row in rows:
        assert row["name"] in printed and f"{row['parameters']:,}" in printed
    # The d2l configuration: 2 x LSTM 256 over a 32-wide embedding of 28 ids.
    lm = next(r for r in rows if r["name"] == "char_lstm_lm")
    lstm = lambda i, u: 4 * (u * (i + u) + u)  # noqa: E731
    assert lm["parameters"] == 28 * 32 + lstm(32, 256) + lstm(256, 256) + 256 * 28 + 28


def test_build_takes_a_model_name():
    # Fails before #13: `name` was build()'s own first parameter.
    model = rnnzoo.build("char_gru_name_classifier", name="names_rnn_1",
                         vocabulary_size=30, units=4, embedding_dim=4)
    assert model.name == "names_rnn_1"
    assert all(layer.name.startswith("names_rnn_1_") for layer in model.layers)
    assert model.get_layer("names_rnn_1_embedding").input_dim == 30


def test_build_rejects_unknown_preset():
    with pytest.raises(ValueError, match="Received: preset='char_lstm'"):
        rnnzoo.build("char_lstm")
