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
