"""Inference models of a trained decoder model, found by layer name.

`encoder_model` and `decoder_step_model` share the trained model's layers
and weights. `inference_parts(model)` builds both once per model (cached)
and wraps them as the step function and start state that the search loops
(`rnnzoo.decoding.loop`) run on; `rnnzoo.decode` and `rnnzoo.export` use it.

Layer names (see `rnnzoo.models.decoder`): a decoder named `prefix` has
`{prefix}_embedding`, the recurrent stack `prefix`, optionally
`{prefix}_attention` (with `{name}_memory` and, for seq2seq,
`{name}_memory_mask`), and `{prefix}_output`; seq2seq and
sequence_generator decoders are `{name}_decoder` and are initialised by the
`{name}_bridge_{i}_{j}` layers, a language model's decoder is the model
itself.
"""

import warnings
import weakref

import keras
from keras import ops

from rnnzoo.data_checks import input_vocabularies
from rnnzoo.decoding.loop import prompt_states
from rnnzoo.layers.masks import FirstStep
from rnnzoo.layers.recurrent_stack import apply_stack
from rnnzoo.layers.recurrent_stack import stack_layers_from_model
from rnnzoo.layers.recurrent_stack import state_sizes
from rnnzoo.models.decoder import attend
from rnnzoo.models.decoder import deep_output


def decoder_prefix(model):
    """The name prefix of a model's decoder layers.

    Args:
        model: a model from `rnnzoo.seq2seq`, `rnnzoo.sequence_generator` or
            `rnnzoo.language_model`.

    Returns:
        `f"{model.name}_decoder"` for an encoder-decoder model, `model.name`
        for a language model.

    Example:

    >>> import rnnzoo
    >>> decoder_prefix(rnnzoo.seq2seq(source_vocabulary_size=9,
    ...     target_vocabulary_size=9, units=4, name="s"))
    's_decoder'
    """
    by_name = {layer.name for layer in model.layers}
    if f"{model.name}_decoder_embedding" in by_name:
        return f"{model.name}_decoder"
    if f"{model.name}_embedding" in by_name and f"{model.name}_output" in by_name and (
        len(model.get_layer(f"{model.name}_output").output.shape) == 3
    ):  # a language model predicts a token at every step
        return model.name
    raise ValueError(
        "Expected a model built by rnnzoo.seq2seq, rnnzoo.sequence_generator or "
        f"rnnzoo.language_model (layers named after the model). Received: model "
        f"named {model.name!r}"
    )


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def encoder_model(model):
    """The encoder of a trained seq2seq or sequence_generator model.

    Found by layer name and sharing the trained weights. Its inputs are the
    model's conditioning inputs (source tokens, features or images); its
    outputs are `[memory, memory_mask, *initial_states]` where `memory` and
    `memory_mask` are present only when the decoder attends, and
    `initial_states` are the decoder's initial states, layer by layer.

    Args:
        model: a model from `rnnzoo.seq2seq` or `rnnzoo.sequence_generator`.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=20,
    ...     target_vocabulary_size=20, units=8, bidirectional=False,
    ...     attention="luong")
    >>> encoder = rnnzoo.encoder_model(model)
    >>> [tuple(t.shape) for t in encoder(np.array([[3, 4, 0]]))]
    [(1, 3, 8), (1, 3), (1, 8), (1, 8)]
    """
    name = model.name
    prefix = decoder_prefix(model)
    if prefix == name:
        raise ValueError(
            "A language model has no encoder: decode it from zero states "
            f"(see rnnzoo.decoder_step_model). Received: model named {name!r}"
        )
    decoder_tokens = model.get_layer(f"{prefix}_tokens").output
    inputs = [t for t in model.inputs if t is not decoder_tokens]
    outputs = []
    if _attends(model, prefix):
        outputs.append(model.get_layer(f"{name}_memory").output)
        if _has_layer(model, f"{name}_memory_mask"):
            outputs.append(model.get_layer(f"{name}_memory_mask").output)
    for i, sizes in enumerate(_state_sizes(model, prefix), start=1):
        for j in range(len(sizes)):
            outputs.append(model.get_layer(f"{name}_bridge_{i}_{j}").output)
    return keras.Model(
        inputs=inputs if len(inputs) > 1 else inputs[0],
        outputs=outputs,
        name=f"{name}_encoder_model",
    )


