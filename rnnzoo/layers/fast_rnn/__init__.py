"""Fused CPU LSTM/GRU layers, drop-in and weight-compatible with Keras', and a SimpleRNN that exports.

`layer` holds the layers and the one eligibility rule, `steps` the step
math, `jax_kernels` / `tf_kernels` the per-backend loops (see
`rnnzoo.layers.fast_rnn.layer`).
"""

from rnnzoo.layers.fast_rnn.layer import FAST_BACKENDS
from rnnzoo.layers.fast_rnn.layer import GRU
from rnnzoo.layers.fast_rnn.layer import LSTM
from rnnzoo.layers.fast_rnn.layer import SimpleRNN
from rnnzoo.layers.fast_rnn.layer import fast_path_reason
from rnnzoo.layers.fast_rnn.layer import option_reasons
