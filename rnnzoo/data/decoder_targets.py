"""Decoder inputs and targets for teacher forcing (seq2seq, captioning, generators).

A decoder trained with teacher forcing reads the target sequence shifted
right behind a start token and predicts it followed by an end token:

    target_in  = [start] + y        (what the decoder reads)
    target_out = y + [end]          (what it must predict at each step)

`rnnzoo.decode(model, ..., start_token=start, end_token=end)` then
generates with the same two ids: it feeds `start` first and stops at `end`.
"""

import numpy as np

from rnnzoo.validation import check_optional_positive_int


def _rows(sequences, pad_id):
    """Ragged lists of ids: right-padded 2-D arrays lose their padding."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        return [row[row != pad_id] if pad_id is not None else row for row in sequences]
    if isinstance(sequences, np.ndarray) and sequences.ndim != 1:
        raise ValueError(
            "Expected `sequences` to be a list of token-id sequences or a right-padded 2-D "
            f"array. Received: sequences with shape {sequences.shape}"
        )
    return [np.asarray(row) for row in sequences]


def teacher_forcing(sequences, *, start_token, end_token, max_length=None, pad_id=0):
    """Builds `(target_in, target_out)` from target token sequences.

    Args:
        sequences: a list of token-id sequences, or a right-padded 2-D array
            (`pad_id` marks the padding).
        start_token: the id the decoder reads first (the `start_token` of
            `rnnzoo.decode`).
        end_token: the id that ends every target (`decode`'s `end_token`).
        max_length: the number of decoder steps (columns of both arrays);
            a longer sequence keeps its first `max_length - 1` tokens, so
            the start and end tokens always fit. None: one more than the
            longest sequence.
        pad_id: the padding id of both outputs (and of a padded input).

    Returns:
        `(target_in, target_out)`: int32 arrays of shape
        `(len(sequences), max_length)`, right-padded with `pad_id`.

    Example:

    >>> x_in, x_out = teacher_forcing([[5, 6, 7], [8]], start_token=2, end_token=3)
    >>> x_in.tolist(), x_out.tolist()
    ([[2, 5, 6, 7], [2, 8, 0, 0]], [[5, 6, 7, 3], [8, 3, 0, 0]])
    """
    max_length = check_optional_positive_int("max_length", max_length)
    if max_length is not None and max_length < 2:
        raise ValueError(
            "Expected `max_length` of at least 2 (the start or end token and one token). "
            f"Received: max_length={max_length}"
        )
    rows = _rows(sequences, pad_id)
    for arg, value in (("start_token", start_token), ("end_token", end_token)):
        if not isinstance(value, (int, np.integer)) or value < 0 or value == pad_id:
            raise ValueError(
                f"Expected `{arg}` to be a non-negative integer id other than "
                f"pad_id={pad_id}. Received: {arg}={value!r}"
            )
    for i, row in enumerate(rows):
        if row.size and not np.issubdtype(row.dtype, np.integer):
            raise ValueError(
                f"Expected integer token ids in `sequences`. Received: sequences[{i}] with "
                f"dtype={row.dtype}"
            )
    if max_length is None:
        max_length = 1 + max((len(row) for row in rows), default=0)
    target_in = np.full((len(rows), max_length), pad_id, "int32")
    target_out = np.full((len(rows), max_length), pad_id, "int32")
    for i, row in enumerate(rows):
        row = row[: max_length - 1]
        target_in[i, 0] = start_token
        target_in[i, 1:len(row) + 1] = row
        target_out[i, :len(row)] = row
        target_out[i, len(row)] = end_token
    return target_in, target_out
