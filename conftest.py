"""Repository-wide pytest configuration."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "multi_backend: also run with KERAS_BACKEND=jax (the backend matrix)",
    )


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)
    yield
