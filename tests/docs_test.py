"""Every python block of README.md and docs/*.md runs as written.

Each block is executed alone (its own imports, its own tiny data) in a fresh
namespace, from an empty working folder. A block may be preceded by one
HTML comment that says why it is special:

- `<!-- docs-test: tensorflow -->`: TensorFlow only (e.g. `rnnzoo.export`);
  skipped on JAX.
- `<!-- docs-test: data -->`: reads a shared dataset; skipped without
  `RNNZOO_DATA_DIR`.
- `<!-- docs-test: skip (reason) -->`: cannot run in a test (a trained run,
  other hosts); the reason is required.

Runs on either backend (`KERAS_BACKEND=jax pytest tests/docs_test.py`);
`make test` runs it in the TensorFlow pass.
"""

import glob
import os
import re

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(
    r"(?:^<!-- docs-test: (?P<marker>[^\n]*?) -->\n)?^```python\n(?P<code>.*?)^```",
    re.S | re.M,
)


def blocks():
    found = []
    for path in ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        path = os.path.relpath(os.path.join(ROOT, path), ROOT)
        text = open(os.path.join(ROOT, path)).read()
        for match in BLOCK.finditer(text):
            line = text[:match.start("code")].count("\n")
            found.append(pytest.param(match.group("code"), match.group("marker"),
                                      id=f"{path}:{line}"))
    return found


BLOCKS = blocks()


def test_the_docs_have_python_blocks():
    assert len(BLOCKS) >= 20


@pytest.mark.parametrize("code,marker", BLOCKS)
def test_block_runs(code, marker, tmp_path, monkeypatch, request):
    if marker is not None:
        if marker.startswith("skip"):
            reason = re.fullmatch(r"skip \((.+)\)", marker)
            assert reason, f"a skipped block must say why: {marker!r}"
            pytest.skip(reason.group(1))
        elif marker == "tensorflow":
            if keras.backend.backend() != "tensorflow":
                pytest.skip("TensorFlow only")
        elif marker == "data":
            if not os.path.isdir(os.environ.get("RNNZOO_DATA_DIR", "/nonexistent")):
                pytest.skip("needs RNNZOO_DATA_DIR")
        else:
            raise AssertionError(f"unknown docs-test marker {marker!r}")
    monkeypatch.chdir(tmp_path)
    policy = keras.config.dtype_policy()
    try:
        exec(compile(code, request.node.callspec.id, "exec"), {"__name__": "__docs__"})
    finally:
        keras.config.set_dtype_policy(policy)
