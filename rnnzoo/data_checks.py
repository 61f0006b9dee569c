"""Checks on the data a model is fed: token ids, class labels, finite floats.

Keras takes bad data silently or fails deep inside the backend: a token id
past the vocabulary raises `indices[0,1] = 25 is not in [0, 20)` from a
gather node after a long stack on TensorFlow (and is clamped on JAX), a
negative id wraps, a float id like 1.5 is truncated, a binary classifier
trains on label 2, and one NaN in an input turns every weight NaN. The
functions here read what the model expects off the model itself (the
vocabulary of the embedding each input feeds, the classes of its head, the
loss it was compiled with) and raise a `ValueError` naming the argument,
the expected range, and the first offending value and its position.

`rnnzoo.fit` (and so every task, through the `Runner`) calls
`check_fit_data`; `rnnzoo.decode` checks its inputs with
`input_vocabularies`. Datasets that hold their arrays in memory
(`rnnzoo.data.LengthBatches`, the captioning batches) expose them through
an `arrays()` method and are checked whole before training; other datasets
(generators, `tf.data`) are not read ahead, and the non-finite loss guard
of training (`rnnzoo.training.callbacks.StopOnNonFiniteLoss`) stops them
at the first bad batch instead.
"""

import keras
import numpy as np


def _trace_to_input(model, tensor):
    """The index of the model input `tensor` is computed from through
    single-input layers (reshapes, masks), or None."""
    inputs = {id(t): i for i, t in enumerate(model.inputs)}
    for _ in range(32):
        if id(tensor) in inputs:
            return inputs[id(tensor)]
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return None
        operation = history[0]
        nodes = getattr(operation, "_inbound_nodes", [])
        if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
            return None
        tensor = nodes[0].input_tensors[0]
    return None


def _embeddings(layer):
    """The `Embedding` a layer is or wraps (`TimeDistributed`), or None."""
    if isinstance(layer, keras.layers.Embedding):
        return layer
    inner = getattr(layer, "layer", None)
    if isinstance(layer, keras.layers.TimeDistributed) and isinstance(inner, keras.layers.Embedding):
        return inner
    return None


def input_vocabularies(model):
    """The vocabulary size of each model input that feeds an embedding.

    Args:
        model: a Functional Keras model (any rnnzoo builder's).

    Returns:
        A dict `{input index: (vocabulary_size, embedding layer name)}`;
        inputs read by no embedding (features, images) are absent.

    Example:

    >>> import rnnzoo
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=12, target_vocabulary_size=9)
    >>> {i: size for i, (size, _) in input_vocabularies(model).items()}
    {0: 12, 1: 9}
    """
    found = {}
    for layer in model.layers:
        embedding = _embeddings(layer)
        if embedding is None:
            continue
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                index = _trace_to_input(model, tensor)
                if index is not None:
                    size = int(embedding.input_dim)
                    if index not in found or size < found[index][0]:
                        found[index] = (size, layer.name)
    return found


