"""Loaders for the real datasets used by the rnnzoo recipes.

Every loader finds its files in `data_dir`, then `$RNNZOO_DATA_DIR/<dataset>/`,
then the Keras cache (`~/.keras/datasets/rnnzoo/<dataset>/`), and otherwise
downloads them with `keras.utils.get_file`; see `rnnzoo.data.datasets.resolve` and
`docs/datasets.md`.
"""

from rnnzoo.data.datasets.flickr8k import CaptionsDataset
from rnnzoo.data.datasets.flickr8k import load_flickr8k_captions
from rnnzoo.data.datasets.fra_eng import TranslationDataset
from rnnzoo.data.datasets.fra_eng import load_fra_eng
from rnnzoo.data.datasets.names import load_names
from rnnzoo.data.datasets.resolve import ENV_VAR
from rnnzoo.data.datasets.resolve import ClassificationDataset
from rnnzoo.data.datasets.resolve import DatasetNotFoundError
from rnnzoo.data.datasets.resolve import Split
from rnnzoo.data.datasets.series import SERIES
from rnnzoo.data.datasets.series import SeriesSplit
from rnnzoo.data.datasets.series import chronological_split
from rnnzoo.data.datasets.series import load_series
from rnnzoo.data.datasets.sst2 import load_sst2
from rnnzoo.data.datasets.time_machine import TextCorpus
from rnnzoo.data.datasets.time_machine import load_time_machine
from rnnzoo.data.datasets.ud_treebank import TaggedSentences
from rnnzoo.data.datasets.ud_treebank import load_ud_treebank

__all__ = [
    "ENV_VAR",
    "SERIES",
    "CaptionsDataset",
    "ClassificationDataset",
    "DatasetNotFoundError",
    "SeriesSplit",
    "Split",
    "TaggedSentences",
    "TextCorpus",
    "TranslationDataset",
    "chronological_split",
    "load_flickr8k_captions",
    "load_fra_eng",
    "load_names",
    "load_series",
    "load_sst2",
    "load_time_machine",
    "load_ud_treebank",
]
