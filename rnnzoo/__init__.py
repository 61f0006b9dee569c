"""rnnzoo: a Keras 3 model zoo of recurrent networks.

The public API, re-exported names only. TensorFlow-only pieces
(`rnnzoo.export`, the `tf.distribute` paths of `rnnzoo.training.distribute`) import
TensorFlow only when called; `rnnzoo.training.tuning` (keras-tuner) and
`rnnzoo.data.datasets` are imported as modules; `rnnzoo.image_encoders`
(pretrained image encoders) is re-exported as a module.
"""

from rnnzoo import conformal
from rnnzoo import image_encoders
from rnnzoo import losses
from rnnzoo import metrics
from rnnzoo.decoding import samplers
from rnnzoo.decoding.inference import decoder_step_model
from rnnzoo.decoding.inference import encoder_model
from rnnzoo.decoding.search import decode
from rnnzoo.training.distribute import evaluate
from rnnzoo.training.distribute import fit
from rnnzoo.training.distribute import global_batch_size
from rnnzoo.training.distribute import num_replicas
from rnnzoo.training.distribute import predict
from rnnzoo.training.distribute import set_mixed_precision
from rnnzoo.training.distribute import strategy
from rnnzoo.decoding.export import export
from rnnzoo.decoding.export import exported_ops
from rnnzoo.layers.attention import SequenceAttention
from rnnzoo.data.length_batches import LengthBatches
from rnnzoo.data.tbptt import tbptt_batches
from rnnzoo.data.decoder_targets import teacher_forcing
from rnnzoo.data.windows import make_windows
from rnnzoo.layers.kernel_report import check_padding
from rnnzoo.layers.kernel_report import kernel_report
from rnnzoo.layers.masks import PaddingMask
from rnnzoo.layers.masks import TimeSlice
from rnnzoo.layers.pooling import SequencePooling
from rnnzoo.layers.recurrent_stack import recurrent_stack
from rnnzoo.metrics import Perplexity
from rnnzoo.metrics import mase
from rnnzoo.models import dense_baseline
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
from rnnzoo.data_checks import check_ids as check_token_ids

__version__ = "0.1.0"

__all__ = [
    "build",
    "check_padding",
    "check_token_ids",
    "compile_for",
    "conformal",
    "count_vocabulary",
    "decode",
    "decoder_step_model",
    "dense_baseline",
    "encoder_model",
    "evaluate",
    "export",
    "exported_ops",
    "fit",
    "forecaster",
    "global_batch_size",
    "image_encoders",
    "kernel_report",
    "language_model",
    "LengthBatches",
    "make_windows",
    "losses",
    "list_models",
    "load_model",
    "mase",
    "metrics",
    "ngram_perplexity",
    "num_replicas",
    "PaddingMask",
    "Perplexity",
    "plot_confusion_matrix",
    "plot_history",
    "predict",
    "PRESETS",
    "recurrent_stack",
    "ResetStates",
    "samplers",
    "save_model",
    "seq2seq",
    "sequence_classifier",
    "sequence_generator",
    "sequence_tagger",
    "teacher_forcing",
    "SequenceAttention",
    "SequencePooling",
    "set_mixed_precision",
    "small_cnn",
    "strategy",
    "string_model",
    "tbptt_batches",
    "text_vectorizer",
    "TimeSlice",
]
