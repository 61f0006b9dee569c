"""Builder-level checks: parameter counts against plain Keras, errors, layer names."""

import keras
import numpy as np
import pytest

import rnnzoo


def _lstm(i, u):
    return 4 * (u * (i + u) + u)


def _gru(i, u):  # reset_after=True: two bias vectors
    return 3 * (u * (i + u) + 2 * u)


def test_classifier_counts_equal_plain_keras():
    model = rnnzoo.sequence_classifier(vocabulary_size=50, embedding_dim=8,
                                       cell="gru", units=[16, 12], num_layers=2,
                                       bidirectional=True, num_classes=5)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(50, 8, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(12))(x)
    hand = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    assert model.count_params() == hand.count_params()
    assert model.count_params() == 50 * 8 + 2 * _gru(8, 16) + 2 * _gru(32, 12) + 24 * 5 + 5


def test_tagger_and_language_model_counts_equal_plain_keras():
    tagger = rnnzoo.sequence_tagger(vocabulary_size=40, embedding_dim=6, units=10,
                                    num_layers=2, num_classes=7)
    lm = rnnzoo.language_model(vocabulary_size=40, embedding_dim=6, units=10, num_layers=2)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(40, 6, mask_zero=True)(inputs)
    x = keras.layers.LSTM(10, return_sequences=True)(x)
    x = keras.layers.LSTM(10, return_sequences=True)(x)
    for model, classes in ((tagger, 7), (lm, 40)):
        hand = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
        assert model.count_params() == hand.count_params()


def test_seq2seq_counts_equal_plain_keras():
    model = rnnzoo.seq2seq(source_vocabulary_size=30, target_vocabulary_size=20,
                           embedding_dim=8, units=16, bidirectional=False,
                           attention=None)
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    _, h, c = keras.layers.LSTM(16, return_state=True)(
        keras.layers.Embedding(30, 8, mask_zero=True)(source))
    y = keras.layers.LSTM(16, return_sequences=True)(
        keras.layers.Embedding(20, 8, mask_zero=True)(target), initial_state=[h, c])
    hand = keras.Model([source, target], keras.layers.Dense(20, activation="softmax")(y))
    assert model.count_params() == hand.count_params()
    # The copy bridge: no bridge weights at all.
    assert not any(l.weights for l in model.layers if "_bridge_" in l.name)


def test_forecaster_and_dense_counts_equal_plain_keras():
    model = rnnzoo.forecaster(input_width=10, num_features=3, horizon=4, num_targets=2,
                              cell="gru", units=8)
    inputs = keras.Input((10, 3))
    hand = keras.Model(inputs, keras.layers.Dense(8)(keras.layers.GRU(8)(inputs)))
    assert model.count_params() == hand.count_params()
    dense = rnnzoo.dense_baseline(num_features=5, units=[7, 6], num_layers=2, num_outputs=2)
    assert dense.count_params() == (5 * 7 + 7) + (7 * 6 + 6) + (6 * 2 + 2)


def test_every_layer_is_named_after_the_model():
    models = [
        rnnzoo.sequence_classifier(vocabulary_size=9, num_classes=2, pooling="attention", name="clf"),
        rnnzoo.sequence_tagger(num_features=3, num_outputs=1, bidirectional=True, name="tag"),
        rnnzoo.seq2seq(source_vocabulary_size=9, target_vocabulary_size=9, units=4,
                       num_layers=2, attention="bahdanau", name="s2s"),
        rnnzoo.sequence_generator(vocabulary_size=9, image_shape=(8, 8, 1), units=4, name="gen"),
        rnnzoo.language_model(vocabulary_size=9, units=4, name="lm"),
        rnnzoo.forecaster(input_width=5, num_features=3, horizon=3, num_covariates=1,
                          strategy="autoregressive", units=4, name="fc"),
        rnnzoo.dense_baseline(vocabulary_size=9, num_classes=2, name="mlp"),
    ]
    for model in models:
        for layer in model.layers:
            assert layer.name.startswith(model.name + "_"), (model.name, layer.name)


