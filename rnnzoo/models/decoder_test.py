"""The decoder shared by seq2seq, sequence_generator and language_model: old models still decode."""

import keras
import numpy as np

import rnnzoo


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
