"""`rnnzoo.decode`: a trained model's output ids in one compiled loop.

`decode` runs the whole output loop inside one compiled function
(`keras.ops.while_loop` under `tf.function(jit_compile=True)` on
TensorFlow, under `jax.jit` on JAX): no Python round trip and no `predict`
call per output token. It works on models from `rnnzoo.seq2seq`,
`rnnzoo.sequence_generator` and `rnnzoo.language_model` (prompt
continuation). The inference models (`rnnzoo.decoding.inference`) are built
once per trained model and cached; they share its weights, so every call
decodes with the current weight values. How tokens are chosen is the
sampler's business (`rnnzoo.samplers`); the loops are in
`rnnzoo.decoding.loop`.
"""

import json

import keras
import numpy as np
from keras import ops

from rnnzoo.decoding import samplers
from rnnzoo.decoding.inference import inference_parts
from rnnzoo.validation import check_positive_int
from rnnzoo.data_checks import check_input_ids


def _compile(fn):
    backend = keras.backend.backend()
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


def _check_int(arg, value, what="an int"):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"Expected `{arg}` to be {what}. Received: {arg}={value!r}")
    return int(value)


def decoding_function(model, sampler, *, max_length, start_token, end_token,
                      num_return=1, return_attention=False, pad_id=0):
    """The cached compiled decode function of `model` for one configuration.

    Checks the request (the same errors as `decode`), then returns
    `f(variables, inputs, seed)` -> `(ids, scores, attention)`, with
    `variables = inference_parts(model).variables()` and an int32 scalar
    `seed`; shapes as `decode` returns them before trimming (`attention` is
    a zero scalar unless `return_attention`). One function is compiled per
    sampler `cache_key()` (its class and config, less the seed) and
    keyword values: equal samplers share it, a new setting compiles anew.

    Args:
        model: a trained seq2seq, sequence_generator or language_model.
        sampler: anything `rnnzoo.samplers.get` takes.
        max_length, start_token, end_token, num_return, return_attention,
        pad_id: as in `decode` (`start_token` is ignored for a language
            model).

    Returns:
        The compiled function.

    Example:

    >>> import rnnzoo
    >>> lm = rnnzoo.language_model(vocabulary_size=30, units=16)
    >>> first = decoding_function(lm, rnnzoo.samplers.Sample(seed=1),
    ...                           max_length=5, start_token=None, end_token=2)
    >>> first is decoding_function(lm, rnnzoo.samplers.Sample(seed=2),
    ...                            max_length=5, start_token=None, end_token=2)
    True
    """
    sampler = samplers.get(sampler)
    parts = inference_parts(model)
    max_length = check_positive_int("max_length", max_length)
    num_return = check_positive_int("num_return", num_return)
    end_token = _check_int("end_token", end_token)
    pad_id = _check_int("pad_id", pad_id)
    if parts.is_language_model:
        start_token = None
    else:
        start_token = _check_int(
            "start_token", start_token, "an int (the first decoder input)"
        )
        if not 0 <= start_token < parts.vocabulary_size:
            raise ValueError(
                f"Expected `start_token` in [0, {parts.vocabulary_size}) (the target "
                f"vocabulary of {parts.model_name!r}). Received: start_token={start_token}"
            )
    if end_token >= parts.vocabulary_size:
        raise ValueError(
            f"Expected `end_token` in [0, {parts.vocabulary_size}) or -1 (never ends). "
            f"Received: end_token={end_token}"
        )
    sampler.check(num_return=num_return, vocabulary_size=parts.vocabulary_size,
                  has_attention=parts.has_memory)
    if return_attention and not parts.has_memory:
        raise ValueError(
            f"`return_attention` needs a decoder with attention; model "
            f"{parts.model_name!r} has none. Received: return_attention=True"
        )
    config = dict(max_length=max_length, start_token=start_token,
                  end_token=end_token, num_return=num_return,
                  return_attention=bool(return_attention), pad_id=pad_id)
    key = (sampler.cache_key(), json.dumps(config, sort_keys=True))
    if key not in parts.functions:
        parts.functions[key] = _compile(_make_function(parts, sampler, **config))
    return parts.functions[key]