@pytest.mark.multi_backend
def test_autoregressive_forecaster_feeds_back_its_predictions():
    model = rnnzoo.forecaster(input_width=6, num_features=3, horizon=3, num_targets=1,
                              num_covariates=1, strategy="autoregressive", units=5)
    history = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    future = np.random.default_rng(1).normal(size=(2, 3, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model([history, future]))
    assert out.shape == (2, 3, 1)
    # The first step does not see the covariates; later steps do.
    changed = keras.ops.convert_to_numpy(model([history, future + 1.0]))
    np.testing.assert_allclose(out[:, 0], changed[:, 0], atol=1e-6)
    assert np.abs(out[:, 1:] - changed[:, 1:]).max() > 1e-4


def test_stateful_language_model_carries_states_between_batches():
    model = rnnzoo.language_model(vocabulary_size=12, units=6, num_layers=1,
                                  stateful=True, batch_size=2)
    ids = np.arange(1, 13).reshape(2, 6) % 11 + 1
    whole = keras.ops.convert_to_numpy(model(ids))
    callback = rnnzoo.ResetStates()
    callback.set_model(model)
    callback.on_epoch_begin(0)
    first = keras.ops.convert_to_numpy(model(ids[:, :3]))
    second = keras.ops.convert_to_numpy(model(ids[:, 3:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-5)
    callback.on_epoch_begin(1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(ids[:, :3])), first, atol=1e-6)


def test_tbptt_batches_continue_each_row():
    ids = np.arange(1, 102)
    x, y = rnnzoo.tbptt_batches(ids, batch_size=4, num_steps=5)
    assert x.shape == y.shape == (20, 5)
    np.testing.assert_array_equal(y, x + 1)
    # Row b of batch k+1 starts where row b of batch k ended.
    np.testing.assert_array_equal(x[4:8, 0], x[0:4, -1] + 1)


def test_embedding_dropout_drops_whole_channels_in_training_only():
    model = rnnzoo.sequence_classifier(vocabulary_size=50, embedding_dim=64,
                                       units=8, num_classes=2, embedding_dropout=0.5,
                                       name="clf")
    layer = model.get_layer("clf_embedding_dropout")
    assert model.count_params() == rnnzoo.sequence_classifier(
        vocabulary_size=50, embedding_dim=64, units=8, num_classes=2).count_params()
    x = np.ones((4, 6, 64), "float32")
    dropped = np.asarray(layer(x, training=True))
    # a channel is dropped at every step or at none (scaled by 1 / (1 - rate))
    assert set(np.unique(dropped).tolist()) == {0.0, 2.0}
    assert (dropped == dropped[:, :1, :]).all()
    assert 0.2 < (dropped[:, 0, :] == 0).mean() < 0.8
    tokens = np.array([[3, 4, 5, 0]])
    np.testing.assert_array_equal(model(tokens), model(tokens))  # inference: no dropout


@pytest.mark.parametrize(
    "builder, kwargs, arg",
    [
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=2, cell="lstn"), "cell='lstn'"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=2, units=0), "units=0"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=2, num_layers=0), "num_layers=0"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=2, units=[3], num_layers=2), "units=\\[3\\]"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=2, pooling="sum"), "pooling='sum'"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=10, num_classes=1), "num_classes=1"),
        (rnnzoo.sequence_classifier, dict(num_classes=2), "vocabulary_size=None, num_features=None"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=0, num_classes=2), "vocabulary_size=0"),
        (rnnzoo.sequence_classifier, dict(vocabulary_size=9, num_classes=2, embedding_dropout=1.0), "embedding_dropout=1.0"),
        (rnnzoo.seq2seq, dict(source_vocabulary_size=9, target_vocabulary_size=9, attention="dot"), "attention='dot'"),
        (rnnzoo.seq2seq, dict(source_vocabulary_size=9, target_vocabulary_size=9, decoder_cell="rnn"), "decoder_cell='rnn'"),
        (rnnzoo.sequence_generator, dict(vocabulary_size=9, num_features=4, attention="luong"), "attention='luong'"),
        (rnnzoo.sequence_generator, dict(vocabulary_size=9, feature_grid_shape=(4,)), "feature_grid_shape=\\(4,\\)"),
        (rnnzoo.language_model, dict(vocabulary_size=9, stateful=True), "batch_size=None"),
        (rnnzoo.forecaster, dict(input_width=5, strategy="recursive"), "strategy='recursive'"),
        (rnnzoo.forecaster, dict(input_width=5, bidirectional=True, strategy="autoregressive"), "bidirectional=True"),
        (rnnzoo.forecaster, dict(input_width=5, num_features=2, num_targets=2, num_covariates=1), "num_covariates=1"),
        (rnnzoo.dense_baseline, dict(num_features=3, num_outputs=0), "num_outputs=0"),
    ],
)
def test_bad_builder_arguments_name_the_argument(builder, kwargs, arg):
    with pytest.raises(ValueError, match=f"Received: .*{arg}"):
        builder(**kwargs)


