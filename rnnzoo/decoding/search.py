"""Compiled decoding: greedy search, beam search and sampling.

`decode` runs the whole output loop inside one compiled function
(`keras.ops.while_loop` under `tf.function(jit_compile=True)` on
TensorFlow, under `jax.jit` on JAX): no Python round trip and no `predict`
call per output token. It works on models from `rnnzoo.seq2seq`, `rnnzoo.sequence_generator` and
`rnnzoo.language_model` (prompt continuation). The encoder and one-step
decoder (`rnnzoo.encoder_model`, `rnnzoo.decoder_step_model`) are built once
per trained model and cached; they share its weights, so every call decodes
with the current weight values.

The search loops themselves (`greedy_search`, `beam_search`,
`sample_search`) take any step function written with `keras.ops`, so they
can be used (and tested) on hand-made distributions.

Conventions shared by every method:
- output ids exclude the start token and include the end token; after a
  sequence has emitted `end_token`, every later position holds `pad_id`
  (default 0, the padding id of every rnnzoo model, never emitted as a
  token); positions after the loop stopped (all sequences finished before
  `max_length`) hold `pad_id` too. Output arrays always have `max_length` columns.
- the loop stops early when every sequence (every beam) has finished.
- scores are sums of natural-log probabilities of the emitted tokens
  (including the end token); for beam search, the ranking score
  `log P / lp + cp` (GNMT, see `beam_search`).
"""

import random
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

METHODS = ("greedy", "beam", "sample")
_NEG = -1e9
_TINY = 1e-30


# ---------------------------------------------------------------------------
# Backend-specific pieces (kept small): compiling, calling a model with given
# variable values, and stateless uniform noise.


def _backend():
    return keras.backend.backend()


def _compile(fn):
    backend = _backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        # XLA (`jit_compile`) fuses the step's small ops: 1.5-1.7x the plain
        # graph at batch 64 and 2-5x at batch 1 on CPU (bench/decode.py),
        # with identical ids.
        return tf.function(
            fn, reduce_retracing=True, autograph=False, jit_compile=True
        )
    return fn  # Other backends run the same loop eagerly.


