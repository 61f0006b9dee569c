"""Encoder-decoder (many-to-many with Tx != Ty), with optional attention."""

import keras

from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.recurrent_stack import apply_stack
from rnnzoo.layers.recurrent_stack import build_stack_layers
from rnnzoo.layers.recurrent_stack import check_choice
from rnnzoo.layers.recurrent_stack import CELLS
from rnnzoo.layers.recurrent_stack import layer_units
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.decoder import bridge_states
from rnnzoo.models.decoder import build_decoder
from rnnzoo.validation import check_positive_int


def seq2seq(
    *,
    source_vocabulary_size,
    target_vocabulary_size,
    embedding_dim=128,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=True,
    merge_mode="concat",
    decoder_cell=None,
    decoder_units=None,
    decoder_num_layers=None,
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    attention="luong",
    name="seq2seq",
):
    """Builds an encoder-decoder for translation-like tasks (Tx != Ty).

    Trained with teacher forcing: inputs are `[source_ids, target_in_ids]`
    (both padded with 0 on the right), the output is the probability of each
    next target token, `(batch, target_time, target_vocabulary_size)`; loss on
    padded target steps is masked out.

    Encoder and decoder may differ in cell, width and depth. How encoder
    states reach the decoder (the bridge): when the encoder is
    unidirectional with the same cell and the same per-layer widths as the
    decoder, layer i's final states initialise decoder layer i unchanged;
    otherwise the top encoder layer's final states (forward and backward
    concatenated for a bidirectional encoder) pass through one `Dense` per
    decoder state (`tanh` for hidden states, linear for LSTM cell states),
    named `{name}_bridge_{i}_{j}`.

    With `attention`, the decoder attends over the encoder outputs
    (`{name}_memory`, padded source steps masked out), Luong-style: the
    recurrent output and the context are combined by a tanh layer whose
    output is added to the recurrent output (a residual; see
    `rnnzoo.models.decoder`) before the softmax. `rnnzoo.encoder_model(model)` and
    `rnnzoo.decoder_step_model(model)` give the inference parts, found by
    layer name and sharing the weights.

    Args:
        source_vocabulary_size: the number of source token ids, reserved
            ids included (id 0 is padding, 1 out-of-vocabulary with
            `rnnzoo.text_vectorizer`): `len(vocabulary) + NUM_RESERVED`.
        target_vocabulary_size: the number of target token ids, reserved
            ids included (id 0 is padding; every id is below it).
        embedding_dim: width of both embeddings.
        cell, units, num_layers, bidirectional, merge_mode: the encoder stack
            (see `rnnzoo.recurrent_stack`).
        decoder_cell, decoder_units, decoder_num_layers: the decoder stack;
            default to the encoder's (decoder width defaults to the encoder's
            output width, i.e. doubled for a concatenating bidirectional
            encoder, so states can be bridged without loss).
        residual, dropout, recurrent_dropout, layer_norm: for both stacks.
        attention: `None`, `"luong"` or `"bahdanau"`.
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=30,
    ...     target_vocabulary_size=40, units=16)
    >>> model([np.ones((2, 7)), np.ones((2, 5))]).shape
    TensorShape([2, 5, 40])
    """
    name = check_builder_name(name)
    check_positive_int("source_vocabulary_size", source_vocabulary_size)
    check_positive_int("target_vocabulary_size", target_vocabulary_size)
    check_positive_int("embedding_dim", embedding_dim)
    encoder_widths = layer_units(units, num_layers)
    decoder_cell = check_choice("decoder_cell", decoder_cell or cell, CELLS)
    decoder_num_layers = check_positive_int(
        "decoder_num_layers", decoder_num_layers or num_layers
    )
    if decoder_units is None:
        factor = 2 if bidirectional and merge_mode == "concat" else 1
        decoder_units = encoder_widths[-1] * factor
    decoder_widths = layer_units(decoder_units, decoder_num_layers)

    source = keras.Input(shape=(None,), dtype="int32", name=f"{name}_source_tokens")
    target = keras.Input(shape=(None,), dtype="int32", name=f"{name}_decoder_tokens")
    source_mask = PaddingMask(name=f"{name}_memory_mask")(source)
    x = keras.layers.Embedding(
        source_vocabulary_size, embedding_dim, mask_zero=True,
        name=f"{name}_encoder_embedding",
    )(source)
    stack = build_stack_layers(
        cell=cell, units=encoder_widths, num_layers=len(encoder_widths),
        bidirectional=bidirectional, merge_mode=merge_mode, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, return_sequences=True, input_dim=embedding_dim,
        name=f"{name}_encoder",
    )
    encoded, encoder_states = apply_stack(stack, x, mask=source_mask)
    memory = keras.layers.Identity(name=f"{name}_memory")(encoded)

    copy = (
        not bidirectional
        and cell == decoder_cell
        and encoder_widths == decoder_widths
    )
    top = encoder_states[-1]
    if copy:
        sources = {"layers": encoder_states}
    else:
        per_direction = len(top) // 2 if bidirectional else len(top)
        directions = [top[:per_direction], top[per_direction:]] if bidirectional else [top]
        sources = {}
        for k, kind in enumerate(["h", "c"][:per_direction]):
            parts = [d[k] for d in directions]
            sources[kind] = (
                keras.layers.Concatenate(name=f"{name}_bridge_{kind}")(parts)
                if len(parts) > 1 else parts[0]
            )
    initial_state = bridge_states(sources, decoder_cell, decoder_widths, name, copy=copy)

    probabilities, _, _ = build_decoder(
        target,
        prefix=f"{name}_decoder",
        vocabulary_size=target_vocabulary_size,
        embedding_dim=embedding_dim,
        cell=decoder_cell,
        units=decoder_widths,
        num_layers=decoder_num_layers,
        residual=residual,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm,
        attention=attention,
        memory=memory,
        memory_mask=source_mask,
        initial_state=initial_state,
    )
    return keras.Model(inputs=[source, target], outputs=probabilities, name=name)
