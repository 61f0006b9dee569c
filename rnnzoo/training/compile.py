"""Compiling a model for its task: loss, metrics, optimizer, gradient clipping."""

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
        jit_compile: passed to `model.compile`.
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
