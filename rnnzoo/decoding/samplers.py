"""Samplers: how `rnnzoo.decode` picks output tokens (keras-hub style objects).

A sampler holds its settings, checks them in `__init__`, and returns them
from `get_config()`. `rnnzoo.decode(model, inputs, sampler=...)` and
`rnnzoo.export(..., sampler=...)` take a sampler object, its config dict, or
one of the shortcuts `"greedy"`, `"beam"`, `"sample"` (the defaults of
`Greedy`, `Beam`, `Sample`); `get` turns any of these into an object.

Example:

>>> import rnnzoo
>>> rnnzoo.samplers.get("beam")
Beam(width=4, length_penalty=0.6, coverage_penalty=0.0)
>>> sampler = rnnzoo.samplers.Sample(temperature=0.8, top_p=0.9, seed=0)
>>> rnnzoo.samplers.get(rnnzoo.samplers.serialize(sampler)).get_config()
{'temperature': 0.8, 'top_k': None, 'top_p': 0.9, 'seed': 0}
"""

import json
import numbers
import random

import keras
import numpy as np
from keras import ops

from rnnzoo.decoding.loop import LOG_ZERO
from rnnzoo.decoding.loop import beam_loop
from rnnzoo.decoding.loop import safe_log
from rnnzoo.decoding.loop import token_loop
from rnnzoo.layers.portable import argmax
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_optional_positive_int
from rnnzoo.validation import check_positive_int


