"""The compiled search loops, written with `keras.ops` on a step function.

A step function is `step_fn(tokens, states, constants)`: `tokens` is
`(batch,)` int32, `states` a tuple of `(batch, ...)` tensors, `constants` a
tuple of tensors passed unchanged to every step (the attention memory); it
returns `(probabilities (batch, vocab), new_states, attention (batch,
memory_time) or None)`. `rnnzoo.decoding.inference` makes one from a trained
model; the tests write them by hand.

`token_loop` runs any one-token-at-a-time search: the caller passes the
choice of the next token (`rnnzoo.samplers.Sampler.get_next_token`).
`beam_loop` keeps `width` hypotheses per example (`rnnzoo.samplers.Beam`).
Both stop when every sequence has finished, or after `max_length` steps.

Conventions:
- output ids exclude the start token and include the end token; every
  position after a sequence's end token holds `pad_id`, never emitted as a
  token; output arrays always have `max_length` columns.
- scores are sums of natural-log probabilities of the emitted tokens (end
  token included); for beam search, the ranking score `log P / lp + cp`.
"""

from keras import ops

LOG_ZERO = -1e9  # the log-probability of an excluded token
TINY = 1e-30  # probabilities are floored here before their log


def safe_log(probabilities):
    """`log(max(probabilities, TINY))`: finite for zero probabilities."""
    return ops.log(ops.maximum(probabilities, TINY))


def _write(buffer, t, values, axis):
    """`buffer` with `values` written at index `t` of `axis` (t a tensor)."""
    length = buffer.shape[axis]
    shape = [1] * len(buffer.shape)
    shape[axis] = length
    hit = ops.reshape(ops.equal(ops.arange(length), t), shape)
    return ops.where(hit, ops.expand_dims(values, axis), buffer)


def _rows(mask, x):
    """A `(batch,)` mask reshaped to broadcast over the rows of `x`."""
    return ops.reshape(mask, (-1,) + (1,) * (len(x.shape) - 1))


def _check_step(result):
    if len(result) != 3:
        raise ValueError(
            "Expected `step_fn` to return (probabilities, states, attention "
            f"or None). Received: a result of length {len(result)}"
        )
    probabilities, states, weights = result
    return ops.cast(probabilities, "float32"), tuple(states), weights


def _forbid(values, pad_id, fill=0.0):
    """`values` (..., vocab) with the pad id's entry set to `fill`.

    The pad id marks finished sequences, so it is never chosen as a token.
    """
    hit = ops.arange(values.shape[-1]) == pad_id
    return ops.where(hit, fill, values)


def token_loop(step_fn, states, start_tokens, next_token, *, max_length,
               end_token, seed=0, constants=(), pad_id=0,
               attention_length=None):
    """One token per sequence and step, in one `keras.ops.while_loop`.

    Args:
        step_fn: the step function (see the module docstring).
        states: tuple of initial state tensors, each `(batch, ...)`.
        start_tokens: `(batch,)` first input tokens.
        next_token: `next_token(probabilities, step, seed)` -> `(batch,)`
            ids; `probabilities` is `(batch, vocab)` float32 with the pad
            id's entry zeroed, `step` the int32 output position.
        max_length: number of output steps.
        end_token: id that finishes a sequence.
        seed: int32 scalar passed to `next_token`.
        constants: tuple of tensors passed unchanged to every step.
        pad_id: id written after a sequence has finished.
        attention_length: memory length; pass it to collect the attention
            weights of every output step.

    Returns:
        `(ids (batch, max_length), scores (batch,), attention)`; `scores`
        sum the log-probabilities of the chosen tokens, `attention` is
        `(batch, max_length, attention_length)` or None.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> table = np.array([[.1, .2, .7], [.6, .3, .1], [.1, .8, .1]], "float32")
    >>> step = lambda tok, states, c: (ops.take(table, tok, axis=0), states, None)
    >>> argmax = lambda p, step, seed: ops.argmax(p, axis=-1)
    >>> ids, _, _ = token_loop(step, (), np.array([0]), argmax, max_length=4,
    ...                        end_token=1)
    >>> ops.convert_to_numpy(ids).tolist()
    [[2, 1, 0, 0]]
    """
    states = tuple(states)
    constants = tuple(constants)
    tokens = ops.cast(start_tokens, "int32")
    batch = ops.shape(tokens)[0]
    ids = ops.full((batch, max_length), pad_id, dtype="int32")
    scores = ops.zeros((batch,), dtype="float32")
    finished = ops.zeros((batch,), dtype="bool")
    extras = ()
    if attention_length is not None:
        extras = (ops.zeros((batch, max_length, attention_length), "float32"),)

    def cond(t, tokens, states, ids, scores, finished, extras):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, states, ids, scores, finished, extras):
        probabilities, new_states, weights = _check_step(
            step_fn(tokens, states, constants)
        )
        choice = ops.cast(
            next_token(_forbid(probabilities, pad_id), t, seed), "int32"
        )
        picked = ops.take_along_axis(probabilities, choice[:, None], axis=1)[:, 0]
        token = ops.where(finished, ops.cast(pad_id, "int32"), choice)
        scores = scores + ops.where(finished, 0.0, safe_log(picked))
        ids = _write(ids, t, token, axis=1)
        new_states = tuple(
            ops.where(_rows(finished, new), old, new)
            for old, new in zip(states, new_states)
        )
        if extras:
            w = ops.where(finished[:, None], 0.0, ops.cast(weights, "float32"))
            extras = (_write(extras[0], t, w, axis=1),)
        finished = ops.logical_or(finished, ops.equal(choice, end_token))
        return t + 1, token, new_states, ids, scores, finished, extras

    t0 = ops.convert_to_tensor(0, dtype="int32")
    _, _, _, ids, scores, _, extras = ops.while_loop(
        cond, body, (t0, tokens, states, ids, scores, finished, extras)
    )
    return ids, scores, (extras[0] if extras else None)


