import numpy as np
import pytest

from rnnzoo.data.windows import make_windows


@pytest.mark.multi_backend
def test_make_windows_values_and_determinism():
    array = np.arange(40.0).reshape(20, 2)
    h1, f1, o1 = make_windows(array, 4, 3, 4, 17, stride=2)
    h2, f2, o2 = make_windows(array, 4, 3, 4, 17, stride=2)
    np.testing.assert_array_equal(h1, h2)
    assert o1.tolist() == [4, 6, 8, 10, 12, 14, 16]
    for k, t in enumerate(o1):
        np.testing.assert_array_equal(h1[k], array[t - 4:t])
        np.testing.assert_array_equal(f1[k], array[t:t + 3])


def test_make_windows_rejects_out_of_range_origin():
    with pytest.raises(ValueError, match="first_origin"):
        make_windows(np.zeros((10, 1)), 4, 2, 3, 8)
