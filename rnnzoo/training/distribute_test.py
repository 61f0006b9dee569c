"""Tests of rnnzoo.training.distribute; also the tiny-preset helpers the subprocess
workers (tests/distribute_multiworker_test.py, rnnzoo/callbacks_test.py) use.

Run as a script, `python -m rnnzoo.training.distribute_test mirrored` prints, per
preset, the loss of one step under MirroredStrategy over 2 logical CPU
devices and on one device (logical devices must be configured before
TensorFlow initialises, hence a fresh process).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.training import distribute

# Tiny versions of every preset: same topology, a few hundred parameters.
TINY = {
    "char_lstm_lm": dict(vocabulary_size=20, embedding_dim=4, units=8),
    "bilstm_sentiment": dict(vocabulary_size=20, embedding_dim=4, units=8,
                             head_dropout_rate=0.0),
    "char_gru_name_classifier": dict(vocabulary_size=20, embedding_dim=4, units=8),
    "lstm_seq2seq_attention": dict(source_vocabulary_size=20, target_vocabulary_size=20,
                                   embedding_dim=4, units=8),
    "lstm_captioner": dict(vocabulary_size=20, feature_grid_shape=(4, 6), embedding_dim=4,
                           units=8),
    "gru_forecaster": dict(sequence_length=6, num_features=3, horizon=2, units=8),
    "bilstm_tagger": dict(vocabulary_size=20, embedding_dim=4, units=8, num_classes=5),
    "irnn_classifier": dict(units=8),
    "mlp_baseline": dict(vocabulary_size=20, embedding_dim=4, units=8),
}
TIME_STEPS = 5


def tiny_model(name, seed=0, compile=True, eager=False):
    """The tiny version of preset `name`, seeded, optionally compiled.

    `eager=True` runs fit/evaluate eagerly on TensorFlow: for these tiny
    models tracing the train function costs more than the step itself.
    """
    keras.utils.set_random_seed(seed)
    model = rnnzoo.build(name, **TINY[name])
    if compile:
        # Tiny models: XLA compilation costs more than it saves on TF; on
        # JAX the un-jitted loop is far slower.
        rnnzoo.compile_for(
            model, jit_compile=keras.backend.backend() != "tensorflow"
        )
        model.run_eagerly = eager and keras.backend.backend() == "tensorflow"
    return model


def example_batch(model, batch_size=8, seed=0):
    """Random `(x, y)` matching a model's inputs and outputs.

    Token inputs get ids in [1, 20) (the tiny vocabularies have 20 ids,
    0 = padding); float inputs are standard normal; targets are class ids,
    0/1, or standard normal values, by the output layer's activation.
    """
    rng = np.random.default_rng(seed)
    xs = []
    for tensor in model.inputs:
        shape = [batch_size] + [d if d is not None else TIME_STEPS for d in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            xs.append(rng.integers(1, 20, shape).astype("int32"))
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    x = xs[0] if len(xs) == 1 else xs
    out_shape = [batch_size] + [
        d if d is not None else TIME_STEPS for d in model.outputs[0].shape[1:]
    ]
    last = model.outputs[0]._keras_history[0]
    activation = getattr(getattr(last, "activation", None), "__name__", "linear")
    if activation == "softmax":
        y = rng.integers(0, out_shape[-1], out_shape[:-1])
    elif activation == "sigmoid":
        y = rng.integers(0, 2, out_shape).astype("float32")
    else:
        y = rng.standard_normal(out_shape).astype("float32")
    return x, y


# --------------------------------------------------------------------------
# Subprocess entry point: Mirrored over 2 logical CPUs vs one device.


def _mirrored_main(names=None):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    # One strategy for every preset: collective instance keys are per
    # strategy, and a second MirroredStrategy over the same devices in one
    # process can collide with the first one's keys.
    mirrored = rnnzoo.strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    assert rnnzoo.num_replicas(mirrored) == 2
    results = {}
    for name in names or TINY:
        print("PRESET", name, flush=True)
        losses = {}
        for kind in ("single", "mirrored"):
            s = mirrored if kind == "mirrored" else None
            with distribute.scope(s):
                model = tiny_model(name, eager=s is None)
            x, y = example_batch(model, batch_size=8)
            before = [w.copy() for w in model.get_weights()]
            history = rnnzoo.fit(model, x, y, batch_size=8, epochs=1, shuffle=False,
                                 verbose=0, strategy=s)
            changed = sum(
                not np.array_equal(a, b) for a, b in zip(before, model.get_weights())
            )
            losses[kind] = (history.history["loss"][0], changed, len(before))
        results[name] = dict(
            single=losses["single"][0], mirrored=losses["mirrored"][0],
            changed_single=losses["single"][1], changed_mirrored=losses["mirrored"][1],
            weights=losses["single"][2],
        )
    print("RESULT " + json.dumps(results), flush=True)


def run_script(args, timeout, env=None):
    """Runs `python -m rnnzoo.training.distribute_test ARGS` with a hard timeout."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rnnzoo.training.distribute_test", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )


