import numpy as np
import pytest

import rnnzoo
from rnnzoo.data.decoder_targets import teacher_forcing


def test_pairs_shift_by_one_and_match_decode_conventions():
    ragged = [[5, 6, 7], [8], []]
    x_in, x_out = teacher_forcing(ragged, start_token=2, end_token=3)
    assert x_in.tolist() == [[2, 5, 6, 7], [2, 8, 0, 0], [2, 0, 0, 0]]
    assert x_out.tolist() == [[5, 6, 7, 3], [8, 3, 0, 0], [3, 0, 0, 0]]
    assert x_in.dtype == x_out.dtype == np.int32
    # The decoder reads at step t what it was asked to predict at t - 1.
    np.testing.assert_array_equal(x_in[:, 1:][x_in[:, 1:] > 0], x_out[:, :-1][x_in[:, 1:] > 0])
    # A right-padded array gives the same pairs; max_length cuts, keeping start and end.
    padded = np.array([[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    for a, b in zip(teacher_forcing(padded, start_token=2, end_token=3), (x_in, x_out)):
        np.testing.assert_array_equal(a, b)
    cut_in, cut_out = teacher_forcing(ragged, start_token=2, end_token=3, max_length=3)
    assert cut_in.tolist()[0] == [2, 5, 6] and cut_out.tolist()[0] == [5, 6, 3]


def test_a_seq2seq_trained_on_the_pairs_decodes_with_the_same_ids():
    # GENERATED task: copy a 3-token sequence; start 1, end 2, tokens 3..7.
    rng = np.random.default_rng(0)
    x = rng.integers(3, 8, size=(512, 3)).astype("int32")
    y_in, y_out = teacher_forcing(x, start_token=1, end_token=2)
    model = rnnzoo.compile_for(rnnzoo.seq2seq(
        source_vocabulary_size=8, target_vocabulary_size=8, units=32, embedding_dim=16,
        bidirectional=False), learning_rate=1e-2)
    model.fit([x, y_in], y_out, epochs=25, batch_size=64, verbose=0)
    ids = rnnzoo.decode(model, x[:32], max_length=4, start_token=1, end_token=2)
    assert np.mean(ids[:, :3] == x[:32]) > 0.9
    assert (ids[:, 3] == 2).mean() > 0.9


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="Received: start_token=0"):
        teacher_forcing([[4]], start_token=0, end_token=3)
    with pytest.raises(ValueError, match="Received: end_token=-1"):
        teacher_forcing([[4]], start_token=2, end_token=-1)
    with pytest.raises(ValueError, match="Received: max_length=1"):
        teacher_forcing([[4]], start_token=2, end_token=3, max_length=1)
    with pytest.raises(ValueError, match=r"sequences\[1\] with dtype=float64"):
        teacher_forcing([[4], [1.5]], start_token=2, end_token=3)