def length_penalty_factor(length, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha`."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_loop(step_fn, states, start_tokens, *, width, length_penalty,
              coverage_penalty, max_length, end_token, constants=(),
              memory_mask=None, pad_id=0, attention_length=None):
    """Batched beam search over a step function (GNMT penalties).

    The `batch * width` hypotheses run as one flattened batch. Candidates
    are ranked by `log P / lp + cp` (Wu et al., 2016) with
    `lp = ((5 + length) / 6) ** length_penalty`, where `length` counts the
    emitted tokens including the end token, and
    `cp = coverage_penalty * sum_i log(min(sum_t a_ti, 1))` over the valid
    memory positions i (`a_ti`: attention weights; needs a step function
    that returns them). A finished hypothesis keeps its beam slot, emits
    `pad_id` with probability 1 and keeps its length and score, so
    `width=1` is exactly greedy search.

    Args:
        width: hypotheses kept per example.
        length_penalty: GNMT alpha (0 disables it).
        coverage_penalty: GNMT beta (0 disables it).
        memory_mask: optional `(batch, memory_time)` boolean mask of the
            valid memory positions (for the coverage penalty).
        Others: as in `token_loop`; states, constants and the memory mask
            are given per example and tiled here.

    Returns:
        `(ids (batch, width, max_length), scores (batch, width), attention)`,
        best first; `scores` are the ranking scores, `attention` is
        `(batch, width, max_length, attention_length)` or None.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> table = np.array([[.1, .2, .7], [.6, .3, .1], [.1, .8, .1]], "float32")
    >>> step = lambda tok, states, c: (ops.take(table, tok, axis=0), states, None)
    >>> ids, scores, _ = beam_loop(step, (), np.array([0]), width=2,
    ...     length_penalty=0.6, coverage_penalty=0.0, max_length=4, end_token=1)
    >>> ops.convert_to_numpy(ids)[0, 0].tolist()
    [2, 1, 0, 0]
    """
    use_coverage = coverage_penalty != 0.0
    collect = attention_length is not None
    if use_coverage and attention_length is None:
        raise ValueError(
            "The coverage penalty needs the attention weights: pass "
            "`attention_length` (and a step function returning weights). "
            f"Received: coverage_penalty={coverage_penalty}"
        )

    def tile(x):
        return ops.repeat(x, width, axis=0)

    states = tuple(tile(s) for s in states)
    constants = tuple(tile(c) for c in constants)
    tokens = tile(ops.cast(start_tokens, "int32"))
    batch = ops.shape(start_tokens)[0]
    if memory_mask is None and use_coverage:
        memory_mask = ops.ones((batch, attention_length), dtype="bool")
    valid = None
    if use_coverage:
        valid = ops.reshape(
            tile(ops.cast(memory_mask, "float32")), (-1, width, attention_length)
        )

    ids = ops.full((batch, width, max_length), pad_id, dtype="int32")
    first = ops.convert_to_tensor([0.0] + [LOG_ZERO] * (width - 1), "float32")
    logp = ops.zeros((batch, width), "float32") + first[None, :]
    scores = ops.array(logp)
    lengths = ops.zeros((batch, width), "float32")
    finished = ops.zeros((batch, width), dtype="bool")
    extras = ()
    if use_coverage:
        extras += (ops.zeros((batch, width, attention_length), "float32"),)
    if collect:
        extras += (ops.zeros((batch, width, max_length, attention_length), "float32"),)

    def gather(x, parent):
        """Picks, per example, the rows `parent` (batch, width) of `x`."""
        offsets = ops.arange(ops.shape(parent)[0], dtype="int32")[:, None] * width
        flat = ops.reshape(parent + offsets, (-1,))
        shape = ops.shape(x)
        merged = ops.reshape(x, (-1, *shape[2:]))
        return ops.reshape(ops.take(merged, flat, axis=0), (-1, width, *shape[2:]))

    def cond(t, tokens, states, ids, logp, scores, lengths, finished, extras):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, states, ids, logp, scores, lengths, finished, extras):
        probabilities, new_states, weights = _check_step(
            step_fn(tokens, states, constants)
        )
        vocab = probabilities.shape[-1]
        step_logp = ops.reshape(safe_log(probabilities), (-1, width, vocab))
        step_logp = _forbid(step_logp, pad_id, LOG_ZERO)
        pad_row = ops.where(ops.arange(vocab) == pad_id, 0.0, LOG_ZERO)
        step_logp = ops.where(finished[:, :, None], pad_row[None, None, :], step_logp)
        total = logp[:, :, None] + step_logp
        new_lengths = ops.where(finished, lengths, ops.cast(t + 1, "float32"))
        rank = total / length_penalty_factor(new_lengths, length_penalty)[:, :, None]
        extras = list(extras)
        if collect or use_coverage:
            w = ops.reshape(ops.cast(weights, "float32"), (-1, width, attention_length))
            w = ops.where(finished[:, :, None], 0.0, w)
        if use_coverage:
            coverage = extras[0] + w
            penalty = coverage_penalty * ops.sum(
                safe_log(ops.minimum(coverage, 1.0)) * valid, axis=-1,
            )
            rank = rank + penalty[:, :, None]
        top_scores, top = ops.top_k(ops.reshape(rank, (-1, width * vocab)), width)
        parent = ops.cast(top // vocab, "int32")
        token = ops.cast(top % vocab, "int32")
        logp = ops.take_along_axis(ops.reshape(total, (-1, width * vocab)), top, axis=1)
        lengths = ops.take_along_axis(new_lengths, parent, axis=1)
        was_finished = ops.take_along_axis(finished, parent, axis=1)
        finished = ops.logical_or(was_finished, ops.equal(token, end_token))
        ids = _write(gather(ids, parent), t, token, axis=2)
        states = tuple(
            ops.reshape(gather(ops.reshape(s, (-1, width, *s.shape[1:])), parent),
                        (-1, *s.shape[1:]))
            for s in new_states
        )
        index = 0
        if use_coverage:
            extras[0] = gather(coverage, parent)
            index = 1
        if collect:
            history = _write(extras[index], t, w, axis=2)
            extras[index] = gather(history, parent)
        return (t + 1, ops.reshape(token, (-1,)), states, ids, logp, top_scores,
                lengths, finished, tuple(extras))

    t0 = ops.convert_to_tensor(0, dtype="int32")
    outputs = ops.while_loop(
        cond, body,
        (t0, tokens, states, ids, logp, scores, lengths, finished, extras),
    )
    ids, scores, extras = outputs[3], outputs[5], outputs[8]
    return ids, scores, (extras[-1] if collect else None)


def prompt_states(step_fn, states, prompt):
    """Runs a right-padded prompt through a step function, all but its last token.

    Args:
        step_fn: the step function.
        states: tuple of initial (zero) states, each `(batch, ...)`.
        prompt: `(batch, time)` prompt ids, right-padded with 0, at least
            one token per row.

    Returns:
        `(states, last_tokens)`: the states after each row's prompt minus its
        last token, and that last token (the first input of the loop).

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> def count(tokens, states, constants):  # the state counts the steps
    ...     return ops.one_hot(tokens, 4), (states[0] + 1.0,), None
    >>> states, last = prompt_states(count, (np.zeros((2,), "float32"),),
    ...                              np.array([[1, 2, 3], [3, 0, 0]]))
    >>> ops.convert_to_numpy(states[0]).tolist(), ops.convert_to_numpy(last).tolist()
    ([2.0, 0.0], [3, 3])
    """
    prompt = ops.cast(prompt, "int32")
    states = tuple(states)
    lengths = ops.sum(ops.cast(ops.not_equal(prompt, 0), "int32"), axis=1)
    last = ops.take_along_axis(prompt, (lengths - 1)[:, None], axis=1)[:, 0]
    steps = ops.max(lengths) - 1

    def cond(t, states):
        return t < steps

    def body(t, states):
        token = ops.take(prompt, t, axis=1)
        _, new_states, _ = _check_step(step_fn(token, states, ()))
        active = t < lengths - 1
        return t + 1, tuple(
            ops.where(_rows(active, n), n, o) for o, n in zip(states, new_states)
        )

    t0 = ops.convert_to_tensor(0, dtype="int32")
    _, states = ops.while_loop(cond, body, (t0, states))
    return states, last
