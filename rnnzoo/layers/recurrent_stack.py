"""The one recurrent stack every rnnzoo builder uses."""

import warnings

import keras

from rnnzoo.layers import pooling
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_fraction
from rnnzoo.validation import check_positive_int

CELLS = ("lstm", "gru", "simple")
MERGE_MODES = ("concat", "sum", "mul", "ave")

# Backends on which `make_recurrent_layer` builds rnnzoo's fused LSTM/GRU
# (`rnnzoo.layers.fast_rnn`, weight-compatible with Keras') instead of
# `keras.layers.LSTM`/`GRU`: only those where it measured faster (see
# docs/benchmarks.md): TensorFlow (7 of 8 benchmark rows faster than Keras).
# On JAX the runs so far were within noise of Keras, so JAX keeps Keras'
# layers; add "jax" to opt in, or set `()` for Keras everywhere.
FAST_RNN_BACKENDS = ("tensorflow",)


def _lstm_gru_classes():
    """`(LSTM, GRU)` classes for the current backend (rnnzoo's or Keras')."""
    if keras.backend.backend() in FAST_RNN_BACKENDS:
        from rnnzoo.layers import fast_rnn

        return fast_rnn.LSTM, fast_rnn.GRU
    return keras.layers.LSTM, keras.layers.GRU


def layer_units(units, num_layers):
    """Returns the per-layer widths for `units` (an int or one int per layer)."""
    num_layers = check_positive_int("num_layers", num_layers)
    if isinstance(units, (list, tuple)):
        if len(units) != num_layers:
            raise ValueError(
                "Expected `units` to be an int or a list with one entry per "
                f"layer ({num_layers} entries for num_layers={num_layers}). "
                f"Received: units={list(units)}"
            )
        return [check_positive_int("units", u) for u in units]
    return [check_positive_int("units", units)] * num_layers


def make_recurrent_layer(
    cell,
    units,
    *,
    return_sequences,
    return_state,
    recurrent_dropout=0.0,
    identity_init=False,
    stateful=False,
    name=None,
):
    """Creates one recurrent layer (LSTM, GRU or rnnzoo's `SimpleRNN`, Keras' with an exportable loop).

    LSTM and GRU are rnnzoo's fused layers (`rnnzoo.layers.fast_rnn`,
    subclasses of and weight-compatible with `keras.layers.LSTM`/`GRU`) on
    the backends in `FAST_RNN_BACKENDS`, else the Keras layers. The layer is
    eligible for the fused (cuDNN) kernel unless an argument
    rules it out, in which case a warning says which argument and why.

    Args:
        cell: `"lstm"`, `"gru"` or `"simple"`.
        units: positive int, the width of the layer's state.
        return_sequences: whether to return the whole output sequence.
        return_state: whether to also return the final states.
        recurrent_dropout: dropout rate on the recurrent state.
        identity_init: IRNN initialisation (simple cell only): ReLU activation
            and an identity recurrent kernel.
        stateful: whether the final states of a batch seed the next batch.
        name: the layer name.

    Returns:
        An unbuilt Keras recurrent layer.

    Example:

    >>> layer = make_recurrent_layer("gru", 8, return_sequences=True,
    ...                              return_state=False)
    >>> isinstance(layer, keras.layers.GRU)
    True
    """
    cell = check_choice("cell", cell, CELLS)
    common = dict(
        units=units,
        return_sequences=return_sequences,
        return_state=return_state,
        recurrent_dropout=recurrent_dropout,
        stateful=stateful,
        name=name,
    )
    if cell == "simple":
        from rnnzoo.layers.fast_rnn import SimpleRNN  # Keras' loop, export-friendly

        if identity_init:
            return SimpleRNN(
                activation="relu",
                recurrent_initializer=keras.initializers.Identity(),
                **common,
            )
        return SimpleRNN(**common)
    if recurrent_dropout > 0:
        warnings.warn(
            f"Layer '{name}': recurrent_dropout={recurrent_dropout} makes this "
            f"{cell.upper()} layer ineligible for the fused cuDNN kernel "
            "(the kernel has no dropout on the recurrent state), so it runs "
            "the slower generic loop on GPU. Use `dropout` (between layers) "
            "to keep the fused kernel.",
            stacklevel=3,
        )
    lstm_class, gru_class = _lstm_gru_classes()
    if cell == "lstm":
        return lstm_class(**common)
    return gru_class(**common)