def decoder_step_model(model):
    """A one-step decoder sharing the trained model's layers and weights.

    Inputs: `[token (batch, 1), *states, memory, memory_mask]` (memory and
    mask only when the decoder attends; the mask only for seq2seq).
    Outputs: `[probabilities (batch, vocabulary_size), *new_states]`, plus
    the attention weights `(batch, memory_time)` when the decoder attends.
    States are in the order of `encoder_model`'s initial states: layer by
    layer, `[h, c]` for an LSTM, `[h]` for a GRU or simple cell. For a
    language model the states start at zeros.

    Args:
        model: a model from `rnnzoo.seq2seq`, `rnnzoo.sequence_generator` or
            `rnnzoo.language_model`.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> lm = rnnzoo.language_model(vocabulary_size=30, units=16, num_layers=1)
    >>> step = rnnzoo.decoder_step_model(lm)
    >>> probs, h, c = step([np.array([[5]]), np.zeros((1, 16)), np.zeros((1, 16))])
    >>> tuple(probs.shape)
    (1, 30)
    """
    name = model.name
    prefix = decoder_prefix(model)
    token = keras.Input(shape=(1,), dtype="int32", name=f"{prefix}_step_token")
    state_inputs = [
        [keras.Input(shape=(size,), name=f"{prefix}_step_state_{i}_{j}")
         for j, size in enumerate(sizes)]
        for i, sizes in enumerate(_state_sizes(model, prefix), start=1)
    ]
    inputs = [token, *[s for layer in state_inputs for s in layer]]
    memory = memory_mask = None
    if _attends(model, prefix):
        memory_dim = model.get_layer(f"{name}_memory").output.shape[-1]
        memory = keras.Input(shape=(None, memory_dim), name=f"{prefix}_step_memory")
        inputs.append(memory)
        if _has_layer(model, f"{name}_memory_mask"):
            memory_mask = keras.Input(
                shape=(None,), dtype="bool", name=f"{prefix}_step_memory_mask"
            )
            inputs.append(memory_mask)
    x = model.get_layer(f"{prefix}_embedding")(token)
    if _has_layer(model, f"{prefix}_attentive"):  # Show, Attend and Tell
        outputs, context, weights, *new_states = model.get_layer(f"{prefix}_attentive")(
            x, memory, memory_mask=memory_mask, initial_state=state_inputs[0])
        outputs = deep_output(outputs, [context, x], prefix, layers=tuple(
            model.get_layer(f"{prefix}_{suffix}")
            for suffix in ("concat", "combine", "attentional")))
        return _step_model(model, prefix, inputs, outputs, [new_states], weights)
    stack = stack_layers_from_model(model, prefix)
    if any(isinstance(e["rnn"], keras.layers.Bidirectional) for e in stack):
        raise ValueError(
            "A decoder must be unidirectional to decode step by step. Received: "
            f"a bidirectional decoder in model {name!r}"
        )
    stack = [dict(e) for e in stack]
    for entry in stack:
        if entry["rnn"].stateful:
            entry["rnn"] = _stateless_copy(entry["rnn"])
    outputs, new_states = apply_stack(stack, x, initial_state=state_inputs)
    weights = None
    if memory is not None:
        outputs, weights = attend(
            outputs, memory, memory_mask, prefix,
            # Models saved before the residual have no `_attentional`
            # layer: they decode as they were trained, without it.
            layers=tuple(
                model.get_layer(f"{prefix}_{suffix}")
                if suffix != "attentional" or _has_layer(model, f"{prefix}_{suffix}")
                else None
                for suffix in ("attention", "concat", "combine", "attentional")
            ),
        )
    return _step_model(model, prefix, inputs, outputs, new_states, weights)


def _step_model(model, prefix, inputs, outputs, new_states, weights):
    """The one-step model: `[probabilities, *states(, attention)]` of its first step."""
    probabilities = FirstStep(name=f"{prefix}_step_probabilities")(
        model.get_layer(f"{prefix}_output")(outputs)
    )
    step_outputs = [probabilities, *[s for layer in new_states for s in layer]]
    if weights is not None:
        step_outputs.append(
            FirstStep(name=f"{prefix}_step_attention")(weights)
        )
    return keras.Model(inputs=inputs, outputs=step_outputs, name=f"{model.name}_step_model")


def _attends(model, prefix):
    return _has_layer(model, f"{prefix}_attention") or _has_layer(model, f"{prefix}_attentive")


def _state_sizes(model, prefix):
    """The width of each decoder state, layer by layer (`[[h, c], ...]`)."""
    if _has_layer(model, f"{prefix}_attentive"):
        return [model.get_layer(f"{prefix}_attentive").state_sizes]
    return [state_sizes(entry["rnn"]) for entry in stack_layers_from_model(model, prefix)]


def _stateless_copy(rnn):
    """A non-stateful twin of a stateful layer, sharing its weight values."""
    config = rnn.get_config()
    config["stateful"] = False
    config["name"] = rnn.name + "_stateless"
    twin = type(rnn).from_config(config)
    inputs = rnn.input  # `[sequence, mask]` when the stack passed the mask
    twin.build((inputs[0] if isinstance(inputs, (list, tuple)) else inputs).shape)
    twin.set_weights(rnn.get_weights())
    return twin


# ---------------------------------------------------------------------------
# Calling a model inside a compiled function: on JAX with given variable
# values (`stateless_call`), on TensorFlow directly (the graph reads them).


def _variable_lists(model):
    """`(trainable, non_trainable)` Keras variables of `model`, in `stateless_call`'s order."""
    return list(model.trainable_variables), list(model.non_trainable_variables)


