"""rnnzoo: a Keras 3 model zoo of recurrent networks.

The public API, re-exported names only. TensorFlow-only pieces
(`rnnzoo.export`, the `tf.distribute` paths of `rnnzoo.training.distribute`) import
TensorFlow only when called; `rnnzoo.training.tuning` (keras-tuner) and
`rnnzoo.data.datasets` are imported as modules.
"""

from rnnzoo.decoding.search import beam_search
from rnnzoo.decoding.search import decode
from rnnzoo.decoding.search import greedy_search
from rnnzoo.decoding.search import sample_search
from rnnzoo.training.distribute import evaluate
from rnnzoo.training.distribute import fit
from rnnzoo.training.distribute import global_batch_size
from rnnzoo.training.distribute import multi_worker_fix
from rnnzoo.training.distribute import num_replicas
from rnnzoo.training.distribute import set_mixed_precision
from rnnzoo.training.distribute import strategy
from rnnzoo.decoding.export import export
from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.data.length_batches import LengthBatches
from rnnzoo.data.tbptt import tbptt_batches
from rnnzoo.layers.kernel_report import check_padding
from rnnzoo.layers.kernel_report import kernel_report
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.masks import TimeSlice
from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.metrics import Perplexity
from rnnzoo.metrics import mase
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
from rnnzoo.plots import plot_confusion_matrix
from rnnzoo.plots import plot_history
from rnnzoo.models.presets import PRESETS
from rnnzoo.models.presets import build
from rnnzoo.models.presets import list_models
from rnnzoo.data.text import count_vocabulary
from rnnzoo.data.text import ngram_perplexity
from rnnzoo.data.text import string_model
from rnnzoo.data.text import text_vectorizer
from rnnzoo.training.compile import compile_for
from rnnzoo.training.saving import load_model
from rnnzoo.training.callbacks import ResetStates
from rnnzoo.training.saving import save_model
from rnnzoo.validation import check_token_ids

__version__ = "0.1.0"

__all__ = [
    # builders and presets
    "sequence_classifier", "sequence_tagger", "seq2seq", "sequence_generator",
    "language_model", "forecaster", "dense_baseline", "small_cnn",
    "PRESETS", "build", "list_models",
    # layers
    "recurrent_stack", "SequenceAttention", "SequencePooling", "PaddingMask", "TimeSlice",
    "kernel_report", "check_padding",
    # decoding and export
    "decode", "greedy_search", "beam_search", "sample_search",
    "encoder_model", "decoder_step_model", "export",
    # training
    "compile_for", "save_model", "load_model", "ResetStates",
    "fit", "evaluate", "strategy", "num_replicas", "global_batch_size",
    "set_mixed_precision", "multi_worker_fix",
    # data and text
    "LengthBatches", "tbptt_batches", "text_vectorizer", "count_vocabulary",
    "string_model", "ngram_perplexity", "check_token_ids",
    # metrics and plots
    "Perplexity", "mase", "plot_history", "plot_confusion_matrix",
]
