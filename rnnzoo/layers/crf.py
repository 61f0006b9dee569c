"""A linear-chain conditional random field: log-likelihood, Viterbi decoding, a layer.

A tag sequence `y` of a sentence with per-step potentials `P` (batch, time,
num_tags) scores

    start[y_0] + sum_t P[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_last]

and the CRF is the softmax of that score over every tag sequence.
`crf_log_likelihood` computes the log-probability of given tags (the
forward algorithm in log space); `crf_decode` the best sequence (Viterbi).
Both run in one compiled loop (`keras.ops.scan`, TensorFlow and JAX) and
are exact for right-padded batches: a padded step (mask False) changes
neither the likelihood nor the decoded real steps, and decodes to tag 0.
"""

import keras
from keras import ops

from rnnzoo.layers import loops
from rnnzoo.layers.portable import argmax


def _prepare(potentials, transitions, mask, start_transitions, end_transitions):
    potentials = ops.cast(ops.convert_to_tensor(potentials), "float32")
    transitions = ops.cast(ops.convert_to_tensor(transitions), "float32")
    num_tags = ops.shape(potentials)[-1]
    if mask is None:
        mask = ops.ones(ops.shape(potentials)[:2], "bool")
    mask = ops.cast(mask, "bool")
    zeros = ops.zeros((num_tags,), "float32")
    start = zeros if start_transitions is None else ops.cast(start_transitions, "float32")
    end = zeros if end_transitions is None else ops.cast(end_transitions, "float32")
    return potentials, transitions, mask, start, end


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def _steps(potentials, mask):
    """Steps 1.. as ONE time-major tensor `(time - 1, batch, num_tags + 1)`.

    The last channel is the mask. One tensor, because Keras' TensorFlow
    `scan` fails on several inputs whose time axis is unknown when traced.
    """
    real = ops.cast(ops.expand_dims(mask[:, 1:], -1), potentials.dtype)
    return _time_major(ops.concatenate([potentials[:, 1:], real], axis=-1))


def crf_log_likelihood(potentials, tags, transitions, mask=None, start_transitions=None,
                       end_transitions=None):
    """The log-probability of each tag sequence under a linear-chain CRF.

    Args:
        potentials: `(batch, time, num_tags)` unary scores (any float dtype;
            computed in float32).
        tags: `(batch, time)` integer tags (any value on padded steps).
        transitions: `(num_tags, num_tags)`; `[i, j]` scores tag i followed
            by tag j.
        mask: `(batch, time)` booleans, True on real steps, right-padded
            (None: every step is real). A row with no real step scores 0.
        start_transitions, end_transitions: `(num_tags,)` scores of the
            first and the last tag (None: zeros).

    Returns:
        `(batch,)` float32 log-likelihoods (<= 0).

    Example:

    >>> import numpy as np
    >>> p = np.zeros((1, 3, 2), "float32")  # 2 tags, 3 steps: 8 sequences
    >>> ll = crf_log_likelihood(p, np.array([[0, 1, 1]]), np.zeros((2, 2)))
    >>> round(float(np.exp(ll[0])), 4)
    0.125
    """
    potentials, transitions, mask, start, end = _prepare(
        potentials, transitions, mask, start_transitions, end_transitions)
    num_tags = ops.shape(potentials)[-1]
    tags = ops.cast(tags, "int32")
    real = ops.cast(mask, "float32")
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
    nonempty = ops.cast(lengths > 0, "float32")

    # The score of the given tags.
    unary = ops.squeeze(ops.take_along_axis(potentials, ops.expand_dims(tags, -1), axis=-1), -1)
    pair_index = tags[:, :-1] * num_tags + tags[:, 1:]
    pairs = ops.take(ops.reshape(transitions, (-1,)), pair_index)
    last = ops.squeeze(ops.take_along_axis(tags, ops.expand_dims(ops.maximum(lengths - 1, 0), 1), axis=1), 1)
    score = (ops.sum(unary * real, axis=1) + ops.sum(pairs * real[:, 1:], axis=1)
             + (ops.take(start, tags[:, 0]) + ops.take(end, last)) * nonempty)

    # The log partition function: the forward algorithm over real steps.
    def step(alpha, inputs):
        potential, real_step = inputs[:, :-1], inputs[:, -1] > 0
        scores = ops.expand_dims(alpha, 2) + ops.expand_dims(transitions, 0)
        new = ops.logsumexp(scores, axis=1) + potential
        alpha = ops.where(ops.expand_dims(real_step, 1), new, alpha)
        return alpha, alpha

    alpha = ops.expand_dims(start, 0) + potentials[:, 0]
    alpha, _ = loops.scan(step, alpha, _steps(potentials, mask), like=lambda a: a)
    log_z = ops.logsumexp(alpha + ops.expand_dims(end, 0), axis=1)
    return (score - log_z) * nonempty


