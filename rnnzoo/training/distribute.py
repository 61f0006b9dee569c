"""Data-parallel training on the engines TensorFlow and Keras already have.

Backend-specific code (tf.distribute, JAX multi-process set-up) lives here
and nowhere else. The public entry points are:

- `strategy(kind)`: a `tf.distribute.Strategy` on TensorFlow, a
  `keras.distribution.DataParallel` on JAX. Build and compile the model
  under `strategy.scope()`.
- `fit(model, x, y, strategy=...)`: `model.fit` that also works under
  `MultiWorkerMirroredStrategy` with Keras 3 (through the private
  `_multi_worker_fix`).
- `set_mixed_precision(enabled)`: `mixed_float16` on GPU, `mixed_bfloat16`
  elsewhere.
- `is_chief()`: whether this process writes checkpoints and records.

The command-line flags (`--strategy`, `--mixed-precision`, JAX
multi-process) live in `rnnzoo.cli`; `rnnzoo.training.Runner` applies them.

Why `_multi_worker_fix` exists (keras-team/keras#20585,
tensorflow/tensorflow#72388): Keras 3.15's TensorFlow trainer fails twice
under `MultiWorkerMirroredStrategy` in multi-worker mode.

1. `TensorFlowTrainer._maybe_symbolic_build` builds the model from the first
   batch, which it gets by `strategy.reduce("MEAN", batch)`: an all-reduce
   over the *input data* across workers. Under a multi-worker strategy the
   batch elements are `PerReplica` values whose eager reduction path tries
   to convert them to tensors (`ValueError: Attempt to convert a value
   (PerReplica...)`). Only shapes and dtypes are needed there, so the fix
   takes the first local replica's batch: no collective, no averaging of
   token ids.
2. `reduce_per_replica(..., reduction="mean")` (used on every train/test
   step's logs) calls `strategy.reduce("MEAN", v, axis=0)` in multi-worker
   mode. The logs are scalars, so `axis=0` is invalid (`Invalid reduction
   dimension 0 for input with 0 dimensions`); and with one replica per
   worker `strategy.run` returns plain tensors, which `strategy.reduce`
   passes through unreduced. The fix all-reduces (MEAN, over every replica
   of every worker) inside the replica context, element-wise, so every
   worker logs the same global value.

Gradients were never the problem: Keras' optimizer aggregates them across
replicas through the strategy; only the model build and the logged values
broke. The fix swaps those two functions for the duration of a `with`
block and restores the originals on exit.
"""

import contextlib
import json
import os
import threading

import keras

from rnnzoo.data_checks import check_fit_data
from rnnzoo.data_checks import check_inputs
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

KINDS = ("auto", "mirrored", "multi_worker", "tpu", "one_device")


def _backend():
    return keras.backend.backend()


# --------------------------------------------------------------------------
# Strategies.


