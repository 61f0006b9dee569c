"""validation: token ids outside the vocabulary are rejected, naming the data."""

import numpy as np
import pytest

import rnnzoo


def test_token_ids_outside_the_vocabulary_are_rejected():
    rnnzoo.check_token_ids(np.array([[0, 3, 9]]), 10)
    with pytest.raises(ValueError, match=r"vocabulary_size=10.*Received: x_train with ids in \[0, 10\]"):
        rnnzoo.check_token_ids(np.array([[0, 3, 10]]), 10, arg="x_train")
    with pytest.raises(ValueError, match="Received: inputs with ids in \\[-1, 3\\]"):
        rnnzoo.check_token_ids(np.array([[-1, 3]]), 10)


def test_check_fraction_rules():
    from rnnzoo.validation import check_fraction

    assert check_fraction("dropout", 0) == 0.0 and check_fraction("dropout", np.float32(0.5)) == 0.5
    for bad in (-0.1, 1.0, "0.1", True, None):
        with pytest.raises(ValueError, match=r"Expected `dropout` to be a float in \[0, 1\)\. "
                                             f"Received: dropout={bad!r}"):
            check_fraction("dropout", bad)
    # allow_zero=False: a fraction that may not be 0 (resolve.check_fraction's old rule).
    assert check_fraction("test_fraction", 0.2, allow_zero=False) == 0.2
    with pytest.raises(ValueError, match=r"in \(0, 1\)\. Received: test_fraction=0\.0"):
        check_fraction("test_fraction", 0.0, allow_zero=False)
