"""tbptt_batches: each row continues the same row of the previous batch."""

import numpy as np
import pytest

from rnnzoo.data.tbptt import tbptt_batches


def test_rows_continue_across_batches():
    ids = np.arange(1, 102)
    x, y = tbptt_batches(ids, batch_size=4, sequence_length=5)
    assert x.shape == y.shape == (20, 5)
    np.testing.assert_array_equal(y, x + 1)
    # Row b of batch k+1 starts where row b of batch k ended.
    np.testing.assert_array_equal(x[4:8, 0], x[0:4, -1] + 1)
    # 4 streams of 25 steps: stream b starts at id 1 + 25 b.
    np.testing.assert_array_equal(x[0:4, 0], [1, 26, 51, 76])


def test_too_short_a_text_names_the_arguments():
    with pytest.raises(ValueError, match="sequence_length=5. Received: ids of length 9"):
        tbptt_batches(np.arange(9), batch_size=2, sequence_length=5)
    with pytest.raises(ValueError, match="Received: sequence_length=0"):
        tbptt_batches(np.arange(9), batch_size=2, sequence_length=0)
