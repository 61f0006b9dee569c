"""One-to-many: a conditioning input steers a token decoder (captioning)."""

import keras

from rnnzoo.layers.attention import AttentionPenalty
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.recurrent_stack import CELLS
from rnnzoo.layers.recurrent_stack import layer_units
from rnnzoo.models.common import check_builder_name
from rnnzoo.models.decoder import bridge_states
from rnnzoo.models.decoder import build_decoder
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_exactly_one
from rnnzoo.validation import check_fraction
from rnnzoo.validation import check_positive_int


def small_cnn(image_shape, name="small_cnn", filters=(32, 64)):
    """A small convolutional image encoder returning a feature grid.

    Args:
        image_shape: `(height, width, channels)`.
        name: model name and layer-name prefix.
        filters: filters of each conv block (3x3 conv, ReLU, 2x2 max-pool).

    Returns:
        A Functional `keras.Model` mapping images to `(h', w', filters[-1])`.

    Example:

    >>> small_cnn((8, 24, 1)).output_shape
    (None, 2, 6, 64)
    """
    images = keras.Input(shape=tuple(image_shape), name=f"{name}_images")
    x = images
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu",
                                name=f"{name}_conv_{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool_{i}")(x)
    return keras.Model(images, x, name=name)


def sequence_generator(
    *,
    vocabulary_size,
    num_features=None,
    feature_grid_shape=None,
    image_shape=None,
    image_encoder="small_cnn",
    embedding_dim=128,
    cell="lstm",
    units=256,
    num_layers=1,
    residual=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    layer_norm=False,
    embedding_dropout=0.0,
    head_dropout_rate=0.0,
    feature_dropout=0.0,
    attention="bahdanau",
    attention_context="output",
    attention_penalty=0.0,
    name="sequence_generator",
):
    """Builds a one-to-many generator: a conditioning input -> a token sequence.

    Exactly one conditioning input:
    - `num_features`: one feature vector per example (no attention possible);
    - `feature_grid_shape=(regions, feature_dim)`: a grid of image-region
      features, attended over at every step ("Show, Attend and Tell");
    - `image_shape=(height, width, channels)` with `image_encoder`: raw images
      through an image encoder (any `keras.applications`-style model mapping
      images to `(h, w, c)` features, `"small_cnn"`, or `"efficientnet_lite0"`:
      `rnnzoo.image_encoders.efficientnet_lite0` with its ImageNet weights,
      frozen, inputs 224 x 224 RGB in 0-255), whose output grid is attended
      over.

    The conditioning input is projected to a memory (`{name}_memory`, tanh
    `Dense` to the decoder width); its mean (or the feature vector) seeds the
    decoder's initial states through `{name}_bridge_{i}_{j}` layers. Training
    inputs are `[conditioning, target_in_ids]` (teacher forcing); the output
    is `(batch, time, vocabulary_size)` next-token probabilities.

    Args:
        vocabulary_size: the number of output token ids, reserved ids
            included (id 0 is padding; every id is below it).
        num_features, feature_grid_shape, image_shape: the conditioning input
            (exactly one).
        image_encoder: `"small_cnn"`, `"efficientnet_lite0"` (frozen ImageNet
            weights; set `model.get_layer(...).trainable` to fine-tune) or a
            `keras.Model` (with `image_shape`).
        embedding_dim: token embedding width.
        cell, units, num_layers, residual, dropout, recurrent_dropout,
        layer_norm: the decoder stack (`dropout` acts between recurrent
            layers only: with one layer it drops nothing).
        embedding_dropout: rate of whole token-embedding channels dropped
            in training (`{name}_decoder_embedding_dropout`).
        head_dropout_rate: dropout on the decoder's final (attentional)
            features before the softmax (`{name}_decoder_head_dropout`),
            the regulariser of "Show and Tell" and "Show, Attend and Tell".
        feature_dropout: dropout on the feature grid (or feature vector)
            before the memory projection (`{name}_feature_dropout`), in
            training only: it regularises what the attention reads and the
            initial states.
        attention: `None`, `"luong"` or `"bahdanau"` (needs a grid or images).
        attention_context: `"output"`: the attention reads the LSTM's
            outputs (Luong's attentional state; training is parallel over
            time); `"input"`: "Show, Attend and Tell"'s decoder, where the
            gated context of the previous state feeds each LSTM step and
            the deep output reads state, context and word
            (`rnnzoo.layers.AttentiveRNN`, one layer; training runs step
            by step).
        attention_penalty: weight of the doubly stochastic attention penalty
            of "Show, Attend and Tell" (`rnnzoo.layers.AttentionPenalty`,
            added to the loss; 0 = none; needs `attention`).
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_generator(vocabulary_size=12,
    ...     feature_grid_shape=(6, 16), units=32)
    >>> model([np.ones((2, 6, 16)), np.ones((2, 4))]).shape
    TensorShape([2, 4, 12])
    """
    name = check_builder_name(name)
    kind = check_exactly_one(
        num_features=num_features,
        feature_grid_shape=feature_grid_shape,
        image_shape=image_shape,
    )
    check_choice("cell", cell, CELLS)
    widths = layer_units(units, num_layers)
    if kind == "num_features":
        check_positive_int("num_features", num_features)
        if attention is not None:
            raise ValueError(
                "Attention needs a feature grid or images to attend over; a "
                "feature vector has none. Pass attention=None or "
                f"feature_grid_shape. Received: attention={attention!r}"
            )
        conditioning = keras.Input(shape=(num_features,), name=f"{name}_features")
        grid = None
    elif kind == "feature_grid_shape":
        if len(feature_grid_shape) != 2:
            raise ValueError(
                "Expected `feature_grid_shape` to be (regions, feature_dim). "
                f"Received: feature_grid_shape={feature_grid_shape!r}"
            )
        for value in feature_grid_shape:
            if value is not None:
                check_positive_int("feature_grid_shape", value)
        conditioning = keras.Input(shape=tuple(feature_grid_shape), name=f"{name}_feature_grid")
        grid = conditioning
    else:
        if len(image_shape) != 3:
            raise ValueError(
                "Expected `image_shape` to be (height, width, channels). "
                f"Received: image_shape={image_shape!r}"
            )
        conditioning = keras.Input(shape=tuple(image_shape), name=f"{name}_images")
        if isinstance(image_encoder, str):
            check_choice("image_encoder", image_encoder, ("small_cnn", "efficientnet_lite0"))
            if image_encoder == "small_cnn":
                image_encoder = small_cnn(image_shape, name=f"{name}_small_cnn")
            else:
                from rnnzoo.image_encoders import efficientnet_lite0

                image_encoder = efficientnet_lite0(
                    include_top=False, input_shape=tuple(image_shape),
                    name=f"{name}_efficientnet_lite0")
                image_encoder.trainable = False
        elif not isinstance(image_encoder, keras.Model):
            raise ValueError(
                "Expected `image_encoder` to be 'small_cnn', 'efficientnet_lite0' or a "
                "keras.Model. "
                f"Received: image_encoder={image_encoder!r}"
            )
        features = image_encoder(conditioning)
        grid = keras.layers.Reshape(
            (-1, features.shape[-1]), name=f"{name}_feature_grid_reshape"
        )(features)

    if attention_penalty and attention is None:
        raise ValueError("The attention penalty needs attention. Received: "
                         f"attention_penalty={attention_penalty!r} with attention=None")
    if check_fraction("feature_dropout", feature_dropout):
        dropout_layer = keras.layers.Dropout(feature_dropout, name=f"{name}_feature_dropout")
        if grid is None:
            summary = dropout_layer(conditioning)
        else:
            grid = dropout_layer(grid)
    elif grid is None:
        summary = conditioning
    memory = None
    if grid is not None:
        memory = keras.layers.Dense(widths[-1], activation="tanh", name=f"{name}_memory")(grid)
        summary = keras.layers.GlobalAveragePooling1D(name=f"{name}_memory_pool")(memory)
    initial_state = bridge_states({"h": summary}, cell, widths, name)
    target = keras.Input(shape=(None,), dtype="int32", name=f"{name}_decoder_tokens")
    probabilities, _, weights = build_decoder(
        target,
        prefix=f"{name}_decoder",
        vocabulary_size=vocabulary_size,
        embedding_dim=embedding_dim,
        cell=cell,
        units=widths,
        num_layers=len(widths),
        residual=residual,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm,
        embedding_dropout=embedding_dropout,
        head_dropout_rate=head_dropout_rate,
        attention=attention,
        attention_context=attention_context,
        memory=memory,
        initial_state=initial_state,
    )
    if attention_penalty:
        # float32: the probabilities pass through uncast under a mixed policy.
        probabilities = AttentionPenalty(attention_penalty, dtype="float32",
                                         name=f"{name}_attention_penalty")(
            probabilities, weights, PaddingMask(name=f"{name}_penalty_mask")(target))
    return keras.Model(inputs=[conditioning, target], outputs=probabilities, name=name)