def _check_stack_args(
    cell, units, num_layers, merge_mode, dropout, recurrent_dropout,
    identity_init,
):
    cell = check_choice("cell", cell, CELLS)
    widths = layer_units(units, num_layers)
    check_choice("merge_mode", merge_mode, MERGE_MODES)
    check_fraction("dropout", dropout)
    check_fraction("recurrent_dropout", recurrent_dropout)
    if identity_init and cell != "simple":
        raise ValueError(
            "`identity_init=True` is the IRNN (a simple cell with ReLU and an "
            "identity recurrent initializer) and needs cell='simple'. "
            f"Received: cell={cell!r}"
        )
    return cell, widths


def build_stack_layers(
    *,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    return_sequences=False,
    identity_init=False,
    stateful=False,
    input_dim=None,
    name="recurrent_stack",
):
    """Creates the named layers of a recurrent stack, one dict per layer.

    Every layer is built with `return_sequences` wired per layer: inner
    layers return sequences, the last follows `return_sequences` (it also
    returns sequences when a residual connection needs them, and a masked
    last-step layer then picks each sequence's last real step).

    Returns:
        A list with one dict per recurrent layer, holding the keys `rnn` and,
        where used, `projection`, `add`, `norm`, `dropout`, `last`.
    """
    cell, widths = _check_stack_args(
        cell, units, num_layers, merge_mode, dropout, recurrent_dropout,
        identity_init,
    )
    num_layers = len(widths)
    direction_factor = 2 if bidirectional and merge_mode == "concat" else 1
    stack = []
    in_width = input_dim
    for i, width in enumerate(widths, start=1):
        last = i == num_layers
        entry = {}
        out_width = width * direction_factor
        use_residual = residual and i > 1
        sequences = (not last) or return_sequences or use_residual
        rnn = make_recurrent_layer(
            cell,
            width,
            return_sequences=sequences,
            return_state=True,
            recurrent_dropout=recurrent_dropout,
            identity_init=identity_init,
            stateful=stateful,
            name=f"{name}_{cell}_{i}",
        )
        if bidirectional:
            rnn = keras.layers.Bidirectional(
                rnn, merge_mode=merge_mode, name=f"{name}_bi{cell}_{i}"
            )
        entry["rnn"] = rnn
        if use_residual:
            if in_width != out_width:
                entry["projection"] = keras.layers.Dense(
                    out_width, use_bias=False, name=f"{name}_projection_{i}"
                )
            entry["add"] = keras.layers.Add(name=f"{name}_add_{i}")
        if layer_norm:
            entry["norm"] = keras.layers.LayerNormalization(
                name=f"{name}_norm_{i}"
            )
        if dropout > 0 and not last:
            entry["dropout"] = keras.layers.Dropout(
                dropout, name=f"{name}_dropout_{i}"
            )
        if last and use_residual and not return_sequences:
            entry["last"] = pooling.SequencePooling(
                "last", name=f"{name}_last_step"
            )
        stack.append(entry)
        in_width = out_width
    return stack


_ENTRY_SUFFIXES = {
    "projection": "projection",
    "add": "add",
    "norm": "norm",
    "dropout": "dropout",
}


def stack_layers_from_model(model, name):
    """Finds the layers of the recurrent stack `name` in `model`, by name.

    This is how inference models (encoders, one-step decoders) reuse the
    trained layers and their weights: never by layer position.

    Args:
        model: a Keras model containing a stack built with `name`.
        name: the stack's name prefix.

    Returns:
        The same per-layer list of dicts as `build_stack_layers`.
    """
    by_name = {layer.name: layer for layer in model.layers}
    stack = []
    i = 1
    while True:
        rnn = None
        for cell in CELLS:
            rnn = by_name.get(f"{name}_{cell}_{i}") or by_name.get(
                f"{name}_bi{cell}_{i}"
            )
            if rnn is not None:
                break
        if rnn is None:
            break
        entry = {"rnn": rnn}
        for key, suffix in _ENTRY_SUFFIXES.items():
            layer = by_name.get(f"{name}_{suffix}_{i}")
            if layer is not None:
                entry[key] = layer
        stack.append(entry)
        i += 1
    if not stack:
        raise ValueError(
            f"Model '{model.name}' has no recurrent stack named {name!r}. "
            f"Received: name={name!r}"
        )
    if f"{name}_last_step" in by_name:
        stack[-1]["last"] = by_name[f"{name}_last_step"]
    return stack


