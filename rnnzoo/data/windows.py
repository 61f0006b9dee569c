"""Forecasting windows: (history, future) pairs cut from a multivariate series."""

import keras
import numpy as np


def make_windows(array, sequence_length, horizon, first_origin, last_origin,
                 stride=1, batch_size=4096):
    """Cuts (history, future) windows with `timeseries_dataset_from_array`.

    A window with origin `t` has history rows `t - sequence_length .. t - 1`
    and future rows `t .. t + horizon - 1`. Origins run from `first_origin`
    to at most `last_origin`, `stride` apart.

    Args:
        array: `(time, features)` array.
        sequence_length: past steps per window.
        horizon: future steps per window.
        first_origin: the first origin (>= `sequence_length`).
        last_origin: the last allowed origin (<= `len(array) - horizon`).
        stride: steps between origins.
        batch_size: batch size used while materialising.

    Returns:
        `(history, future, origins)`: `(n, sequence_length, features)`,
        `(n, horizon, features)` float32 arrays and the `(n,)` origins.

    Example:

    >>> h, f, o = make_windows(np.arange(10.0)[:, None], 3, 2, 3, 8)
    >>> h[0, :, 0].tolist(), f[0, :, 0].tolist(), o.tolist()
    ([0.0, 1.0, 2.0], [3.0, 4.0], [3, 4, 5, 6, 7, 8])
    """
    array = np.asarray(array, dtype="float32")
    if array.ndim == 1:
        array = array[:, None]
    if first_origin < sequence_length or last_origin > len(array) - horizon:
        raise ValueError(
            "Expected sequence_length <= first_origin <= last_origin <= "
            f"len(array) - horizon. Received: first_origin={first_origin}, "
            f"last_origin={last_origin}, sequence_length={sequence_length}, "
            f"horizon={horizon}, len(array)={len(array)}"
        )
    if last_origin < first_origin:
        raise ValueError(
            "Expected last_origin >= first_origin. Received: "
            f"first_origin={first_origin}, last_origin={last_origin}"
        )
    length = sequence_length + horizon
    dataset = keras.utils.timeseries_dataset_from_array(
        array[first_origin - sequence_length : last_origin + horizon], None,
        sequence_length=length, sequence_stride=stride,
        batch_size=batch_size, shuffle=False,
    )
    windows = np.concatenate([np.asarray(b) for b in dataset], axis=0)
    origins = first_origin + stride * np.arange(len(windows))
    return windows[:, :sequence_length], windows[:, sequence_length:], origins
