import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.decoding.inference import clear_cache
from rnnzoo.decoding.inference import decoder_prefix
from rnnzoo.decoding.inference import inference_parts


KINDS = ("seq2seq_luong", "seq2seq_plain_gru_2_layers", "generator_bahdanau",
         "language_model")


def make(kind):
    """An untrained model of one decoder kind and a teacher-forced batch:
    `(model, conditioning inputs or None, target ids)`."""
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    target = rng.integers(1, 11, size=(3, 4)).astype("int32")
    source = rng.integers(1, 11, size=(3, 5)).astype("int32")
    source[0, 3:] = 0
    if kind == "seq2seq_luong":
        return rnnzoo.seq2seq(
            source_vocabulary_size=11, target_vocabulary_size=11, units=8,
            embedding_dim=8, attention="luong", name="luong"), source, target
    if kind == "seq2seq_plain_gru_2_layers":
        return rnnzoo.seq2seq(
            source_vocabulary_size=11, target_vocabulary_size=11, units=8,
            embedding_dim=8, attention=None, decoder_cell="gru",
            decoder_num_layers=2, name="plain"), source, target
    if kind == "generator_bahdanau":
        features = rng.normal(size=(3, 5, 6)).astype("float32")
        return rnnzoo.sequence_generator(
            vocabulary_size=11, feature_grid_shape=(5, 6), units=8, cell="gru",
            embedding_dim=8, attention="bahdanau", name="gen"), features, target
    return rnnzoo.language_model(
        vocabulary_size=11, units=8, embedding_dim=8, num_layers=2,
        name="lm"), None, target


def step_through(model, inputs, target):
    """The step model fed the target token by token: `(batch, time, vocab)`."""
    parts = inference_parts(model)
    if parts.is_language_model:
        constants = []
        states = [np.zeros((len(target), *s), "float32") for s in parts.state_shapes]
    else:
        outputs = [np.asarray(o) for o in rnnzoo.encoder_model(model)(inputs)]
        constants = outputs[:len(outputs) - parts.num_states]
        states = outputs[len(outputs) - parts.num_states:]
    step = rnnzoo.decoder_step_model(model)
    probabilities = []
    for t in range(target.shape[1]):
        outputs = [np.asarray(o) for o in step([target[:, t:t + 1], *states, *constants])]
        probabilities.append(outputs[0])
        states = outputs[1:1 + parts.num_states]
        assert len(outputs) == 1 + parts.num_states + parts.has_memory
    return np.stack(probabilities, axis=1)


@pytest.mark.parametrize("kind", [
    pytest.param("seq2seq_luong", marks=pytest.mark.multi_backend),
    "seq2seq_plain_gru_2_layers",
    "generator_bahdanau",
    "language_model",
])
def test_step_model_reproduces_the_teacher_forced_model(kind):
    model, inputs, target = make(kind)
    expected = np.asarray(model(target if inputs is None else [inputs, target]))
    np.testing.assert_allclose(step_through(model, inputs, target), expected,
                               rtol=1e-5, atol=1e-6)


def test_encoder_outputs_and_parts_describe_each_kind():
    models = {kind: make(kind) for kind in KINDS}
    shapes = {
        # memory (8 units each way), mask, h, c (decoder twice as wide)
        "seq2seq_luong": [(3, 5, 16), (3, 5), (3, 16), (3, 16)],
        "seq2seq_plain_gru_2_layers": [(3, 16), (3, 16)],  # one h per layer
        "generator_bahdanau": [(3, 5, 8), (3, 8)],  # memory (the grid, projected), h
    }
    for kind, expected in shapes.items():
        model, inputs, _ = models[kind]
        outputs = rnnzoo.encoder_model(model)(inputs)
        assert [tuple(o.shape) for o in outputs] == expected, kind
    described = {
        kind: (decoder_prefix(model), parts.is_language_model, parts.has_memory,
               parts.has_mask, parts.state_names, parts.vocabulary_size)
        for kind, (model, _, _) in models.items()
        for parts in [inference_parts(model)]
    }
    assert described == {
        "seq2seq_luong": ("luong_decoder", False, True, True,
                          ["state_1_0", "state_1_1"], 11),
        "seq2seq_plain_gru_2_layers": ("plain_decoder", False, False, False,
                                       ["state_1_0", "state_2_0"], 11),
        "generator_bahdanau": ("gen_decoder", False, True, False, ["state_1_0"], 11),
        "language_model": ("lm", True, False, False,
                           ["state_1_0", "state_1_1", "state_2_0", "state_2_1"], 11),
    }


def test_parts_are_cached_until_cleared():
    model = rnnzoo.language_model(vocabulary_size=11, units=8, name="cache")
    parts = inference_parts(model)
    assert inference_parts(model) is parts
    clear_cache(model)
    assert inference_parts(model) is not parts
    clear_cache(rnnzoo.language_model(vocabulary_size=11, units=8))  # never built


def test_stateful_language_model_steps_with_a_stateless_copy():
    keras.utils.set_random_seed(4)
    model = rnnzoo.language_model(vocabulary_size=11, units=8, embedding_dim=8,
                                  stateful=True, batch_size=2, name="stateful")
    target = np.array([[3, 4, 5], [6, 7, 8]], "int32")
    expected = np.asarray(model(target))
    step = rnnzoo.decoder_step_model(model)
    assert not any(getattr(layer, "stateful", False) for layer in step.layers)
    np.testing.assert_allclose(step_through(model, None, target), expected,
                               rtol=1e-5, atol=1e-6)
    ids = rnnzoo.decode(model, target, max_length=2, end_token=-1)
    np.testing.assert_array_equal(ids[:, 0], expected[:, -1, 1:].argmax(-1) + 1)


def test_errors_name_the_model():
    lm = rnnzoo.language_model(vocabulary_size=11, units=8, name="words")
    with pytest.raises(ValueError, match="no encoder.*Received: model named 'words'"):
        rnnzoo.encoder_model(lm)
    classifier = rnnzoo.sequence_classifier(vocabulary_size=11, num_classes=2,
                                            units=4, name="classes")
    with pytest.raises(ValueError, match="Expected a model built by.*'classes'"):
        rnnzoo.decoder_step_model(classifier)