def _tf_config_cluster_size():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except ValueError:
        return 0
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def _tpu_configured():
    return any(os.environ.get(v) for v in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_HOSTNAMES"))


def _tf_strategy(kind, devices):
    import tensorflow as tf

    if kind == "auto":
        if _tf_config_cluster_size() > 1:
            kind = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            kind = "mirrored"
        elif _tpu_configured():
            kind = "tpu"
        else:
            return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if kind == "multi_worker":
        if devices:
            raise ValueError(
                "A multi-worker strategy takes its devices from TF_CONFIG and "
                "the visible devices of each worker, not from `devices`. "
                f"Received: devices={devices!r}"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "one_device":
        if devices:
            device = devices[0] if isinstance(devices, (list, tuple)) else devices
        else:
            gpus = tf.config.list_logical_devices("GPU")
            device = gpus[0].name if gpus else "/cpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    # kind == "tpu"
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=devices[0] if devices else ""
    )
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _jax_strategy(kind, devices, coordinator_address, num_processes, process_id):
    import jax

    if coordinator_address is not None or kind == "multi_worker":
        initialize_jax_processes(coordinator_address, num_processes, process_id)
    if devices is None:
        if kind == "tpu":
            devices = keras.distribution.list_devices("tpu")
        else:
            devices = keras.distribution.list_devices()
        if kind == "one_device":
            devices = devices[:1]
    elif isinstance(devices, str):
        devices = [devices]
    distribution = keras.distribution.DataParallel(
        devices=list(devices), auto_shard_dataset=jax.process_count() == 1
    )
    keras.distribution.set_distribution(distribution)
    return distribution


_JAX_INITIALIZED = []


def initialize_jax_processes(coordinator_address=None, num_processes=None, process_id=None):
    """Joins a multi-process JAX cluster (once per process).

    On CPU the collectives go through gloo. Arguments left as None come from
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`.

    Args:
        coordinator_address: `"host:port"` of process 0 (or a comma-separated
            list of every process' address; the first one coordinates).
        num_processes: how many processes form the cluster.
        process_id: this process' index, 0 for the coordinator.
    """
    import jax

    if _JAX_INITIALIZED:
        return
    # CPU collectives across processes (no effect on GPU/TPU collectives).
    # Set before anything initialises the XLA backend.
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):  # pragma: no cover - older jax
        pass
    keras.distribution.initialize(
        job_addresses=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    _JAX_INITIALIZED.append(True)


def is_chief():
    """Whether this process is the one that writes checkpoints and records.

    TensorFlow: the `chief` task of `TF_CONFIG`, or worker 0 when the
    cluster has no chief, or any process without `TF_CONFIG`. JAX: process
    0 of a multi-process run (joined through `initialize_jax_processes`).

    Example:

    >>> is_chief()  # one process, no TF_CONFIG
    True
    """
    raw = os.environ.get("TF_CONFIG")
    if _backend() == "tensorflow" and raw:
        config = json.loads(raw)
        task = config.get("task", {})
        cluster = config.get("cluster", {})
        kind, index = task.get("type"), int(task.get("index", 0))
        if kind == "chief":
            return True
        return kind == "worker" and index == 0 and "chief" not in cluster
    if _backend() == "jax" and _JAX_INITIALIZED:
        import jax

        return jax.process_index() == 0
    return True


def strategy(kind="auto", devices=None, *, coordinator_address=None, num_processes=None,
             process_id=None):
    """Returns the data-parallel strategy for `kind` on the current backend.

    TensorFlow: a `tf.distribute.Strategy`. `"auto"` picks
    `MultiWorkerMirroredStrategy` when `TF_CONFIG` names a cluster of more
    than one task, `MirroredStrategy` when more than one GPU is visible,
    `TPUStrategy` when a TPU is configured (`TPU_NAME`, `COLAB_TPU_ADDR`), and
    otherwise the default strategy.

    JAX: a `keras.distribution.DataParallel` over the visible devices (or
    `devices`), set as the global distribution. With `coordinator_address`
    (or `kind="multi_worker"` and the `KERAS_DISTRIBUTION_*` environment
    variables) it first joins a multi-process cluster through
    `keras.distribution.initialize`; NumPy input is then not auto-sharded
    (every process feeds the same global batch and `DataParallel` gives each
    device its slice).

    In both cases, build and compile the model under `strategy.scope()`.
    The batch size passed to `fit` is the GLOBAL batch: per-replica batch
    x `num_replicas(strategy)`.

    Args:
        kind: `"auto"`, `"mirrored"`, `"multi_worker"`, `"tpu"` or
            `"one_device"`.
        devices: device names (TensorFlow: `"/gpu:0"`, ...; JAX: `"cpu:0"`,
            ...) or None for all visible devices; for `"tpu"` on TensorFlow,
            `[tpu_name]`.
        coordinator_address, num_processes, process_id: JAX multi-process
            set-up (see `initialize_jax_processes`).

    Returns:
        A `tf.distribute.Strategy` or a `keras.distribution.Distribution`;
        both have `.scope()`.

    Example:

    >>> import rnnzoo
    >>> s = rnnzoo.strategy("auto")
    >>> with s.scope():
    ...     model = rnnzoo.compile_for(rnnzoo.build("char_gru_name_classifier", units=8))
    >>> rnnzoo.num_replicas(s) >= 1
    True
    """
    kind = check_choice("kind", kind, KINDS)
    if devices is not None and not isinstance(devices, (str, list, tuple)):
        raise ValueError(
            "Expected `devices` to be None, a device name or a list of device "
            f"names. Received: devices={devices!r}"
        )
    if _backend() == "tensorflow":
        if coordinator_address is not None:
            raise ValueError(
                "On TensorFlow the cluster is described by the TF_CONFIG "
                "environment variable, not `coordinator_address`. Received: "
                f"coordinator_address={coordinator_address!r}"
            )
        if isinstance(devices, str):
            devices = [devices]
        return _tf_strategy(kind, devices)
    if _backend() == "jax":
        return _jax_strategy(kind, devices, coordinator_address, num_processes, process_id)
    raise ValueError(
        "rnnzoo.strategy supports the TensorFlow and JAX backends. Received: "
        f"backend={_backend()!r}"
    )


def num_replicas(strategy):
    """The number of replicas a strategy trains on (1 for None)."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):
        return int(strategy.num_replicas_in_sync)
    mesh = getattr(strategy, "device_mesh", None)
    if mesh is not None:
        return int(mesh.devices.size)
    return 1


def global_batch_size(per_replica_batch_size, strategy):
    """Per-replica batch size x number of replicas: the batch `fit` takes.

    Example:

    >>> global_batch_size(32, None)
    32
    """
    per_replica_batch_size = check_positive_int("per_replica_batch_size", per_replica_batch_size)
    return per_replica_batch_size * num_replicas(strategy)


def is_multi_worker(strategy):
    """Whether `strategy` spans more than one worker process."""
    if strategy is None:
        return False
    if _backend() == "tensorflow":
        import tensorflow as tf

        return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
            strategy.extended._in_multi_worker_mode()
        )
    if _backend() == "jax":
        import jax

        return jax.process_count() > 1
    return False


def scope(strategy):
    """The context to build and compile a model in (a no-op for None)."""
    if strategy is None:
        return contextlib.nullcontext()
    return strategy.scope()


# --------------------------------------------------------------------------
# The multi-worker fix (TensorFlow).


def _first_local_value(strategy, value):
    import tensorflow as tf

    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def _fixed_maybe_symbolic_build(self, iterator=None, data_batch=None):
    """`TensorFlowTrainer._maybe_symbolic_build` without reducing the data.

    Builds from the first local replica's batch: the symbolic build needs
    shapes and dtypes only.
    """

    if self._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            data_batch = keras.tree.map_structure(
                lambda v: _first_local_value(self.distribute_strategy, v), batch
            )
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _all_replicas_mean(values, strategy):
    """Element-wise MEAN of `values` over every replica of every worker."""
    import tensorflow as tf

    def replica_fn(v):
        context = tf.distribute.get_replica_context()
        return keras.tree.map_structure(
            lambda t: context.all_reduce("MEAN", tf.cast(t, "float32"))
            if t.dtype.is_floating or t.dtype.is_integer else t,
            v,
        )

    reduced = strategy.run(replica_fn, args=(values,))
    # After the all-reduce every replica holds the same value: take the
    # local first one.
    return keras.tree.map_structure(lambda v: _first_local_value(strategy, v), reduced)


def _make_fixed_reduce_per_replica(original):
    def reduce_per_replica(values, strategy, reduction):
        import tensorflow as tf

        multi_worker = isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ) and strategy.extended._in_multi_worker_mode()
        if multi_worker and reduction in ("auto", "mean"):
            return _all_replicas_mean(values, strategy)
        return original(values, strategy, reduction)

    reduce_per_replica.__doc__ = original.__doc__
    reduce_per_replica._rnnzoo_fixed = True
    return reduce_per_replica


_PATCH_LOCK = threading.RLock()
_PATCH_DEPTH = [0]
_ORIGINALS = {}


@contextlib.contextmanager
def _multi_worker_fix():
    """Makes Keras 3 `fit`/`evaluate` work under MultiWorkerMirroredStrategy.

    Inside the block, the TensorFlow trainer builds models from the first
    local replica's batch and averages the logged step values over every
    replica of every worker (see the module docstring for the two upstream
    bugs). The originals are restored on exit, nested blocks are fine, and
    single-worker strategies behave exactly as without the block. A no-op
    on other backends.

    Example:

    >>> with _multi_worker_fix():
    ...     pass  # model.fit(...) under a MultiWorkerMirroredStrategy
    """
    if _backend() != "tensorflow":
        yield
        return
    from keras.src.backend.tensorflow import trainer as tf_trainer

    with _PATCH_LOCK:
        if _PATCH_DEPTH[0] == 0:
            _ORIGINALS["build"] = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
            _ORIGINALS["reduce"] = tf_trainer.reduce_per_replica
            tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _fixed_maybe_symbolic_build
            tf_trainer.reduce_per_replica = _make_fixed_reduce_per_replica(_ORIGINALS["reduce"])
        _PATCH_DEPTH[0] += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            _PATCH_DEPTH[0] -= 1
            if _PATCH_DEPTH[0] == 0:
                tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _ORIGINALS.pop("build")
                tf_trainer.reduce_per_replica = _ORIGINALS.pop("reduce")


def _model_strategy(model):
    return getattr(model, "_distribute_strategy", None)


def fit(model, x=None, y=None, *, strategy=None, **kwargs):
    """`model.fit` that works under every strategy, multi-worker included.

    On TensorFlow, when the model was built under (or `strategy` is) a
    multi-worker `MultiWorkerMirroredStrategy`, training runs inside
    `_multi_worker_fix()`, and the trainer's functions are rebuilt so that
    functions traced before (without the fix) are not reused. On JAX the
    call runs under the `DataParallel` distribution's scope.

    The data is checked first (`rnnzoo.data_checks.check_fit_data`): token
    ids inside the vocabulary of the embedding each input feeds, labels
    inside the head's classes (binary: in [0, 1]), floats finite; a bad
    value raises a `ValueError` naming the argument, the range and its
    position instead of failing inside the backend or training to NaN.
    Training stops at the first non-finite loss
    (`rnnzoo.training.non_finite.StopOnNonFiniteLoss`), with the weights of
    the last good step when the model was compiled by `rnnzoo.compile_for`.

    Args:
        model: a compiled Keras model, built under `strategy.scope()`.
        x, y: as for `model.fit` (NumPy arrays, a `tf.data.Dataset`, ...);
            `batch_size` is the GLOBAL batch size.
        strategy: the strategy or distribution the model was built under
            (None: the one it was built under, or none).
        **kwargs: passed to `model.fit`.

    Returns:
        The `History` of `model.fit`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.build("char_gru_name_classifier",
    ...     units=8, vocabulary_size=20))
    >>> x, y = np.ones((8, 5), "int32"), np.zeros(8, "int32")
    >>> history = rnnzoo.fit(model, x, y, batch_size=4, verbose=0)
    >>> len(history.history["loss"])
    1
    """
    from rnnzoo.training.non_finite import StopOnNonFiniteLoss

    check_fit_data(model, x, y, kwargs.get("validation_data"))
    # Keras shuffles a dataset's batch order too: its rows are named only unshuffled.
    guard = StopOnNonFiniteLoss(data=x, shuffled=kwargs.get("shuffle", True))
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), guard]
    return _run(model, "fit", strategy, x, y, **kwargs)


def evaluate(model, x=None, y=None, *, strategy=None, **kwargs):
    """`model.evaluate` that works under every strategy, its data checked (see `fit`)."""
    check_fit_data(model, x, y)
    return _run(model, "evaluate", strategy, x, y, **kwargs)


def predict(model, x, *, strategy=None, **kwargs):
    """`model.predict` with its inputs checked first (`rnnzoo.data_checks.check_inputs`).

    Keras' own `predict` wraps a negative token id, truncates a float id
    like 1.5, and fails inside the backend on an id past the vocabulary;
    this raises a `ValueError` naming the input and the first bad value.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=3, units=4)
    >>> rnnzoo.predict(model, np.array([[3, 4]]), verbose=0).shape
    (1, 3)
    >>> rnnzoo.predict(model, np.array([[3, -3]]))
    Traceback (most recent call last):
    ...
    ValueError: Expected every token id in `x` to lie in [0, 20) ... Received: -3 at x[0, 1]
    """
    check_inputs(model, x)
    with _jax_scope(strategy or _model_strategy(model)):
        return model.predict(x, **kwargs)


def _jax_scope(strategy):
    """On JAX, the scope of a `DataParallel` distribution; otherwise nothing."""
    if _backend() == "jax" and strategy is not None and hasattr(strategy, "device_mesh"):
        return strategy.scope()
    return contextlib.nullcontext()


def _run(model, method, strategy, x, y, **kwargs):
    if strategy is None:
        strategy = _model_strategy(model)
    if _backend() == "tensorflow" and is_multi_worker(strategy):
        with _multi_worker_fix():
            # Functions traced outside the fix hold the broken reduction.
            model.train_function = model.test_function = None
            try:
                return getattr(model, method)(x, y, **kwargs)
            finally:
                model.train_function = model.test_function = None
    with _jax_scope(strategy):
        return getattr(model, method)(x, y, **kwargs)


# --------------------------------------------------------------------------
# Mixed precision.


def _has_gpu():
    if _backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if _backend() == "jax":
        import jax

        return jax.default_backend() == "gpu"
    return False


def set_mixed_precision(enabled=True, policy=None):
    """Sets the global dtype policy for mixed precision.

    `mixed_float16` on GPU (Keras wraps the optimizer in a
    `LossScaleOptimizer` at `compile`), `mixed_bfloat16` elsewhere (CPU, TPU:
    no loss scaling needed). Every rnnzoo builder keeps its output layers in
    float32, so outputs and losses are float32. Call it before building the
    model.

    Args:
        enabled: False restores `"float32"`.
        policy: force a policy name instead of choosing by device.

    Returns:
        The policy name now in effect.

    Example:

    >>> name = set_mixed_precision(True)
    >>> name in ("mixed_float16", "mixed_bfloat16")
    True
    >>> set_mixed_precision(False)
    'float32'
    """
    if policy is not None:
        policy = check_choice("policy", policy, ("mixed_float16", "mixed_bfloat16", "float32"))
    elif not enabled:
        policy = "float32"
    else:
        policy = "mixed_float16" if _has_gpu() else "mixed_bfloat16"
    keras.config.set_dtype_policy(policy)
    return policy
