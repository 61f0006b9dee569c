"""Loaders for the real datasets used by the rnnzoo recipes.

Every loader finds its files in `data_dir`, then `$RNNZOO_DATA_DIR/<dataset>/`,
then the Keras cache (`~/.keras/datasets/rnnzoo/<dataset>/`), and otherwise
downloads them with `keras.utils.get_file`; see `rnnzoo.datasets.resolve` and
`docs/datasets.md`.
"""

from rnnzoo.datasets.flickr8k import CaptionsDataset
from rnnzoo.datasets.flickr8k import load_flickr8k_captions
from rnnzoo.datasets.fra_eng import TranslationDataset
from rnnzoo.datasets.fra_eng import load_fra_eng
from rnnzoo.datasets.names import load_names
from rnnzoo.datasets.resolve import ENV_VAR
from rnnzoo.datasets.resolve import ClassificationDataset
from rnnzoo.datasets.resolve import DatasetNotFoundError
from rnnzoo.datasets.resolve import Split
from rnnzoo.datasets.series import SERIES
from rnnzoo.datasets.series import SeriesSplit
from rnnzoo.datasets.series import chronological_split
from rnnzoo.datasets.series import load_series
from rnnzoo.datasets.sst2 import load_sst2
from rnnzoo.datasets.time_machine import TextCorpus
from rnnzoo.datasets.time_machine import load_time_machine

__all__ = [
    "ENV_VAR",
    "SERIES",
    "CaptionsDataset",
    "ClassificationDataset",
    "DatasetNotFoundError",
    "SeriesSplit",
    "Split",
    "TextCorpus",
    "TranslationDataset",
    "chronological_split",
    "load_flickr8k_captions",
    "load_fra_eng",
    "load_names",
    "load_series",
    "load_sst2",
    "load_time_machine",
]
