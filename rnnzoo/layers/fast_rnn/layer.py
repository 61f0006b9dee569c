"""Fused CPU LSTM/GRU layers, drop-in and weight-compatible with Keras'.

`rnnzoo.layers.fast_rnn.LSTM` and `GRU` subclass `keras.layers.LSTM` and
`keras.layers.GRU`: same arguments, same variables (`kernel`,
`recurrent_kernel`, `bias` of the `lstm_cell` / `gru_cell`), same config, the
same class name (so `.weights.h5` / `.keras` weights load both ways), and the
same `call` (initial states, `return_state`, `stateful`, dropout, masks,
`Bidirectional`). Only the inner time loop differs, where it is eligible:

- the input projection `x @ kernel + bias` of all time steps is ONE matrix
  product outside the loop;
- the loop (`jax.lax.scan` / `tf.scan`) does one `h @ recurrent_kernel`
  product and the fused gate arithmetic per step;
- the backward pass is hand-written (`jax.custom_vjp` /
  `tf.custom_gradient`): one `dz @ recurrent_kernel.T` per step, and the
  weight gradient `h_prev.T @ dz` of all steps as ONE matrix product after
  the loop (automatic differentiation of the loop accumulates it step by
  step with tiny matrix products);
- masks keep Keras' exact semantics (a masked step keeps the states; the
  output repeats the previous one, or is zero with `zero_output_for_mask`),
  for any mask, right-padded or not, with no per-step gather.

Eligible: tanh/sigmoid activations, no recurrent dropout, no unrolling, with
biases (`reset_after=True` for GRU), on the TensorFlow or JAX backend, on a
machine without GPU (with a GPU, the layer defers to Keras, which uses the
cuDNN kernel). Anything else runs Keras' own implementation, unchanged.
`fast_path_reason(layer)` says which applies, and `rnnzoo.kernel_report`
shows it per layer.

The package: `layer` (this module: the layers and the eligibility rule),
`steps` (the step math, written once), `jax_kernels` and `tf_kernels` (the
per-backend loops and backward passes; TensorFlow is imported only by
`tf_kernels`).
"""

import keras
from keras import ops

from rnnzoo.layers import loops

FAST_BACKENDS = ("tensorflow", "jax")


def option_reasons(layer):
    """Why the options of a recurrent layer rule out a fused kernel.

    The one eligibility rule on a layer's arguments, shared by rnnzoo's
    fused CPU loop (`fast_path_reason`) and Keras' cuDNN kernel
    (`rnnzoo.kernel_report`): tanh/sigmoid activations, no recurrent
    dropout, no unrolling, with biases, and `reset_after=True` for a GRU.

    Args:
        layer: a `keras.layers.RNN` (LSTM, GRU or any other cell).

    Returns:
        A list of strings, empty when the options allow a fused kernel.

    Example:

    >>> import keras
    >>> option_reasons(keras.layers.GRU(4, reset_after=False, unroll=True))
    ['unroll=True', 'reset_after=False']
    """
    reasons = []
    cell = layer.cell
    if getattr(cell, "activation", None) is not keras.activations.tanh:
        reasons.append("activation is not tanh")
    if getattr(cell, "recurrent_activation", None) is not keras.activations.sigmoid:
        reasons.append("recurrent_activation is not sigmoid")
    if getattr(cell, "recurrent_dropout", 0) > 0:
        reasons.append(f"recurrent_dropout={cell.recurrent_dropout} > 0")
    if layer.unroll:
        reasons.append("unroll=True")
    if not getattr(cell, "use_bias", True):
        reasons.append("use_bias=False")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after=False")
    return reasons