def _lists_current(lists):
    """Whether cached `_variable_lists` still split the variables as the model does.

    A layer frozen or unfrozen after the lists were made flips its
    variables' `trainable`; reading that flag is far cheaper than walking
    the layers again on every decode call.
    """
    trainable, non_trainable = lists
    return all(v.trainable for v in trainable) and not any(v.trainable for v in non_trainable)


def _call(model, variables, inputs):
    if keras.backend.backend() == "jax":
        outputs, _ = model.stateless_call(variables[0], variables[1], inputs)
    else:
        with warnings.catch_warnings():
            # Encoder outputs carry Keras masks the step model does not use.
            warnings.filterwarnings("ignore", message=".*mask attached.*")
            outputs = model(inputs, training=False)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


class InferenceParts:
    """The inference models of one trained model, as the search loops use them.

    Get it with `inference_parts(model)` (built once per model).

    Attributes:
        step: the `decoder_step_model`.
        encoder: the `encoder_model`, or None for a language model.
        is_language_model: whether the model continues prompts.
        has_memory: whether the decoder attends (the step takes a memory).
        has_mask: whether the step also takes a memory mask (seq2seq).
        state_shapes: the shape of each decoder state, without the batch.
        state_names: `"state_{layer}_{j}"` for each decoder state.
        num_states: the number of decoder states.
        vocabulary_size: the output vocabulary size.
        model_name: the model's name.
        functions: compiled decode functions, cached by
            `rnnzoo.decoding.search.decoding_function`.
    """

    def __init__(self, model):
        prefix = decoder_prefix(model)
        self.is_language_model = prefix == model.name
        self.step = decoder_step_model(model)
        self.encoder = None if self.is_language_model else encoder_model(model)
        names = [t.name for t in self.step.inputs]
        self.has_memory = f"{prefix}_step_memory" in names
        self.has_mask = f"{prefix}_step_memory_mask" in names
        state_inputs = [t for t in self.step.inputs[1:] if "_step_state_" in t.name]
        self.state_shapes = [tuple(t.shape[1:]) for t in state_inputs]
        self.state_names = [t.name.split("_step_")[-1] for t in state_inputs]
        self.num_states = len(self.state_shapes)
        self.vocabulary_size = int(self.step.outputs[0].shape[-1])
        self.model_name = model.name
        self.functions = {}
        self.input_vocabularies = input_vocabularies(model)
        self._variable_lists = None

    def variables(self):
        """The variable values to pass to `step_fn` and `start` (JAX; `((), ())` otherwise).

        The Keras variables of each part are listed once (walking the layers
        costs more than the rest of a batch-1 decode call's host work) and
        listed again only if a layer's `trainable` changed since.
        """
        if keras.backend.backend() != "jax":
            return ((), ())
        models = (self.encoder, self.step)
        if self._variable_lists is None or not all(
                _lists_current(lists) for lists in self._variable_lists if lists):
            self._variable_lists = tuple(
                _variable_lists(m) if m is not None else () for m in models)
        return tuple(
            tuple([v.value for v in part] for part in lists) if lists else ()
            for lists in self._variable_lists)

    def step_fn(self, variables):
        """The step function `step_fn(tokens, states, constants)` of the loops.

        Args:
            variables: the step model's part of `variables()` (`()` on
                TensorFlow).
        """
        n = self.num_states

        def step_fn(tokens, states, constants):
            outputs = _call(
                self.step, variables, [tokens[:, None], *states, *constants]
            )
            weights = outputs[1 + n] if len(outputs) > 1 + n else None
            return outputs[0], tuple(outputs[1:1 + n]), weights

        return step_fn

    def start(self, variables, inputs, start_token):
        """The loop's start: `(states, start_tokens, constants, memory_mask)`.

        Encodes `inputs` (or runs a language model's prompt but its last
        token); `constants` are `(memory[, memory_mask])` for an attention
        decoder, `memory_mask` its valid memory positions (or None).
        """
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


_PARTS = weakref.WeakKeyDictionary()


def inference_parts(model):
    """The cached `InferenceParts` of `model` (built on first use).

    Example:

    >>> import rnnzoo
    >>> lm = rnnzoo.language_model(vocabulary_size=30, units=16, num_layers=1)
    >>> parts = inference_parts(lm)
    >>> parts is inference_parts(lm), parts.is_language_model, parts.state_names
    (True, True, ['state_1_0', 'state_1_1'])
    """
    try:
        return _PARTS[model]
    except KeyError:
        parts = _PARTS[model] = InferenceParts(model)
        return parts


def clear_cache(model):
    """Forgets `model`'s inference parts and compiled decode functions.

    Needed only for a stateful language model retrained after it was first
    decoded: its step model holds a stateless copy of the recurrent layers,
    made (with the weights of that time) when the parts were built.

    Example:

    >>> import rnnzoo
    >>> lm = rnnzoo.language_model(vocabulary_size=30, units=16)
    >>> parts = inference_parts(lm)
    >>> clear_cache(lm)
    >>> inference_parts(lm) is parts
    False
    """
    _PARTS.pop(model, None)
