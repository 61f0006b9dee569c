"""The time loops of rnnzoo's layers, and the export-friendly form they take under `builtin_loops()`.

`scan(step, init, xs)` is `keras.ops.scan` (one plain call of `step` when
`xs` has one step, known statically, as in a one-step decoder) except inside
`builtin_loops()`, the context `rnnzoo.export(format="litert")` traces the
model under. There it is a `keras.ops.while_loop` that writes each step's
output into a preallocated `(time, ...)` buffer with `keras.ops.scatter_update`.
Why: on TensorFlow `ops.scan` (and `tf.scan`) stacks its outputs in a
TensorArray; with an unknown batch size the LiteRT converter can keep those
TensorList ops only as flex (SELECT_TF_OPS) kernels, which the plain LiteRT
interpreter and microcontrollers do not have. The buffered loop converts to
the builtin `WHILE` and `SCATTER_ND`-style ops (and, through tf2onnx, to an
ONNX `Loop` with `ScatterND`; `slice_update` would give an XLA op tf2onnx
lacks). Each step's write costs a copy of the buffer, O(time). It is forward only (no
gradient is defined through it on JAX), so it is meant for export, not
training.

The users: the fused LSTM/GRU loops (`rnnzoo.layers.fast_rnn`), the simple
RNN (`rnnzoo.layers.fast_rnn.SimpleRNN`) and the CRF's forward algorithm and
Viterbi decoding (`rnnzoo.layers.crf`).
"""

import contextlib
import threading

from keras import ops
from keras import tree

_STATE = threading.local()


@contextlib.contextmanager
def _setting(name):
    """Within: the thread's setting `name` is on (restored on the way out)."""
    previous = getattr(_STATE, name, False)
    setattr(_STATE, name, True)
    try:
        yield
    finally:
        setattr(_STATE, name, previous)


def builtin_loops():
    """Within: `scan` traces the buffered while loop (forward only, for export).

    Example:

    >>> with builtin_loops():
    ...     builtin_loops_enabled()
    True
    >>> builtin_loops_enabled()
    False
    """
    return _setting("enabled")


def builtin_loops_enabled():
    """Whether `scan` traces the buffered loop (inside `builtin_loops()`)."""
    return getattr(_STATE, "enabled", False)


def plain_loops():
    """Within: no loop is traced as an XLA-compiled function (`rnnzoo.export`).

    An exported file holds plain TensorFlow ops, which tf2onnx, LiteRT and
    TensorFlow Serving without XLA can all run; outside, the fused layers'
    TensorFlow loops may be XLA-compiled (`rnnzoo.layers.fast_rnn.tf_kernels`).

    Example:

    >>> with plain_loops():
    ...     plain_loops_enabled()
    True
    >>> plain_loops_enabled()
    False
    """
    return _setting("plain")


def plain_loops_enabled():
    """Whether loops stay plain TensorFlow ops (inside `plain_loops()`)."""
    return getattr(_STATE, "plain", False)


def scan(step, init, xs, reverse=False, like=None):
    """`keras.ops.scan(step, init, xs, reverse=reverse)`; the buffered loop in `builtin_loops()`.

    Args:
        step: `(carry, x_t) -> (carry, y_t)`; `carry` and `y_t` may be
            tuples of tensors.
        init: the first carry.
        xs: a tensor or a tuple of tensors with time as their first axis.
        reverse: run from the last step to the first (outputs stay in time
            order, as `keras.ops.scan`).
        like: optional `carry -> y`-shaped tensors (e.g. `lambda c: c[0]`
            when each output is the carry's first entry), for the buffers'
            shapes. Without it one extra step on zero inputs gives them, and
            the weights it reads appear outside the loop too (twice in a
            LiteRT file).

    Returns:
        `(last carry, ys)`, `ys` stacked along a new first (time) axis.

    Example:

    >>> import numpy as np
    >>> add = lambda total, x: (total + x, total + x)
    >>> total, partial = scan(add, np.float32(0), np.arange(4, dtype="float32"))
    >>> with builtin_loops():
    ...     same = scan(add, np.float32(0), np.arange(4, dtype="float32"))
    >>> float(total), np.asarray(partial).tolist(), np.asarray(same[1]).tolist()
    (6.0, [0.0, 1.0, 3.0, 6.0], [0.0, 1.0, 3.0, 6.0])
    """
    flat = [ops.convert_to_tensor(x) for x in tree.flatten(xs)]
    steps = ops.shape(flat[0])[0]

    def at(t):
        return tree.pack_sequence_as(xs, [x[t] for x in flat])

    if isinstance(steps, int) and steps == 1:  # e.g. a one-step decoder: no loop at all
        carry, y = step(init, at(0))
        return carry, tree.map_structure(lambda v: ops.expand_dims(v, 0), y)
    if not builtin_loops_enabled():
        return ops.scan(step, init, xs, reverse=reverse)

    if like is not None:
        structure = like(init)
    else:  # one step on zeros (`xs` may have no step at all)
        zeros = tree.pack_sequence_as(xs, [ops.zeros(ops.shape(x)[1:], x.dtype) for x in flat])
        _, structure = step(init, zeros)
    buffers = [ops.zeros((steps, *ops.shape(y)), y.dtype) for y in tree.flatten(structure)]

    if isinstance(steps, int) and steps == 0:  # known statically (JAX would still trace `at`)
        return init, tree.pack_sequence_as(structure, list(buffers))

    def body(i, carry, buffers):
        t = steps - 1 - i if reverse else i
        carry, y = step(carry, at(t))
        index = ops.reshape(t, (1, 1))
        buffers = [ops.scatter_update(b, index, ops.expand_dims(v, 0))
                   for b, v in zip(buffers, tree.flatten(y))]
        return i + 1, carry, buffers

    _, carry, buffers = ops.while_loop(lambda i, carry, buffers: i < steps, body,
                                       (0, init, buffers))
    return carry, tree.pack_sequence_as(structure, list(buffers))
