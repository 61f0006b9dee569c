"""`keras.ops` forms that every exporter converts (tf2onnx, LiteRT builtins).

Example:

>>> import numpy as np
>>> np.asarray(argmax(np.array([[0.1, 0.7, 0.7], [-0.0, -1.0, -2.0]]), axis=-1)).tolist()
[1, 0]
"""

from keras import ops


def argmax(x, axis):
    """`argmax` (the first maximum, int32) through an integer argmax.

    Keras' float `argmax` on TensorFlow maps -0.0 with `Bitcast` and
    `BitwiseAnd` ops, which tf2onnx and LiteRT's builtin ops lack; the
    maxima as 0/1 integers need no such step. The CRF's Viterbi decoding and
    the greedy sampler use it, so both export.
    """
    top = ops.cast(ops.equal(x, ops.max(x, axis=axis, keepdims=True)), "int32")
    return ops.cast(ops.argmax(top, axis=axis), "int32")
