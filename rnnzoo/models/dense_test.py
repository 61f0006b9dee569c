"""dense_baseline: the shared model checks per input kind, counts, errors."""

import numpy as np
import pytest

from rnnzoo.models.dense import dense_baseline
from rnnzoo.models.model_test_case import run_model_test

RNG = np.random.default_rng(0)


# (presets_test covers the bag of embeddings)
@pytest.mark.parametrize("config, x, y, shape", [
    (dict(num_features=2, sequence_length=5, units=[6, 4], num_layers=2, num_outputs=3),
     RNG.normal(size=(3, 5, 2)).astype("float32"), np.ones((3, 3), "float32"), (3, 3)),
    (dict(num_features=4, units=6, dropout=0.2, num_classes="binary"),
     RNG.normal(size=(3, 4)).astype("float32"), np.array([0, 1, 1]), (3, 1)),
])
def test_dense_baseline(config, x, y, shape, tmp_path):
    run_model_test(dense_baseline, dict(config, name="mlp"), x, y, shape, tmp_path=tmp_path)


def test_counts():
    model = dense_baseline(num_features=5, units=[7, 6], num_layers=2, num_outputs=2)
    assert model.count_params() == (5 * 7 + 7) + (7 * 6 + 6) + (6 * 2 + 2)
    window = dense_baseline(num_features=2, sequence_length=4, units=3, num_outputs=1)
    assert window.count_params() == (8 * 3 + 3) + (3 + 1)


@pytest.mark.parametrize("kwargs, received", [
    (dict(num_features=3, num_outputs=0), "num_outputs=0"),
    (dict(num_features=3, sequence_length=0, num_outputs=1), "sequence_length=0"),
    (dict(num_outputs=1), "vocabulary_size=None, num_features=None"),
    (dict(num_features=3, num_outputs=1, dropout=-0.1), "dropout=-0.1"),
])
def test_bad_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        dense_baseline(**kwargs)
