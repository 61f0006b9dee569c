"""Length-bucketed batches of right-padded sequences (a `keras.utils.PyDataset`).

Sentences vary in length, and a batch padded to the longest sentence of the
whole set wastes most of its time steps on padding: on the English-French
pairs cut at 15 tokens, about 40% of the target steps of a random batch are
padding. `LengthBatches` sorts the examples by length (with random
tie-breaking that changes every epoch), cuts the sorted order into batches,
trims each batch to its own longest row (rounded up to a multiple of
`multiple`, so only a few distinct shapes are ever compiled) and shuffles
the order of the batches every epoch. It is a `PyDataset`, so it works with
`model.fit` on every backend.
"""

import math

import keras
import numpy as np

from rnnzoo.validation import check_positive_int


def _check_arrays(name, arrays):
    arrays = [np.asarray(a) for a in (arrays if isinstance(arrays, (list, tuple)) else [arrays])]
    for a in arrays:
        if a.ndim not in (1, 2, 3):
            raise ValueError(
                f"Expected `{name}` to be 1-D, 2-D or 3-D arrays (2-D: right-padded "
                f"with 0; 3-D, e.g. characters of words: right-padded on both axes). "
                f"Received: {name} with shape {a.shape}"
            )
    return arrays


def row_lengths(array):
    """The length of each right-padded row: one past its last non-zero id.

    Example:

    >>> row_lengths(np.array([[5, 3, 0, 0], [4, 0, 2, 0], [0, 0, 0, 0]])).tolist()
    [2, 3, 0]
    """
    array = np.asarray(array)
    nonzero = array != 0
    last = array.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 0)


class LengthBatches(keras.utils.PyDataset):
    """Batches of similar-length examples, each trimmed to its longest row.

    Args:
        x: an array or a list of arrays (the model's inputs); 2-D arrays are
            right-padded with 0 and are trimmed per batch, 3-D arrays (the
            characters of each word) are trimmed on both padded axes, 1-D
            arrays are passed through.
        y: an array or list of arrays (the targets), same rules; or None.
        batch_size: examples per batch (one batch may be smaller).
        multiple: each batch's width is rounded up to a multiple of this
            (bounds the number of distinct shapes the backend compiles).
        shuffle: random tie-breaking within equal lengths and a new batch
            order every epoch (False: a fixed order, shortest first).
            Either way the first two batches are the narrowest one and one
            wider than it in every array: Keras' TensorFlow adapter reads
            the batch shapes off the first batches and fixes every
            dimension on which they agree.
        seed: seed of that shuffling.
        **kwargs: passed to `keras.utils.PyDataset` (`workers`, ...).

    Example:

    >>> x = np.array([[3, 4, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0],
    ...               [6, 7, 8, 9, 2, 0], [1, 2, 3, 0, 0, 0]])
    >>> data = LengthBatches(x, np.arange(4), batch_size=2, multiple=1,
    ...                      shuffle=False)
    >>> [b[0].shape for b in data]
    [(2, 2), (2, 5)]
    """

    def __init__(self, x, y=None, *, batch_size=64, multiple=4, shuffle=True,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.single_x = not isinstance(x, (list, tuple))
        self.single_y = y is not None and not isinstance(y, (list, tuple))
        self.x = _check_arrays("x", x)
        self.y = None if y is None else _check_arrays("y", y)
        arrays = self.x + (self.y or [])
        n = len(arrays[0])
        for a in arrays:
            if len(a) != n:
                raise ValueError(
                    "Expected every array in `x` and `y` to have the same number "
                    f"of rows. Received: row counts {[len(b) for b in arrays]}"
                )
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.multiple = check_positive_int("multiple", multiple)
        self.shuffle = bool(shuffle)
        self.rng = np.random.default_rng(seed)
        self._arrays = arrays
        # Each 2-D array's row lengths, computed once: they order the
        # examples and size every batch.
        self._lengths = [None if a.ndim == 1 else row_lengths(a if a.ndim == 2 else a.any(-1))
                         for a in arrays]
        # A 3-D array's depth per row: its longest inner row (longest word).
        self._depths = [row_lengths(a.reshape(-1, a.shape[2])).reshape(a.shape[:2]).max(1)
                        if a.ndim == 3 and a.size else None for a in arrays]
        # Sort keys, most significant first: the last array's length (the
        # targets), then the one before, and so on.
        lengths = [ln for ln in self._lengths if ln is not None]
        self._keys = lengths[::-1] if lengths else [np.zeros(n, "int64")]
        self._num_batches = math.ceil(n / self.batch_size) if n else 0
        self._make_batches()

    def arrays(self):
        """`(x, y)`: the whole arrays the batches are cut from (checked by `rnnzoo.fit`)."""
        x = self.x[0] if self.single_x else list(self.x)
        y = None if self.y is None else (self.y[0] if self.single_y else list(self.y))
        return x, y

    def _make_batches(self):
        n = len(self._keys[0])
        tie = self.rng.random(n) if self.shuffle else np.arange(n)
        order = np.lexsort([tie] + self._keys[::-1])
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(batches)
        self._batches = self._spec_first(batches)

    def _spec_first(self, batches):
        # Keras' TensorFlow adapter reads the batch shapes off the first few
        # batches (`NUM_BATCHES_FOR_TENSOR_SPEC`) and makes a dimension
        # variable only where they differ: so the first two batches are the
        # narrowest one and the one wider than it in every array.
        if len(batches) < 2:
            return batches
        widths = np.array([self._widths(rows) for rows in batches])
        first = int(np.lexsort(widths.T[::-1])[0])
        # The second differs from the first in as many widths as possible
        # (every one when some batch does; wider ones first among equals).
        differs = (widths != widths[first]).sum(axis=1)
        wider = (widths - widths[first]).min(axis=1)
        second = int(np.lexsort([-wider, -differs])[0])
        if second == first:
            return batches
        rest = [b for i, b in enumerate(batches) if i not in (first, second)]
        return [batches[first], batches[second]] + rest

    def _widths(self, rows):
        widths = [self._width(k, rows) for k, ln in enumerate(self._lengths) if ln is not None]
        return widths + [self._width(k, rows, self._depths, 2)
                         for k, d in enumerate(self._depths) if d is not None]

    def _width(self, k, rows, lengths=None, axis=1):
        lengths = self._lengths if lengths is None else lengths
        width = int(lengths[k][rows].max()) if len(rows) else 0
        width = -(-max(width, 1) // self.multiple) * self.multiple
        return min(self._arrays[k].shape[axis], width)

    def __len__(self):
        return self._num_batches

    def _take(self, k, rows):
        part = self._arrays[k][rows]
        if part.ndim >= 2:
            part = part[:, :self._width(k, rows)]
        if part.ndim == 3 and self._depths[k] is not None:
            part = part[:, :, :self._width(k, rows, self._depths, 2)]
        return part

    def __getitem__(self, index):
        rows = np.sort(self._batches[index])
        parts = [self._take(k, rows) for k in range(len(self._arrays))]
        x, y = parts[:len(self.x)], parts[len(self.x):]
        x = x[0] if self.single_x else tuple(x)
        if self.y is None:
            return (x,)
        return x, (y[0] if self.single_y else tuple(y))

    def on_epoch_end(self):
        if self.shuffle:
            self._make_batches()