def parse_result(stdout):
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return None


# --------------------------------------------------------------------------
# Tests.

tf_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow-only"
)


# Three presets that between them exercise every code path the mirrored step
# takes: one and two model inputs (seq2seq), int token and float inputs
# (forecaster), LSTM, GRU and Bidirectional recurrent layers, attention, and
# the three loss kinds (per-step softmax, sigmoid, regression). The other six
# presets recombine these layers and losses; `_mirrored_main()` with no names
# still runs all nine.
MIRRORED_PRESETS = ["lstm_seq2seq_attention", "bilstm_sentiment", "gru_forecaster"]


@tf_only
def test_mirrored_two_logical_cpus_matches_one_device_on_distinct_presets():
    """Mirrored over 2 logical CPUs equals one device, on MIRRORED_PRESETS."""
    proc = run_script(["mirrored", *MIRRORED_PRESETS], timeout=400,
                      env={"KERAS_BACKEND": "tensorflow"})
    results = parse_result(proc.stdout)
    assert results is not None, proc.stderr[-3000:]
    assert set(results) == set(MIRRORED_PRESETS)
    for name, r in results.items():
        # Same global batch of 8 (2 replicas x 4): same loss after one step.
        assert abs(r["mirrored"] - r["single"]) < 1e-5, (name, r)
        # The step trained every weight in both runs.
        assert r["changed_mirrored"] == r["changed_single"] > 0, (name, r)


@tf_only
def test_strategy_kinds_on_tensorflow():
    import tensorflow as tf

    assert rnnzoo.strategy("auto") is tf.distribute.get_strategy()
    one = rnnzoo.strategy("one_device")
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert rnnzoo.num_replicas(one) == 1
    assert rnnzoo.global_batch_size(16, one) == 16
    assert not distribute.is_multi_worker(one)
    with pytest.raises(ValueError, match="coordinator_address"):
        rnnzoo.strategy("auto", coordinator_address="127.0.0.1:1234")
    with pytest.raises(ValueError, match="devices"):
        rnnzoo.strategy("multi_worker", devices=["/cpu:0"])


@pytest.mark.multi_backend
def test_bad_arguments():
    with pytest.raises(ValueError, match=r"kind.*Received: kind='mirorred'"):
        rnnzoo.strategy("mirorred")
    with pytest.raises(ValueError, match="Received: devices=3"):
        rnnzoo.strategy("auto", devices=3)
    with pytest.raises(ValueError, match="per_replica_batch_size"):
        rnnzoo.global_batch_size(0, None)
    with pytest.raises(ValueError, match="policy"):
        rnnzoo.set_mixed_precision(policy="float8")


