"""Training stops at the first non-finite loss, keeping the last good step's weights.

One NaN in a batch (or a diverging learning rate) makes the loss NaN, the
gradients NaN, and after Keras' update every weight NaN: the model is lost,
and clean inputs predict NaN afterwards. Two pieces prevent that:

- `skip_non_finite_steps(optimizer)` wraps the optimizer in Keras'
  `LossScaleOptimizer` with a fixed scale of 1 (multiplying by 1 changes no
  number): a step whose gradients are not all finite changes no weight and
  no optimizer state (its `check_finite`, in the compiled step, on every
  backend and under every strategy). `rnnzoo.compile_for` applies it by
  default. Under `mixed_float16` it is Keras' own dynamic loss scaling,
  which skips such steps too.
- `StopOnNonFiniteLoss`, which `rnnzoo.fit` (and so every task's `Runner`)
  adds, raises `NonFiniteLossError` at the first batch whose loss is not
  finite, naming the epoch and batch and, when the data is a dataset it can
  index (`keras.utils.PyDataset`), the rows of that batch holding NaN or
  infinity. Arrays given to `fit` were already checked finite
  (`rnnzoo.data_checks`), so there the message says the loss diverged.

The weights are then those after the last good step; a `Runner` run
rerun with the same command resumes from its last epoch backup.
"""

import math

import keras
import numpy as np

# Steps between loss-scale increases: never, in practice (the scale stays 1).
_NEVER = 2**30


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the weights are the last good step's."""


def skip_non_finite_steps(optimizer):
    """`optimizer`, wrapped so that a step with non-finite gradients changes nothing.

    Args:
        optimizer: a Keras optimizer (returned as is when it already is a
            `LossScaleOptimizer`).

    Returns:
        A `keras.optimizers.LossScaleOptimizer` around it: scale 1 and
        never grown (identical updates on finite steps), or Keras' dynamic
        scaling under the `mixed_float16` policy.

    Example:

    >>> import keras
    >>> opt = skip_non_finite_steps(keras.optimizers.Adam(1e-3))
    >>> type(opt).__name__, type(opt.inner_optimizer).__name__, opt.initial_scale
    ('LossScaleOptimizer', 'Adam', 1.0)
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if keras.config.dtype_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return keras.optimizers.LossScaleOptimizer(
        optimizer, initial_scale=1.0, dynamic_growth_steps=_NEVER)


def _arrays(batch):
    """`[(name, array)]` of a `(x, y[, weights])` batch."""
    parts = batch if isinstance(batch, tuple) else (batch,)
    out = []
    for name, part in zip(("x", "y", "sample_weight"), parts):
        if isinstance(part, dict):
            out += [(f"{name}[{k!r}]", v) for k, v in part.items()]
        elif isinstance(part, (list, tuple)):
            out += [(f"{name}[{i}]", v) for i, v in enumerate(part)]
        elif part is not None:
            out.append((name, part))
    return out


def non_finite_rows(batch):
    """`{name: [row, ...]}`: the rows of each float array of a batch with NaN or infinity.

    Example:

    >>> x = np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, np.inf]])
    >>> non_finite_rows((x, np.zeros(3)))
    {'x': [1, 2]}
    """
    found = {}
    for name, value in _arrays(batch):
        array = value if isinstance(value, np.ndarray) else np.asarray(
            keras.ops.convert_to_numpy(value))
        if array.dtype.kind != "f" or array.ndim == 0:
            continue
        bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        if bad.any():
            found[name] = [int(i) for i in np.flatnonzero(bad)]
    return found


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` at the first batch whose loss is NaN or infinite.

    With `skip_non_finite_steps` (`rnnzoo.compile_for`'s default) the bad
    step changed nothing, so the model keeps the weights of the last good
    step (on JAX they are synced back from the training state first).

    Args:
        data: the training data, to name the offending rows: a
            `keras.utils.PyDataset` is read again at the failing batch,
            arrays are searched whole (a NaN in them names its rows; none
            means training diverged); None or a stream: no rows named.
        shuffled: whether `fit` shuffles (Keras shuffles a `PyDataset`'s
            batch ORDER too, so batch k is not `data[k]`: no rows named).

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.forecaster(sequence_length=4,
    ...     num_features=1, horizon=1, units=4))
    >>> x = np.ones((8, 4, 1), "float32"); x[5] = np.nan
    >>> model.fit(x, np.ones((8, 1, 1)), batch_size=4, shuffle=False, verbose=0,
    ...           callbacks=[StopOnNonFiniteLoss()])
    Traceback (most recent call last):
    ...
    rnnzoo.training.non_finite.NonFiniteLossError: The training loss of model 'forecaster' became nan at epoch 1, batch 2 ...
    """

    def __init__(self, data=None, shuffled=False):
        super().__init__()
        self.data = data
        self.shuffled = shuffled
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(keras.ops.convert_to_numpy(loss))
        if math.isfinite(loss):
            return
        self.model.stop_training = True
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:  # JAX: the variables hold the epoch's start until synced
            sync()
        skipped = isinstance(self.model.optimizer, keras.optimizers.LossScaleOptimizer)
        message = (
            f"The training loss of model {self.model.name!r} became {loss} at epoch "
            f"{self.epoch + 1}, batch {batch + 1} (counting from 1); training stopped. "
        )
        message += ("That step changed no weight: the model keeps the weights of the last "
                    "good step. " if skipped else
                    "The optimizer does not skip non-finite steps (compile with "
                    "`rnnzoo.compile_for`), so the weights may be NaN now. ")
        raise NonFiniteLossError(message + self._data_hint(batch))

    def _data_hint(self, batch):
        """Where the NaN came from, as far as the data can tell."""
        diverged = ("The {} finite, so training diverged: lower the learning rate or clip "
                    "gradients (`clipnorm`).")
        if isinstance(self.data, keras.utils.PyDataset):
            if self.shuffled:
                return ("`fit` shuffled the batches, so the offending rows are unknown: rerun "
                        "with `shuffle=False` to have them named, or check the data with "
                        "`rnnzoo.data_checks.check_inputs`.")
            try:
                rows = non_finite_rows(self.data[batch])
            except Exception:  # noqa: BLE001 - naming rows is best effort
                return "That batch could not be read again: check it."
            where = "Rows of that batch"
            checked = "batch's inputs and targets are"
        elif self.data is None:
            return ("No data was given to this callback to check; check it with "
                    "`rnnzoo.data_checks.check_fit_data`, and lower the learning rate if "
                    "it is finite.")
        elif hasattr(self.data, "__array__") or isinstance(self.data, (list, tuple, dict)):
            rows = non_finite_rows((self.data,))
            where = "Rows of the training inputs"
            checked = "training inputs are"
        else:
            return "The data is a stream that cannot be read again: check that batch."
        if rows:
            return (f"{where} holding NaN or infinity: "
                    + "; ".join(f"{name}: {r}" for name, r in rows.items()) + ".")
        return diverged.format(checked)
