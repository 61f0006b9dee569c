"""rnnzoo builders: one function per RNN topology, and `BUILDERS`, the one registry.

`BUILDERS` maps a builder's name to its function; presets
(`rnnzoo.models.presets`), the HyperModels (`rnnzoo.training.tuning`) and the
tasks look builders up there and nowhere else.
"""

from rnnzoo.models.classifier import sequence_classifier
from rnnzoo.models.dense import dense_baseline
from rnnzoo.models.forecaster import forecaster
from rnnzoo.models.generator import sequence_generator
from rnnzoo.models.generator import small_cnn
from rnnzoo.models.language_model import language_model
from rnnzoo.models.seq2seq import seq2seq
from rnnzoo.models.tagger import sequence_tagger

BUILDERS = {
    "sequence_classifier": sequence_classifier,
    "sequence_tagger": sequence_tagger,
    "seq2seq": seq2seq,
    "sequence_generator": sequence_generator,
    "language_model": language_model,
    "forecaster": forecaster,
    "dense_baseline": dense_baseline,
}
