import keras
import numpy as np
import pytest

from rnnzoo.data.length_batches import LengthBatches
from rnnzoo.data.length_batches import row_lengths


def _padded(lengths, width, offset=2, seed=0):
    rng = np.random.default_rng(seed)
    out = np.zeros((len(lengths), width), "int32")
    for i, n in enumerate(lengths):
        out[i, :n] = rng.integers(offset, 9, n)
    return out


def test_row_lengths_counts_to_the_last_token():
    x = np.array([[5, 3, 0, 0], [4, 0, 2, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    assert row_lengths(x).tolist() == [2, 3, 0, 4]


def test_every_example_once_per_epoch_trimmed_and_grouped():
    rng = np.random.default_rng(1)
    src_len = rng.integers(1, 13, 203)
    tgt_len = rng.integers(1, 16, 203)
    x = _padded(src_len, 12)
    y = _padded(tgt_len, 16, seed=1)
    ids = np.arange(203)
    data = LengthBatches([x, ids], y, batch_size=16, multiple=4, seed=3)
    assert len(data) == 13
    for epoch in range(2):
        seen = []
        for k in range(len(data)):
            (bx, bids), by = data[k]
            seen.extend(bids.tolist())
            # each batch is its rows, trimmed to the batch's longest row
            # rounded up to a multiple of 4, never wider than the array
            np.testing.assert_array_equal(bx, x[bids][:, :bx.shape[1]])
            np.testing.assert_array_equal(by, y[bids][:, :by.shape[1]])
            assert not x[bids][:, bx.shape[1]:].any() and not y[bids][:, by.shape[1]:].any()
            assert by.shape[1] == min(16, -(-row_lengths(by).max() // 4) * 4)
            assert bx.shape[1] % 4 == 0 and bx.shape[1] - row_lengths(bx).max() < 4
            # sorted by target length: a batch spans few target lengths
            assert np.ptp(tgt_len[bids]) <= 2
        assert sorted(seen) == list(range(203))
        if epoch == 0:
            first_order = [data[k][0][1].tolist() for k in range(len(data))]
        data.on_epoch_end()
    assert [data[k][0][1].tolist() for k in range(len(data))] != first_order
    # wherever widths vary between batches, the first two batches differ
    # (Keras' TensorFlow adapter reads the tensor spec off them)
    for position in (0, 1):  # x, y
        widths = [(data[k][0][0], data[k][1])[position].shape[1] for k in range(len(data))]
        if len(set(widths)) > 1:
            assert widths[0] != widths[1], (position, widths)


def test_first_two_batches_differ_in_every_varying_width():
    x = _padded([1, 1, 2, 2, 5, 6, 9, 10], 12)
    y = _padded([1, 2, 1, 2, 6, 5, 10, 9], 12)
    for seed in range(5):
        data = LengthBatches(x, y, batch_size=2, multiple=4, seed=seed)
        (a, ay), (b, by) = data[0], data[1]
        assert (a.shape[1], ay.shape[1]) == (4, 4)
        assert (b.shape[1], by.shape[1]) == (12, 12)


def test_unshuffled_order_is_shortest_first_and_fixed():
    x = _padded([5, 1, 3, 2], 6)
    data = LengthBatches(x, np.arange(4), batch_size=2, multiple=1, shuffle=False)
    assert [b[0].shape for b in data] == [(2, 2), (2, 5)]
    assert data[0][1].tolist() == [1, 3] and data[1][1].tolist() == [0, 2]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="batch_size"):
        LengthBatches(np.ones((4, 3)), batch_size=0)
    with pytest.raises(ValueError, match="same number of rows"):
        LengthBatches(np.ones((4, 3)), np.ones(5))
    with pytest.raises(ValueError, match="Received: x with shape"):
        LengthBatches(np.ones((4, 3, 2, 2)))


@pytest.mark.multi_backend
def test_fit_on_variable_width_batches_learns():
    # Generated task (not real data): copy a variable-length sequence's
    # first token to every step, a masked many-to-many model.
    import rnnzoo

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 11, 512)
    x = _padded(lengths, 12)
    y = np.where(x > 0, x[:, :1], 0)
    model = rnnzoo.sequence_tagger(vocabulary_size=10, num_classes=10, units=16,
                                   embedding_dim=8, name="tagger")
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    data = LengthBatches(x, y, batch_size=32, multiple=4)
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(data, epochs=6, verbose=0)
    assert len(history.history["loss"]) == 6
    # measured after 6 epochs: 2.30 -> 0.10 (TF), 0.21 (JAX)
    assert model.evaluate(x, y, verbose=0) < 0.25 * before


def test_characters_of_words_are_trimmed_on_both_axes():
    # 4 sentences of 1-3 words; each word's characters right-padded to 6.
    words = np.array([[3, 4, 0], [5, 0, 0], [6, 7, 8], [1, 2, 0]])
    chars = np.zeros((4, 3, 6), "int32")
    longest = {0: 2, 1: 1, 2: 5, 3: 3}  # each sentence's longest word
    for i, row in enumerate(words):
        for j, w in enumerate(row):
            if w:
                chars[i, j, :longest[i] - (j % 2)] = w
    data = LengthBatches([words, chars], words, batch_size=2, multiple=1, shuffle=False)
    for (w, c), y in data:
        rows = [i for i in range(4) if any(np.array_equal(words[i, :w.shape[1]], r)
                                           for r in w)]
        assert c.shape == (2, w.shape[1], max(longest[i] for i in rows))
        np.testing.assert_array_equal(c, chars[rows][:, :w.shape[1], :c.shape[2]])
        assert (chars[rows][:, w.shape[1]:] == 0).all()
        assert (chars[rows][:, :, c.shape[2]:] == 0).all()
