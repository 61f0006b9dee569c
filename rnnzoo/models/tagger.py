"""Many-to-many aligned: one output per input step (tagging)."""

import keras

from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.common import head_dropout
from rnnzoo.models.common import output_head
from rnnzoo.models.common import sequence_input


def sequence_tagger(
    *,
    vocabulary_size=None,
    num_features=None,
    embedding_dim=128,
    sequence_length=None,
    mask_value=None,
    num_classes=None,
    num_outputs=None,
    cell="lstm",
    units=128,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    identity_init=False,
    head_dropout_rate=0.0,
    name="sequence_tagger",
):
    """Builds an aligned many-to-many model: one class or value per step.

    Output `(batch, time, num_classes)` probabilities (or `num_outputs`
    values). Padded steps carry the input mask to the output, so Keras leaves
    them out of the loss and metrics.

    Args:
        vocabulary_size, num_features, embedding_dim, sequence_length,
        mask_value: the input (see `rnnzoo.sequence_classifier`).
        num_classes: classes per step (int >= 2 or `"binary"`); or
        num_outputs: regression values per step.
        cell, units, num_layers, bidirectional, merge_mode, residual,
        dropout, recurrent_dropout, layer_norm, identity_init: the stack.
        head_dropout_rate: dropout before the output layer.
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_tagger(vocabulary_size=50, num_classes=5,
    ...     units=8, bidirectional=True)
    >>> model(np.array([[3, 4, 5, 0]])).shape
    TensorShape([1, 4, 5])
    """
    name = check_builder_name(name)
    inputs, x, mask = sequence_input(
        name, vocabulary_size=vocabulary_size, num_features=num_features,
        embedding_dim=embedding_dim, sequence_length=sequence_length,
        mask_value=mask_value,
    )
    x = recurrent_stack(
        x, cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, identity_init=identity_init,
        return_sequences=True, mask=mask, name=f"{name}_encoder",
    )
    x = head_dropout(x, head_dropout_rate, name)
    outputs = output_head(x, name, num_classes=num_classes, num_outputs=num_outputs)
    return keras.Model(inputs, outputs, name=name)
