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
