"""Compiling a model for its task: loss, metrics, optimizer, gradient clipping, XLA."""

import os
import warnings

import keras

from rnnzoo.layers.attention import AttentionPenalty
from rnnzoo.layers.distribution_heads import DistributionParameters
from rnnzoo.layers.distribution_heads import MonotoneQuantiles
from rnnzoo.losses import DistributionNLL
from rnnzoo.losses import PinballLoss
from rnnzoo.metrics import Perplexity
from rnnzoo.training.non_finite import skip_non_finite_steps
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_fraction

TASKS = ("auto", "multiclass", "binary", "regression", "language_model", "quantile",
         "distribution")

# XLA: `jit_compile="auto"` is Keras' own rule (no XLA on a CPU-only
# TensorFlow machine or under a tf.distribute strategy; XLA on GPU unless a
# layer opts out, as Keras' LSTM and GRU do on cuDNN; JAX always compiles).
# `bench/xla_rule.py` measured XLA 1.04-2.6x faster per steady-state step on
# TensorFlow's CPU, but the recipes ran slower with it (names 112 s -> 244 s,
# sentiment --quick 112 -> 127 s): XLA compiles the train, test and predict
# functions once per input shape (length-bucketed batches, the last partial
# batch, every ensemble member), and that outweighs the faster steps.
# `jit_compile=True` (or RNNZOO_JIT_COMPILE=true) opts in (docs/benchmarks.md).
JIT_COMPILE_ENV = "RNNZOO_JIT_COMPILE"
_SAID = set()


class XLAFallbackWarning(UserWarning):
    """XLA was asked for a model with a layer that cannot be XLA-compiled; says which."""


def _say_once(message):
    if message not in _SAID:
        _SAID.add(message)
        warnings.warn(message, XLAFallbackWarning, stacklevel=3)


def resolve_jit_compile(model, jit_compile="auto"):
    """What `compile_for` passes to `model.compile` as `jit_compile`.

    `"auto"` defers to the environment variable `RNNZOO_JIT_COMPILE`
    (`auto`, `true` or `false`: opts a whole run, e.g. a recipe, in or
    out), then to Keras' own rule, which on TensorFlow compiles with XLA
    only on a GPU (`bench/xla_rule.py` and the recipe timings in
    docs/benchmarks.md: on this project's CPU, XLA made steady-state steps
    faster but whole recipe runs slower). Asked for XLA, a model with a
    layer that cannot be XLA-compiled (`supports_jit=False`: the CRF on
    TensorFlow, string preprocessing) trains without it and an
    `XLAFallbackWarning` names the layers, once.

    Args:
        model: the Keras model to compile.
        jit_compile: `"auto"`, `True` or `False`.

    Returns:
        `True`, `False` or `"auto"` (Keras decides).

    Example:

    >>> import rnnzoo
    >>> from rnnzoo.training.compile import resolve_jit_compile
    >>> model = rnnzoo.language_model(vocabulary_size=20, units=8)
    >>> resolve_jit_compile(model, jit_compile=True)
    True
    """
    if jit_compile == "auto":
        setting = os.environ.get(JIT_COMPILE_ENV, "auto").strip().lower()
        choices = {"auto": "auto", "true": True, "1": True, "false": False, "0": False}
        if setting not in choices:
            raise ValueError(
                f"Expected the environment variable {JIT_COMPILE_ENV} to be auto, true or "
                f"false. Received: {JIT_COMPILE_ENV}={os.environ[JIT_COMPILE_ENV]!r}")
        jit_compile = choices[setting]
    elif not isinstance(jit_compile, bool):
        raise ValueError(
            "Expected `jit_compile` to be 'auto', True or False. "
            f"Received: jit_compile={jit_compile!r}")
    if jit_compile is True:
        unsupported = [layer.name for layer in model._flatten_layers(include_self=False)
                       if not layer.supports_jit]
        if unsupported:
            _say_once(f"Training model {model.name!r} without XLA: its layer(s) "
                      f"{', '.join(map(repr, unsupported))} cannot be XLA-compiled "
                      "(supports_jit=False).")
            return False
    return jit_compile


def _head(model, kind):
    """The model's probabilistic head layer of class `kind`, or None."""
    heads = [layer for layer in model.layers if isinstance(layer, kind)]
    return heads[0] if heads else None


def infer_task(model):
    """Guesses the task from the output layer's activation and shape (or its probabilistic head)."""
    if _head(model, MonotoneQuantiles) is not None:
        return "quantile"
    if _head(model, DistributionParameters) is not None:
        return "distribution"
    output = model.outputs[0]
    layer = output._keras_history[0] if hasattr(output, "_keras_history") else None
    while isinstance(layer, AttentionPenalty):  # a loss term: its input is the output
        output = layer._inbound_nodes[0].input_tensors[0]
        layer = output._keras_history[0]
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    if activation is None and layer is not None:
        # A reshape or slice after the output layer: look one layer back.
        activation = "linear"
    if activation == "sigmoid":
        return "binary"
    if activation == "softmax":
        if any(layer.name.endswith("_decoder_output") for layer in model.layers) or (
            len(output.shape) == 3 and model.inputs[0].dtype == "int32"
            and any(layer.name == f"{model.name}_embedding" for layer in model.layers)
            and any(layer.name == f"{model.name}_output" for layer in model.layers)
            and not any(layer.name.startswith(f"{model.name}_encoder") for layer in model.layers)
        ):
            return "language_model"
        return "multiclass"
    return "regression"


