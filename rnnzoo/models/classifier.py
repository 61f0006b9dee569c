"""Many-to-one: a sequence -> one class or one value."""

import keras

from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.common import check_pooling
from rnnzoo.models.common import head_dropout
from rnnzoo.models.common import output_head
from rnnzoo.models.common import sequence_input


def sequence_classifier(
    *,
    vocabulary_size=None,
    num_features=None,
    embedding_dim=128,
    embedding_dropout=0.0,
    sequence_length=None,
    mask_value=None,
    num_classes=None,
    num_outputs=None,
    pooling="last",
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
    name="sequence_classifier",
):
    """Builds a many-to-one model: sentiment, name -> language, regression.

    Args:
        vocabulary_size: token input: the number of token ids, reserved
            ids included (id 0 is padding, 1 out-of-vocabulary with
            `rnnzoo.text_vectorizer`; every id is below it); or
        num_features: float feature input `(time, num_features)`.
        embedding_dim: embedding width (token input).
        embedding_dropout: rate of whole embedding channels dropped in
            training (`SpatialDropout1D`; token input).
        sequence_length: fixed length, or None for variable length.
        mask_value: float inputs equal to this value on every feature are
            masked (feature input only).
        num_classes: an int >= 2 (softmax) or `"binary"` (one sigmoid unit);
            or
        num_outputs: number of regression outputs (linear).
        pooling: how the sequence becomes one vector, padded steps excluded:
            `"last"` (the final state), `"mean"`, `"max"` or `"attention"`.
        cell, units, num_layers, bidirectional, merge_mode, residual,
        dropout, recurrent_dropout, layer_norm, identity_init: the stack
            (see `rnnzoo.recurrent_stack`).
        head_dropout_rate: dropout before the output layer.
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_classifier(vocabulary_size=100,
    ...     num_classes=3, units=16, bidirectional=True, pooling="attention")
    >>> model(np.array([[5, 6, 7, 0]])).shape
    TensorShape([1, 3])
    """
    name = check_builder_name(name)
    pooling = check_pooling(pooling)
    inputs, x, mask = sequence_input(
        name, vocabulary_size=vocabulary_size, num_features=num_features,
        embedding_dim=embedding_dim, sequence_length=sequence_length,
        mask_value=mask_value, embedding_dropout=embedding_dropout,
    )
    x = recurrent_stack(
        x, cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode, residual=residual,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm, identity_init=identity_init,
        return_sequences=pooling != "last", mask=mask, name=f"{name}_encoder",
    )
    if pooling != "last":
        x = SequencePooling(pooling, name=f"{name}_{pooling}_pooling")(x, mask=mask)
    x = head_dropout(x, head_dropout_rate, name)
    outputs = output_head(x, name, num_classes=num_classes, num_outputs=num_outputs)
    return keras.Model(inputs, outputs, name=name)
