"""A recurrent layer that attends before every step: the "Show, Attend and Tell" decoder LSTM.

At step t the layer scores the memory with its previous hidden state
`h_{t-1}`, takes the context `z_t = sum_i alpha_ti m_i`, scales it by a
learned gate `beta_t = sigmoid(w . h_{t-1} + b)` (Xu et al. 2015, sec. 4.2.1)
and feeds `[x_t; beta_t z_t]` to the LSTM (or GRU) cell. This is "input
feeding": what the model looked at steers what it says next, through the
recurrence. The cheaper Luong form (`rnnzoo.models.decoder.attend`) reads
the recurrent outputs instead, so its teacher-forced training is parallel
over time; here every step waits for the previous state.

The states are the cell's own (`[h, c]` for an LSTM, `[h]` for a GRU): the
context is recomputed from `h_{t-1}` and the memory, so a one-step decoder
needs no extra state. The loop is `rnnzoo.layers.loops.scan`, so the layer
exports with builtin ops (`rnnzoo.export`).
"""

import keras
from keras import ops

from rnnzoo.layers import loops
from rnnzoo.layers.attention import ATTENTION_KINDS
from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.layers.fast_rnn import steps as steps_module
from rnnzoo.validation import check_choice
from rnnzoo.validation import check_positive_int

_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}