def _variables(model):
    """The variable values a compiled call needs (JAX only; TF reads them)."""
    if _backend() == "jax":
        return (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
    return ()


def _call(model, variables, inputs):
    if _backend() == "jax":
        outputs, _ = model.stateless_call(variables[0], variables[1], inputs)
    else:
        with warnings.catch_warnings():
            # Encoder outputs carry Keras masks the step model does not use.
            warnings.filterwarnings("ignore", message=".*mask attached.*")
            outputs = model(inputs, training=False)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _uniform(shape, seed, step):
    """Stateless uniform noise in (0, 1) for `(seed, step)`."""
    backend = _backend()
    tiny = float(np.finfo("float32").tiny)
    if backend == "jax":
        import jax

        key = jax.random.fold_in(jax.random.PRNGKey(seed), step)
        return jax.random.uniform(key, shape, minval=tiny, maxval=1.0)
    if backend == "tensorflow":
        import tensorflow as tf

        pair = tf.stack([tf.cast(seed, "int64"), tf.cast(step, "int64")])
        return tf.random.stateless_uniform(shape, seed=pair, minval=tiny, maxval=1.0)
    raise NotImplementedError(
        f"Sampling supports the TensorFlow and JAX backends. Received: backend={backend!r}"
    )


# ---------------------------------------------------------------------------
# Search loops on a plain step function.


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


def _tuple(states):
    return tuple(states)


def _check_step(result):
    if len(result) != 3:
        raise ValueError(
            "Expected `step_fn` to return (probabilities, states, attention "
            f"or None). Received: a result of length {len(result)}"
        )
    probabilities, states, weights = result
    return ops.cast(probabilities, "float32"), _tuple(states), weights


def _forbid(values, pad_id, fill=0.0):
    """`values` (..., vocab) with the pad id's entry set to `fill`.

    The pad id marks finished sequences, so it is never chosen as a token.
    """
    hit = ops.arange(values.shape[-1]) == pad_id
    return ops.where(hit, fill, values)


def _token_loop(step_fn, states, start_tokens, choose, *, max_length,
                end_token, constants, pad_id, attention_length):
    """The greedy / sampling loop; `choose(probabilities, t)` picks tokens."""
    states = _tuple(states)
    constants = _tuple(constants)
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
        choice = ops.cast(choose(_forbid(probabilities, pad_id), t), "int32")
        picked = ops.take_along_axis(probabilities, choice[:, None], axis=1)[:, 0]
        logp = ops.log(ops.maximum(picked, _TINY))
        token = ops.where(finished, ops.cast(pad_id, "int32"), choice)
        scores = scores + ops.where(finished, 0.0, logp)
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


def greedy_search(step_fn, states, start_tokens, *, max_length, end_token,
                  constants=(), pad_id=0, attention_length=None):
    """Greedy decoding of a step function, in one `keras.ops.while_loop`.

    Args:
        step_fn: `step_fn(tokens, states, constants)` with `tokens` of shape
            `(batch,)` (int32), returning `(probabilities (batch, vocab),
            new_states, attention_weights (batch, memory_time) or None)`.
        states: tuple of initial state tensors, each `(batch, ...)`.
        start_tokens: `(batch,)` first input tokens.
        max_length: number of output steps.
        end_token: id that finishes a sequence.
        constants: tuple of tensors passed unchanged to every step (memory).
        pad_id: id written after a sequence has finished.
        attention_length: memory length; pass it to collect the attention
            weights of every output step.

    Returns:
        `(ids (batch, max_length), scores (batch,), attention)`; `attention`
        is `(batch, max_length, attention_length)` or None.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> table = np.array([[.1, .2, .7], [.6, .3, .1], [.1, .8, .1]], "float32")
    >>> step = lambda tok, states, c: (ops.take(table, tok, axis=0), states, None)
    >>> ids, _, _ = greedy_search(step, (), np.array([0]), max_length=4,
    ...                           end_token=1)
    >>> ops.convert_to_numpy(ids).tolist()
    [[2, 1, 0, 0]]
    """
    return _token_loop(
        step_fn, states, start_tokens,
        lambda probabilities, t: ops.argmax(probabilities, axis=-1),
        max_length=max_length, end_token=end_token, constants=constants,
        pad_id=pad_id, attention_length=attention_length,
    )


def filter_logits(logits, *, top_k=None, top_p=None):
    """Keeps the `top_k` largest logits and the top-p nucleus; others -> -1e9."""
    if top_k is not None:
        kth = ops.top_k(logits, top_k)[0][:, -1:]
        logits = ops.where(logits < kth, _NEG, logits)
    if top_p is not None:
        probabilities = ops.softmax(logits, axis=-1)
        ordered = ops.top_k(probabilities, probabilities.shape[-1])[0]
        before = ops.cumsum(ordered, axis=-1) - ordered
        kept = ops.where(before < top_p, ordered, 2.0)
        threshold = ops.min(kept, axis=-1, keepdims=True)
        logits = ops.where(probabilities < threshold, _NEG, logits)
    return logits


def sample_search(step_fn, states, start_tokens, *, max_length, end_token,
                  seed, temperature=1.0, top_k=None, top_p=None, constants=(),
                  pad_id=0, attention_length=None):
    """Samples from a step function: temperature, then top-k, then top-p.

    Tokens are drawn with the Gumbel-max trick from stateless noise keyed
    by `(seed, step)`, so a seed always gives the same tokens on a backend.
    `top_k=1` is greedy search; `temperature` -> 0 approaches it.

    Args:
        seed: int scalar (tensor) seeding the noise.
        temperature: > 0; divides the log-probabilities.
        top_k: keep only the `top_k` most likely tokens.
        top_p: keep the smallest set of most likely tokens whose
            probability reaches `top_p` (nucleus sampling).
        Others: as in `greedy_search`.

    Returns:
        As `greedy_search`.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> table = np.array([[.1, .2, .7], [.6, .3, .1], [.1, .8, .1]], "float32")
    >>> step = lambda tok, states, c: (ops.take(table, tok, axis=0), states, None)
    >>> ids, _, _ = sample_search(step, (), np.array([0]), max_length=4,
    ...                           end_token=1, seed=3, top_k=1)
    >>> ops.convert_to_numpy(ids).tolist()
    [[2, 1, 0, 0]]
    """

    def choose(probabilities, t):
        logits = ops.log(ops.maximum(probabilities, _TINY)) / temperature
        logits = filter_logits(logits, top_k=top_k, top_p=top_p)
        noise = _uniform(ops.shape(logits), seed, t)
        return ops.argmax(logits - ops.log(-ops.log(noise)), axis=-1)

    return _token_loop(
        step_fn, states, start_tokens, choose, max_length=max_length,
        end_token=end_token, constants=constants, pad_id=pad_id,
        attention_length=attention_length,
    )


def length_penalty_factor(length, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha`."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_search(step_fn, states, start_tokens, *, max_length, end_token,
                beam_width=4, length_penalty=0.6, coverage_penalty=0.0,
                constants=(), memory_mask=None, pad_id=0,
                attention_length=None):
    """Batched beam search over a step function (GNMT penalties).

    The `batch * beam_width` hypotheses run as one flattened batch.
    Candidates are ranked by `log P / lp + cp` (Wu et al., 2016) with
    `lp = ((5 + length) / 6) ** length_penalty`, where `length` counts the
    emitted tokens including the end token, and
    `cp = coverage_penalty * sum_i log(min(sum_t a_ti, 1))` over the valid
    memory positions i (`a_ti`: attention weights; needs a step function that
    returns them). A finished hypothesis keeps its beam slot, emits
    `pad_id` with probability 1 and keeps its length and score, so
    `beam_width=1` is exactly greedy search. The loop stops when every
    beam of every example has finished, or after `max_length` steps.

    Args:
        beam_width: hypotheses kept per example.
        length_penalty: GNMT alpha (0 disables it).
        coverage_penalty: GNMT beta (0 disables it).
        memory_mask: optional `(batch, memory_time)` boolean mask of the
            valid memory positions (for the coverage penalty).
        Others: as in `greedy_search`; states, constants and the memory
            mask are given per example and tiled here.

    Returns:
        `(ids (batch, beam_width, max_length), scores (batch, beam_width),
        attention)`, best first; `scores` are the ranking scores, `attention`
        is `(batch, beam_width, max_length, attention_length)` or None.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> table = np.array([[.1, .2, .7], [.6, .3, .1], [.1, .8, .1]], "float32")
    >>> step = lambda tok, states, c: (ops.take(table, tok, axis=0), states, None)
    >>> ids, scores, _ = beam_search(step, (), np.array([0]), max_length=4,
    ...                              end_token=1, beam_width=2)
    >>> ops.convert_to_numpy(ids)[0, 0].tolist()
    [2, 1, 0, 0]
    """
    width = beam_width
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

    states = tuple(tile(s) for s in _tuple(states))
    constants = tuple(tile(c) for c in _tuple(constants))
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
    first = ops.convert_to_tensor([0.0] + [_NEG] * (width - 1), "float32")
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
        step_logp = ops.reshape(
            ops.log(ops.maximum(probabilities, _TINY)), (-1, width, vocab)
        )
        step_logp = _forbid(step_logp, pad_id, _NEG)
        pad_row = ops.where(ops.arange(vocab) == pad_id, 0.0, _NEG)
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
                ops.log(ops.maximum(ops.minimum(coverage, 1.0), _TINY)) * valid,
                axis=-1,
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

    Returns:
        `(states, last_tokens)`: the states after each row's prompt minus its
        last token, and that last token (the first input of the loop).
    """
    prompt = ops.cast(prompt, "int32")
    states = _tuple(states)
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


# ---------------------------------------------------------------------------
# Models: cached inference parts and the compiled decode functions.


class _Parts:
    """The inference models of one trained model, built once."""

    def __init__(self, model):
        from rnnzoo.models.decoder import _decoder_prefix
        from rnnzoo.models.decoder import decoder_step_model
        from rnnzoo.models.decoder import encoder_model

        prefix = _decoder_prefix(model)
        self.is_language_model = prefix == model.name
        self.step = decoder_step_model(model)
        self.encoder = None if self.is_language_model else encoder_model(model)
        names = [t.name for t in self.step.inputs]
        self.has_memory = f"{prefix}_step_memory" in names
        self.has_mask = f"{prefix}_step_memory_mask" in names
        self.state_shapes = [tuple(t.shape[1:]) for t in self.step.inputs[1:]
                             if "_step_state_" in t.name]
        self.num_states = len(self.state_shapes)
        self.vocabulary_size = int(self.step.outputs[0].shape[-1])
        self.model_name = model.name
        self.functions = {}

    def variables(self):
        encoder = _variables(self.encoder) if self.encoder is not None else ()
        return (encoder, _variables(self.step))

    def step_fn(self, variables):
        n = self.num_states

        def step_fn(tokens, states, constants):
            outputs = _call(
                self.step, variables, [tokens[:, None], *states, *constants]
            )
            weights = outputs[1 + n] if len(outputs) > 1 + n else None
            return outputs[0], tuple(outputs[1:1 + n]), weights

        return step_fn

    def start(self, variables, inputs, start_token):
        """Initial `(states, start_tokens, constants, memory_mask)`."""
        step_fn = self.step_fn(variables[1])
        if self.is_language_model:
            batch = ops.shape(inputs)[0]
            states = tuple(ops.zeros((batch, *s), "float32") for s in self.state_shapes)
            states, tokens = prompt_states(step_fn, states, inputs)
            return states, tokens, (), None
        outputs = _call(self.encoder, variables[0], inputs)
        constants, mask = (), None
        if self.has_memory:
            memory = outputs.pop(0)
            constants = (memory,)
            if self.has_mask:
                mask = outputs.pop(0)
                constants = (memory, mask)
            else:
                mask = ops.ones(ops.shape(memory)[:2], dtype="bool")
        batch = ops.shape(outputs[0])[0]
        tokens = ops.full((batch,), start_token, dtype="int32")
        return tuple(outputs), tokens, constants, mask


def _parts(model):
    try:
        return _PARTS[model]
    except KeyError:
        parts = _PARTS[model] = _Parts(model)
        return parts


_PARTS = weakref.WeakKeyDictionary()


def decoding_function(model, **config):
    """The cached compiled function for `model` and a decoding configuration.

    Returns a function `f(variables, inputs, seed)`; see `decode`, which
    calls it with `_parts(model).variables()`.
    """
    parts = _parts(model)
    key = tuple(sorted(config.items()))
    if key not in parts.functions:
        parts.functions[key] = _compile(_make_function(parts, **config))
    return parts.functions[key]


def _make_function(parts, *, method, max_length, start_token, end_token,
                   beam_width, length_penalty, coverage_penalty, temperature,
                   top_k, top_p, num_return, return_attention, pad_id):
    def run(variables, inputs, seed):
        if method == "sample" and num_return > 1:
            inputs = ops.repeat(inputs, num_return, axis=0)
        states, tokens, constants, mask = parts.start(variables, inputs, start_token)
        step_fn = parts.step_fn(variables[1])
        attention_length = None
        if mask is not None and (return_attention or coverage_penalty):
            attention_length = ops.shape(mask)[1]
        common = dict(max_length=max_length, end_token=end_token,
                      constants=constants, pad_id=pad_id)
        if method == "beam":
            ids, scores, weights = beam_search(
                step_fn, states, tokens, beam_width=beam_width,
                length_penalty=length_penalty, coverage_penalty=coverage_penalty,
                memory_mask=mask, attention_length=attention_length, **common,
            )
            ids, scores = ids[:, :num_return], scores[:, :num_return]
            if weights is not None:
                weights = weights[:, :num_return]
            if num_return == 1:
                ids, scores = ids[:, 0], scores[:, 0]
                weights = None if weights is None else weights[:, 0]
        else:
            attention = attention_length if return_attention else None
            if method == "greedy":
                ids, scores, weights = greedy_search(
                    step_fn, states, tokens, attention_length=attention, **common
                )
            else:
                ids, scores, weights = sample_search(
                    step_fn, states, tokens, seed=seed, temperature=temperature,
                    top_k=top_k, top_p=top_p, attention_length=attention, **common,
                )
            if num_return > 1:
                ids = ops.reshape(ids, (-1, num_return, max_length))
                scores = ops.reshape(scores, (-1, num_return))
                if weights is not None:
                    weights = ops.reshape(
                        weights, (-1, num_return, max_length, ops.shape(weights)[-1])
                    )
        if not return_attention:
            weights = ops.zeros((), "float32")
        return ids, scores, weights

    return run


def _check_number(arg, value, low=None, high=None, allow_low=True):
    ok = (isinstance(value, (int, float, np.floating, np.integer))
          and not isinstance(value, bool))
    if ok and low is not None:
        ok = value >= low if allow_low else value > low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append((">= " if allow_low else "> ") + str(low))
        if high is not None:
            bounds.append(f"<= {high}")
        raise ValueError(
            f"Expected `{arg}` to be a number {' and '.join(bounds)}. "
            f"Received: {arg}={value!r}"
        )
    return float(value)


def decode(model, inputs, *, method="greedy", max_length, start_token=None,
           end_token, beam_width=4, length_penalty=0.6, coverage_penalty=0.0,
           temperature=1.0, top_k=None, top_p=None, seed=None, num_return=1,
           return_scores=False, return_attention=False, pad_id=0):
    """Decodes a batch in one compiled loop: greedy, beam search or sampling.

    Works on models from `rnnzoo.seq2seq` (inputs: right-padded source ids),
    `rnnzoo.sequence_generator` (inputs: the conditioning features, grid or
    images) and `rnnzoo.language_model` (inputs: right-padded prompt ids,
    at least one token per row; the prompt is run through the one-step
    decoder and generation continues after its last token; `start_token`
    is not used). The encoder and one-step decoder are built once per model
    and cached; the loop (`keras.ops.while_loop`) is compiled with
    `tf.function` or `jax.jit` once per configuration and input shape.

    Output ids exclude the start token and include the end token; every
    position after a sequence's end token holds `pad_id` (0 by default, the
    padding id of rnnzoo models), so sequences of different lengths come
    out right-padded to `max_length` columns. The loop stops early once
    every sequence has finished.

    Args:
        model: a trained rnnzoo seq2seq, sequence_generator or language_model.
        inputs: a batch of model inputs (NumPy array or tensor).
        method: `"greedy"`, `"beam"` or `"sample"`.
        max_length: number of output steps.
        start_token: first decoder input (seq2seq and sequence_generator).
        end_token: id that ends a sequence (`-1` never ends one).
        beam_width: beam size (`"beam"`); `beam_width=1` equals greedy.
        length_penalty: GNMT alpha, `lp = ((5 + length) / 6) ** alpha`.
        coverage_penalty: GNMT beta (needs an attention decoder).
        temperature, top_k, top_p: sampling filters (`"sample"`).
        seed: int seed for `"sample"` (random if None).
        num_return: n-best per input (`"beam"`, <= `beam_width`) or samples
            per input (`"sample"`); adds an axis after the batch axis when > 1.
        return_scores: also return scores: summed log-probabilities (greedy,
            sample) or ranking scores `log P / lp + cp` (beam).
        return_attention: also return the attention weights of every output
            step, `(batch, [num_return,] max_length, memory_time)` (zeros
            after a sequence finished).
        pad_id: id written after the end token.

    Returns:
        `ids`, a NumPy int32 array `(batch, max_length)` (or `(batch,
        num_return, max_length)`), or a tuple `(ids, scores[, attention])`
        / `(ids, attention)` with what was asked for.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=12,
    ...     target_vocabulary_size=12, units=8)
    >>> ids = rnnzoo.decode(model, np.array([[3, 4, 5]]), max_length=6,
    ...                     start_token=1, end_token=2)
    >>> ids.shape
    (1, 6)
    >>> ids, scores = rnnzoo.decode(model, np.array([[3, 4, 5]]),
    ...     method="beam", beam_width=3, num_return=2, max_length=6,
    ...     start_token=1, end_token=2, return_scores=True)
    >>> ids.shape, scores.shape
    ((1, 2, 6), (1, 2))
    """
    method = check_choice("method", method, METHODS)
    max_length = check_positive_int("max_length", max_length)
    num_return = check_positive_int("num_return", num_return)
    beam_width = check_positive_int("beam_width", beam_width)
    for arg, value in (("end_token", end_token), ("pad_id", pad_id)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"Expected `{arg}` to be an int. Received: {arg}={value!r}")
    parts = _parts(model)
    if not parts.is_language_model and (
        isinstance(start_token, bool) or not isinstance(start_token, (int, np.integer))
    ):
        raise ValueError(
            "Expected `start_token` to be an int (the first decoder input). "
            f"Received: start_token={start_token!r}"
        )
    length_penalty = _check_number("length_penalty", length_penalty, low=0)
    coverage_penalty = _check_number("coverage_penalty", coverage_penalty, low=0)
    temperature = _check_number("temperature", temperature, low=0, allow_low=False)
    if top_k is not None:
        top_k = check_positive_int("top_k", top_k)
        top_k = min(top_k, parts.vocabulary_size)
    if top_p is not None:
        top_p = _check_number("top_p", top_p, low=0, high=1, allow_low=False)
    if method == "greedy" and num_return != 1:
        raise ValueError(
            "Expected `num_return` to be 1 for greedy search (use method="
            f"'beam' or 'sample' for more). Received: num_return={num_return}"
        )
    if method == "beam" and num_return > beam_width:
        raise ValueError(
            f"Expected `num_return` <= beam_width={beam_width}. "
            f"Received: num_return={num_return}"
        )
    if method == "beam" and beam_width > parts.vocabulary_size:
        raise ValueError(
            f"Expected `beam_width` <= the vocabulary size "
            f"({parts.vocabulary_size}). Received: beam_width={beam_width}"
        )
    if (return_attention or coverage_penalty) and not parts.has_memory:
        arg = "return_attention" if return_attention else "coverage_penalty"
        raise ValueError(
            f"`{arg}` needs a decoder with attention; model {parts.model_name!r} "
            f"has none. Received: {arg}={return_attention if return_attention else coverage_penalty}"
        )
    if parts.is_language_model:
        prompt = np.asarray(ops.convert_to_numpy(inputs))
        if prompt.ndim != 2 or not np.issubdtype(prompt.dtype, np.integer) or (
            (prompt != 0).sum(axis=1).min(initial=1) < 1
        ):
            raise ValueError(
                "Expected `inputs` to be a (batch, time) array of prompt ids "
                "with at least one non-zero token per row. Received: inputs "
                f"with shape {prompt.shape} and dtype {prompt.dtype}"
            )
        inputs = prompt.astype("int32")
        start_token = None
    if method != "sample":
        temperature, top_k, top_p = 1.0, None, None
        seed_value = 0
    else:
        seed_value = random.randrange(2**31) if seed is None else int(seed)
    if method != "beam":
        beam_width, length_penalty, coverage_penalty = 1, 0.0, 0.0
    function = decoding_function(
        model, method=method, max_length=max_length,
        start_token=None if start_token is None else int(start_token),
        end_token=int(end_token), beam_width=beam_width,
        length_penalty=length_penalty, coverage_penalty=coverage_penalty,
        temperature=temperature, top_k=top_k, top_p=top_p,
        num_return=num_return, return_attention=bool(return_attention),
        pad_id=int(pad_id),
    )
    array = _to_array(inputs)
    batch, time = array.shape[0], array.shape[1] if array.ndim > 1 else None
    if _backend() == "jax":
        array = _bucket(array, tokens=np.issubdtype(array.dtype, np.integer))
    seed_tensor = ops.convert_to_tensor(np.int32(seed_value % 2**31))
    ids, scores, weights = function(
        parts.variables(), ops.convert_to_tensor(array), seed_tensor
    )
    results = [ops.convert_to_numpy(ids)[:batch]]
    if return_scores:
        results.append(ops.convert_to_numpy(scores)[:batch])
    if return_attention:
        weights = ops.convert_to_numpy(weights)[:batch]
        if parts.has_mask:  # drop the source padding added by bucketing
            weights = weights[..., :time]
        results.append(weights)
    return results[0] if len(results) == 1 else tuple(results)


def _to_array(inputs):
    array = np.asarray(ops.convert_to_numpy(inputs))
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype("int32")
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype("float32")
    return array


def _bucket(array, tokens):
    """Pads the batch to a power of two (repeating row 0) and token inputs'
    time axis to a multiple of 8 (with padding id 0), so that `jax.jit`
    compiles once per bucket rather than once per input shape."""
    batch = array.shape[0]
    padded = 1 << max(batch - 1, 0).bit_length()
    if padded != batch:
        array = np.concatenate([array, np.repeat(array[:1], padded - batch, 0)])
    if tokens and array.ndim == 2:
        extra = -array.shape[1] % 8
        array = np.pad(array, ((0, 0), (0, extra)))
    return array
