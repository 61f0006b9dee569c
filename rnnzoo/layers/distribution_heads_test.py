"""MonotoneQuantiles, DistributionParameters, Select: shared layer checks, values, properties."""

import hypothesis
import hypothesis.extra.numpy as hnp
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from rnnzoo.layers.distribution_heads import DistributionParameters
from rnnzoo.layers.distribution_heads import MonotoneQuantiles
from rnnzoo.layers.distribution_heads import Select
from rnnzoo.layers.layer_test_case import run_layer_test

X = np.random.default_rng(0).normal(size=(2, 4, 1, 3)).astype("float32")


@pytest.mark.multi_backend
def test_monotone_quantiles(tmp_path):
    out = run_layer_test(MonotoneQuantiles, dict(quantiles=(0.1, 0.5, 0.9)), X,
                         expected_output_shape=(2, 4, 1, 3),
                         run_training_step=False, tmp_path=tmp_path)
    out = np.asarray(out)
    # the lowest is the input; each next adds softplus of its input
    np.testing.assert_allclose(out[..., 0], X[..., 0], rtol=1e-6)
    np.testing.assert_allclose(np.diff(out, axis=-1), np.log1p(np.exp(X[..., 1:])),
                               rtol=1e-5, atol=1e-6)


def test_monotone_quantiles_on_another_axis():
    x = np.moveaxis(X, -1, 1)  # (2, 3, 4, 1): the quantiles on axis 1
    out = np.asarray(MonotoneQuantiles((0.1, 0.5, 0.9), axis=1)(x))
    expected = np.asarray(MonotoneQuantiles((0.1, 0.5, 0.9))(X))
    np.testing.assert_allclose(out, np.moveaxis(expected, -1, 1), rtol=1e-6)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    x=hnp.arrays("float32", (5, 4), elements=st.floats(-50, 50, width=32)),
    seed=st.integers(0, 2**31 - 1),
    spread=st.floats(0.01, 30.0),
)
def test_quantiles_never_cross_for_any_input_and_weights(x, seed, spread):
    """Property: a Dense layer with ANY weights, then the head: never decreasing."""
    dense = keras.layers.Dense(
        5, kernel_initializer=keras.initializers.RandomNormal(stddev=spread, seed=seed),
        bias_initializer=keras.initializers.RandomNormal(stddev=spread, seed=seed + 1))
    head = MonotoneQuantiles((0.025, 0.1, 0.5, 0.9, 0.975))
    out = keras.ops.convert_to_numpy(head(dense(x)))
    assert np.all(np.isfinite(out))
    assert np.all(np.diff(out, axis=-1) >= 0)


@pytest.mark.multi_backend
@pytest.mark.parametrize("distribution, width", [("normal", 2), ("student_t", 3)])
def test_distribution_parameters(distribution, width, tmp_path):
    x = X[..., :width]
    out = np.asarray(run_layer_test(
        DistributionParameters, dict(distribution=distribution), x,
        expected_output_shape=(2, 4, 1, width),
        run_training_step=False, tmp_path=tmp_path))
    np.testing.assert_allclose(out[..., 0], x[..., 0], rtol=1e-6)  # loc: as given
    np.testing.assert_allclose(out[..., 1], np.log1p(np.exp(x[..., 1])) + 1e-3, rtol=1e-5)
    assert np.all(out[..., 1] > 0)
    if width == 3:
        assert np.all(out[..., 2] > 2.0)


def test_select(tmp_path):
    out = run_layer_test(Select, dict(index=2), X, expected_output_shape=(2, 4, 1),
                         run_training_step=False, tmp_path=tmp_path)
    np.testing.assert_array_equal(np.asarray(out), X[..., 2])


@pytest.mark.parametrize("make, received", [
    (lambda: MonotoneQuantiles((0.5, 0.1)), r"quantiles=\(0.5, 0.1\)"),
    (lambda: MonotoneQuantiles((0.0, 0.5)), r"quantiles=\(0.0, 0.5\)"),
    (lambda: MonotoneQuantiles("0.5"), "quantiles='0.5'"),
    (lambda: MonotoneQuantiles((0.1, 0.9))(np.zeros((2, 3))), "input_shape=.*3"),
    (lambda: DistributionParameters("gamma"), "distribution='gamma'"),
    (lambda: DistributionParameters("normal")(np.zeros((2, 3))), "input_shape"),
])
def test_bad_arguments_name_the_argument(make, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        make()
