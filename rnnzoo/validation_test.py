"""validation: argument checks; the public token-id check names the data."""

import numpy as np
import pytest

import rnnzoo


def test_token_ids_outside_the_vocabulary_are_rejected():
    assert rnnzoo.check_token_ids(np.array([[0, 3, 9]]), 10).shape == (1, 3)
    with pytest.raises(ValueError, match=r"in `x_train` to lie in \[0, 10\)\. Received: 10 at x_train\[0, 2\]"):
        rnnzoo.check_token_ids(np.array([[0, 3, 10]]), 10, arg="x_train")
    with pytest.raises(ValueError, match=r"Received: -1 at inputs\[0, 0\]"):
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
