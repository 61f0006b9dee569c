"""PaddingMask, TimeSlice, FirstStep: the shared layer checks and their values."""

import numpy as np
import pytest

from rnnzoo.layers.layer_test_case import run_layer_test
from rnnzoo.layers.masks import FirstStep
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.masks import TimeSlice

X = np.arange(30, dtype="float32").reshape(2, 5, 3)


@pytest.mark.multi_backend
@pytest.mark.parametrize("pad_id", [0, 7])
def test_padding_mask(pad_id, tmp_path):
    ids = np.array([[3, 7, 0], [0, 5, 7]], "int32")
    mask = run_layer_test(PaddingMask, dict(pad_id=pad_id), ids, expected_output_shape=(2, 3),
                          mixed_precision_dtypes="bool", tmp_path=tmp_path)
    np.testing.assert_array_equal(np.asarray(mask), ids != pad_id)


@pytest.mark.parametrize("start, stop, first, last, shape", [
    (-1, None, 0, 1, (2, 1, 1)),
    (1, 4, None, None, (2, 3, 3)),
    (None, None, 1, None, (2, 5, 2)),
])
def test_time_slice(start, stop, first, last, shape, tmp_path):
    out = run_layer_test(
        TimeSlice, dict(start=start, stop=stop, first_feature=first, last_feature=last), X,
        expected_output_shape=shape, tmp_path=tmp_path,
    )
    np.testing.assert_array_equal(np.asarray(out), X[:, start:stop, first:last])


@pytest.mark.multi_backend
def test_first_step(tmp_path):
    x = X[:, :1]
    out = run_layer_test(
        FirstStep, {}, x, expected_output_shape=(2, 3),
        # the time axis is gone, and so is the mask
        supports_masking=True, input_mask=np.array([[True], [False]]),
        expected_output_mask=None, mask_changes_output=False, tmp_path=tmp_path,
    )
    np.testing.assert_array_equal(np.asarray(out), x[:, 0])
