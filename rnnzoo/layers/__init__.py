"""rnnzoo layers: the recurrent stack and the custom layers it builds on."""

from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.layers.attentive_rnn import AttentiveRNN
from rnnzoo.layers.crf import CRF
from rnnzoo.layers.crf import crf_decode
from rnnzoo.layers.crf import crf_log_likelihood
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.masks import TimeSlice
from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.layers.word_dropout import WordDropout
