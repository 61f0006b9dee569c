"""language_model: the shared model checks, counts, stateful TBPTT, errors."""

import numpy as np
import pytest

from rnnzoo.models.language_model import language_model
from rnnzoo.models.model_test_case import lstm_params
from rnnzoo.models.model_test_case import run_model_test
from rnnzoo.training.callbacks import ResetStates


def test_language_model(tmp_path):
    x = np.array([[1, 4, 5, 6, 7], [1, 8, 2, 0, 0], [1, 3, 0, 0, 0]], "int32")
    y = np.roll(x, -1, axis=1) * (x > 0)
    run_model_test(
        language_model, dict(vocabulary_size=9, embedding_dim=6, cell="gru", units=6,
                             num_layers=2, residual=True, name="lm"),
        x, y, (3, 5, 9), input_lengths=[[5, 3, 2]], output_lengths=[5, 3, 2], tmp_path=tmp_path,
    )


def test_counts():
    model = language_model(vocabulary_size=40, embedding_dim=6, units=10, num_layers=2)
    assert model.count_params() == 40 * 6 + lstm_params(6, 10) + lstm_params(10, 10) + 10 * 40 + 40


def test_stateful_language_model_carries_states_between_batches():
    model = language_model(vocabulary_size=12, units=6, num_layers=1, stateful=True,
                           batch_size=2)
    ids = np.arange(1, 13).reshape(2, 6) % 11 + 1
    whole = np.asarray(model(ids))
    callback = ResetStates()
    callback.set_model(model)
    callback.on_epoch_begin(0)
    first = np.asarray(model(ids[:, :3]))
    second = np.asarray(model(ids[:, 3:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-5)
    callback.on_epoch_begin(1)
    np.testing.assert_allclose(np.asarray(model(ids[:, :3])), first, atol=1e-6)


def test_stateful_needs_a_batch_size():
    with pytest.raises(ValueError, match="Received: stateful=True, batch_size=None"):
        language_model(vocabulary_size=9, stateful=True)
