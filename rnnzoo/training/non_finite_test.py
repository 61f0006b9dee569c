"""A NaN in training stops it at that batch with the last good step's weights."""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.training.non_finite import NonFiniteLossError


class Batches(keras.utils.PyDataset):
    """GENERATED batches of a forecaster; one NaN at `(batch, row)` when `bad` is given."""

    def __init__(self, n, bad=None):
        super().__init__()
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(n, 4, 6, 2)).astype("float32")
        self.y = rng.normal(size=(n, 4, 3, 1)).astype("float32")
        if bad is not None:
            self.x[bad[0], bad[1], 2, 1] = np.nan

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    return rnnzoo.compile_for(
        rnnzoo.forecaster(sequence_length=6, num_features=2, horizon=3, units=5), **kwargs)


@pytest.mark.multi_backend
def test_nan_batch_stops_training_with_the_last_good_steps_weights():
    model = _model()
    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 1, batch 4 .*"
                                                 r"weights of the last good step.*x: \[2\]"):
        rnnzoo.fit(model, Batches(6, bad=(3, 2)), epochs=2, shuffle=False, verbose=0)
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    # The same model trained on the three good batches only: the same weights.
    good = _model()
    rnnzoo.fit(good, Batches(6, bad=(3, 2)), epochs=1, steps_per_epoch=3, shuffle=False,
               verbose=0)
    for a, b in zip(weights, good.get_weights()):
        np.testing.assert_array_equal(a, b)
    # And it still predicts finite numbers from clean inputs.
    assert np.isfinite(model.predict(Batches(1).x[0], verbose=0)).all()


def test_the_guard_changes_no_finite_step_and_without_it_weights_turn_nan():
    data = Batches(3)
    guarded, plain = _model(), _model(skip_non_finite=False)
    assert type(plain.optimizer).__name__ == "Adam"
    for model in (guarded, plain):
        model.fit(data, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(guarded.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Without the guard the NaN step reaches the weights, and the error says so.
    with pytest.raises(NonFiniteLossError, match="may be NaN now"):
        rnnzoo.fit(plain, Batches(3, bad=(1, 0)), shuffle=False, verbose=0)
    assert not all(np.isfinite(w).all() for w in plain.get_weights())


def test_a_shuffled_dataset_or_a_diverging_run_says_what_it_can():
    with pytest.raises(NonFiniteLossError, match="shuffled the batches"):
        rnnzoo.fit(_model(), Batches(3, bad=(1, 0)), verbose=0)
    # Finite data whose squared error overflows float32: divergence, not bad rows.
    model = _model()
    y = np.full((4, 3, 1), 3e38, "float32")
    with pytest.raises(NonFiniteLossError, match="became inf .*training diverged"):
        rnnzoo.fit(model, np.zeros((4, 6, 2), "float32"), y, verbose=0, shuffle=False)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_arrays_given_to_the_callback_are_searched_and_no_data_claims_nothing():
    from rnnzoo.training.non_finite import StopOnNonFiniteLoss

    x = np.ones((8, 6, 2), "float32")
    x[5, 1, 0] = np.nan
    y = np.ones((8, 3, 1), "float32")
    with pytest.raises(NonFiniteLossError, match=r"Rows of the training inputs .*x: \[5\]"):
        _model().fit(x, y, batch_size=4, shuffle=False, verbose=0,
                     callbacks=[StopOnNonFiniteLoss(data=x)])
    with pytest.raises(NonFiniteLossError, match="No data was given") as error:
        _model().fit(x, y, batch_size=4, shuffle=False, verbose=0,
                     callbacks=[StopOnNonFiniteLoss()])
    assert "diverged" not in str(error.value)
