import warnings

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers.recurrent_stack import apply_stack
from rnnzoo.layers.recurrent_stack import build_stack_layers


def _stack_model(**kwargs):
    tokens = keras.Input((None,), dtype="int32")
    mask = rnnzoo.PaddingMask()(tokens)
    x = keras.layers.Embedding(30, 6, mask_zero=True)(tokens)
    outputs, states = rnnzoo.recurrent_stack(
        x, mask=mask, return_state=True, name="stack", **kwargs
    )
    return keras.Model(tokens, [outputs] + [s for layer in states for s in layer])


IDS = np.array([[4, 5, 6, 7, 8], [9, 10, 0, 0, 0]], dtype="int32")


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_outputs_or_states(cell, bidirectional):
    model = _stack_model(cell=cell, units=[5, 7], num_layers=2,
                         bidirectional=bidirectional, residual=True,
                         layer_norm=True, return_sequences=True)
    batched = [keras.ops.convert_to_numpy(t) for t in model(IDS)]
    alone = [keras.ops.convert_to_numpy(t) for t in model(IDS[1:, :2])]
    np.testing.assert_allclose(alone[0], batched[0][1:, :2], atol=1e-6)
    for a, b in zip(alone[1:], batched[1:]):
        np.testing.assert_allclose(a, b[1:], atol=1e-6)
    per_cell = 2 if cell == "lstm" else 1
    assert len(batched) == 1 + 2 * per_cell * (2 if bidirectional else 1)


@pytest.mark.multi_backend
def test_states_with_initial_state_stay_padding_invariant():
    # Keras drops the embedding's mask when initial_state is passed; the
    # stack passes it explicitly, so the final state ignores the padding.
    tokens = keras.Input((None,), dtype="int32")
    h0, c0 = keras.Input((4,)), keras.Input((4,))
    mask = rnnzoo.PaddingMask()(tokens)
    x = keras.layers.Embedding(30, 6, mask_zero=True)(tokens)
    stack = build_stack_layers(cell="lstm", units=4, input_dim=6, name="s")
    _, states = apply_stack(stack, x, mask=mask, initial_state=[[h0, c0]])
    model = keras.Model([tokens, h0, c0], states[0])
    h = np.full((1, 4), 0.3, "float32")
    padded = model([np.array([[3, 4, 0, 0]]), h, h])
    alone = model([np.array([[3, 4]]), h, h])
    for a, b in zip(alone, padded):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6)


def test_return_sequences_is_wired_per_layer():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(30, 6)(tokens)
    y = rnnzoo.recurrent_stack(x, units=[8, 9, 10], num_layers=3, name="st")
    model = keras.Model(tokens, y)
    assert tuple(y.shape) == (None, 10)
    rnns = [l for l in model.layers if isinstance(l, keras.layers.RNN)]
    assert [l.return_sequences for l in rnns] == [True, True, False]
    assert [l.name for l in rnns] == ["st_lstm_1", "st_lstm_2", "st_lstm_3"]


def test_residual_adds_input_and_projects_when_widths_differ():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(30, 6)(tokens)
    rnnzoo.recurrent_stack(x, units=[8, 8, 12], num_layers=3, residual=True,
                           return_sequences=True, name="r")
    model = keras.Model(tokens, rnnzoo.recurrent_stack(
        x, units=[8, 8, 12], num_layers=3, residual=True, name="q"))
    names = {l.name for l in model.layers}
    assert {"q_add_2", "q_add_3", "q_projection_3", "q_last_step"} <= names
    assert "q_projection_2" not in names and "q_add_1" not in names
    # Residual: layer 2's output is its RNN output plus its input, exactly.
    sub = keras.Model(tokens, [model.get_layer("q_lstm_1").output[0],
                               model.get_layer("q_lstm_2").output[0],
                               model.get_layer("q_add_2").output])
    a, b, c = [keras.ops.convert_to_numpy(t) for t in sub(np.array([[1, 2, 3]]))]
    np.testing.assert_allclose(c, a + b, atol=1e-6)


def test_identity_init_is_the_irnn():
    tokens = keras.Input((None, 3))
    model = keras.Model(tokens, rnnzoo.recurrent_stack(
        tokens, cell="simple", units=5, identity_init=True, name="irnn"))
    layer = model.get_layer("irnn_simple_1")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer.cell.recurrent_kernel), np.eye(5))
    assert layer.cell.activation is keras.activations.relu


def test_recurrent_dropout_warns_and_kernel_report_says_why():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(30, 6)(tokens)
    with pytest.warns(UserWarning, match="recurrent_dropout=0.2 .*cuDNN"):
        y = rnnzoo.recurrent_stack(x, cell="gru", units=4, num_layers=2,
                                   recurrent_dropout=0.2, name="d")
    report = rnnzoo.kernel_report(keras.Model(tokens, y))
    assert [r["fused"] for r in report] == [False, False]
    assert all("recurrent_dropout=0.2" in r["reason"] for r in report)


def test_kernel_report_fused_by_default_and_simple_never():
    model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=2,
                                       units=4, bidirectional=True)
    report = rnnzoo.kernel_report(model)
    assert len(report) == 2 and all(r["fused"] and r["reason"] is None for r in report)
    irnn = rnnzoo.build("irnn_classifier", units=4)
    assert rnnzoo.kernel_report(irnn)[0]["fused"] is False


def test_check_padding_warns_once_for_left_padding():
    assert rnnzoo.check_padding(np.array([[1, 2, 0], [3, 0, 0]]), name="right")
    with pytest.warns(UserWarning, match="not right-padded"):
        assert not rnnzoo.check_padding(np.array([[0, 1, 2]]), name="left")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not rnnzoo.check_padding(np.array([[0, 1, 2]]), name="left")


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(cell="lstn"), "cell='lstn'"),
        (dict(units=0), "units=0"),
        (dict(units=-3), "units=-3"),
        (dict(num_layers=0), "num_layers=0"),
        (dict(units=[4, 5], num_layers=3), "units=\\[4, 5\\]"),
        (dict(merge_mode="stack"), "merge_mode='stack'"),
        (dict(dropout=1.5), "dropout=1.5"),
        (dict(identity_init=True, cell="gru"), "cell='gru'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, arg):
    x = keras.Input((None, 3))
    with pytest.raises(ValueError, match=f"Received: {arg}"):
        rnnzoo.recurrent_stack(x, **kwargs)
