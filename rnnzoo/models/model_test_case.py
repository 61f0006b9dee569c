"""One shared check for every builder: the keras-hub `run_backbone_test` idea.

`run_model_test(builder, config, x, y, expected_output_shape)` builds
`builder(**config)` and checks, for that model and one batch: every layer is
named after the model; the output shape; no NaN; padding invariance (a
right-padded batch gives the same outputs, on the real steps, as each
sequence run alone); padded target steps are left out of the loss; every
trainable weight receives a non-zero gradient; one `fit` step lowers the
loss; a `.keras` round trip gives identical outputs; and under
`rnnzoo.training.distribute.set_mixed_precision` the same weights give
float32 outputs close to the float32 model's, and a training step stays
finite (TensorFlow only, see `run_model_test`).

Each builder's `_test.py` (and `presets_test.py`) calls it with a few lines
per configuration. Test support: it imports `rnnzoo.training` (compile,
save, mixed precision), which the builders themselves never do.
"""

import os

import keras
import numpy as np

from rnnzoo.training.compile import compile_for
from rnnzoo.training.distribute import set_mixed_precision
from rnnzoo.training.saving import load_model
from rnnzoo.training.saving import save_model


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def predict(model, x):
    if keras.backend.backend() == "jax":
        # One compiled call: an eager call on JAX compiles every operation
        # on its own (the seq2seq preset: 5.6 s of predictions -> 2 s).
        import jax

        fn = getattr(model, "_rnnzoo_test_predict", None)
        if fn is None:
            def call(trainable, non_trainable, x):
                return model.stateless_call(trainable, non_trainable, x, training=False)[0]

            fn = model._rnnzoo_test_predict = jax.jit(call)
        return to_numpy(fn([v.value for v in model.trainable_variables],
                           [v.value for v in model.non_trainable_variables], x))
    return to_numpy(model(x, training=False))


def lstm_params(inputs, units):
    """Parameters of one Keras LSTM layer (for counts against plain Keras)."""
    return 4 * (units * (inputs + units) + units)


def gru_params(inputs, units):
    """Parameters of one Keras GRU layer (`reset_after=True`: two bias vectors)."""
    return 3 * (units * (inputs + units) + 2 * units)


