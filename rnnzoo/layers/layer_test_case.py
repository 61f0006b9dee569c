"""One shared check for every custom layer: keras' `run_layer_test` idea.

`run_layer_test(layer_class, init_kwargs, inputs, ...)` checks, for one
layer configuration and one batch:

- config: `from_config(get_config())` gives the same config and, with the
  same weights, the same outputs; the class is registered as `rnnzoo>Name`;
- shapes: the eager outputs and the symbolic outputs (`keras.Input`) have
  the expected shapes, and the layer has the expected number of trainable
  weights;
- masks: `supports_masking` is as expected; a mask attached to the first
  input (as an `Embedding(mask_zero=True)` would attach it) reaches `call`
  like an explicit `mask=`, and the output masks Keras attaches (from
  `compute_mask`) are the expected ones;
- training: one SGD step of a model around the layer changes every trainable
  weight (layers with weights);
- mixed precision: the layer under `mixed_bfloat16` keeps float32 weights,
  gives the expected output dtypes (eager and symbolic alike) and outputs
  close to the float32 layer's with the same weights;
- saving: a model around the layer survives a `.keras` round trip with
  identical outputs and the same layer class.

Each layer's `_test.py` calls it with a few lines per configuration.
"""

import inspect
import os
import tempfile

import keras
import numpy as np

SAME = "same"
"""`expected_output_mask` value: the output carries the input mask unchanged."""


class _AttachMask(keras.layers.Layer):
    """`[x, mask] -> x`, with `mask` attached to `x` as Keras' mask."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return inputs[1]


class _ReadMask(keras.layers.Layer):
    """Identity that records the mask Keras passes along with its input."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        self.seen = mask
        return x


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _numpy(x):
    return None if x is None else keras.ops.convert_to_numpy(x)


def _split_kwargs(call_kwargs):
    """`(array_kwargs, static_kwargs)`: arrays become model inputs."""
    arrays = {k: v for k, v in call_kwargs.items() if isinstance(v, np.ndarray)}
    static = {k: v for k, v in call_kwargs.items() if k not in arrays}
    return arrays, static


def _check_shapes(outputs, expected, where):
    expected = expected if isinstance(expected, list) else [expected]
    assert len(outputs) == len(expected), (where, len(outputs), len(expected))
    for output, shape in zip(outputs, expected):
        actual = tuple(output.shape)
        assert len(actual) == len(shape) and all(
            e is None or a is None or a == e for a, e in zip(actual, shape)
        ), f"{where}: expected output shape {shape}, got {actual}"


def _wrap(layer, inputs, call_kwargs):
    """A Functional model calling `layer` on `inputs` (and array kwargs)."""
    arrays, static = _split_kwargs(call_kwargs)

    def input_for(name, array):
        return keras.Input(array.shape[1:], dtype=str(array.dtype), name=name)

    positional = [input_for(f"input_{i}", a) for i, a in enumerate(inputs)]
    keyword = {k: input_for(k, a) for k, a in arrays.items()}
    outputs = layer(*positional, **keyword, **static)
    model = keras.Model([*positional, *keyword.values()], outputs)
    return model, [*inputs, *arrays.values()]


def _assert_outputs_equal(actual, expected, atol=0.0):
    for a, e in zip(_as_list(actual), _as_list(expected)):
        np.testing.assert_allclose(_numpy(a), _numpy(e), atol=atol, rtol=0)


def _check_config(layer_class, init_kwargs, inputs, call_kwargs, layer, outputs):
    config = layer.get_config()
    revived = layer_class.from_config(config)
    assert revived.get_config() == config
    revived(*inputs, **call_kwargs)
    revived.set_weights(layer.get_weights())
    _assert_outputs_equal(revived(*inputs, **call_kwargs), outputs)
    name = keras.saving.get_registered_name(layer_class)
    assert name == f"rnnzoo>{layer_class.__name__}", name
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(again) is layer_class and again.get_config() == config


