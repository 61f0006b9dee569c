"""The token decoder shared by seq2seq, sequence_generator and language_model.

A decoder is: an embedding `{prefix}_embedding`, a unidirectional recurrent
stack named `prefix`, optionally attention over a memory
(`{prefix}_attention`, then `{prefix}_concat` and a tanh `{prefix}_combine`
layer: Luong's attentional hidden state, ADDED to the recurrent output by
`{prefix}_attentional`), and a softmax `{prefix}_output`.

Why the residual: with Luong's plain `tanh(W_c [h; c])` the softmax sees the
recurrent output only through a layer mixed with the (at first random)
context, and on English-French (40k pairs, 2 epochs) the attention model
reached 0.38 validation next-token accuracy against 0.46 for the same model
without attention. `h + tanh(W_c [h; c])` reached 0.61, with no extra weights.
The attention reads the recurrent outputs, so teacher-forced training stays
parallel over time and the recurrent layers stay eligible for the fused
kernel; at inference, the one-step model recomputes the attention context
from the carried recurrent states and the memory at every step.
"""

import keras

from rnnzoo.layers.attention import ATTENTION_KINDS
from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.layers.masks import FirstStep
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.recurrent_stack import apply_stack
from rnnzoo.layers.recurrent_stack import build_stack_layers
from rnnzoo.layers.recurrent_stack import layer_units
from rnnzoo.layers.recurrent_stack import stack_layers_from_model
from rnnzoo.layers.recurrent_stack import state_sizes
from rnnzoo.validation import check_optional_choice
from rnnzoo.validation import check_positive_int


def build_decoder(
    tokens,
    *,
    prefix,
    vocabulary_size,
    embedding_dim,
    cell,
    units,
    num_layers,
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    stateful=False,
    attention=None,
    memory=None,
    memory_mask=None,
    initial_state=None,
):
    """Builds the decoder on a `(batch, time)` token tensor.

    Returns:
        `(probabilities, states, attention_weights)`.
    """
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    attention = check_optional_choice("attention", attention, ATTENTION_KINDS)
    if attention is not None and memory is None:
        raise ValueError(
            "Attention needs a memory to attend over (a feature grid or an "
            f"encoder). Received: attention={attention!r} with no memory"
        )
    mask = PaddingMask(name=f"{prefix}_padding_mask")(tokens)
    x = keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True,
        name=f"{prefix}_embedding",
    )(tokens)
    stack = build_stack_layers(
        cell=cell, units=units, num_layers=num_layers, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, return_sequences=True, stateful=stateful,
        input_dim=embedding_dim, name=prefix,
    )
    outputs, states = apply_stack(
        stack, x, mask=mask, initial_state=initial_state
    )
    weights = None
    if attention is not None:
        outputs, weights = _attend(
            outputs, memory, memory_mask, prefix, attention=attention,
            units=layer_units(units, num_layers)[-1],
        )
    probabilities = keras.layers.Dense(
        vocabulary_size, activation="softmax", dtype="float32",
        name=f"{prefix}_output",
    )(outputs)
    return probabilities, states, weights


def _attend(outputs, memory, memory_mask, prefix, *, attention=None, units=None,
            layers=None):
    if layers is None:
        layers = (
            SequenceAttention(attention, name=f"{prefix}_attention"),
            keras.layers.Concatenate(name=f"{prefix}_concat"),
            keras.layers.Dense(units, activation="tanh", name=f"{prefix}_combine"),
            keras.layers.Add(name=f"{prefix}_attentional"),
        )
    attend, concat, combine, residual = layers
    context, weights = attend(outputs, memory, memory_mask=memory_mask)
    combined = combine(concat([outputs, context]))
    if residual is None:  # a model saved before the residual existed
        return combined, weights
    return residual([outputs, combined]), weights


def bridge_states(sources, decoder_cell, decoder_widths, name, copy=False):
    """Maps encoder final states (or a conditioning vector) to decoder states.

    Args:
        sources: dict with key `"h"` (and `"c"` for an LSTM encoder): the
            tensors each decoder state is computed from.
        decoder_cell: the decoder's cell.
        decoder_widths: the decoder's per-layer widths.
        name: the model name; layers are named `{name}_bridge_{i}_{j}`.
        copy: pass states through unchanged (identity layers) instead of a
            dense bridge; the per-layer lists in `sources["layers"]` are used.

    Returns:
        A list with one list of initial states per decoder layer.
    """
    initial = []
    for i, width in enumerate(decoder_widths, start=1):
        layer_states = []
        num = 2 if decoder_cell == "lstm" else 1
        for j in range(num):
            bridge_name = f"{name}_bridge_{i}_{j}"
            if copy:
                layer_states.append(
                    keras.layers.Identity(name=bridge_name)(sources["layers"][i - 1][j])
                )
                continue
            kind = "c" if j == 1 else "h"
            source = sources.get(kind, sources["h"])
            layer_states.append(
                keras.layers.Dense(
                    width, activation=None if kind == "c" else "tanh",
                    name=bridge_name,
                )(source)
            )
        initial.append(layer_states)
    return initial


