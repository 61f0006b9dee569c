"""WordDropout: the shared layer checks, the rate it drops at, padding kept, a clear error."""

import keras
import numpy as np
import pytest

from rnnzoo.layers.layer_test_case import run_layer_test
from rnnzoo.layers.word_dropout import WordDropout


@pytest.mark.multi_backend
def test_word_dropout_replaces_real_ids_at_the_rate_in_training_only(tmp_path):
    ids = np.array([[3, 7, 9, 0], [4, 5, 0, 0]], "int32")
    out = run_layer_test(WordDropout, dict(rate=0.3, seed=1), ids,
                         expected_output_shape=(2, 4), mixed_precision_dtypes="int32",
                         supports_masking=True, run_training_step=False, tmp_path=tmp_path)
    np.testing.assert_array_equal(np.asarray(out), ids)  # inference: unchanged
    layer = WordDropout(0.3, unknown_id=2, seed=0)
    many = np.tile(np.arange(3, 103, dtype="int32"), (200, 1))
    many[:, 80:] = 0  # padding
    dropped = np.asarray(layer(many, training=True))
    replaced = dropped != many
    assert (dropped[replaced] == 2).all() and not replaced[:, 80:].any()
    assert abs(replaced[:, :80].mean() - 0.3) < 0.01  # 16,000 draws: sd 0.004
    assert (np.asarray(layer(many, training=True)) != dropped).any()  # new draws each call


def test_word_dropout_rate_error():
    with pytest.raises(ValueError, match=r"`rate`.*Received: rate=1.5"):
        WordDropout(1.5)
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(WordDropout(0.2, unknown_id=3))).unknown_id == 3