def _find(array, bad):
    """`(count, first position)` of the values where `bad(chunk)` holds, or `(0, None)`.

    Works through the first axis in chunks: a flag array as large as the
    data (the captioning grids: 445 million values) is never built.
    """
    rows = max(1, (1 << 22) // max(1, array[:1].size))
    count, first = 0, None
    for start in range(0, len(array) if array.ndim else 1, rows):
        chunk = array[start:start + rows] if array.ndim else array
        flags = bad(chunk)
        found = int(np.count_nonzero(flags))
        if found and first is None:
            first = tuple(int(i) for i in np.argwhere(flags)[0])
            if array.ndim:
                first = (first[0] + start,) + first[1:]
        count += found
    return count, first


def _where(arg, position):
    return f"{arg}[{', '.join(str(i) for i in position)}]"


def check_finite(array, arg):
    """Raises a `ValueError` at the first NaN or infinity of a float array."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or array.size == 0:
        return array
    count, position = _find(array, lambda a: ~np.isfinite(a))
    if count:
        raise ValueError(
            f"Expected `{arg}` to hold finite numbers (NaN or infinity would turn every "
            f"weight NaN). Received: {array[position]} at {_where(arg, position)} "
            f"({count} non-finite values in all)"
        )
    return array


def check_ids(array, vocabulary_size, arg="inputs", what="token id", source=""):
    """Raises a `ValueError` unless every value is an integer in `[0, vocabulary_size)`.

    The one range check of token ids and class labels (`rnnzoo.fit`,
    `evaluate`, `predict` and `decode` use it; public as
    `rnnzoo.check_token_ids`). Integer-valued floats (e.g. from pandas)
    pass; a fraction like 1.5 does not (Keras would truncate it). The
    message gives the first bad value and its position.

    Args:
        array: the ids.
        vocabulary_size: the exclusive upper bound.
        arg: the argument name used in the error.
        what: what one value is ("token id", "class label").
        source: where the bound comes from, appended to the message.

    Returns:
        `array` as a NumPy array.

    Example:

    >>> import numpy as np
    >>> import rnnzoo
    >>> rnnzoo.check_token_ids(np.array([[0, 3, 9]]), 10).shape
    (1, 3)
    >>> rnnzoo.check_token_ids(np.array([[0, 3, 10]]), 10, arg="x_train")
    Traceback (most recent call last):
    ...
    ValueError: Expected every token id in `x_train` to lie in [0, 10). Received: 10 at x_train[0, 2]
    """
    array = np.asarray(array)
    if array.size == 0:
        return array
    if array.dtype.kind == "b":
        array = array.astype("int32")
    if array.dtype.kind not in "iuf":
        raise ValueError(
            f"Expected `{arg}` to hold integer {what}s. Received: {arg} with dtype={array.dtype}"
        )
    if array.dtype.kind == "f":
        check_finite(array, arg)
        count, position = _find(array, lambda a: a != np.floor(a))
        if count:
            raise ValueError(
                f"Expected `{arg}` to hold integer {what}s (a fraction would be "
                f"truncated). Received: {array[position]} at {_where(arg, position)}"
            )
    count, position = _find(array, lambda a: (a < 0) | (a >= vocabulary_size))
    if count:
        value = array[position]
        value = int(value) if float(value).is_integer() else value
        raise ValueError(
            f"Expected every {what} in `{arg}` to lie in [0, {vocabulary_size}){source}. "
            f"Received: {value} at {_where(arg, position)}"
        )
    return array


def check_input_ids(model, index, array, arg, vocabularies=None):
    """Checks the ids given to model input `index` against the embedding it feeds.

    Args:
        model: a Functional Keras model.
        index: the position of the input in `model.inputs`.
        array: the ids.
        arg: the argument name used in the error.
        vocabularies: `input_vocabularies(model)`, when already computed.

    Returns:
        `array` as a NumPy array (unchecked when the input feeds no embedding).
    """
    vocabularies = input_vocabularies(model) if vocabularies is None else vocabularies
    if index not in vocabularies:
        return np.asarray(array)
    size, layer = vocabularies[index]
    return check_ids(array, size, arg,
                     source=f" (model input {model.inputs[index].name!r} feeds the embedding "
                            f"{layer!r} of input_dim={size})")


def _as_list(x, model, arg):
    """`x` as `[(arg name, array or None)]` aligned with `model.inputs`."""
    n = len(model.inputs)
    if isinstance(x, dict):
        names = [t.name for t in model.inputs]
        return [(f"{arg}[{name!r}]", x.get(name)) for name in names]
    if isinstance(x, (list, tuple)) and n > 1:
        if len(x) != n:
            raise ValueError(
                f"Expected `{arg}` to hold {n} arrays, one per model input "
                f"({', '.join(t.name for t in model.inputs)}). Received: {len(x)} arrays"
            )
        return [(f"{arg}[{i}]", a) for i, a in enumerate(x)]
    if isinstance(x, (list, tuple)) and len(x) == 1 and n == 1 and isinstance(x[0], np.ndarray):
        return [(f"{arg}[0]", x[0])]  # `[array]` for a one-input model (a nested list is data)
    return [(arg, x)]


def _array(value):
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):  # eager tensors
        return np.asarray(value.numpy())
    if isinstance(value, (list, tuple)):
        array = np.asarray(value)
        return array if array.dtype != object else None
    if hasattr(value, "__array__"):
        return np.asarray(value)
    return None


def check_inputs(model, x, arg="x"):
    """Checks model inputs: token ids inside each embedding's vocabulary, floats finite.

    Args:
        model: the model the inputs are for.
        x: an array, a list of arrays (one per model input) or a dict by
            input name; anything else (a dataset) is not read.
        arg: the argument name used in errors.
    """
    vocabularies = input_vocabularies(model)
    for index, (name, value) in enumerate(_as_list(x, model, arg)):
        array = _array(value)
        if array is None or array.dtype.kind in "OSU":
            continue
        if index in vocabularies:
            check_input_ids(model, index, array, name, vocabularies)
        elif str(model.inputs[index].dtype).startswith("int"):
            check_ids(array, np.iinfo("int32").max, name)
        else:
            check_finite(array, name)


def _label_rule(model):
    """What the targets must be, read off the compiled loss: a kind and a class count."""
    if len(model.outputs) != 1:
        return "finite", None
    loss = getattr(model, "loss", None)
    classes = model.outputs[0].shape[-1]
    if loss is None and type(model).__name__ == "CRFModel" and classes:  # a CRF: tags
        return "labels", int(classes)
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    name = getattr(loss, "__name__", type(loss).__name__)  # a loss function, or a Loss object
    if name in ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy") and classes:
        return "labels", int(classes)
    if name in ("BinaryCrossentropy", "binary_crossentropy", "BinaryFocalCrossentropy"):
        return "binary", None
    return "finite", None


def check_targets(model, y, arg="y"):
    """Checks targets against the model's compiled loss.

    Sparse categorical cross-entropy (and a CRF): integer labels in
    `[0, classes)` of the output layer; binary cross-entropy: values in
    `[0, 1]`; any other loss: finite numbers.

    Args:
        model: a compiled model.
        y: an array or a list of arrays; anything else is not read.
        arg: the argument name used in errors.
    """
    if isinstance(y, (list, tuple)) and len(y) == 1 and len(model.outputs) == 1:
        y = y[0]
    array = _array(y) if not isinstance(y, (list, tuple)) or len(model.outputs) == 1 else None
    if array is None or array.dtype.kind in "OSU":
        return
    kind, classes = _label_rule(model)
    if kind == "labels":
        check_ids(array, classes, arg, what="class label",
                  source=f" (the {classes} classes of model {model.name!r}'s output)")
    elif kind == "binary":
        check_finite(array, arg)
        count, position = _find(array, lambda a: (a < 0) | (a > 1))
        if count:
            raise ValueError(
                f"Expected `{arg}` to hold binary labels in [0, 1] for model {model.name!r} "
                f"(a sigmoid output with binary cross-entropy). Received: {array[position]} "
                f"at {_where(arg, position)}"
            )
    else:
        check_finite(array, arg)


def check_fit_data(model, x, y=None, validation_data=None):
    """Checks what `fit` is given: inputs, targets and validation data.

    A dataset with an `arrays()` method returning `(x, y)` is checked as
    those arrays (`rnnzoo.data.LengthBatches` has one); other datasets are
    not read ahead.

    Args:
        model: a compiled model.
        x, y: as for `model.fit`.
        validation_data: as for `model.fit`: `(x, y)`, `(x, y, weights)` or
            a dataset.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.sequence_classifier(vocabulary_size=20,
    ...     num_classes=3, units=4))
    >>> check_fit_data(model, np.array([[3, 25]]), np.array([1]))
    Traceback (most recent call last):
    ...
    ValueError: Expected every token id in `x` to lie in [0, 20) (model input ...). Received: 25 at x[0, 1]
    """
    if x is not None:
        if hasattr(x, "arrays"):
            owner = f" (the arrays of {type(x).__name__})"
            _check_pair(model, *x.arrays(), "x" + owner, "y" + owner)
        else:
            _check_pair(model, x, y, "x", "y")
    if hasattr(validation_data, "arrays"):
        validation_data = validation_data.arrays()
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        _check_pair(model, validation_data[0], validation_data[1],
                    "validation_data[0]", "validation_data[1]")


def _check_pair(model, x, y, arg_x, arg_y):
    check_inputs(model, x, arg_x)
    if y is not None:
        check_targets(model, y, arg_y)