def crf_decode(potentials, transitions, mask=None, start_transitions=None, end_transitions=None):
    """The highest-scoring tag sequence (Viterbi) and its score.

    Args: as `crf_log_likelihood` (without `tags`).

    Returns:
        `(tags, scores)`: `(batch, time)` int32 best tags (0 on padded
        steps) and `(batch,)` float32 scores of those sequences (0 for a
        row with no real step).

    Example:

    >>> import numpy as np
    >>> p = np.array([[[3.0, 0.0], [0.0, 1.0], [0.0, 1.0]]], "float32")
    >>> stay = np.array([[1.0, -5.0], [-5.0, 1.0]], "float32")  # switching costs
    >>> tags, score = crf_decode(p, stay)
    >>> np.asarray(tags).tolist(), float(score[0])
    ([[0, 0, 0]], 5.0)
    """
    potentials, transitions, mask, start, end = _prepare(
        potentials, transitions, mask, start_transitions, end_transitions)
    num_tags = ops.shape(potentials)[-1]
    identity = ops.broadcast_to(ops.expand_dims(ops.arange(num_tags, dtype="int32"), 0),
                                ops.shape(potentials[:, 0]))

    def forward(carry, inputs):
        delta, _ = carry
        potential, real_step = inputs[:, :-1], inputs[:, -1] > 0
        scores = ops.expand_dims(delta, 2) + ops.expand_dims(transitions, 0)
        best = argmax(scores, axis=1)
        new = ops.max(scores, axis=1) + potential
        # A padded step keeps the scores and points every tag to itself.
        delta = ops.where(ops.expand_dims(real_step, 1), new, delta)
        pointers = ops.where(ops.expand_dims(real_step, 1), best, identity)
        return (delta, pointers), (delta, pointers)

    delta = ops.expand_dims(start, 0) + potentials[:, 0]
    (delta, _), (_, pointers) = loops.scan(forward, (delta, identity), _steps(potentials, mask),
                                           like=lambda carry: carry)
    final = delta + ops.expand_dims(end, 0)
    last = argmax(final, axis=1)
    best_score = ops.max(final, axis=1)

    def backward(tag, step_pointers):
        previous = ops.squeeze(ops.take_along_axis(step_pointers, ops.expand_dims(tag, 1), axis=1), 1)
        return previous, previous

    _, earlier = loops.scan(backward, last, pointers, reverse=True, like=lambda tag: tag)
    tags = ops.concatenate([_time_major(earlier), ops.expand_dims(last, 1)], axis=1)
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
    tags = ops.where(mask, tags, ops.zeros_like(tags))
    return tags, ops.where(lengths > 0, best_score, ops.zeros_like(best_score))


@keras.saving.register_keras_serializable(package="rnnzoo")
class CRF(keras.layers.Layer):
    """The parameters of a linear-chain CRF over per-step tag potentials.

    Holds the learned `transitions` `(num_tags, num_tags)` and the
    `start_transitions` / `end_transitions` `(num_tags,)` scores; its
    output is its input, the `(batch, time, num_tags)` potentials in
    float32 (with the input's mask), so a model ends in it and its training
    loss is `-log_likelihood` (see `rnnzoo.models.crf_model.CRFModel`,
    whose `predict` returns `decode`'s tags).

    Example:

    >>> import numpy as np
    >>> crf = CRF()
    >>> potentials = crf(np.zeros((2, 4, 3), "float32"))
    >>> tuple(crf.transitions.shape), tuple(potentials.shape)
    ((3, 3), (2, 4, 3))
    >>> tags, scores = crf.decode(potentials)
    >>> tuple(tags.shape), tuple(scores.shape)
    ((2, 4), (2,))
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if keras.backend.backend() == "tensorflow":
            # Its `ops.scan` loops over a time axis of unknown length, which
            # TensorFlow builds from TensorArrays that XLA cannot size ("XLA
            # compilation requires a fixed tensor list size"). JAX jits it.
            self.supports_jit = False
        self.supports_masking = True

    def build(self, input_shape):
        num_tags = input_shape[-1]
        if num_tags is None:
            raise ValueError("Expected potentials with a known last axis (the number of "
                             f"tags). Received: input_shape={input_shape!r}")
        self.transitions = self.add_weight(name="transitions", shape=(num_tags, num_tags),
                                           initializer="zeros")
        self.start_transitions = self.add_weight(name="start_transitions", shape=(num_tags,),
                                                 initializer="zeros")
        self.end_transitions = self.add_weight(name="end_transitions", shape=(num_tags,),
                                               initializer="zeros")

    def call(self, potentials, mask=None):
        return ops.cast(potentials, "float32")

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(potentials.shape, dtype="float32")

    def log_likelihood(self, potentials, tags, mask=None):
        """`crf_log_likelihood` with this layer's transitions."""
        return crf_log_likelihood(potentials, tags, self.transitions, mask,
                                  self.start_transitions, self.end_transitions)

    def decode(self, potentials, mask=None):
        """`crf_decode` with this layer's transitions: `(tags, scores)`."""
        return crf_decode(potentials, self.transitions, mask, self.start_transitions,
                          self.end_transitions)
