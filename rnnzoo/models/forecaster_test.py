"""forecaster: the shared model checks per multistep mode, feedback, counts, errors."""

import keras
import numpy as np
import pytest

from rnnzoo.models.forecaster import forecaster
from rnnzoo.models.model_test_case import run_model_test

RNG = np.random.default_rng(0)
HISTORY = RNG.normal(size=(3, 6, 3)).astype("float32")
FUTURE = RNG.normal(size=(3, 4, 1)).astype("float32")
TARGETS = RNG.normal(size=(3, 4, 1)).astype("float32")


@pytest.mark.parametrize("multistep, bidirectional", [("direct", True), ("autoregressive", False)])
def test_forecaster_with_covariates(multistep, bidirectional, tmp_path):
    run_model_test(
        forecaster,
        dict(sequence_length=6, num_features=3, horizon=4, num_targets=1, num_covariates=1,
             multistep=multistep, bidirectional=bidirectional, units=5, name="fc"),
        [HISTORY, FUTURE], TARGETS, (3, 4, 1), tmp_path=tmp_path,
    )


@pytest.mark.multi_backend
def test_autoregressive_forecaster_feeds_back_its_predictions():
    model = forecaster(sequence_length=6, num_features=3, horizon=3, num_targets=1,
                       num_covariates=1, multistep="autoregressive", units=5)
    out = keras.ops.convert_to_numpy(model([HISTORY, FUTURE[:, :3]]))
    assert out.shape == (3, 3, 1)
    # The first step does not see the covariates; later steps do.
    changed = keras.ops.convert_to_numpy(model([HISTORY, FUTURE[:, :3] + 1.0]))
    np.testing.assert_allclose(out[:, 0], changed[:, 0], atol=1e-6)
    assert np.abs(out[:, 1:] - changed[:, 1:]).max() > 1e-4


def test_counts_equal_plain_keras():
    model = forecaster(sequence_length=10, num_features=3, horizon=4, num_targets=2,
                       cell="gru", units=8)
    inputs = keras.Input((10, 3))
    hand = keras.Model(inputs, keras.layers.Dense(8)(keras.layers.GRU(8)(inputs)))
    assert model.count_params() == hand.count_params()


@pytest.mark.parametrize("kwargs, received", [
    (dict(multistep="recursive"), "multistep='recursive'"),
    (dict(bidirectional=True, multistep="autoregressive"), "bidirectional=True"),
    (dict(num_features=2, num_targets=2, num_covariates=1), "num_covariates=1"),
    (dict(sequence_length=0), "sequence_length=0"),
    (dict(num_covariates=-1), "num_covariates=-1"),
])
def test_bad_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        forecaster(**{**dict(sequence_length=5), **kwargs})


JAX = pytest.mark.multi_backend  # one quantile and one distribution head on JAX too


@pytest.mark.parametrize("multistep, head, width", [
    pytest.param("direct", dict(quantiles=(0.1, 0.5, 0.9)), 3, marks=JAX),
    ("autoregressive", dict(quantiles=(0.025, 0.5, 0.975)), 3),
    pytest.param("direct", dict(distribution="normal"), 2, marks=JAX),
    ("autoregressive", dict(distribution="student_t"), 3),
])
def test_probabilistic_forecaster(multistep, head, width, tmp_path):
    model = run_model_test(
        forecaster,
        dict(sequence_length=6, num_features=3, horizon=4, num_targets=1, num_covariates=1,
             multistep=multistep, units=5, name="fc", **head),
        [HISTORY, FUTURE], TARGETS, (3, 4, 1, width), tmp_path=tmp_path,
    )
    out = keras.ops.convert_to_numpy(model([HISTORY, FUTURE]))
    if "quantiles" in head:
        assert np.all(np.diff(out, axis=-1) > 0)  # never crossing
    else:
        assert np.all(out[..., 1] > 0)  # a positive scale


def test_autoregressive_quantile_forecaster_feeds_back_its_median():
    model = forecaster(sequence_length=6, num_features=2, horizon=3, num_targets=2,
                       multistep="autoregressive", units=5, quantiles=(0.1, 0.5, 0.9))
    assert model.output_shape == (None, 3, 2, 3)
    feedback = model.get_layer("forecaster_feedback")
    assert feedback.index == 1
    # The second step's input is the first step's median: changing the
    # first step's 0.1 and 0.9 quantiles (through the head's bias of their
    # increments) leaves every median unchanged.
    x = RNG.normal(size=(2, 6, 2)).astype("float32")
    before = keras.ops.convert_to_numpy(model(x))
    dense = model.get_layer("forecaster_output")
    kernel, bias = dense.get_weights()
    bias = bias.reshape(2, 3)
    bias[:, 2] += 1.0  # the 0.9 increment of every feature
    dense.set_weights([kernel, bias.ravel()])
    after = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(after[..., :2], before[..., :2], atol=1e-6)
    assert np.all(after[..., 2] > before[..., 2])


@pytest.mark.parametrize("kwargs, received", [
    (dict(quantiles=(0.1, 0.9), multistep="autoregressive"), r"quantiles=\(0.1, 0.9\)"),
    (dict(quantiles=(0.5,), distribution="normal"), "quantiles=.*distribution='normal'"),
    (dict(distribution="poisson"), "distribution='poisson'"),
    (dict(quantiles=(0.9, 0.5)), "quantiles="),
])
def test_bad_head_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        forecaster(**{**dict(sequence_length=5), **kwargs})
