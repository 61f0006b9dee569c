"""rnnzoo builders: one function per RNN topology."""

from rnnzoo.models.classifier import sequence_classifier
from rnnzoo.models.dense import dense_baseline
from rnnzoo.models.forecaster import forecaster
from rnnzoo.models.generator import sequence_generator
from rnnzoo.models.generator import small_cnn
from rnnzoo.models.language_model import ResetStates
from rnnzoo.models.language_model import language_model
from rnnzoo.models.language_model import tbptt_batches
from rnnzoo.models.seq2seq import seq2seq
from rnnzoo.models.tagger import sequence_tagger
