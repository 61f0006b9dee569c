"""SequencePooling: the shared layer checks, each mode's value, argument errors."""

import numpy as np
import pytest

from rnnzoo.layers.layer_test_case import run_layer_test
from rnnzoo.layers.pooling import POOLING_MODES
from rnnzoo.layers.pooling import SequencePooling

X = np.random.default_rng(0).normal(size=(3, 4, 2)).astype("float32")
# right-padded, left-padded, and gapped rows
MASK = np.array([[True, True, False, False], [False, True, True, True], [True, False, True, False]])
# the same reductions over the real steps, in numpy
EXPECTED = {
    "last": np.stack([X[0, 1], X[1, 3], X[2, 2]]),
    "mean": np.stack([X[i][MASK[i]].mean(0) for i in range(3)]),
    "max": np.stack([X[i][MASK[i]].max(0) for i in range(3)]),
}


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_layer(mode, tmp_path):
    pooled = run_layer_test(
        SequencePooling, dict(mode=mode, attention_units=5), X,
        call_kwargs=dict(mask=MASK),
        expected_output_shape=(3, 2),
        expected_num_trainable_weights=3 if mode == "attention" else 0,
        supports_masking=True, input_mask=MASK, expected_output_mask=None,
        mask_changes_output=True, tmp_path=tmp_path,
    )
    if mode in EXPECTED:
        np.testing.assert_allclose(np.asarray(pooled), EXPECTED[mode], rtol=1e-6)


@pytest.mark.multi_backend
def test_attention_pooling_weighs_only_real_steps():
    layer = SequencePooling("attention")
    pooled = np.asarray(layer(X, mask=MASK))
    changed = X.copy()
    changed[~MASK] = 100.0  # padded steps: any value
    np.testing.assert_allclose(np.asarray(layer(changed, mask=MASK)), pooled, rtol=1e-6)
    for row in range(3):  # a convex combination of the real steps
        real = X[row][MASK[row]]
        assert np.all(pooled[row] <= real.max(0) + 1e-6)
        assert np.all(pooled[row] >= real.min(0) - 1e-6)


def test_bad_mode_names_the_argument():
    with pytest.raises(ValueError, match=r"Expected `mode` to be one of .*Received: mode='sum'"):
        SequencePooling("sum")


@pytest.mark.multi_backend
@pytest.mark.parametrize("mode", POOLING_MODES)
def test_four_dimensional_input_pools_each_word_over_its_characters(mode):
    # (batch=1, words=3, characters=4, features=2): each word is a row of X.
    layer = SequencePooling(mode)
    pooled = np.asarray(layer(X[None], mask=MASK[None]))
    assert pooled.shape == (1, 3, 2)
    np.testing.assert_allclose(pooled[0], np.asarray(layer(X, mask=MASK)), rtol=1e-6)
    if mode in EXPECTED:
        np.testing.assert_allclose(pooled[0], EXPECTED[mode], rtol=1e-6)
    assert layer.compute_output_shape((None, None, 4, 2)) == (None, None, 2)
