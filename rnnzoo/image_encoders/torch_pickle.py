"""Reads a PyTorch tensor state dict (`torch.save`'d) as NumPy arrays, without torch.

`torch.save` writes pickles, and unpickling runs whatever callables the file
names. `load_state_dict` unpickles with a restricted `pickle.Unpickler`: its
`find_class` hands out only the globals a state dict of dense CPU tensors
needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
`torch._utils._rebuild_parameter`, the typed storage classes such as
`torch.FloatStorage`), each replaced by a harmless stand-in, and refuses
every other global with a `pickle.UnpicklingError` naming it, before
anything is called.

Two layouts are read, following `torch/serialization.py`:

- the legacy (non-zip) format of torch < 1.6 (`_legacy_load`): five pickles
  in a row (the magic number 0x1950A86A20F9469CFC6C, the protocol version
  1001, a sys-info dict, the data pickle whose persistent ids name the
  storages, the list of storage keys), then each storage's raw bytes in the
  order of that list, each prefixed by its element count as an 8-byte
  integer (in the byte order the sys-info gives);
- the zip format of torch >= 1.6 (`_load`): `<prefix>/data.pkl` and one
  `<prefix>/data/<key>` record of raw bytes per storage (byte order in
  `<prefix>/byteorder`, little-endian when absent).

A tensor is a view of its storage: an element offset, a size and strides
(in elements). Strides are honoured, so tensors stored transposed (as in
weights converted from TensorFlow) come back with the right values.
"""

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# The typed storages torch pickles (`torch.<Name>Storage`) and their dtypes.
STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands in for `torch.<Name>Storage`: only its dtype is used."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Storage:
    """A storage named by the data pickle; its bytes are read afterwards."""

    def __init__(self, key, dtype, numel):
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array = None  # 1-D, set once the raw bytes are read


class _StorageView:
    """A legacy storage view: `numel` elements of `root` from `offset`."""

    def __init__(self, root, offset, numel):
        self.root = root
        self.offset = offset
        self.numel = numel
        self.dtype = root.dtype


class _Tensor:
    """What `_rebuild_tensor_v2` would build: a strided view of a storage."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, (_Storage, _StorageView)):
        raise pickle.UnpicklingError(
            f"_rebuild_tensor_v2 expects a storage; got {type(storage).__name__}")
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, _Tensor):
        raise pickle.UnpicklingError(
            f"_rebuild_parameter expects a tensor; got {type(data).__name__}")
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}
_ALLOWED_GLOBALS.update({("torch", name): _StorageType(name) for name in STORAGE_DTYPES})


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only what a tensor state dict needs; refuses every other global."""

    def __init__(self, file, storages=None, read_storage=None):
        super().__init__(file)
        self._storages = storages if storages is not None else {}
        self._read_storage = read_storage  # zip format: key, dtype, numel -> array

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise pickle.UnpicklingError(
                f"Refused to load the global `{module}.{name}`: only a state dict "
                "of tensors is read (allowed globals: "
                + ", ".join(sorted(f"{m}.{n}" for m, n in _ALLOWED_GLOBALS)) + ")"
            ) from None

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or not saved_id:
            raise pickle.UnpicklingError(f"Unknown persistent id {saved_id!r}")
        typename = saved_id[0]
        if isinstance(typename, bytes):
            typename = typename.decode("ascii")
        if typename != "storage":
            raise pickle.UnpicklingError(
                f"Refused persistent id of type {typename!r}: only tensor storages "
                "are read (a pickled nn.Module is not a state dict)")
        if len(saved_id) == 6:  # legacy: type, key, location, numel, view metadata
            storage_type, key, _location, numel, view = saved_id[1:]
        elif len(saved_id) == 5:  # zip: type, key, location, numel
            storage_type, key, _location, numel = saved_id[1:]
            view = None
        else:
            raise pickle.UnpicklingError(f"Unknown storage id {saved_id!r}")
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"Unknown storage type {storage_type!r}")
        key = str(key)
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(key, storage_type.dtype, int(numel))
            if self._read_storage is not None:
                storage.array = self._read_storage(key, storage.dtype, storage.numel)
            self._storages[key] = storage
        if view is None:
            return storage
        _view_key, offset, view_numel = view
        return _StorageView(storage, int(offset), int(view_numel))


def _restricted_load(file, **kwargs):
    return _RestrictedUnpickler(file, **kwargs).load()


