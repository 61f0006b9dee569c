"""Shared helpers for the loaders' tests: where the real shared data lies."""

import os
from pathlib import Path

import pytest


def shared_data_dir(dataset):
    """The folder holding `<dataset>/` of the shared real data, or skip.

    Looks at `RNNZOO_DATA_DIR`, then `../shared/data` beside the repository.
    """
    repo = Path(__file__).resolve().parents[2]
    for candidate in (os.environ.get("RNNZOO_DATA_DIR"), repo.parent / "shared" / "data"):
        if candidate and (Path(candidate) / dataset).is_dir():
            return Path(candidate)
    pytest.skip(f"shared {dataset} data not available")