def _make_function(parts, sampler, *, max_length, start_token, end_token,
                   num_return, return_attention, pad_id):
    attention_wanted = return_attention or sampler.needs_attention

    def run(variables, inputs, seed):
        states, tokens, constants, mask = parts.start(variables, inputs, start_token)
        attention_length = None
        if mask is not None and attention_wanted:
            attention_length = ops.shape(mask)[1]
        ids, scores, weights = sampler(
            parts.step_fn(variables[1]), states, tokens, max_length=max_length,
            end_token=end_token, num_return=num_return, seed=seed,
            constants=constants, memory_mask=mask, pad_id=pad_id,
            attention_length=attention_length,
        )
        if num_return == 1:
            ids, scores = ids[:, 0], scores[:, 0]
            weights = None if weights is None else weights[:, 0]
        if not return_attention:
            weights = ops.zeros((), "float32")
        return ids, scores, weights

    return run


def decode(model, inputs, *, sampler="greedy", max_length, start_token=None,
           end_token, num_return=1, return_scores=False, return_attention=False,
           pad_id=0):
    """Decodes a batch in one compiled loop, tokens chosen by a sampler.

    Works on models from `rnnzoo.seq2seq` (inputs: right-padded source ids),
    `rnnzoo.sequence_generator` (inputs: the conditioning features, grid or
    images) and `rnnzoo.language_model` (inputs: right-padded prompt ids,
    at least one token per row; the prompt is run through the one-step
    decoder and generation continues after its last token; `start_token`
    is not used). The encoder and one-step decoder are built once per model
    and cached; the loop (`keras.ops.while_loop`) is compiled with
    `tf.function` or `jax.jit` once per sampler config, settings and input
    shape (see `decoding_function`).

    Output ids exclude the start token and include the end token; every
    position after a sequence's end token holds `pad_id` (0 by default, the
    padding id of rnnzoo models), so sequences of different lengths come
    out right-padded to `max_length` columns. The loop stops early once
    every sequence has finished.

    Args:
        model: a trained rnnzoo seq2seq, sequence_generator or language_model.
        inputs: a batch of model inputs (NumPy array or tensor).
        sampler: `"greedy"`, `"beam"`, `"sample"` (shortcuts for the
            defaults), a `rnnzoo.samplers.Sampler` such as
            `rnnzoo.samplers.Beam(width=4, length_penalty=0.6)`, or its
            config dict.
        max_length: number of output steps.
        start_token: first decoder input (seq2seq and sequence_generator).
        end_token: id that ends a sequence (`-1` never ends one).
        num_return: n-best per input (`Beam`, <= its width) or samples per
            input (`Sample`); adds an axis after the batch axis when > 1.
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
    ...     sampler=rnnzoo.samplers.Beam(width=3), num_return=2, max_length=6,
    ...     start_token=1, end_token=2, return_scores=True)
    >>> ids.shape, scores.shape
    ((1, 2, 6), (1, 2))
    """
    sampler = samplers.get(sampler)
    function = decoding_function(
        model, sampler, max_length=max_length, start_token=start_token,
        end_token=end_token, num_return=num_return,
        return_attention=return_attention, pad_id=pad_id,
    )
    parts = inference_parts(model)
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
    array = _to_array(inputs)
    _check_source(model, array, parts.input_vocabularies)
    batch, time = array.shape[0], array.shape[1] if array.ndim > 1 else None
    seed = np.int32(sampler.seed_value() % 2**31)
    if keras.backend.backend() == "jax":
        # `jax.jit` takes NumPy arrays as they are (one transfer inside its
        # dispatch); converting them first costs a batch-1 call ~25 us.
        array = _bucket(array, tokens=np.issubdtype(array.dtype, np.integer))
    else:
        array, seed = ops.convert_to_tensor(array), ops.convert_to_tensor(seed)
    ids, scores, weights = function(parts.variables(), array, seed)
    results = [ops.convert_to_numpy(ids)[:batch]]
    if return_scores:
        results.append(ops.convert_to_numpy(scores)[:batch])
    if return_attention:
        weights = ops.convert_to_numpy(weights)[:batch]
        if parts.has_mask:  # drop the source padding added by bucketing
            weights = weights[..., :time]
        results.append(weights)
    return results[0] if len(results) == 1 else tuple(results)


def _check_source(model, array, vocabularies=None):
    """Token inputs: integers inside the input embedding's vocabulary (never wrapped or clipped)."""
    if not str(model.inputs[0].dtype).startswith("int"):
        return  # image features, grids: any float
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"Expected `inputs` to hold integer token ids for model {model.name!r}. "
            f"Received: inputs with dtype={array.dtype}"
        )
    check_input_ids(model, 0, array, "inputs", vocabularies)


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
    if tokens and array.ndim == 2 and array.shape[1] % 8:
        wide = np.zeros((array.shape[0], array.shape[1] + -array.shape[1] % 8), array.dtype)
        wide[:, :array.shape[1]] = array
        array = wide
    return array