def _check_masks(layer_class, init_kwargs, inputs, call_kwargs, input_mask,
                 expected_output_mask, mask_changes_output):
    call_kwargs = {k: v for k, v in call_kwargs.items() if k != "mask"}
    layer = layer_class(**init_kwargs)
    plain = layer(*inputs, **call_kwargs)
    first = _AttachMask()([keras.ops.convert_to_tensor(inputs[0]), input_mask])
    masked = layer(first, *inputs[1:], **call_kwargs)
    if "mask" in inspect.signature(layer.call).parameters:
        _assert_outputs_equal(masked, layer(*inputs, mask=input_mask, **call_kwargs))
    if mask_changes_output is not None:
        differs = any(
            not np.allclose(_numpy(a), _numpy(b))
            for a, b in zip(_as_list(masked), _as_list(plain))
        )
        assert differs == mask_changes_output, (
            f"expected the input mask to {'change' if mask_changes_output else 'keep'} "
            "the outputs"
        )
    expected = expected_output_mask
    if not isinstance(expected, list):
        expected = [expected] * len(_as_list(masked))
    for output, mask in zip(_as_list(masked), expected):
        reader = _ReadMask()
        reader(output)
        if mask is SAME:
            mask = input_mask
        if mask is None:
            assert reader.seen is None, f"expected no output mask, got {_numpy(reader.seen)}"
        else:
            assert reader.seen is not None, "expected an output mask, got none"
            np.testing.assert_array_equal(_numpy(reader.seen), mask)


def _check_training_step(layer, inputs, call_kwargs):
    model, data = _wrap(layer, inputs, call_kwargs)
    outputs = _as_list(model(data))
    targets = [np.ones(tuple(o.shape), "float32") for o in outputs]
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=["mse"] * len(outputs))
    # One step of a tiny model: on TensorFlow tracing costs more than the
    # step (JAX keeps its jit: eager is slower there).
    model.run_eagerly = keras.backend.backend() == "tensorflow"
    before = [_numpy(w) for w in layer.trainable_weights]
    model.fit(data, targets if len(targets) > 1 else targets[0],
              batch_size=len(inputs[0]), epochs=1, verbose=0, shuffle=False)
    for weight, old in zip(layer.trainable_weights, before):
        assert not np.array_equal(_numpy(weight), old), (
            f"one training step left {weight.path} unchanged"
        )


def _check_mixed_precision(layer_class, init_kwargs, inputs, call_kwargs, layer,
                           outputs, expected_dtypes, atol):
    mixed = layer_class(**{**init_kwargs, "dtype": "mixed_bfloat16"})
    mixed(*inputs, **call_kwargs)
    mixed.set_weights(layer.get_weights())
    for weight in mixed.weights:
        assert keras.backend.standardize_dtype(weight.dtype) == "float32", weight.path
    mixed_outputs = _as_list(mixed(*inputs, **call_kwargs))
    expected_dtypes = _as_list(expected_dtypes)
    assert len(expected_dtypes) == len(mixed_outputs)
    arrays, static = _split_kwargs(call_kwargs)
    symbolic = _as_list(mixed(
        *[keras.Input(a.shape[1:], dtype=str(a.dtype)) for a in inputs],
        **{k: keras.Input(a.shape[1:], dtype=str(a.dtype)) for k, a in arrays.items()},
        **static,
    ))
    for output, spec, dtype in zip(mixed_outputs, symbolic, expected_dtypes):
        actual = keras.backend.standardize_dtype(output.dtype)
        assert actual == dtype, f"mixed_bfloat16: expected {dtype} outputs, got {actual}"
        assert keras.backend.standardize_dtype(spec.dtype) == dtype, (
            f"mixed_bfloat16: the symbolic output says {spec.dtype}, the eager one {dtype}"
        )
    for output, reference in zip(mixed_outputs, _as_list(outputs)):
        np.testing.assert_allclose(
            _numpy(output).astype(_numpy(reference).dtype), _numpy(reference),
            atol=atol, rtol=atol,
        )