def _decoder_prefix(model):
    by_name = {layer.name for layer in model.layers}
    if f"{model.name}_decoder_embedding" in by_name:
        return f"{model.name}_decoder"
    if f"{model.name}_embedding" in by_name and f"{model.name}_output" in by_name:
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
    ...     target_vocabulary_size=20, units=8, attention="luong")
    >>> encoder = rnnzoo.encoder_model(model)
    >>> [tuple(t.shape) for t in encoder(np.array([[3, 4, 0]]))]
    [(1, 3, 8), (1, 3), (1, 8), (1, 8)]
    """
    name = model.name
    prefix = _decoder_prefix(model)
    if prefix == name:
        raise ValueError(
            "A language model has no encoder: decode it from zero states "
            f"(see rnnzoo.decoder_step_model). Received: model named {name!r}"
        )
    decoder_tokens = model.get_layer(f"{prefix}_tokens").output
    inputs = [t for t in model.inputs if t is not decoder_tokens]
    outputs = []
    if _has_layer(model, f"{prefix}_attention"):
        outputs.append(model.get_layer(f"{name}_memory").output)
        if _has_layer(model, f"{name}_memory_mask"):
            outputs.append(model.get_layer(f"{name}_memory_mask").output)
    stack = stack_layers_from_model(model, prefix)
    for i, entry in enumerate(stack, start=1):
        for j in range(len(state_sizes(entry["rnn"]))):
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
    >>> lm = rnnzoo.language_model(vocabulary_size=30, units=16)
    >>> step = rnnzoo.decoder_step_model(lm)
    >>> probs, h, c = step([np.array([[5]]), np.zeros((1, 16)), np.zeros((1, 16))])
    >>> tuple(probs.shape)
    (1, 30)
    """
    name = model.name
    prefix = _decoder_prefix(model)
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
    token = keras.Input(shape=(1,), dtype="int32", name=f"{prefix}_step_token")
    state_inputs, flat_states = [], []
    for i, entry in enumerate(stack, start=1):
        layer_states = [
            keras.Input(shape=(size,), name=f"{prefix}_step_state_{i}_{j}")
            for j, size in enumerate(state_sizes(entry["rnn"]))
        ]
        state_inputs.append(layer_states)
        flat_states.extend(layer_states)
    x = model.get_layer(f"{prefix}_embedding")(token)
    outputs, new_states = apply_stack(stack, x, initial_state=state_inputs)
    inputs = [token, *flat_states]
    weights = None
    if _has_layer(model, f"{prefix}_attention"):
        memory_layer = model.get_layer(f"{name}_memory")
        memory_dim = memory_layer.output.shape[-1]
        memory = keras.Input(shape=(None, memory_dim), name=f"{prefix}_step_memory")
        inputs.append(memory)
        memory_mask = None
        if _has_layer(model, f"{name}_memory_mask"):
            memory_mask = keras.Input(
                shape=(None,), dtype="bool", name=f"{prefix}_step_memory_mask"
            )
            inputs.append(memory_mask)
        outputs, weights = _attend(
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
    output_layer = model.get_layer(f"{prefix}_output")
    probabilities = FirstStep(name=f"{prefix}_step_probabilities")(
        output_layer(outputs)
    )
    step_outputs = [probabilities, *[s for layer in new_states for s in layer]]
    if weights is not None:
        step_outputs.append(
            FirstStep(name=f"{prefix}_step_attention")(weights)
        )
    return keras.Model(inputs=inputs, outputs=step_outputs, name=f"{name}_step_model")


def _stateless_copy(rnn):
    """A non-stateful twin of a stateful layer, sharing its weight values."""
    config = rnn.get_config()
    config["stateful"] = False
    config["name"] = rnn.name + "_stateless"
    twin = type(rnn).from_config(config)
    twin.build(rnn.input.shape if hasattr(rnn, "input") else (None, None, rnn.cell.kernel.shape[0]))
    twin.set_weights(rnn.get_weights())
    return twin