def state_sizes(rnn_layer):
    """The width of each state tensor of a (possibly bidirectional) layer."""
    if isinstance(rnn_layer, keras.layers.Bidirectional):
        return state_sizes(rnn_layer.forward_layer) + state_sizes(
            rnn_layer.backward_layer
        )
    per_cell = 2 if isinstance(rnn_layer, keras.layers.LSTM) else 1
    return [rnn_layer.units] * per_cell


def apply_stack(
    stack,
    x,
    *,
    mask=None,
    initial_state=None,
    training=None,
):
    """Runs `x` through the layers of a stack.

    Args:
        stack: the per-layer list from `build_stack_layers` or
            `stack_layers_from_model`.
        x: a `(batch, time, features)` tensor.
        mask: optional `(batch, time)` boolean mask; passed explicitly to
            every recurrent layer (a mask carried on `x` is dropped by Keras
            when `initial_state` is given, so rnnzoo never relies on it).
        initial_state: optional list with one list of state tensors per
            layer (a bidirectional layer takes forward then backward states).
        training: the training flag.

    Returns:
        `(outputs, states)` where `states` is a list with one list of final
        state tensors per layer.
    """
    if mask is None:
        mask = getattr(x, "_keras_mask", None)
    states = []
    for i, entry in enumerate(stack):
        layer_input = x
        kwargs = {}
        if mask is not None:
            kwargs["mask"] = mask
        if initial_state is not None and initial_state[i] is not None:
            kwargs["initial_state"] = list(initial_state[i])
        if training is not None:
            kwargs["training"] = training
        result = entry["rnn"](layer_input, **kwargs)
        x, layer_states = result[0], list(result[1:])
        states.append(layer_states)
        if "add" in entry:
            skip = layer_input
            if "projection" in entry:
                skip = entry["projection"](skip)
            x = entry["add"]([x, skip])
        if "norm" in entry:
            x = entry["norm"](x)
        if "dropout" in entry:
            x = entry["dropout"](x, training=training)
        if "last" in entry:
            x = entry["last"](x, mask=mask)
    return x, states


def recurrent_stack(
    x,
    *,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    return_sequences=False,
    return_state=False,
    identity_init=False,
    stateful=False,
    mask=None,
    initial_state=None,
    name="recurrent_stack",
):
    """Applies a stack of recurrent layers to a sequence tensor.

    Inner layers always return sequences; only the last follows
    `return_sequences`. Between layers: an optional residual connection
    (layers 2..N, projected with a bias-free `Dense` when widths differ),
    layer normalisation of each layer's output, and dropout (between layers,
    which keeps the fused kernel, unlike `recurrent_dropout`).

    Args:
        x: a `(batch, time, features)` Keras tensor (it may carry a mask).
        cell: `"lstm"`, `"gru"` or `"simple"`.
        units: int, or a list with one int per layer.
        num_layers: number of stacked recurrent layers (>= 1).
        bidirectional: wrap each layer in `keras.layers.Bidirectional`.
        merge_mode: how the two directions merge: `"concat"`, `"sum"`,
            `"mul"` or `"ave"`.
        residual: add skip connections between layers 2..N.
        dropout: dropout rate between layers.
        recurrent_dropout: dropout on the recurrent state (warns: it rules out
            the fused cuDNN kernel).
        layer_norm: apply `LayerNormalization` to each layer's output.
        return_sequences: whether the last layer returns the whole sequence.
        return_state: also return the final states of every layer.
        identity_init: the IRNN: simple cell, ReLU, identity recurrent kernel.
        stateful: carry the final states of each batch into the next one.
        mask: optional `(batch, time)` boolean mask, passed explicitly to each
            recurrent layer (`True` = a real step).
        initial_state: optional list with one list of states per layer.
        name: prefix of every layer's name.

    Returns:
        The output tensor, or `(output, states)` with `return_state=True`,
        where `states` holds one list of final state tensors per layer.

    Example:

    >>> import keras, rnnzoo
    >>> tokens = keras.Input((None,), dtype="int32")
    >>> x = keras.layers.Embedding(100, 16, mask_zero=True)(tokens)
    >>> y = rnnzoo.recurrent_stack(x, cell="gru", units=32, num_layers=2)
    >>> tuple(y.shape)
    (None, 32)
    """
    stack = build_stack_layers(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        residual=residual,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm,
        return_sequences=return_sequences,
        identity_init=identity_init,
        stateful=stateful,
        input_dim=x.shape[-1],
        name=name,
    )
    outputs, states = apply_stack(
        stack, x, mask=mask, initial_state=initial_state
    )
    if return_state:
        return outputs, states
    return outputs