@keras.saving.register_keras_serializable(package="rnnzoo")
class AttentiveRNN(keras.layers.Layer):
    """A recurrent layer that attends over a memory before every step ("Show, Attend and Tell").

    Args:
        units: the cell's width.
        cell: `"lstm"` or `"gru"`.
        attention: the score, `"bahdanau"` (additive, the paper's) or
            `"luong"` (`rnnzoo.layers.SequenceAttention`).
        attention_units: width of the additive scoring space (default
            `units`).
        gate: scale the context by the learned scalar gate `beta_t`.

    Call arguments:
        inputs: `(batch, time, input_dim)`, e.g. word embeddings.
        memory: `(batch, regions, memory_dim)`, e.g. image-region features.
        memory_mask: optional `(batch, regions)` boolean mask (Keras passes
            the mask attached to `memory`).
        initial_state: optional list of `(batch, units)` states (zeros).
        inputs_mask: optional `(batch, time)` boolean mask of the real
            steps (right padding; Keras passes the mask attached to
            `inputs`): a padded step keeps the states.

    Returns:
        `[outputs, contexts, attention_weights, *final_states]`: the hidden
        states `(batch, time, units)`, the gated contexts fed to each step
        `(batch, time, memory_dim)`, the attention weights `(batch, time,
        regions)` (float32, each row sums to 1) and the last real step's
        states.

    Example:

    >>> import numpy as np
    >>> layer = AttentiveRNN(8)
    >>> outputs, contexts, weights, h, c = layer(np.ones((2, 5, 4)), np.ones((2, 3, 6)))
    >>> tuple(outputs.shape), tuple(contexts.shape), tuple(weights.shape), tuple(c.shape)
    ((2, 5, 8), (2, 5, 6), (2, 5, 3), (2, 8))
    >>> np.allclose(np.sum(weights, -1), 1.0)
    True
    """

    def __init__(self, units, cell="lstm", attention="bahdanau", attention_units=None,
                 gate=True, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.cell_kind = check_choice("cell", cell, tuple(_CELLS))
        self.attention_kind = check_choice("attention", attention, ATTENTION_KINDS)
        if attention_units is not None:
            check_positive_int("attention_units", attention_units)
        self.attention_units = attention_units
        self.gate = bool(gate)
        self.attention = SequenceAttention(attention, units=attention_units or units,
                                           dtype=self.dtype_policy, name="attention")
        self.cell = _CELLS[cell](units, dtype=self.dtype_policy, name="cell")
        self.gate_layer = (keras.layers.Dense(1, activation="sigmoid", dtype=self.dtype_policy,
                                              name="gate") if gate else None)
        self.supports_masking = True
        if keras.backend.backend() == "tensorflow":
            # As the CRF's: TensorFlow's scan over a time axis of unknown
            # length keeps TensorArrays that XLA cannot size. JAX jits it.
            self.supports_jit = False

    @property
    def state_sizes(self):
        """The width of each state: `[units, units]` (LSTM) or `[units]` (GRU)."""
        return [self.units] * (2 if self.cell_kind == "lstm" else 1)

    def build(self, inputs_shape, memory_shape, memory_mask_shape=None):
        self.attention.build((None, 1, self.units), memory_shape)
        self.cell.build((None, inputs_shape[-1] + memory_shape[-1]))
        if self.gate_layer is not None:
            self.gate_layer.build((None, self.units))

    def call(self, inputs, memory, inputs_mask=None, memory_mask=None, initial_state=None):
        mask = inputs_mask
        memory = ops.cast(memory, self.compute_dtype)
        keys = self.attention.keys(memory)
        batch = ops.shape(inputs)[0]
        if initial_state is None:
            states = tuple(ops.zeros((batch, size), self.compute_dtype)
                           for size in self.state_sizes)
        else:
            if not isinstance(initial_state, (list, tuple)):
                initial_state = [initial_state]
            states = tuple(ops.cast(s, self.compute_dtype) for s in initial_state)
        if len(states) != len(self.state_sizes):
            raise ValueError(
                f"Expected {len(self.state_sizes)} initial states for a {self.cell_kind} "
                f"cell. Received: {len(states)} states")
        x = ops.transpose(ops.cast(inputs, self.compute_dtype), (1, 0, 2))
        if mask is None:
            steps = ops.ones((ops.shape(x)[0], batch, 1), self.compute_dtype)
        else:
            steps = ops.expand_dims(
                ops.transpose(ops.cast(mask, self.compute_dtype), (1, 0)), -1)
        # The cell's weights, its arithmetic from `fast_rnn.steps`: the input
        # part of the projection for every step at once, before the loop.
        cell, units = self.cell, self.units
        input_dim = ops.shape(x)[-1]
        kernel = cell.kernel
        if self.cell_kind == "lstm":
            xw = ops.matmul(x, kernel[:input_dim]) + cell.bias
        else:  # reset_after: the input bias, then the recurrent one
            xw = ops.matmul(x, kernel[:input_dim]) + cell.bias[0]
        context_kernel = kernel[input_dim:]
        n = len(states)
        step_ops = steps_module.keras_ops()

        def attend_and_step(states, step_inputs):
            xw_t, m_t = step_inputs[:, :-1], step_inputs[:, -1:]
            h = states[0]
            context, weights = self.attention.attend(
                ops.expand_dims(h, 1), keys, memory, memory_mask)
            context, weights = context[:, 0], ops.cast(weights[:, 0], "float32")
            if self.gate_layer is not None:
                context = context * self.gate_layer(h)
            xw_t = xw_t + ops.matmul(context, context_kernel)
            if self.cell_kind == "lstm":
                new = steps_module.lstm_step(step_ops, units, True, h, states[1], xw_t, m_t,
                                             cell.recurrent_kernel)[:2]
            else:
                new = steps_module.gru_step(step_ops, units, True, h, xw_t, m_t,
                                            cell.recurrent_kernel, cell.bias[1])[:1]
            return tuple(new), (new[0], context, weights)

        # One tensor of inputs: Keras' TensorFlow scan fails on several whose
        # time axis is unknown when traced (as the CRF's). And it stacks
        # outputs shaped like the carry, so the carry holds the step's
        # context and weights beside the states.
        def step(carry, step_inputs):
            new, outputs = attend_and_step(carry[:n], step_inputs)
            carry = (*new, *outputs[1:])
            return carry, carry

        carry = (*states, ops.zeros((batch, ops.shape(memory)[-1]), self.compute_dtype),
                 ops.zeros((batch, ops.shape(memory)[1]), "float32"))
        carry, history = loops.scan(step, carry, ops.concatenate([xw, steps], axis=-1),
                                    like=lambda c: c)
        states, hs, contexts, weights = carry[:n], history[0], history[n], history[n + 1]
        order = (1, 0, 2)
        # The hidden state is the cell's output (LSTM and GRU alike).
        return [ops.transpose(hs, order), ops.transpose(contexts, order),
                ops.transpose(weights, order), *states]

    def compute_mask(self, inputs, mask=None):
        return [mask, mask, mask] + [None] * len(self.state_sizes)

    def compute_output_spec(self, inputs, memory, inputs_mask=None, memory_mask=None,
                            initial_state=None):
        batch, time = inputs.shape[0], inputs.shape[1]
        dtype = self.compute_dtype
        return [
            keras.KerasTensor((batch, time, self.units), dtype=dtype),
            keras.KerasTensor((batch, time, memory.shape[-1]), dtype=dtype),
            keras.KerasTensor((batch, time, memory.shape[1]), dtype="float32"),
            *[keras.KerasTensor((batch, size), dtype=dtype) for size in self.state_sizes],
        ]

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, cell=self.cell_kind, attention=self.attention_kind,
                      attention_units=self.attention_units, gate=self.gate)
        return config
