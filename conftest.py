"""Repository-wide pytest configuration."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "multi_backend: also run with KERAS_BACKEND=jax (the backend matrix)",
    )
    # pytest-xdist groups a `--dist loadgroup` test by suffixing `@group` to
    # its node id; pytest 9.2's structured node ids drop the suffix without an
    # error (pytest-xdist#1386), and every module-scoped fixture then runs once
    # per worker (the suite ~60 s slower). pyproject.toml pins pytest < 9.2.
    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2):
        raise pytest.UsageError(
            f"--dist loadgroup does not group tests on pytest {pytest.__version__} "
            "(pytest-xdist#1386): install pytest<9.2 (`make setup` does)")


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)
    yield


def pytest_runtest_logreport(report):
    """With RNNZOO_TEST_TIMELINE=path, appends each test phase's worker, start and stop.

    For finding idle workers and the tail of a parallel run (docs/benchmarks.md).
    """
    path = os.environ.get("RNNZOO_TEST_TIMELINE")
    if not path or not hasattr(report, "start") or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # recorded once, by the controller
    node = getattr(report, "node", None)
    worker = getattr(getattr(node, "gateway", None), "id", "main")
    with open(path, "a") as f:
        f.write(f"{worker}\t{report.nodeid}\t{report.when}\t{report.start:.3f}\t"
                f"{report.stop:.3f}\n")
