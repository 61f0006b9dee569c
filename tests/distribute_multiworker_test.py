"""Two-process data-parallel training on 127.0.0.1: TensorFlow and JAX.

Each test starts two worker processes (this file run as a script), bounds
them with a hard timeout and always kills and reaps both, then checks that
both workers trained and ended with identical weights, equal to a
single-process run over the same global batches.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

PRESET = "char_gru_name_classifier"
TIMEOUT = 240  # seconds for both workers (the test machine is shared)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (32, 6)).astype("int32")
    y = rng.integers(0, 18, 32)
    return x, y


def train(model, strategy=None):
    import rnnzoo

    x, y = data()
    history = rnnzoo.fit(model, x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                         strategy=strategy)
    return history.history["loss"]


def run_workers(backend, out_dir):
    """Starts 2 workers, waits at most TIMEOUT seconds, always reaps both."""
    ports = free_ports(2)
    procs = []
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1", PYTHONPATH=ROOT)
    env.pop("TF_CONFIG", None)
    try:
        for index in range(2):
            log = open(os.path.join(out_dir, f"worker{index}.log"), "w")
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), backend, str(index),
                 ",".join(map(str, ports)), out_dir],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
            ))
            log.close()
        deadline = time.monotonic() + TIMEOUT
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    logs = [open(os.path.join(out_dir, f"worker{i}.log")).read() for i in range(2)]
    return [p.returncode for p in procs], logs


def check_workers(tmp_path, backend, reference_tolerance):
    import rnnzoo
    from rnnzoo.training.distribute_test import tiny_model

    codes, logs = run_workers(backend, str(tmp_path))
    assert codes == [0, 0], "\n\n".join(log[-3000:] for log in logs)
    results = [np.load(tmp_path / f"worker{i}.npz") for i in range(2)]
    weights = [[r[k] for k in sorted(r.files) if k.startswith("w")] for r in results]
    # Both workers hold the very same weights and logged the same losses.
    assert len(weights[0]) == len(weights[1]) > 0
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(results[0]["loss"], results[1]["loss"])
    # ... and equal those of one process training on the same global batches.
    # Same initial weights as the workers (JAX and TensorFlow draw different
    # random numbers from the same seed).
    model = tiny_model(PRESET)
    initial = [results[0][k] for k in sorted(results[0].files) if k.startswith("i")]
    for a, b in zip(initial, [r[k] for r in results[1:] for k in sorted(r.files) if k.startswith("i")]):
        np.testing.assert_array_equal(a, b)
    model.set_weights(initial)
    losses = train(model)
    max_diff = max(np.abs(a - b).max() for a, b in zip(weights[0], model.get_weights()))
    if reference_tolerance is not None:
        assert max_diff < reference_tolerance, max_diff
        np.testing.assert_allclose(results[0]["loss"], losses, rtol=1e-5)
    # Training lowered the loss in the workers.
    assert results[0]["loss"][-1] < results[0]["loss"][0]
    assert any(not np.array_equal(a, b) for a, b in zip(initial, weights[0]))
    assert rnnzoo.num_replicas(None) == 1
    return max_diff


def test_tensorflow_multi_worker_mirrored_two_processes(tmp_path):
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        pytest.skip("the TensorFlow run checks the TensorFlow worker")
    max_diff = check_workers(tmp_path, "tensorflow", reference_tolerance=1e-5)
    print("2 workers vs 1 process, max weight difference:", max_diff)


def test_jax_two_processes_data_parallel(tmp_path):
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        pytest.skip("runs once, from the TensorFlow pass (workers are JAX processes)")
    # The single-process reference runs on TensorFlow here; JAX's GRU and
    # Adam arithmetic differ from TensorFlow's, so the difference is only
    # reported (measured: 4.2e-3 after 8 steps), not asserted.
    max_diff = check_workers(tmp_path, "jax", reference_tolerance=None)
    print("JAX vs single-process TensorFlow, max weight difference:", max_diff)


def worker_main(backend, index, ports, out_dir):
    index = int(index)
    ports = ports.split(",")
    if backend == "tensorflow":
        os.environ["TF_CONFIG"] = json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        })
    import rnnzoo
    from rnnzoo.training import distribute
    from rnnzoo.training.distribute_test import tiny_model

    if backend == "tensorflow":
        strategy = rnnzoo.strategy("auto")  # TF_CONFIG names 2 workers
    else:
        strategy = rnnzoo.strategy(
            "multi_worker", coordinator_address=f"127.0.0.1:{ports[0]}",
            num_processes=2, process_id=index,
        )
    assert distribute.is_multi_worker(strategy), strategy
    assert rnnzoo.num_replicas(strategy) == 2
    with strategy.scope():
        model = tiny_model(PRESET)
    arrays = {f"i{i:03d}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    losses = train(model, strategy)
    arrays.update({f"w{i:03d}": np.asarray(w) for i, w in enumerate(model.get_weights())})
    np.savez(os.path.join(out_dir, f"worker{index}.npz"), loss=np.asarray(losses), **arrays)
    print("losses", losses, flush=True)


if __name__ == "__main__":
    worker_main(*sys.argv[1:])
