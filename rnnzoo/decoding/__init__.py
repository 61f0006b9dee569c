"""rnnzoo decoding: samplers, the compiled search loops, inference models,
`decode` and `export`.

- `samplers`: `Greedy`, `Beam`, `Sample` and the `Sampler` base class
  (public as `rnnzoo.samplers`);
- `loop`: the compiled loops on a step function (`token_loop`,
  `beam_loop`, `prompt_states`);
- `inference`: `encoder_model`, `decoder_step_model` and the cached
  inference parts of a trained model;
- `search`: `decode` and its compile cache;
- `export`: a TensorFlow SavedModel that decodes.
"""

from rnnzoo.decoding import samplers
from rnnzoo.decoding.inference import decoder_step_model
from rnnzoo.decoding.inference import encoder_model
from rnnzoo.decoding.search import decode
