"""Batches for truncated backpropagation through time over one long sequence."""

import numpy as np

from rnnzoo.validation import check_positive_int


def tbptt_batches(ids, batch_size, sequence_length):
    """Cuts one long id sequence into batches for truncated BPTT.

    The text is split into `batch_size` contiguous streams; batch k holds
    steps `[k * sequence_length, (k + 1) * sequence_length)` of every
    stream, so row b of batch k continues row b of batch k - 1 (Dive into
    Deep Learning's sequential partitioning). Targets are the inputs shifted
    by one token. Feed a stateful `rnnzoo.language_model` with them
    (`shuffle=False`, `rnnzoo.training.callbacks.ResetStates`).

    Args:
        ids: 1-D integer array, the whole text as token ids.
        batch_size: number of parallel streams (the model's batch size).
        sequence_length: time steps per batch (the truncation length).

    Returns:
        `(x, y)`, each `(num_batches * batch_size, sequence_length)`, ordered
        so that `model.fit(x, y, batch_size=batch_size, shuffle=False)` feeds
        the batches in order.

    Example:

    >>> x, y = tbptt_batches(np.arange(1, 22), batch_size=2, sequence_length=3)
    >>> x[:2].tolist(), x[2:4].tolist()
    ([[1, 2, 3], [11, 12, 13]], [[4, 5, 6], [14, 15, 16]])
    """
    ids = np.asarray(ids)
    batch_size = check_positive_int("batch_size", batch_size)
    sequence_length = check_positive_int("sequence_length", sequence_length)
    stream_length = (len(ids) - 1) // batch_size
    num_batches = stream_length // sequence_length
    if num_batches < 1:
        raise ValueError(
            f"The text is too short for batch_size={batch_size} and "
            f"sequence_length={sequence_length}. Received: ids of length {len(ids)}"
        )
    used = stream_length * batch_size
    xs = ids[:used].reshape(batch_size, stream_length)
    ys = ids[1:used + 1].reshape(batch_size, stream_length)
    span = num_batches * sequence_length
    xs = xs[:, :span].reshape(batch_size, num_batches, sequence_length)
    ys = ys[:, :span].reshape(batch_size, num_batches, sequence_length)
    x = xs.transpose(1, 0, 2).reshape(-1, sequence_length)
    y = ys.transpose(1, 0, 2).reshape(-1, sequence_length)
    return x, y
