"""XLA-compiled training on TensorFlow (`compile_for(jit_compile=True)`, opt-in).

`jit_compile="auto"` keeps Keras' rule (no XLA on TensorFlow's CPU: the
recipes measured slower with it, docs/benchmarks.md). These tests check
what "auto" and the `RNNZOO_JIT_COMPILE` setting resolve to, the fallback
for layers that cannot compile, and that an XLA-compiled step gives the
same numbers as the uncompiled one for every preset, resumes, reloads and
trains under mixed precision.
"""

import warnings

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.models.presets_test import _batch
from rnnzoo.training.compile import XLAFallbackWarning
from rnnzoo.training.compile import resolve_jit_compile

TENSORFLOW = keras.backend.backend() == "tensorflow"
tensorflow_only = pytest.mark.skipif(not TENSORFLOW, reason="XLA is chosen on TensorFlow only")


@pytest.fixture
def default_jit(monkeypatch):
    """The library's default: no RNNZOO_JIT_COMPILE, no message said yet."""
    from rnnzoo.training import compile as compile_module

    monkeypatch.delenv("RNNZOO_JIT_COMPILE", raising=False)
    monkeypatch.setattr(compile_module, "_SAID", set())


@pytest.mark.multi_backend
def test_auto_is_keras_rule_and_the_setting_or_argument_overrides_it(default_jit, monkeypatch):
    lm = rnnzoo.language_model(vocabulary_size=20, units=8)
    assert resolve_jit_compile(lm) == "auto"
    # Keras' "auto": no XLA on a CPU-only TensorFlow machine; JAX compiles.
    assert rnnzoo.compile_for(lm).jit_compile is (not TENSORFLOW)
    assert rnnzoo.compile_for(lm, jit_compile=True).jit_compile is True
    assert resolve_jit_compile(lm, False) is False
    monkeypatch.setenv("RNNZOO_JIT_COMPILE", "true")
    assert resolve_jit_compile(lm) is True and resolve_jit_compile(lm, False) is False
    assert rnnzoo.compile_for(lm).jit_compile is True
    monkeypatch.setenv("RNNZOO_JIT_COMPILE", "sometimes")
    with pytest.raises(ValueError, match="RNNZOO_JIT_COMPILE to be auto, true or false. "
                                         "Received: RNNZOO_JIT_COMPILE='sometimes'"):
        resolve_jit_compile(lm)
    with pytest.raises(ValueError, match="Received: jit_compile='yes'"):
        rnnzoo.compile_for(lm, jit_compile="yes")


@tensorflow_only
def test_a_layer_that_cannot_compile_falls_back_with_one_message(default_jit):
    # The CRF's scan cannot be XLA-compiled on TensorFlow: one message, naming it.
    tagger = rnnzoo.sequence_tagger(vocabulary_size=20, num_classes=5, units=8, crf=True,
                                    name="crf_tagger")
    with pytest.warns(XLAFallbackWarning, match=r"'crf_tagger'.*'crf_tagger_crf'.*"
                                                r"supports_jit=False"):
        assert rnnzoo.compile_for(tagger, jit_compile=True).jit_compile is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        rnnzoo.compile_for(tagger, jit_compile=True)
        # not asked for XLA: nothing to say
        assert rnnzoo.compile_for(tagger).jit_compile is False


def _pair(preset):
    """Two copies of a tiny preset with the same weights, compiled with and without XLA."""
    overrides, x, y, *_ = _batch(preset)
    if preset == "bilstm_sentiment":  # dropout draws differ between the two programs
        overrides = dict(overrides, head_dropout_rate=0.0)
    models = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = rnnzoo.build(preset, **overrides)
        models.append(rnnzoo.compile_for(model, learning_rate=1e-2, jit_compile=jit))
    models[1].set_weights(models[0].get_weights())
    return models, x, y


@tensorflow_only
@pytest.mark.parametrize("preset", sorted(rnnzoo.PRESETS))
def test_xla_training_steps_equal_the_uncompiled_ones(preset, default_jit):
    (plain, xla), x, y = _pair(preset)
    assert xla.jit_compile is True and plain.jit_compile is False
    initial = plain.get_weights()
    for _ in range(2):
        losses = [float(np.ravel(m.train_on_batch(x, y))[0]) for m in (plain, xla)]
        np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(plain.get_weights(), xla.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(plain.get_weights(), initial))


@tensorflow_only
def test_xla_run_resumes_saves_and_reloads_identically(default_jit, tmp_path):
    from rnnzoo.training.runner import Runner

    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 9)).astype("int32")
    y = (x[:, 0] > 10).astype("int32")

    class Killed(Exception):
        pass

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise Killed()

    def model():
        keras.utils.set_random_seed(0)
        return rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=2, units=8,
                                          name="clf")

    runner = Runner(str(tmp_path / "run"), verbose=0)
    runner.start(None)
    with pytest.raises(Killed):
        runner.fit(runner.compile(model(), jit_compile=True), x, y, name="m", epochs=2,
                   batch_size=16, monitor="loss", callbacks=[Kill()])
    resumed = runner.compile(model(), jit_compile=True)
    assert resumed.jit_compile is True
    history = runner.fit(resumed, x, y, name="m", epochs=2, batch_size=16, monitor="loss")
    assert history.epoch == [0, 1]

    whole = Runner(str(tmp_path / "whole"), verbose=0)
    whole.start(None)
    uninterrupted = whole.compile(model(), jit_compile=True)
    reference = whole.fit(uninterrupted, x, y, name="m", epochs=2, batch_size=16, monitor="loss")
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-5)

    path = runner.save_model(resumed)
    reloaded = rnnzoo.load_model(path)
    assert reloaded.jit_compile is True
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), resumed.predict(x, verbose=0))
    np.testing.assert_allclose(reloaded.predict(x, verbose=0),
                               uninterrupted.predict(x, verbose=0), atol=1e-5)


@tensorflow_only
def test_xla_under_mixed_precision_trains_with_float32_outputs(default_jit):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = rnnzoo.compile_for(rnnzoo.language_model(vocabulary_size=20, units=8),
                                   jit_compile=True)
        x = np.random.default_rng(0).integers(1, 20, (16, 7)).astype("int32")
        y = np.roll(x, -1, axis=1)
        losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(8)]
        assert model.jit_compile is True
        assert model(x).dtype == "float32"
        assert np.isfinite(losses).all() and losses[-1] < losses[0]
    finally:
        keras.config.set_dtype_policy("float32")