def _materialize(name, tensor):
    storage = tensor.storage
    offset = tensor.offset
    available = storage.numel
    if isinstance(storage, _StorageView):
        offset += storage.offset
        available = storage.offset + storage.numel
        storage = storage.root
    flat = storage.array
    if flat is None:
        raise ValueError(f"The storage of {name!r} ({storage.key}) holds no data")
    count = int(np.prod(tensor.size, dtype=np.int64))
    if count:
        if any(s < 0 for s in tensor.stride) or len(tensor.stride) != len(tensor.size):
            raise ValueError(f"Tensor {name!r} has bad strides {tensor.stride}")
        last = offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride))
        if offset < 0 or last >= min(available, flat.size):
            raise ValueError(
                f"Tensor {name!r} (offset {offset}, size {tensor.size}, stride "
                f"{tensor.stride}) reaches past its storage of {flat.size} elements")
    else:
        return np.zeros(tensor.size, dtype=flat.dtype.newbyteorder("="))
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=tensor.size,
        strides=tuple(s * flat.itemsize for s in tensor.stride), writeable=False)
    return np.array(view, dtype=flat.dtype.newbyteorder("="), order="C", copy=True)


def _state_dict(result, path):
    if not isinstance(result, dict) or not all(
            isinstance(k, str) and isinstance(v, _Tensor) for k, v in result.items()):
        raise ValueError(
            f"Expected {path} to hold a state dict (a dict of tensor names to "
            f"tensors). Received: a pickled {type(result).__name__}")
    return {name: _materialize(name, tensor) for name, tensor in result.items()}


def _load_legacy(f, path):
    magic = _restricted_load(f)
    if magic != MAGIC_NUMBER:
        raise ValueError(f"{path} is not a torch file: bad magic number {magic!r}")
    protocol = _restricted_load(f)
    if protocol != PROTOCOL_VERSION:
        raise ValueError(f"{path}: unsupported torch protocol version {protocol!r}")
    sys_info = _restricted_load(f)
    order = "<" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else ">"
    storages = {}
    result = _restricted_load(f, storages=storages)
    keys = _restricted_load(f)
    for key in keys:
        storage = storages[str(key)]
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path} is truncated (storage {key})")
        (numel,) = struct.unpack(order + "q", head)
        if numel != storage.numel:
            raise ValueError(
                f"{path}: storage {key} holds {numel} elements; the pickle says "
                f"{storage.numel}")
        dtype = storage.dtype.newbyteorder(order)
        data = f.read(numel * dtype.itemsize)
        if len(data) != numel * dtype.itemsize:
            raise ValueError(f"{path} is truncated (storage {key})")
        storage.array = np.frombuffer(data, dtype=dtype)
    return _state_dict(result, path)


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(
                f"{path} is a zip archive but not a torch file: expected one data.pkl; "
                f"found {pickles}")
        prefix = pickles[0][: -len("data.pkl")]
        order = "<"
        if prefix + "byteorder" in archive.namelist():
            order = "<" if archive.read(prefix + "byteorder").strip() == b"little" else ">"

        def read_storage(key, dtype, numel):
            data = archive.read(f"{prefix}data/{key}")
            dtype = dtype.newbyteorder(order)
            if len(data) < numel * dtype.itemsize:
                raise ValueError(f"{path}: storage {key} is shorter than {numel} elements")
            return np.frombuffer(data[: numel * dtype.itemsize], dtype=dtype)

        with archive.open(pickles[0]) as f:
            result = _restricted_load(io.BytesIO(f.read()), read_storage=read_storage)
    return _state_dict(result, path)


def load_state_dict(path):
    """Reads a `torch.save`'d state dict as NumPy arrays, without torch and without running code.

    Args:
        path: a `.pth`/`.pt` file written by `torch.save(model.state_dict(), path)`,
            in the legacy (torch < 1.6) or the zip format.

    Returns:
        A dict `{name: np.ndarray}` in the file's order, each array a
        C-contiguous copy (offsets and strides applied).

    Raises:
        pickle.UnpicklingError: the file names a global other than those a
            tensor state dict needs (the message names it); nothing was called.
        ValueError: the file is not a torch state dict, or is truncated.

    Example:

    >>> from rnnzoo.image_encoders.efficientnet_lite import imagenet_weights_path
    >>> weights = load_state_dict(imagenet_weights_path())  # doctest: +SKIP
    >>> weights["_conv_stem.weight"].shape  # doctest: +SKIP
    (32, 3, 3, 3)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"Expected `path` to be an existing file. Received: path={path!r}")
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    with open(path, "rb") as f:
        return _load_legacy(f, path)
