"""SequenceAttention: the shared layer checks, masked weights, argument errors."""

import numpy as np
import pytest

from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.layers.layer_test_case import SAME
from rnnzoo.layers.layer_test_case import run_layer_test

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3, 4)).astype("float32")
MEMORY = RNG.normal(size=(2, 5, 6)).astype("float32")
MEMORY_MASK = np.array([[True] * 5, [True, True, True, False, False]])
QUERY_MASK = np.array([[True, True, True], [True, True, False]])


@pytest.mark.parametrize("kind, units, num_weights", [
    pytest.param("luong", None, 1, marks=pytest.mark.multi_backend),
    ("bahdanau", 7, 3),
])
def test_layer(kind, units, num_weights, tmp_path):
    context, weights = run_layer_test(
        SequenceAttention, dict(kind=kind, units=units), [QUERY, MEMORY],
        call_kwargs=dict(memory_mask=MEMORY_MASK),
        expected_output_shape=[(2, 3, 6), (2, 3, 5)],
        expected_num_trainable_weights=num_weights,
        # The context keeps the query's padding; the query mask changes no value.
        supports_masking=True, input_mask=QUERY_MASK,
        expected_output_mask=[SAME, None], mask_changes_output=False,
        # The context in the compute dtype, the weights (a softmax) in float32.
        mixed_precision_dtypes=["bfloat16", "float32"],
        tmp_path=tmp_path,
    )
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[1, :, 3:] == 0.0)  # padded memory steps get no weight
    expected = np.einsum("bts,bsd->btd", weights, MEMORY)
    np.testing.assert_allclose(np.asarray(context), expected, rtol=1e-5, atol=1e-6)


def test_bad_kind_names_the_argument():
    with pytest.raises(ValueError, match=r"Expected `kind` to be one of .*Received: kind='dot'"):
        SequenceAttention("dot")


@pytest.mark.multi_backend
def test_attention_penalty_is_show_attend_tells_term_per_step():
    from rnnzoo.layers.attention import AttentionPenalty

    # Two regions, three steps; the second caption has two real steps.
    weights = np.array([[[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]],
                        [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]], "float32")
    mask = np.array([[True, True, True], [True, True, False]])
    layer = AttentionPenalty(2.0)
    x = np.ones((2, 3, 4), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x, weights, mask)), x)  # passes through
    # Caption 1: sums over steps (2.5, 0.5): (1-2.5)^2 + (1-0.5)^2 = 2.5, / 3 steps.
    # Caption 2: padded step left out, sums (0.5, 1.5): 0.25 + 0.25 = 0.5, / 2 steps.
    expected = 2.0 * (2.5 / 3 + 0.5 / 2) / 2
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)
    config = AttentionPenalty.from_config(layer.get_config()).get_config()
    assert config["weight"] == 2.0
    with pytest.raises(ValueError, match="Received: weight=-1"):
        AttentionPenalty(-1)
