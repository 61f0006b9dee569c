import gzip
import hashlib
from pathlib import Path

import pytest

from rnnzoo.data.datasets import flickr8k
from rnnzoo.data.datasets import fra_eng
from rnnzoo.data.datasets import names
from rnnzoo.data.datasets import resolve
from rnnzoo.data.datasets import series
from rnnzoo.data.datasets import sst2
from rnnzoo.data.datasets import time_machine
from rnnzoo.data.datasets._testing import shared_data_dir
from rnnzoo.validation import check_fraction


def _write(path, text, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(str(path) + ".gz", "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env var, an empty Keras home, and a download that fails offline."""
    monkeypatch.delenv(resolve.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    calls = []

    def offline_get_file(**kwargs):
        calls.append(kwargs)
        raise Exception(
            f"URL fetch failure on {kwargs['origin']}: None -- "
            "[Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr(resolve, "_get_file", offline_get_file)
    return calls


def _corpus(word):
    return f"{word} machine\n\nIt was {word}.\n"


def test_data_dir_beats_env_var_beats_cache(tmp_path, monkeypatch, isolated):
    parent = tmp_path / "arg"
    _write(parent / "timemachine" / "timemachine.txt", _corpus("Alpha"))
    env = tmp_path / "env"
    _write(env / "timemachine" / "timemachine.txt", _corpus("Beta"), gz=True)
    cache = resolve.cache_dir("timemachine")
    assert cache == tmp_path / "keras_home" / "datasets/rnnzoo/timemachine"
    # In a sub-folder, as an extracted archive would be.
    _write(cache / "extracted" / "timemachine.txt", _corpus("Gamma"))
    monkeypatch.setenv(resolve.ENV_VAR, str(env))

    def first_word(**kwargs):
        corpus = time_machine.load_time_machine(
            validation_fraction=0.0, **kwargs
        )
        return corpus.train.split()[0]

    assert first_word(data_dir=parent) == "alpha"  # parent folder
    assert first_word(data_dir=parent / "timemachine") == "alpha"  # own folder
    assert first_word() == "beta"
    # A data_dir lacking the files falls through to the env var.
    (tmp_path / "empty").mkdir()
    assert first_word(data_dir=tmp_path / "empty") == "beta"
    monkeypatch.delenv(resolve.ENV_VAR)
    assert first_word() == "gamma"
    # An env var folder without the dataset falls through to the cache.
    monkeypatch.setenv(resolve.ENV_VAR, str(tmp_path / "empty"))
    assert first_word() == "gamma"
    assert isolated == []  # never tried to download


def test_plain_and_gzipped_files_load_identically(tmp_path):
    plain = tmp_path / "plain"
    packed = tmp_path / "packed"
    for language in names.LANGUAGES:
        text = "".join(f"{language[:3]}{i}x\n" for i in range(30))
        _write(plain / f"{language}.txt", text)
        _write(packed / f"{language}.txt", text, gz=True)
    assert not list(packed.glob("*.txt"))
    a = names.load_names(data_dir=plain)
    b = names.load_names(data_dir=packed)
    assert len(a.train) + len(a.validation) + len(a.test) == 18 * 30
    for split in ("train", "validation", "test"):
        assert getattr(a, split) == getattr(b, split)


def test_plain_file_wins_over_gz(tmp_path):
    _write(tmp_path / "timemachine.txt", _corpus("Plain"))
    _write(tmp_path / "timemachine.txt", _corpus("Packed"), gz=True)
    path = resolve.resolve_files("timemachine", ["timemachine.txt"], tmp_path)
    assert path["timemachine.txt"] == tmp_path / "timemachine.txt"


def test_files_are_never_mixed_across_folders(tmp_path, monkeypatch, isolated):
    # train.tsv in data_dir, dev.tsv only in the env folder: data_dir is not
    # complete, so both files must come from the env folder.
    _write(tmp_path / "arg" / "train.tsv", "label\tsentence\n1\targ\n")
    env = tmp_path / "env"
    _write(env / "sst2" / "train.tsv", "label\tsentence\n0\tenv\n")
    _write(env / "sst2" / "dev.tsv", "label\tcontent\n1\tdev\n")
    monkeypatch.setenv(resolve.ENV_VAR, str(env))
    paths = resolve.resolve_files(
        "sst2", ["train.tsv", "dev.tsv"], data_dir=tmp_path / "arg"
    )
    assert paths["train.tsv"].parent == env / "sst2"


@pytest.mark.parametrize(
    "loader, dataset, origin",
    [
        (names.load_names, "names", names.ORIGIN),
        (sst2.load_sst2, "sst2", sst2.DOWNLOADS[0].origin),
        (time_machine.load_time_machine, "timemachine",
         time_machine.DOWNLOADS[0].origin),
        (fra_eng.load_fra_eng, "fra_eng", fra_eng.ORIGIN),
        (flickr8k.load_flickr8k_captions, "flickr8k_captions",
         flickr8k.DOWNLOADS[0].origin),
        (lambda: series.load_series("beijing_pm25"), "timeseries",
         series.DOWNLOADS["beijing_pm25"].origin),
    ],
)  # fmt: skip
def test_missing_files_offline_raise_clear_error(
    isolated, loader, dataset, origin
):
    with pytest.raises(resolve.DatasetNotFoundError) as info:
        loader()
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert f"'{dataset}'" in message
    assert "RNNZOO_DATA_DIR" in message
    assert origin in message
    assert str(resolve.cache_dir(dataset)) in message
    assert "name resolution" in message  # the download's own error
    assert isolated[0]["cache_subdir"] == f"datasets/rnnzoo/{dataset}"
    assert isolated[0]["origin"] == origin


def test_error_lists_every_folder_searched(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv(resolve.ENV_VAR, str(tmp_path / "env"))
    with pytest.raises(resolve.DatasetNotFoundError) as info:
        time_machine.load_time_machine(data_dir=tmp_path)
    message = str(info.value)
    for folder in (tmp_path, tmp_path / "timemachine",
                   tmp_path / "env" / "timemachine"):  # fmt: skip
        assert str(folder) in message


def test_download_goes_to_keras_cache_and_archives_are_searched(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(resolve.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    calls = []

    def fake_get_file(fname, origin, file_hash, cache_subdir, cache_dir,
                      extract):  # fmt: skip
        calls.append((fname, origin, file_hash, cache_subdir, extract))
        # Mimic keras: `data.zip` is extracted into `data_extracted/`.
        root = Path(cache_dir) / cache_subdir / "data_extracted" / "data"
        for language in names.LANGUAGES:
            _write(root / "names" / f"{language}.txt", f"{language}name\n")
        return str(root.parent)

    monkeypatch.setattr(resolve, "_get_file", fake_get_file)
    data = names.load_names()
    assert calls == [
        ("data.zip", names.ORIGIN, None, "datasets/rnnzoo/names", True)
    ]
    total = len(data.train) + len(data.validation) + len(data.test)
    assert total == 18
    names.load_names()  # now found in the cache: no second download
    assert len(calls) == 1


def test_hash_mismatch_is_not_reported_as_missing(tmp_path, monkeypatch):
    monkeypatch.delenv(resolve.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def corrupted(**kwargs):
        raise ValueError("Incomplete or corrupted file detected.")

    monkeypatch.setattr(resolve, "_get_file", corrupted)
    with pytest.raises(ValueError, match="corrupted"):
        time_machine.load_time_machine()


def test_pinned_hashes_match_the_shared_copies():
    shared = shared_data_dir("sst2")
    pinned = {
        "sst2": sst2.DOWNLOADS,
        "timemachine": time_machine.DOWNLOADS,
        "flickr8k_captions": flickr8k.DOWNLOADS,
        "timeseries": tuple(series.DOWNLOADS.values()),
    }
    checked = 0
    for dataset, downloads in pinned.items():
        for item in downloads:
            if item.file_hash is None:
                continue
            path = resolve.resolve_files(dataset, [item.fname], shared)
            with open(path[item.fname], "rb") as f:
                data = f.read()
            if str(path[item.fname]).endswith(".gz"):
                data = gzip.decompress(data)
            assert hashlib.sha256(data).hexdigest() == item.file_hash
            assert "raw.githubusercontent.com" in item.origin
            checked += 1
    assert checked == 9
    assert names.DOWNLOADS[0].file_hash is None
    assert fra_eng.DOWNLOADS[0].file_hash is None
    assert series.DOWNLOADS["beijing_pm25"].file_hash is None


def test_hash_fraction_is_salted_and_deterministic():
    assert resolve.hash_fraction("abc") == resolve.hash_fraction("abc")
    digest = hashlib.sha1(b"rnnzoo:abc").hexdigest()
    assert resolve.hash_fraction("abc") == (int(digest, 16) % 10000) / 10000
    values = [resolve.hash_fraction(str(i)) for i in range(2000)]
    assert all(0 <= v < 1 for v in values)
    assert 0.08 < sum(v < 0.1 for v in values) / 2000 < 0.12
    assert resolve.assign_split("abc", 0.0, 0.0) == "train"
    assert resolve.assign_split("abc", 0.0, 0.9999) == "test"


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="Received: data_dir="):
        resolve.resolve_files("x", ["a.txt"], data_dir=tmp_path / "nope")
    for bad in (-0.1, 1.0, "0.1", True):
        with pytest.raises(ValueError, match="Received: fraction="):
            check_fraction("fraction", bad)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        check_fraction("fraction", 0.0, allow_zero=False)
    assert check_fraction("fraction", 0) == 0.0


def test_text_array_is_object_dtype():
    array = resolve.text_array(["a", "bé"])
    assert array.dtype == object and list(array) == ["a", "bé"]
    assert len(resolve.text_array([])) == 0
