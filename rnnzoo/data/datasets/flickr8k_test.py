import gzip

import pytest

from rnnzoo.data.datasets import flickr8k
from rnnzoo.data.datasets._testing import shared_data_dir

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.data.datasets.flickr8k_test")


@pytest.fixture(scope="module")
def shared():
    return shared_data_dir("flickr8k_captions")


@pytest.fixture(scope="module")
def data(shared):
    return flickr8k.load_flickr8k_captions(data_dir=shared)


def test_sizes(data):
    sizes = (len(data.train), len(data.validation), len(data.test))
    assert sizes == (5997, 1000, 1000)
    for split in (data.train, data.validation, data.test):
        assert all(len(c) == 5 for c in split.values())


def test_disjoint_image_ids(data):
    train, val, test = (
        set(s) for s in (data.train, data.validation, data.test)
    )
    assert not train & val and not train & test and not val & test
    assert all(i.endswith(".jpg") for i in train)


def test_content_and_order(data):
    image_id, captions = next(iter(data.train.items()))
    assert image_id == "2513260012_03d33305cf.jpg"
    assert captions[0] == (
        "A black dog is running after a white dog in the snow ."
    )
    with pytest.raises(TypeError):
        data.train["x"] = ("y",)  # read-only mapping


def test_deterministic(shared, data):
    again = flickr8k.load_flickr8k_captions(shared / "flickr8k_captions")
    assert dict(again.test) == dict(data.test)
    assert list(again.train) == list(data.train)


def test_small_slice_plain_and_gz(tmp_path):
    lines = "".join(
        f"img{i}.jpg#{n}\tcaption {n} of {i} .\n"
        for i in range(4)
        for n in (4, 3, 2, 1, 0)
    )
    lists = {
        "Flickr_8k.trainImages.txt": "img0.jpg\r\nimg1.jpg\r\n",
        "Flickr_8k.devImages.txt": "img2.jpg\r\n\r\n",
        "Flickr_8k.testImages.txt": "img3.jpg\r\nmissing.jpg\r\n",
    }
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    for folder in (plain, packed):
        folder.mkdir()
        for name, text in lists.items():
            (folder / name).write_text(text, newline="")
    (plain / "Flickr8k.token.txt").write_text(lines)
    with gzip.open(packed / "Flickr8k.token.txt.gz", "wt") as f:
        f.write(lines)
    a = flickr8k.load_flickr8k_captions(plain)
    b = flickr8k.load_flickr8k_captions(packed)
    assert a == b
    assert list(a.train) == ["img0.jpg", "img1.jpg"]
    assert a.train["img1.jpg"][0] == "caption 0 of 1 ."
    assert list(a.test) == ["img3.jpg"]  # images without captions skipped
