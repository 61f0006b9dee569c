"""One shared check for every model: the keras-hub `run_backbone_test` idea.

`run_model_test` checks, for one model and one batch: the output shape;
padding invariance (a right-padded batch gives the same outputs, on the real
steps, as each sequence run alone); no NaN; every trainable weight receives a
non-zero gradient; one `fit` step lowers the loss; and a `.keras` round trip
gives identical outputs.
"""

import os

import keras
import numpy as np

import rnnzoo


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def predict(model, x):
    return to_numpy(model(x, training=False))


def gradients(model, x, y):
    """Gradients of the compiled loss for every trainable weight (numpy)."""
    loss_fn = model.loss
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        return [
            None if g is None else tf.convert_to_tensor(g).numpy() for g in grads
        ]
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def compute(trainable):
            outputs, _ = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss_fn(y, outputs)

        return [np.asarray(g) for g in jax.grad(compute)(trainable)]
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


def run_model_test(
    model,
    x,
    y,
    expected_output_shape,
    *,
    input_lengths=None,
    output_lengths=None,
    tmp_path=None,
    learning_rate=1e-2,
):
    """Runs the shared checks on `model` with one batch `(x, y)`.

    Args:
        model: a Functional model from an rnnzoo builder (not compiled).
        x, y: one batch of inputs and targets.
        expected_output_shape: the output shape for `x`.
        input_lengths: per input (list aligned with `x`'s inputs), None or
            the real length of each example; the padding check runs when any
            is given.
        output_lengths: real output length per example (None: no time axis
            on the output or not padded).
        tmp_path: a folder for the `.keras` round trip.
        learning_rate: the learning rate of the one fit step.
    """
    rnnzoo.compile_for(model, learning_rate=learning_rate)
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
    model.fit(x, y, epochs=1, batch_size=len(y), verbose=0, shuffle=False)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after)
    assert after < before, f"one fit step did not lower the loss: {before} -> {after}"

    if tmp_path is not None:
        expected = predict(model, x)
        path = rnnzoo.save_model(model, os.path.join(str(tmp_path), f"{model.name}.keras"))
        reloaded = rnnzoo.load_model(path)
        np.testing.assert_array_equal(predict(reloaded, x), expected)
        assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]
        for saved, loaded in zip(model.weights, reloaded.weights):
            np.testing.assert_array_equal(to_numpy(saved), to_numpy(loaded))