@tf_only
def test_multi_worker_fix_is_scoped_and_reversible():
    from keras.src.backend.tensorflow import trainer as tf_trainer

    build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    reduce = tf_trainer.reduce_per_replica
    with distribute._multi_worker_fix():
        with distribute._multi_worker_fix():
            assert tf_trainer.reduce_per_replica._rnnzoo_fixed
        assert tf_trainer.reduce_per_replica is not reduce
        # Single-worker strategies keep Keras' own reduction.
        model = tiny_model("char_gru_name_classifier")
        x, y = example_batch(model)
        loss_fixed = model.fit(x, y, batch_size=8, shuffle=False, verbose=0).history["loss"][0]
    assert tf_trainer.TensorFlowTrainer._maybe_symbolic_build is build
    assert tf_trainer.reduce_per_replica is reduce
    model = tiny_model("char_gru_name_classifier")
    loss_plain = model.fit(x, y, batch_size=8, shuffle=False, verbose=0).history["loss"][0]
    assert loss_fixed == loss_plain


@pytest.mark.multi_backend
def test_mixed_precision_every_preset_trains_with_float32_outputs():
    policy = rnnzoo.set_mixed_precision(True)
    assert policy == "mixed_bfloat16"  # CPU
    # Every preset's float32 outputs and finite mixed-precision training step
    # are checked by the shared model test (`run_model_test`, presets_test.py);
    # here compiled `fit` under the policy on both backends, on the preset
    # whose output path differs most (attention, a decoder).
    names = ["lstm_seq2seq_attention"]
    try:
        for name in names:
            model = tiny_model(name, eager=True)
            x, y = example_batch(model)
            # The recurrent stack computes in bfloat16, outputs stay float32.
            assert any(layer.compute_dtype == "bfloat16" for layer in model.layers), name
            assert all(w.dtype == "float32" for w in model.weights if w.trainable), name
            out = model(x)
            assert keras.backend.standardize_dtype(out.dtype) == "float32", (name, out.dtype)
            assert all(str(o.dtype) == "float32" for o in model.outputs), name
            before = [w.copy() for w in model.get_weights()]
            loss = model.fit(x, y, batch_size=8, verbose=0).history["loss"][0]
            assert np.isfinite(loss), name
            changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
            assert sum(changed) >= len(changed) // 2, (name, changed)
        # The policy is Keras', the same on every backend (run_model_test):
        # the paths below on TensorFlow only.
        if keras.backend.backend() == "tensorflow":
            # The autoregressive forecaster (slices and concatenations after its
            # output layer) with known-future covariates.
            model = rnnzoo.compile_for(rnnzoo.forecaster(
                sequence_length=6, num_features=3, horizon=3, num_covariates=1,
                multistep="autoregressive", units=8))
            x, y = example_batch(model)
            assert keras.backend.standardize_dtype(model(x).dtype) == "float32"
            assert np.isfinite(model.fit(x, y, verbose=0).history["loss"][0])
            # A stateful language model too.
            model = rnnzoo.compile_for(rnnzoo.language_model(
                vocabulary_size=20, embedding_dim=4, units=8, num_layers=1, stateful=True,
                batch_size=4))
            x = np.random.default_rng(0).integers(1, 20, (8, 5)).astype("int32")
            history = model.fit(x, np.roll(x, -1, 1), batch_size=4, shuffle=False, verbose=0)
            assert np.isfinite(history.history["loss"][0])
            assert model.predict(x, batch_size=4, verbose=0).dtype == np.float32
    finally:
        rnnzoo.set_mixed_precision(False)
    assert keras.config.dtype_policy().name == "float32"


def test_is_chief_follows_tf_config(monkeypatch):
    import json as json_

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.is_chief()
    if keras.backend.backend() != "tensorflow":
        return
    for task, cluster, chief in [
        ({"type": "chief", "index": 0}, {"chief": ["a"], "worker": ["b"]}, True),
        ({"type": "worker", "index": 0}, {"chief": ["a"], "worker": ["b"]}, False),
        ({"type": "worker", "index": 0}, {"worker": ["a", "b"]}, True),
        ({"type": "worker", "index": 1}, {"worker": ["a", "b"]}, False),
    ]:
        monkeypatch.setenv("TF_CONFIG", json_.dumps({"task": task, "cluster": cluster}))
        assert distribute.is_chief() is chief, (task, cluster)


if __name__ == "__main__":
    if sys.argv[1:2] == ["mirrored"]:
        _mirrored_main(sys.argv[2:])
    else:
        raise SystemExit(f"unknown command {sys.argv[1:]}")