def test_token_ids_outside_the_vocabulary_are_rejected():
    rnnzoo.check_token_ids(np.array([[0, 3, 9]]), 10)
    with pytest.raises(ValueError, match=r"vocabulary_size=10.*Received: x_train with ids in \[0, 10\]"):
        rnnzoo.check_token_ids(np.array([[0, 3, 10]]), 10, arg="x_train")
    with pytest.raises(ValueError, match="Received: inputs with ids in \\[-1, 3\\]"):
        rnnzoo.check_token_ids(np.array([[-1, 3]]), 10)


def test_save_model_is_atomic(tmp_path, monkeypatch):
    model = rnnzoo.dense_baseline(num_features=3, num_outputs=1, units=4)
    path = tmp_path / "model.keras"
    rnnzoo.save_model(model, path)
    original = path.read_bytes()

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half-written")
        raise KeyboardInterrupt("interrupted mid-save")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        rnnzoo.save_model(model, path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    with pytest.raises(ValueError, match="Received: path="):
        rnnzoo.save_model(model, tmp_path / "model.h5")


def test_compile_for_picks_loss_metrics_and_clipping():
    clf = rnnzoo.compile_for(rnnzoo.sequence_classifier(vocabulary_size=9, num_classes="binary"))
    assert type(clf.loss).__name__ == "BinaryCrossentropy"
    assert clf.optimizer.clipnorm == 1.0
    lm = rnnzoo.compile_for(rnnzoo.language_model(vocabulary_size=9, units=4))
    fc = rnnzoo.compile_for(rnnzoo.forecaster(input_width=4), learning_rate=0.01)
    assert type(fc.loss).__name__ == "MeanSquaredError"
    assert float(keras.ops.convert_to_numpy(fc.optimizer.learning_rate)) == pytest.approx(0.01)
    logs = lm.evaluate(np.array([[1, 2, 3, 0]]), np.array([[2, 3, 4, 0]]), verbose=0,
                       return_dict=True)
    # Perplexity is exp(masked mean cross-entropy): equal to exp(loss) here.
    assert logs["perplexity"] == pytest.approx(np.exp(logs["loss"]), rel=1e-5)
    with pytest.raises(ValueError, match="task='ranking'"):
        rnnzoo.compile_for(clf, task="ranking")


@pytest.mark.multi_backend
def test_padded_target_steps_are_left_out_of_the_loss():
    model = rnnzoo.compile_for(rnnzoo.sequence_tagger(vocabulary_size=9, num_classes=3, units=4))
    x = np.array([[1, 2, 0, 0]])
    y_a = np.array([[1, 2, 0, 0]])
    y_b = np.array([[1, 2, 2, 1]])  # differs only on padded steps
    loss_a = model.evaluate(x, y_a, verbose=0, return_dict=True)["loss"]
    loss_b = model.evaluate(x, y_b, verbose=0, return_dict=True)["loss"]
    assert loss_a == pytest.approx(loss_b, rel=1e-6)


@pytest.mark.multi_backend
@pytest.mark.parametrize("attention", [None, "luong", "bahdanau"])
def test_seq2seq_and_generator_leave_padded_target_steps_out_of_the_loss(attention):
    s2s = rnnzoo.compile_for(rnnzoo.seq2seq(source_vocabulary_size=9, target_vocabulary_size=9,
                                            units=4, attention=attention))
    gen = rnnzoo.compile_for(rnnzoo.sequence_generator(
        vocabulary_size=9, feature_grid_shape=(3, 4), units=4,
        attention=attention or "luong"))
    target = np.array([[1, 5, 0, 0]])
    for model, conditioning in ((s2s, np.array([[3, 4, 0]])), (gen, np.ones((1, 3, 4)))):
        loss_a = model.evaluate([conditioning, target], np.array([[5, 2, 0, 0]]),
                                verbose=0, return_dict=True)["loss"]
        loss_b = model.evaluate([conditioning, target], np.array([[5, 2, 7, 3]]),
                                verbose=0, return_dict=True)["loss"]
        assert loss_a == pytest.approx(loss_b, rel=1e-6), model.name


def test_saved_model_gets_the_usual_file_mode(tmp_path):
    import os
    import stat

    model = rnnzoo.dense_baseline(num_features=2, num_outputs=1, units=2)
    path = rnnzoo.save_model(model, tmp_path / "m.keras")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_model_saved_before_the_residual_attention_still_decodes(monkeypatch, tmp_path):
    # Builds the pre-residual decoder (Luong's plain tanh(W_c [h; c]), no
    # `_attentional` layer), saves and reloads it: its one-step model must
    # reproduce the teacher-forced model step by step.
    from rnnzoo.layers.attention import SequenceAttention
    from rnnzoo.models import decoder

    original = decoder.attend

    def old_attend(outputs, memory, memory_mask, prefix, *, attention=None, units=None,
                   layers=None):
        layers = layers or (
            SequenceAttention(attention, name=f"{prefix}_attention"),
            keras.layers.Concatenate(name=f"{prefix}_concat"),
            keras.layers.Dense(units, activation="tanh", name=f"{prefix}_combine"),
            None,
        )
        return original(outputs, memory, memory_mask, prefix, layers=layers)

    monkeypatch.setattr(decoder, "attend", old_attend)
    keras.utils.set_random_seed(3)
    model = rnnzoo.seq2seq(source_vocabulary_size=15, target_vocabulary_size=17,
                           units=8, embedding_dim=8, cell="gru", name="old")
    monkeypatch.undo()
    assert not any(layer.name == "old_decoder_attentional" for layer in model.layers)
    path = str(tmp_path / "old.keras")
    rnnzoo.save_model(model, path)
    model = rnnzoo.load_model(path, compile=False)
    source = np.array([[3, 4, 5, 6, 0]], "int32")
    target_in = np.array([[2, 7, 8, 9]], "int32")
    expected = np.asarray(model([source, target_in]))
    memory, mask, *states = [np.asarray(t) for t in rnnzoo.encoder_model(model)(source)]
    step = rnnzoo.decoder_step_model(model)
    for t in range(target_in.shape[1]):
        outputs = step([target_in[:, t:t + 1], *states, memory, mask])
        np.testing.assert_allclose(np.asarray(outputs[0]).reshape(1, -1),
                                   expected[:, t], rtol=1e-5, atol=1e-6)
        states = [np.asarray(s) for s in outputs[1:1 + len(states)]]
