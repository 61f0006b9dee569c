"""rnnzoo data: dataset loaders, text vectorisation, batching."""

from rnnzoo.data.decoder_targets import teacher_forcing  # noqa: E402,F401
from rnnzoo.data.windows import make_windows  # noqa: E402,F401