def gradients(model, x, y):
    """Gradients of the compiled loss for every trainable weight (numpy).

    The compiled loss, or the model's own `compute_loss` when it has none
    (`rnnzoo.models.crf_model.CRFModel`).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            if model.loss is None:
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            else:
                loss = model.loss(y, y_pred)
        grads = tape.gradient(loss, model.trainable_variables)
        return [
            None if g is None else tf.convert_to_tensor(g).numpy() for g in grads
        ]
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        metrics = [v.value for v in model.metrics_variables]

        def compute(trainable):
            outputs, _ = model.stateless_call(trainable, non_trainable, x, training=True)
            if model.loss is None:
                return model.stateless_compute_loss(
                    trainable, non_trainable, metrics, x=x, y=y, y_pred=outputs,
                    training=True)[0]
            return model.loss(y, outputs)

        return [np.asarray(g) for g in jax.jit(jax.grad(compute))(trainable)]
    raise NotImplementedError(backend)


def _slice_example(x, i, lengths):
    """Example i of a batch, cut to its real length on every padded input."""
    parts = x if isinstance(x, (list, tuple)) else [x]
    out = []
    for part, length in zip(parts, lengths):
        row = part[i:i + 1]
        if length is not None:
            row = row[:, : length[i]]
        out.append(row)
    return out if isinstance(x, (list, tuple)) else out[0]


def _changed_padding(y, output_lengths, num_outputs):
    """`y` with every padded target step set to another valid value."""
    changed = np.array(y, copy=True)
    for i, length in enumerate(output_lengths):
        if np.issubdtype(changed.dtype, np.integer):
            changed[i, length:] = (changed[i, length:] + 1) % max(num_outputs, 2)
        else:
            changed[i, length:] += 1.0
    return changed


def _check_mixed_precision(builder, config, model, x, y, atol):
    previous = keras.config.dtype_policy()
    set_mixed_precision(True)
    try:
        mixed = builder(**config)
    finally:
        keras.config.set_dtype_policy(previous)
    mixed.set_weights(model.get_weights())
    outputs = mixed(x, training=False)
    for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        assert keras.backend.standardize_dtype(output.dtype) == "float32", (
            f"{model.name} under {mixed.dtype_policy.name}: outputs are {output.dtype}, "
            "not float32"
        )
    np.testing.assert_allclose(to_numpy(outputs), predict(model, x), atol=atol, rtol=atol)
    compile_for(mixed)
    mixed.run_eagerly = True
    loss = mixed.train_on_batch(x, y)
    assert np.isfinite(np.asarray(loss)).all(), f"{model.name}: mixed precision loss {loss}"


def run_model_test(
    builder,
    config,
    x,
    y,
    expected_output_shape,
    *,
    input_lengths=None,
    output_lengths=None,
    tmp_path=None,
    learning_rate=1e-2,
    mixed_precision_atol=0.05,
):
    """Builds `builder(**config)` and runs the shared checks with one batch.

    Args:
        builder: an rnnzoo builder (or any function of keyword arguments
            returning one of their models, e.g. a preset's `build`).
        config: its keyword arguments.
        x, y: one batch of inputs and targets.
        expected_output_shape: the output shape for `x`.
        input_lengths: per input (list aligned with `x`'s inputs), None or
            the real length of each example; the padding check runs when any
            is given.
        output_lengths: real output length per example (None: no time axis
            on the output or not padded); targets past it must not count.
        tmp_path: a folder for the `.keras` round trip (None: skipped).
        learning_rate: the learning rate of the one fit step.
        mixed_precision_atol: tolerance between the mixed precision and the
            float32 outputs (None: no mixed precision check).

    Returns:
        The model, trained by one step.
    """
    model = builder(**config)
    for layer in model.layers:
        assert layer.name.startswith(model.name + "_"), (model.name, layer.name)
    compile_for(model, learning_rate=learning_rate)
    # Tiny models: on TensorFlow, tracing the train function costs far more
    # than running the step eagerly (on JAX eager is slower: keep jit).
    model.run_eagerly = keras.backend.backend() == "tensorflow"
    outputs = predict(model, x)
    assert outputs.shape == tuple(expected_output_shape), (outputs.shape, expected_output_shape)
    assert np.all(np.isfinite(outputs))

    # Padding invariance: each example alone equals its row of the batch. On
    # JAX every new length recompiles, so the backend matrix leaves this to
    # the TensorFlow pass and to the stack-level padding tests that run on
    # both backends.
    if input_lengths is not None and keras.backend.backend() == "tensorflow":
        for i in range(outputs.shape[0]):
            alone = predict(model, _slice_example(x, i, input_lengths))
            batched = outputs[i:i + 1]
            if output_lengths is not None:
                batched = batched[:, : output_lengths[i]]
            np.testing.assert_allclose(alone, batched, atol=2e-5, rtol=1e-4)

    grads = gradients(model, x, y)
    for variable, grad in zip(model.trainable_variables, grads):
        assert grad is not None, f"no gradient for {variable.path}"
        assert np.all(np.isfinite(grad)), f"non-finite gradient for {variable.path}"
        assert np.any(grad != 0), f"zero gradient for {variable.path}"

    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    if output_lengths is not None:
        changed = _changed_padding(y, output_lengths, outputs.shape[-1])
        assert not np.array_equal(changed, y)
        loss = model.evaluate(x, changed, verbose=0, return_dict=True)["loss"]
        np.testing.assert_allclose(loss, before, rtol=1e-6, err_msg="padded target steps count")
    # The float32 promise is Keras' dtype policies and the builders' float32
    # heads, the same on every backend: checked on TensorFlow only (on JAX,
    # building the model again costs more than every other check together).
    if mixed_precision_atol is not None and keras.backend.backend() == "tensorflow":
        _check_mixed_precision(builder, config, model, x, y, mixed_precision_atol)
    model.fit(x, y, epochs=1, batch_size=len(y), verbose=0, shuffle=False)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after)
    assert after < before, f"one fit step did not lower the loss: {before} -> {after}"

    if tmp_path is not None:
        expected = predict(model, x)
        path = save_model(model, os.path.join(str(tmp_path), f"{model.name}.keras"))
        reloaded = load_model(path)
        np.testing.assert_array_equal(predict(reloaded, x), expected)
        assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]
        for saved, loaded in zip(model.weights, reloaded.weights):
            np.testing.assert_array_equal(to_numpy(saved), to_numpy(loaded))
    return model
