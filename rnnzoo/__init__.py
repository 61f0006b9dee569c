"""rnnzoo: a Keras 3 model zoo of recurrent networks.

The public API, re-exported names only. TensorFlow-only pieces
(`rnnzoo.export`, the `tf.distribute` paths of `rnnzoo.distribute`) import
TensorFlow only when called; `rnnzoo.tuning` (keras-tuner) and
`rnnzoo.datasets` are imported as modules.
"""

from rnnzoo.decoding import beam_search
from rnnzoo.decoding import decode
from rnnzoo.decoding import greedy_search
from rnnzoo.decoding import sample_search
from rnnzoo.distribute import evaluate
from rnnzoo.distribute import fit
from rnnzoo.distribute import global_batch_size
from rnnzoo.distribute import multi_worker_fix
from rnnzoo.distribute import num_replicas
from rnnzoo.distribute import set_mixed_precision
from rnnzoo.distribute import strategy
from rnnzoo.export import export
from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.length_batches import LengthBatches
from rnnzoo.layers.kernel_report import check_padding
from rnnzoo.layers.kernel_report import kernel_report
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.masks import TimeSlice
from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.metrics import Perplexity
from rnnzoo.metrics import mase
from rnnzoo.models import ResetStates
from rnnzoo.models import decoder_step_model
from rnnzoo.models import dense_baseline
from rnnzoo.models import encoder_model
from rnnzoo.models import forecaster
from rnnzoo.models import language_model
from rnnzoo.models import seq2seq
from rnnzoo.models import sequence_classifier
from rnnzoo.models import sequence_generator
from rnnzoo.models import sequence_tagger
from rnnzoo.models import small_cnn
from rnnzoo.models import tbptt_batches
from rnnzoo.plots import plot_confusion_matrix
from rnnzoo.plots import plot_history
from rnnzoo.presets import PRESETS
from rnnzoo.presets import build
from rnnzoo.presets import list_models
from rnnzoo.text import count_vocabulary
from rnnzoo.text import ngram_perplexity
from rnnzoo.text import string_model
from rnnzoo.text import text_vectorizer
from rnnzoo.training import compile_for
from rnnzoo.training import load_model
from rnnzoo.training import save_model
from rnnzoo.validation import check_token_ids

__version__ = "0.1.0"
