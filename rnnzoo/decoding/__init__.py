"""rnnzoo decoding: the compiled search loop, inference models, export."""

from rnnzoo.decoding.search import beam_search
from rnnzoo.decoding.search import decode
from rnnzoo.decoding.search import greedy_search
from rnnzoo.decoding.search import sample_search
