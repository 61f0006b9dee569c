"""Character language model on H. G. Wells' "The Time Machine" (the d2l setup).

    python recipes/textgen.py                    # full run: 2 x LSTM 256, batch 32, 35 steps
    python recipes/textgen.py --set cell=gru     # the cell comparison
    python recipes/textgen.py --quick            # a small run
    python recipes/textgen.py predict "the time traveller" --temperature 0.5
    python recipes/textgen.py --mixed-precision       # bfloat16 on CPU, float16 on GPU
    python recipes/textgen.py --tune hyperband         # search a (stateless) LM

The task (a stateful LM trained with truncated backpropagation through time,
compared with n-gram baselines, saved as a stateless model over raw strings)
is `rnnzoo.tasks.textgen`; `--help` lists its settings.
"""

from rnnzoo import cli
from rnnzoo.tasks import textgen

if __name__ == "__main__":
    cli.main(textgen)