def compile_for(model, task="auto", learning_rate=1e-3, clipnorm=1.0, optimizer="adam",
                jit_compile="auto", label_smoothing=0.0, loss=None, skip_non_finite=True):
    """Compiles `model` with the loss and metrics of its task.

    Gradients are clipped by norm (`clipnorm`, default 1.0: exploding
    gradients, seed notes). Loss and metrics leave out padded steps (Keras
    uses the mask the model's output carries). A CRF tagger
    (`rnnzoo.models.crf_model.CRFModel`) trains on its CRF's likelihood:
    it gets only the optimizer.

    Args:
        model: a Keras model (any rnnzoo builder's).
        task: `"auto"` (from the output layer), `"multiclass"`, `"binary"`,
            `"regression"`, `"language_model"` (adds perplexity),
            `"quantile"` (a forecaster with `quantiles=`: the pinball loss
            over its levels) or `"distribution"` (a forecaster with
            `distribution=`: the negative log-likelihood).
        learning_rate: the optimizer's learning rate.
        clipnorm: gradient-norm clipping; None to disable.
        optimizer: `"adam"`, `"adamw"`, `"sgd"` or `"rmsprop"`.
        jit_compile: `"auto"` (Keras' rule: no XLA on TensorFlow's CPU;
            see `resolve_jit_compile`), `True` or `False`.
        label_smoothing: for `"binary"` and `"multiclass"` models, smooths
            the targets by this fraction. A multiclass model then takes
            ONE-HOT targets (`keras.utils.to_categorical`): its loss and
            accuracy are the categorical ones (Keras' sparse cross-entropy
            has no label smoothing).
        loss: a Keras loss (name or object) to train on instead of the
            task's (e.g. `"mae"` for a forecaster of residuals); the task's
            metrics stay.
        skip_non_finite: a step whose gradients hold NaN or infinity changes
            no weight (`rnnzoo.training.non_finite.skip_non_finite_steps`:
            Keras' `LossScaleOptimizer` with a fixed scale of 1, identical
            updates otherwise); `rnnzoo.fit` then stops at that batch with
            the last good step's weights. False: Keras' plain optimizer.

    Returns:
        The model, compiled.

    Example:

    >>> import rnnzoo
    >>> model = rnnzoo.sequence_classifier(vocabulary_size=50, num_classes=3)
    >>> model = rnnzoo.compile_for(model, learning_rate=3e-3)
    >>> model.loss.__class__.__name__
    'SparseCategoricalCrossentropy'
    >>> model = rnnzoo.compile_for(model, label_smoothing=0.1)
    >>> model.loss.__class__.__name__, model.loss.label_smoothing
    ('CategoricalCrossentropy', 0.1)
    """
    from rnnzoo.models.crf_model import CRFModel

    jit_compile = resolve_jit_compile(model, jit_compile)
    optimizer = _optimizer(optimizer, learning_rate, clipnorm)
    if skip_non_finite:
        optimizer = skip_non_finite_steps(optimizer)
    if isinstance(model, CRFModel):  # its loss is the CRF's likelihood (compute_loss)
        model.compile(optimizer=optimizer, jit_compile=jit_compile)
        return model
    task = check_choice("task", task, TASKS)
    label_smoothing = check_fraction("label_smoothing", label_smoothing)
    if task == "auto":
        task = infer_task(model)
    if label_smoothing and task not in ("binary", "multiclass"):
        raise ValueError(
            "Expected `label_smoothing` only for a binary or multiclass model. "
            f"Received: label_smoothing={label_smoothing!r} for task={task!r}"
        )
    if task in ("quantile", "distribution"):
        kind = MonotoneQuantiles if task == "quantile" else DistributionParameters
        head = _head(model, kind)
        if head is None:
            raise ValueError(
                f"Expected a model with a {kind.__name__} head for task={task!r} "
                "(`rnnzoo.forecaster(quantiles=...)` or `distribution=...`). "
                f"Received: model={model.name!r} without one"
            )
        task_loss = (PinballLoss(head.quantiles) if task == "quantile"
                     else DistributionNLL(head.distribution))
        metrics = []
    elif task == "binary":
        task_loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
    elif label_smoothing:  # multiclass, one-hot targets
        task_loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    elif task == "regression":
        task_loss = keras.losses.MeanSquaredError()
        metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
    else:
        task_loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if task == "language_model":
            metrics.append(Perplexity())
    model.compile(optimizer=optimizer, loss=task_loss if loss is None else loss, metrics=metrics,
                  jit_compile=jit_compile)
    return model


def _optimizer(name, learning_rate, clipnorm):
    name = check_choice("optimizer", name, ("adam", "adamw", "sgd", "rmsprop"))
    return {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }[name](learning_rate=learning_rate, clipnorm=clipnorm)