def fast_path_reason(layer):
    """Why `layer` does not take the fused CPU path (None if it does).

    Args:
        layer: a `keras.layers.LSTM` or `GRU` (rnnzoo's or Keras').

    Returns:
        None when the layer runs rnnzoo's fused CPU loop, else a string.

    Example:

    >>> fast_path_reason(LSTM(4)) is None
    True
    >>> fast_path_reason(GRU(4, recurrent_dropout=0.1))
    'recurrent_dropout=0.1 > 0'
    """
    if not isinstance(layer, (LSTM, GRU)):
        return f"{type(layer).__module__}.{type(layer).__name__} is not an rnnzoo fused layer"
    reasons = []
    if keras.backend.backend() not in FAST_BACKENDS:
        reasons.append(f"backend {keras.backend.backend()!r} has no fused loop")
    reasons.extend(option_reasons(layer))
    if not reasons and _kernels().has_gpu() and layer.use_cudnn in ("auto", True):
        reasons.append("GPU present: Keras' cuDNN path is used instead")
    return "; ".join(reasons) if reasons else None


def _kernels():
    """The per-backend loops: `jax_kernels` or `tf_kernels` (imported on use)."""
    if keras.backend.backend() == "jax":
        from rnnzoo.layers.fast_rnn import jax_kernels

        return jax_kernels
    from rnnzoo.layers.fast_rnn import tf_kernels

    return tf_kernels


def _dropped(layer, sequences, training):
    """Input dropout as Keras' fused path applies it (one mask for all steps)."""
    if training and layer.dropout:
        dp_mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
        dp_mask = ops.broadcast_to(ops.expand_dims(dp_mask, 1), ops.shape(sequences))
        return sequences * dp_mask
    return sequences


def _outputs(layer, hs, mask_tm):
    """Per-step outputs from the state sequence, with Keras' mask semantics.

    `hs` is time-major, in processing order. With a mask, Keras repeats the
    previous output at masked steps (TensorFlow starts from zeros, JAX from
    the initial state), or gives zeros with `zero_output_for_mask`.
    """
    if mask_tm is None:
        return hs
    m = ops.cast(mask_tm, hs.dtype)
    if layer.zero_output_for_mask:
        return hs * m
    if keras.backend.backend() == "tensorflow":
        seen = ops.cast(ops.cumsum(m, axis=0) > 0, hs.dtype)
        return hs * seen
    return hs


def _finish(layer, hs, mask_tm):
    """`(last_output, outputs)` as Keras' inner loop returns them."""
    outs = _outputs(layer, hs, mask_tm)
    last_output = outs[-1]
    if layer.return_sequences:
        outputs = ops.transpose(outs, (1, 0, 2))
    else:
        outputs = ops.expand_dims(last_output, 1)
    return last_output, outputs


def _time_major(layer, sequences, mask):
    x = ops.transpose(sequences, (1, 0, 2))
    mask_tm = None
    if mask is not None:
        mask_tm = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
    if layer.go_backwards:
        x = ops.flip(x, 0)
        if mask_tm is not None:
            mask_tm = ops.flip(mask_tm, 0)
    return x, mask_tm


def _cell_loop(layer, sequences, initial_state, mask):
    """Keras' inner loop as `rnnzoo.layers.loops.scan` over the layer's cell (inference).

    What a layer without a fused path (a simple RNN, an LSTM with other
    activations) runs inside `loops.builtin_loops()`: the cell per step,
    masked steps keeping the states, the hidden state as the output (true
    of the simple, LSTM and GRU cells).
    """
    x, mask_tm = _time_major(layer, sequences, mask)
    m = (ops.cast(mask_tm, x.dtype) if mask_tm is not None
         else ops.ones((ops.shape(x)[0], 1, 1), x.dtype))

    def forward(states, inputs):
        x_t, m_t = inputs
        _, new = layer.cell(x_t, list(states), training=False)
        new = tuple(new) if isinstance(new, (list, tuple)) else (new,)
        if mask_tm is not None:
            new = tuple(ops.where(m_t > 0, n, s) for n, s in zip(new, states))
        return new, new[0]

    states, hs = loops.scan(forward, tuple(initial_state), (x, m), like=lambda s: s[0])
    last_output, outputs = _finish(layer, hs, mask_tm)
    return last_output, outputs, list(states)


