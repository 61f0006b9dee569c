"""The one-to-one baseline: no recurrence at all."""

import keras

from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import layer_units
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.common import head_dropout
from rnnzoo.models.common import output_head
from rnnzoo.models.common import sequence_input
from rnnzoo.validation import check_exactly_one
from rnnzoo.validation import check_positive_int


def dense_baseline(
    *,
    vocabulary_size=None,
    num_features=None,
    sequence_length=None,
    embedding_dim=128,
    units=128,
    num_layers=1,
    num_classes=None,
    num_outputs=None,
    dropout=0.0,
    name="dense_baseline",
):
    """Builds the one-to-one network of the seed notes' taxonomy.

    What recurrence buys is measured against it:
    - token input (`vocabulary_size`): a bag of embeddings (masked mean over
      the tokens: word order is lost), then dense layers;
    - `num_features` with `sequence_length`: a window of `sequence_length` steps,
      flattened, then dense layers (the time-series MLP baseline);
    - `num_features` alone: one feature vector in, one prediction out.

    Args:
        vocabulary_size: token input: the number of token ids, reserved
            ids included (id 0 is padding; every id is below it); or
        num_features: float input width (per step with `sequence_length`).
        sequence_length: number of steps of a flattened window of
            features; or the fixed length of a token input (None: any).
        embedding_dim: embedding width (token input).
        units: hidden width (int or one per layer).
        num_layers: number of hidden ReLU layers.
        num_classes, num_outputs: the head (see `rnnzoo.sequence_classifier`).
        dropout: dropout after each hidden layer.
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.dense_baseline(num_features=4, num_outputs=1, units=8)
    >>> model(np.ones((3, 4))).shape
    TensorShape([3, 1])
    """
    name = check_builder_name(name)
    check_exactly_one(vocabulary_size=vocabulary_size, num_features=num_features)
    if vocabulary_size is not None:
        inputs, x, mask = sequence_input(
            name, vocabulary_size=vocabulary_size, embedding_dim=embedding_dim,
            sequence_length=sequence_length,
        )
        x = SequencePooling("mean", name=f"{name}_bag_pooling")(x, mask=mask)
    elif sequence_length is not None:
        check_positive_int("sequence_length", sequence_length)
        check_positive_int("num_features", num_features)
        inputs = keras.Input(shape=(sequence_length, num_features), name=f"{name}_history")
        x = keras.layers.Flatten(name=f"{name}_flatten")(inputs)
    else:
        check_positive_int("num_features", num_features)
        inputs = keras.Input(shape=(num_features,), name=f"{name}_features")
        x = inputs
    for i, width in enumerate(layer_units(units, num_layers), start=1):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_dense_{i}")(x)
        x = head_dropout(x, dropout, f"{name}_{i}", arg="dropout")
    outputs = output_head(x, name, num_classes=num_classes, num_outputs=num_outputs)
    return keras.Model(inputs, outputs, name=name)
