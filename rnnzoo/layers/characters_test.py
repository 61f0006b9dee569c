"""CharacterCNN: the shared layer checks, and padding that changes nothing."""

import keras
import numpy as np
import pytest

from rnnzoo.layers.characters import CharacterCNN
from rnnzoo.layers.layer_test_case import run_layer_test

RNG = np.random.default_rng(0)
# (batch=2, words=3, characters=4, dim=5); word lengths 4, 2, 0 | 1, 3, 0
LENGTHS = np.array([[4, 2, 0], [1, 3, 0]])
MASK = np.arange(4)[None, None] < LENGTHS[..., None]
CHARS = RNG.normal(size=(2, 3, 4, 5)).astype("float32")


@pytest.mark.multi_backend
def test_layer(tmp_path):
    out = run_layer_test(
        CharacterCNN, dict(filters=6, kernel_size=3), CHARS, call_kwargs=dict(mask=MASK),
        expected_output_shape=(2, 3, 6), expected_num_trainable_weights=2,
        supports_masking=True, input_mask=MASK, expected_output_mask=None,
        mask_changes_output=True, tmp_path=tmp_path)
    out = np.asarray(out)
    np.testing.assert_array_equal(out[:, 2], 0.0)  # a padded word: zeros


@pytest.mark.multi_backend
def test_a_word_is_the_same_however_far_its_batch_pads():
    layer = CharacterCNN(filters=6)
    padded = keras.ops.convert_to_numpy(layer(CHARS, mask=MASK))
    changed = np.where(MASK[..., None], CHARS, 50.0).astype("float32")  # any padding value
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(changed, mask=MASK)), padded,
                               rtol=1e-6)
    # The word of 2 characters alone, cut to 2 characters: the same vector.
    alone = keras.ops.convert_to_numpy(layer(CHARS[:1, 1:2, :2], mask=MASK[:1, 1:2, :2]))
    np.testing.assert_allclose(alone[0, 0], padded[0, 1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Received: filters=0"):
        CharacterCNN(filters=0)