def _unpacked(initial_state, mask):
    """`(initial_state as a list, mask)` as Keras' RNN passes them to `inner_loop`."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if not isinstance(initial_state, (list, tuple)):
        initial_state = [initial_state]
    return initial_state, mask


class _ExportableLoop:
    """`inner_loop`: `_cell_loop` inside `loops.builtin_loops()` at inference, else the parent's."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not training and loops.builtin_loops_enabled():
            return _cell_loop(self, sequences, *_unpacked(initial_state, mask))
        return super().inner_loop(sequences, initial_state, mask, training=training)


class _FusedLoop(_ExportableLoop):
    """The `inner_loop` of both layers: the fused one if eligible, else `_ExportableLoop`'s.

    Subclasses define `_fused(x, initial_state, mask_tm)`: the time-major
    states `hs` and the final states, from time-major inputs. An ineligible
    layer runs Keras' loop, or `_cell_loop` inside `loops.builtin_loops()`
    (export).
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if fast_path_reason(self) is not None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        initial_state, mask = _unpacked(initial_state, mask)
        x, mask_tm = _time_major(self, _dropped(self, sequences, training), mask)
        hs, states = self._fused(x, initial_state, mask_tm)
        last_output, outputs = _finish(self, hs, mask_tm)
        return last_output, outputs, states


@keras.saving.register_keras_serializable(package="rnnzoo")
class LSTM(_FusedLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` with a fused CPU loop and hand-written backward.

    Same arguments, variables, config and results as `keras.layers.LSTM`
    (weights load both ways); see the module docstring for what is fused and
    when. Serialises as `rnnzoo>LSTM`.

    Example:

    >>> import numpy as np
    >>> layer = LSTM(8, return_sequences=True)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 8)
    """

    def _fused(self, x, initial_state, mask_tm):
        cell = self.cell
        xw = ops.matmul(x, cell.kernel) + cell.bias
        hs, c_last = _kernels().lstm(
            xw, ops.convert_to_tensor(cell.recurrent_kernel), initial_state[0],
            initial_state[1], mask_tm,
        )
        return hs, [hs[-1], c_last]


@keras.saving.register_keras_serializable(package="rnnzoo")
class GRU(_FusedLoop, keras.layers.GRU):
    """`keras.layers.GRU`, fused like `LSTM` (eligible with `reset_after=True`).

    A drop-in for `keras.layers.GRU`, weight-compatible both ways;
    serialises as `rnnzoo>GRU`.

    Example:

    >>> import numpy as np
    >>> layer = GRU(8)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 8)
    """

    def _fused(self, x, initial_state, mask_tm):
        cell = self.cell
        bias = ops.convert_to_tensor(cell.bias)
        xw = ops.matmul(x, cell.kernel) + bias[0]
        hs = _kernels().gru(
            xw, ops.convert_to_tensor(cell.recurrent_kernel), bias[1], initial_state[0], mask_tm
        )
        return hs, [hs[-1]]


@keras.saving.register_keras_serializable(package="rnnzoo")
class SimpleRNN(_ExportableLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN`, whose loop exports to LiteRT with builtin ops only.

    Keras' own loop everywhere, except inside `rnnzoo.layers.loops.builtin_loops()`
    at inference (what `rnnzoo.export(format="litert")` traces), where it
    runs `rnnzoo.layers.loops.scan`'s buffered loop. Same arguments,
    variables and results; serialises as `rnnzoo>SimpleRNN`.

    Example:

    >>> import numpy as np
    >>> layer = SimpleRNN(8)
    >>> with loops.builtin_loops():
    ...     exported = layer(np.ones((2, 5, 3), "float32"))
    >>> np.allclose(exported, layer(np.ones((2, 5, 3), "float32")), atol=1e-6)
    True
    """