def _check_saving(layer, inputs, call_kwargs, directory):
    model, data = _wrap(layer, inputs, call_kwargs)
    expected = model(data)
    path = os.path.join(directory, f"{layer.name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    _assert_outputs_equal(loaded(data), expected)
    assert type(loaded.get_layer(layer.name)) is type(layer)


def run_layer_test(
    layer_class,
    init_kwargs,
    inputs,
    *,
    expected_output_shape,
    call_kwargs=None,
    expected_num_trainable_weights=0,
    supports_masking=False,
    input_mask=None,
    expected_output_mask=None,
    mask_changes_output=None,
    mixed_precision_dtypes="bfloat16",
    mixed_precision_atol=0.05,
    run_training_step=True,
    tmp_path=None,
):
    """Runs the shared layer checks (see the module docstring).

    Args:
        layer_class: the layer class under test.
        init_kwargs: its constructor arguments.
        inputs: the positional call arguments, numpy arrays (one array or a
            list), batch first.
        expected_output_shape: the output shape, or a list of shapes for a
            layer with several outputs (`None` matches any size).
        call_kwargs: keyword call arguments; numpy arrays among them (e.g.
            `mask=`, `memory_mask=`) become inputs of the wrapping models.
        expected_num_trainable_weights: trainable weights once built.
        supports_masking: the expected `layer.supports_masking`.
        input_mask: a boolean `(batch, time)` mask to attach to the first
            input (None: no mask checks).
        expected_output_mask: what Keras attaches to each output given
            `input_mask`: None, `SAME` (the input mask), an array, or a list
            of those (one per output).
        mask_changes_output: True if `input_mask` must change the outputs,
            False if it must not, None to skip this check.
        mixed_precision_dtypes: the output dtype (or one per output) under
            the `mixed_bfloat16` policy: the compute dtype `"bfloat16"`, or
            `"float32"` where the layer promises it (None: skip).
        mixed_precision_atol: tolerance between bfloat16 and float32 outputs.
        run_training_step: run the one-step training check (layers with
            weights only).
        tmp_path: a folder for the `.keras` round trip (default: a
            temporary one).

    Returns:
        The eager outputs of the layer on `inputs`.

    Example:

    >>> import numpy as np
    >>> from rnnzoo.layers.masks import FirstStep
    >>> out = run_layer_test(FirstStep, {}, np.ones((2, 1, 3), "float32"),
    ...                      expected_output_shape=(2, 3), supports_masking=True)
    >>> tuple(out.shape)
    (2, 3)
    """
    inputs = _as_list(inputs)
    call_kwargs = dict(call_kwargs or {})
    layer = layer_class(**init_kwargs)
    outputs = layer(*inputs, **call_kwargs)
    _check_shapes(_as_list(outputs), expected_output_shape, "eager")
    assert len(layer.trainable_weights) == expected_num_trainable_weights, (
        f"expected {expected_num_trainable_weights} trainable weights, "
        f"got {[w.path for w in layer.trainable_weights]}"
    )
    for output in _as_list(outputs):
        value = _numpy(output)
        assert value.dtype == bool or np.all(np.isfinite(value)), "non-finite outputs"

    _check_config(layer_class, init_kwargs, inputs, call_kwargs, layer, outputs)

    symbolic_model, _ = _wrap(layer_class(**init_kwargs), inputs, call_kwargs)
    _check_shapes(_as_list(symbolic_model.outputs), expected_output_shape, "symbolic")

    assert layer.supports_masking == supports_masking, (
        f"expected supports_masking={supports_masking}"
    )
    if input_mask is not None:
        _check_masks(layer_class, init_kwargs, inputs, call_kwargs,
                     np.asarray(input_mask, bool), expected_output_mask,
                     mask_changes_output)

    if run_training_step and expected_num_trainable_weights:
        _check_training_step(layer_class(**init_kwargs), inputs, call_kwargs)

    if mixed_precision_dtypes is not None:
        _check_mixed_precision(layer_class, init_kwargs, inputs, call_kwargs, layer,
                               outputs, mixed_precision_dtypes, mixed_precision_atol)

    if tmp_path is None:
        with tempfile.TemporaryDirectory() as directory:
            _check_saving(layer, inputs, call_kwargs, directory)
    else:
        _check_saving(layer, inputs, call_kwargs, str(tmp_path))
    return outputs
