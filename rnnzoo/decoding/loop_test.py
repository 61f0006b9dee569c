import numpy as np
import pytest
from keras import ops

from rnnzoo.decoding.loop import beam_loop
from rnnzoo.decoding.loop import prompt_states
from rnnzoo.decoding.loop import token_loop

END = 2


def counting_step(vocab=6):
    """State: the sum of the tokens fed so far; always predicts token 3,
    then END once the sum reaches 9."""

    def step_fn(tokens, states, constants):
        (total,) = states
        total = total + ops.cast(tokens, "float32")
        probabilities = ops.where(
            (total >= 9.0)[:, None],
            ops.one_hot(ops.full(ops.shape(tokens), END, "int32"), vocab),
            ops.one_hot(ops.full(ops.shape(tokens), 3, "int32"), vocab),
        )
        return probabilities, (total,), None

    return step_fn


@pytest.mark.multi_backend
def test_prompt_states_stop_at_each_rows_last_token():
    prompt = np.array([[4, 1, 2, 5], [3, 0, 0, 0], [1, 1, 0, 0]], "int32")
    states, last = prompt_states(counting_step(), (np.zeros((3,), "float32"),), prompt)
    # The state sums every prompt token but the last of each row.
    assert ops.convert_to_numpy(states[0]).tolist() == [7.0, 0.0, 1.0]
    assert ops.convert_to_numpy(last).tolist() == [5, 3, 1]


@pytest.mark.multi_backend
def test_token_loop_pads_after_the_end_and_freezes_finished_rows():
    argmax = lambda p, step, seed: ops.argmax(p, axis=-1)  # noqa: E731
    start = np.array([3, 0], "int32")  # row 0 reaches 9 after two tokens
    ids, scores, _ = token_loop(counting_step(), (np.zeros((2,), "float32"),),
                                start, argmax, max_length=6, end_token=END)
    assert ops.convert_to_numpy(ids).tolist() == [
        [3, 3, END, 0, 0, 0],  # 3 + 3 + 3 = 9: end, then padding
        [3, 3, 3, END, 0, 0],
    ]
    np.testing.assert_allclose(ops.convert_to_numpy(scores), [0.0, 0.0], atol=1e-6)


def test_step_results_and_coverage_are_checked():
    bad = lambda tokens, states, constants: (ops.one_hot(tokens, 4), states)  # noqa: E731
    with pytest.raises(ValueError, match="step_fn.*Received: a result of length 2"):
        token_loop(bad, (), np.array([1]), lambda p, s, k: ops.argmax(p, -1),
                   max_length=2, end_token=END)
    with pytest.raises(ValueError, match="attention_length.*Received: coverage_penalty=0.5"):
        beam_loop(counting_step(), (np.zeros((1,), "float32"),), np.array([1]),
                  width=2, length_penalty=0.0, coverage_penalty=0.5,
                  max_length=2, end_token=END)
