"""rnnzoo training: compile, save/load, callbacks, distribution, tuning, the recipe runner."""

from rnnzoo.training.compile import compile_for
from rnnzoo.training.saving import load_model
from rnnzoo.training.saving import save_model
from rnnzoo.training.runner import Runner
