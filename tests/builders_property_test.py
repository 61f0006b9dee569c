"""Property-based tests over the builders' keyword arguments (hypothesis)."""

import os

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import rnnzoo

SETTINGS = settings(
    max_examples=10, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

stack_kwargs = st.fixed_dictionaries({
    "cell": st.sampled_from(["lstm", "gru", "simple"]),
    "units": st.integers(2, 6),
    "num_layers": st.integers(1, 2),
    "bidirectional": st.booleans(),
    "residual": st.booleans(),
    "merge_mode": st.sampled_from(["concat", "sum", "mul", "ave"]),
    "dropout": st.sampled_from([0.0, 0.3]),
    "layer_norm": st.booleans(),
})


def _round_trip(model, x, y, tmp_path):
    rnnzoo.compile_for(model)
    model.run_eagerly = keras.backend.backend() == "tensorflow"  # tiny: skip tracing
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    expected = keras.ops.convert_to_numpy(model(x))
    assert np.all(np.isfinite(expected))
    path = rnnzoo.save_model(model, os.path.join(str(tmp_path), "m.keras"))
    reloaded = rnnzoo.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x)), expected)


X = np.array([[3, 4, 5, 0], [6, 7, 0, 0]], dtype="int32")


@SETTINGS
@given(kwargs=stack_kwargs, pooling=st.sampled_from(["last", "mean", "max", "attention"]))
def test_every_valid_classifier_builds_trains_and_round_trips(kwargs, pooling, tmp_path):
    model = rnnzoo.sequence_classifier(vocabulary_size=10, embedding_dim=4,
                                       num_classes=3, pooling=pooling, **kwargs)
    assert keras.ops.convert_to_numpy(model(X)).shape == (2, 3)
    _round_trip(model, X, np.array([0, 2]), tmp_path)


@SETTINGS
@given(kwargs=stack_kwargs, attention=st.sampled_from([None, "luong", "bahdanau"]),
       decoder_cell=st.sampled_from(["lstm", "gru", "simple"]))
def test_every_valid_seq2seq_builds_trains_and_round_trips(kwargs, attention, decoder_cell, tmp_path):
    model = rnnzoo.seq2seq(source_vocabulary_size=10, target_vocabulary_size=8,
                           embedding_dim=4, attention=attention,
                           decoder_cell=decoder_cell, **kwargs)
    target = np.array([[1, 2, 3], [1, 4, 0]], dtype="int32")
    assert keras.ops.convert_to_numpy(model([X, target])).shape == (2, 3, 8)
    _round_trip(model, [X, target], np.array([[2, 3, 0], [4, 0, 0]]), tmp_path)


invalid = st.one_of(
    st.tuples(st.just("cell"), st.text(min_size=1, max_size=5).filter(
        lambda s: s not in ("lstm", "gru", "simple"))),
    st.tuples(st.just("units"), st.integers(-5, 0)),
    st.tuples(st.just("num_layers"), st.integers(-3, 0)),
    st.tuples(st.just("merge_mode"), st.sampled_from(["max", "", "CONCAT"])),
    st.tuples(st.just("dropout"), st.floats(1.0, 5.0)),
    st.tuples(st.just("dropout"), st.floats(-5.0, -0.01)),
    st.tuples(st.just("pooling"), st.sampled_from(["sum", "first", None])),
    st.tuples(st.just("embedding_dim"), st.integers(-4, 0)),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(bad=invalid)
def test_every_invalid_value_raises_a_value_error_naming_it(bad):
    arg, value = bad
    with pytest.raises(ValueError, match=f"Received: {arg}="):
        rnnzoo.sequence_classifier(vocabulary_size=10, num_classes=2, **{arg: value})


@settings(max_examples=20, deadline=None, derandomize=True)
@given(attention=st.text(max_size=6).filter(lambda s: s not in ("luong", "bahdanau")))
def test_invalid_attention_raises_naming_it(attention):
    with pytest.raises(ValueError, match="Received: attention="):
        rnnzoo.seq2seq(source_vocabulary_size=5, target_vocabulary_size=5, attention=attention)