class Sampler:
    """Base class: one compiled search loop; a subclass picks the next token.

    `rnnzoo.decode` calls the sampler inside one compiled function
    (`keras.ops.while_loop` under `tf.function(jit_compile=True)` or
    `jax.jit`) on the model's one-step decoder. `__call__` runs
    `rnnzoo.decoding.loop.token_loop`, which feeds every step's
    probabilities to `get_next_token` and does the rest: scores, padding
    after the end token, freezing finished sequences, attention weights,
    early exit. A new sampler overrides ONLY `get_next_token` (as `Greedy`
    and `Sample` do), takes its settings as `__init__` keyword arguments,
    checks them there and returns them from `get_config()`.

    A search that keeps several hypotheses per example cannot be a
    per-token choice: `Beam` overrides `__call__` (the whole search; it runs
    `rnnzoo.decoding.loop.beam_loop`) and returns the same structure, and
    `check` (its width bounds `num_return`).

    The class and `get_config()` (less its `seed`, which is fed to the
    compiled function as a tensor) are the key of decode's compile cache: a
    sampler's config must hold every setting its choice depends on.

    To save a sampler's config and get it back, register the class with
    `@keras.saving.register_keras_serializable()` (or pass
    `custom_objects` to `deserialize`).

    Example:

    >>> import numpy as np, rnnzoo
    >>> from keras import ops
    >>> class SecondBest(rnnzoo.samplers.Sampler):
    ...     def get_next_token(self, probabilities, step, seed):
    ...         return ops.top_k(probabilities, 2)[1][:, 1]
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=12,
    ...     target_vocabulary_size=12, units=8)
    >>> ids = rnnzoo.decode(model, np.array([[3, 4, 5]]), sampler=SecondBest(),
    ...                     max_length=4, start_token=1, end_token=2)
    >>> ids.shape
    (1, 4)
    """

    def get_next_token(self, probabilities, step, seed):
        """The next token of every sequence.

        Args:
            probabilities: `(batch, vocab)` float32 next-token distribution,
                the pad id's entry set to 0 (it is never emitted).
            step: int32 scalar tensor, the output position (0 first).
            seed: int32 scalar tensor, the call's seed (see `seed_value`);
                `uniform_noise(shape, seed, step)` gives stateless noise.

        Returns:
            `(batch,)` integer token ids.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override `get_next_token` (or "
            "`__call__`, for a search that keeps several hypotheses)."
        )

    def __call__(self, step_fn, states, start_tokens, *, max_length, end_token,
                 num_return=1, seed=0, constants=(), memory_mask=None, pad_id=0,
                 attention_length=None):
        """Runs the search on a step function (see `rnnzoo.decoding.loop`).

        Args:
            step_fn: `step_fn(tokens, states, constants)` -> `(probabilities,
                new_states, attention weights or None)`.
            states: tuple of initial state tensors, each `(batch, ...)`.
            start_tokens: `(batch,)` first input tokens.
            max_length: number of output steps.
            end_token: id that finishes a sequence.
            num_return: sequences per example (each an independent run of
                the loop on a repeated row).
            seed: int32 scalar passed to `get_next_token`.
            constants: tuple of tensors passed unchanged to every step.
            memory_mask: `(batch, memory_time)` valid memory positions (used
                by `Beam`'s coverage penalty).
            pad_id: id written after a sequence has finished.
            attention_length: memory length; pass it to collect the attention
                weights of every output step.

        Returns:
            `(ids (batch, num_return, max_length), scores (batch,
            num_return), attention)`: `scores` sum the log-probabilities of
            the emitted tokens, `attention` is `(batch, num_return,
            max_length, attention_length)` or None.
        """
        if num_return > 1:
            def repeat(x):
                return ops.repeat(x, num_return, axis=0)

            states = tuple(repeat(s) for s in states)
            constants = tuple(repeat(c) for c in constants)
            start_tokens = repeat(start_tokens)
        ids, scores, weights = token_loop(
            step_fn, states, start_tokens, self.get_next_token,
            max_length=max_length, end_token=end_token, seed=seed,
            constants=constants, pad_id=pad_id, attention_length=attention_length,
        )
        ids = ops.reshape(ids, (-1, num_return, max_length))
        scores = ops.reshape(scores, (-1, num_return))
        if weights is not None:
            weights = ops.reshape(
                weights, (-1, num_return, max_length, ops.shape(weights)[-1])
            )
        return ids, scores, weights

    def check(self, *, num_return, vocabulary_size, has_attention):
        """Raises a `ValueError` if this sampler cannot serve a request.

        Called by `rnnzoo.decode` and `rnnzoo.export` before compiling. The
        base class accepts every request.

        Args:
            num_return: sequences asked for per input.
            vocabulary_size: the model's output vocabulary size.
            has_attention: whether the decoder returns attention weights.
        """

    @property
    def needs_attention(self):
        """Whether the search reads the attention weights (base: False)."""
        return False

    def seed_value(self):
        """The int seed of one decode call: the config's `seed`, a random
        one when it is None, 0 when the sampler has no seed."""
        seed = self.get_config().get("seed", 0)
        return random.randrange(2**31) if seed is None else int(seed)

    def cache_key(self):
        """The compile-cache key: the class and the config less `seed`."""
        config = dict(self.get_config())
        config.pop("seed", None)
        return type(self), json.dumps(config, sort_keys=True, default=repr)

    def get_config(self):
        """The sampler's settings, the keyword arguments of `__init__`."""
        return {}

    @classmethod
    def from_config(cls, config):
        """A sampler from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


def _check_number(arg, value, low=None, high=None, allow_low=True):
    ok = (isinstance(value, (numbers.Real, np.floating, np.integer))
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


@keras.saving.register_keras_serializable(package="rnnzoo")
class Greedy(Sampler):
    """Greedy search: the most likely token at every step.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> ops.convert_to_numpy(
    ...     Greedy().get_next_token(np.array([[0.0, 0.2, 0.7, 0.1]]), 0, 0)).tolist()
    [2]
    """

    def get_next_token(self, probabilities, step, seed):
        return argmax(probabilities, axis=-1)  # one that ONNX and LiteRT files can hold

    def check(self, *, num_return, vocabulary_size, has_attention):
        if num_return != 1:
            raise ValueError(
                "Expected `num_return` to be 1 for greedy search (use "
                "sampler='beam' or 'sample' for more). "
                f"Received: num_return={num_return}"
            )


def uniform_noise(shape, seed, step):
    """Stateless uniform noise in (0, 1), the same for the same `(seed, step)`.

    Args:
        shape: the noise shape.
        seed: int scalar (tensor).
        step: int scalar (tensor), e.g. the output position.

    Returns:
        A float32 tensor of `shape` (TensorFlow and JAX backends).

    Example:

    >>> from keras import ops
    >>> a = ops.convert_to_numpy(uniform_noise((2, 3), 7, 0))
    >>> b = ops.convert_to_numpy(uniform_noise((2, 3), 7, 0))
    >>> bool((a == b).all() and (a > 0).all() and (a < 1).all())
    True
    """
    backend = keras.backend.backend()
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


def filter_logits(logits, *, top_k=None, top_p=None):
    """Keeps the `top_k` largest logits and the top-p nucleus; others -> -1e9.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], "float32"))
    >>> kept = filter_logits(logits, top_p=0.75)
    >>> (ops.convert_to_numpy(kept) > -1e8).tolist()
    [[True, True, False, False]]
    """
    if top_k is not None:
        kth = ops.top_k(logits, top_k)[0][:, -1:]
        logits = ops.where(logits < kth, LOG_ZERO, logits)
    if top_p is not None:
        probabilities = ops.softmax(logits, axis=-1)
        ordered = ops.top_k(probabilities, probabilities.shape[-1])[0]
        before = ops.cumsum(ordered, axis=-1) - ordered
        kept = ops.where(before < top_p, ordered, 2.0)
        threshold = ops.min(kept, axis=-1, keepdims=True)
        logits = ops.where(probabilities < threshold, LOG_ZERO, logits)
    return logits


@keras.saving.register_keras_serializable(package="rnnzoo")
class Sample(Sampler):
    """Random sampling: temperature, then top-k, then top-p (nucleus).

    Tokens are drawn with the Gumbel-max trick from stateless noise keyed
    by `(seed, step)`, so a seed always gives the same tokens on a backend
    (TensorFlow and JAX draw different noise). `top_k=1` is greedy search;
    `temperature` -> 0 approaches it. With `num_return > 1`, each input is
    sampled that many times.

    Args:
        temperature: > 0; divides the log-probabilities.
        top_k: keep only the `top_k` most likely tokens (None: all).
        top_p: in (0, 1]: keep the smallest set of most likely tokens whose
            probability reaches `top_p` (None: all).
        seed: int seed of the noise; None draws a new one per decode call.
            It is fed to the compiled loop, so seeds share one compilation.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> sampler = Sample(top_k=1)
    >>> ops.convert_to_numpy(sampler.get_next_token(
    ...     np.array([[0.0, 0.2, 0.7, 0.1]], "float32"), 0, 3)).tolist()
    [2]
    """

    def __init__(self, temperature=1.0, top_k=None, top_p=None, seed=None):
        self.temperature = _check_number(
            "temperature", temperature, low=0, allow_low=False
        )
        self.top_k = check_optional_positive_int("top_k", top_k)
        self.top_p = None if top_p is None else _check_number(
            "top_p", top_p, low=0, high=1, allow_low=False
        )
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
        ):
            raise ValueError(
                f"Expected `seed` to be None or an int. Received: seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)

    def get_next_token(self, probabilities, step, seed):
        logits = safe_log(probabilities) / self.temperature
        top_k = None if self.top_k is None else min(self.top_k, logits.shape[-1])
        logits = filter_logits(logits, top_k=top_k, top_p=self.top_p)
        noise = uniform_noise(ops.shape(logits), seed, step)
        return ops.argmax(logits - ops.log(-ops.log(noise)), axis=-1)

    def get_config(self):
        return {"temperature": self.temperature, "top_k": self.top_k,
                "top_p": self.top_p, "seed": self.seed}


@keras.saving.register_keras_serializable(package="rnnzoo")
class Beam(Sampler):
    """Beam search with GNMT's length and coverage penalties.

    Overrides `__call__`, not `get_next_token`: it keeps `width` hypotheses
    per example, ranked by `log P / lp + cp` (Wu et al., 2016) with
    `lp = ((5 + length) / 6) ** length_penalty` (`length` counts the
    emitted tokens, end token included) and `cp = coverage_penalty *
    sum_i log(min(sum_t a_ti, 1))` over the valid memory positions (needs a
    decoder with attention). A finished hypothesis keeps its slot and its
    score, so `width=1` gives exactly the greedy ids. Returns the
    `num_return` (<= `width`) best, best first; scores are ranking scores.
    See `rnnzoo.decoding.loop.beam_loop`.

    Args:
        width: hypotheses kept per example (<= the vocabulary size).
        length_penalty: GNMT alpha, >= 0 (0 disables it).
        coverage_penalty: GNMT beta, >= 0 (0 disables it).

    Example:

    >>> Beam(width=2, length_penalty=0.0)
    Beam(width=2, length_penalty=0.0, coverage_penalty=0.0)
    """

    def __init__(self, width=4, length_penalty=0.6, coverage_penalty=0.0):
        self.width = check_positive_int("width", width)
        self.length_penalty = _check_number("length_penalty", length_penalty, low=0)
        self.coverage_penalty = _check_number(
            "coverage_penalty", coverage_penalty, low=0
        )

    def __call__(self, step_fn, states, start_tokens, *, max_length, end_token,
                 num_return=1, seed=0, constants=(), memory_mask=None, pad_id=0,
                 attention_length=None):
        ids, scores, weights = beam_loop(
            step_fn, states, start_tokens, width=self.width,
            length_penalty=self.length_penalty,
            coverage_penalty=self.coverage_penalty, max_length=max_length,
            end_token=end_token, constants=constants, memory_mask=memory_mask,
            pad_id=pad_id, attention_length=attention_length,
        )
        ids, scores = ids[:, :num_return], scores[:, :num_return]
        return ids, scores, None if weights is None else weights[:, :num_return]

    @property
    def needs_attention(self):
        return self.coverage_penalty != 0.0

    def check(self, *, num_return, vocabulary_size, has_attention):
        if num_return > self.width:
            raise ValueError(
                f"Expected `num_return` <= the beam width ({self.width}). "
                f"Received: num_return={num_return}"
            )
        if self.width > vocabulary_size:
            raise ValueError(
                f"Expected `width` <= the vocabulary size ({vocabulary_size}). "
                f"Received: width={self.width}"
            )
        if self.coverage_penalty and not has_attention:
            raise ValueError(
                "`coverage_penalty` needs a decoder with attention. "
                f"Received: coverage_penalty={self.coverage_penalty}"
            )

    def get_config(self):
        return {"width": self.width, "length_penalty": self.length_penalty,
                "coverage_penalty": self.coverage_penalty}


SHORTCUTS = {"greedy": Greedy, "beam": Beam, "sample": Sample}


def serialize(sampler):
    """A sampler's config dict (`keras.saving.serialize_keras_object`).

    Example:

    >>> serialize(Beam(width=2))["config"]
    {'width': 2, 'length_penalty': 0.6, 'coverage_penalty': 0.0}
    """
    return keras.saving.serialize_keras_object(get(sampler))


def deserialize(config, custom_objects=None):
    """A sampler from `serialize`'s output (`custom_objects`: unregistered
    classes by name).

    Example:

    >>> deserialize({"class_name": "Sample", "config": {"top_k": 5}})
    Sample(temperature=1.0, top_k=5, top_p=None, seed=None)
    """
    return keras.saving.deserialize_keras_object(
        config,
        module_objects={cls.__name__: cls for cls in SHORTCUTS.values()},
        custom_objects=custom_objects,
    )


def get(identifier):
    """A sampler from a shortcut, a config dict or a sampler.

    Args:
        identifier: what `rnnzoo.decode` and `rnnzoo.export` take as
            `sampler`: `"greedy"`, `"beam"` or `"sample"` (the class's
            defaults), a dict from `serialize`, or a `Sampler` (returned
            as is).

    Returns:
        A `Sampler`.

    Example:

    >>> get("greedy")
    Greedy()
    >>> get({"class_name": "Beam", "config": {"width": 8}}).width
    8
    """
    if isinstance(identifier, Sampler):
        return identifier
    if isinstance(identifier, str):
        return SHORTCUTS[check_choice("sampler", identifier, tuple(SHORTCUTS))]()
    if isinstance(identifier, dict):
        sampler = deserialize(identifier)
        if isinstance(sampler, Sampler):
            return sampler
        raise ValueError(
            "Expected the `sampler` config to name a Sampler class that Keras "
            "can find: register it with "
            "`@keras.saving.register_keras_serializable()` (or call "
            "`rnnzoo.samplers.deserialize` with `custom_objects`). "
            f"Received: sampler={identifier!r}"
        )
    raise ValueError(
        f"Expected `sampler` to be one of {list(SHORTCUTS)}, a "
        "`rnnzoo.samplers.Sampler` or its config dict. "
        f"Received: sampler={identifier!r}"
    )
