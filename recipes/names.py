"""Surname -> language of origin (18 languages), character level.

    python recipes/names.py                      # full run (4.4 min on the quiet 2-core CPU)
    python recipes/names.py --quick              # the demo run
    python recipes/names.py predict Hinton Satoshi Dovesky
    python recipes/names.py --strategy mirrored --batch-size 256   # all GPUs
    python recipes/names.py --quick --tune random --max-trials 10   # search the RNN

The task (an ensemble of character BiGRUs and an n-gram MLP, saved as one
`.keras` file over raw strings) is `rnnzoo.tasks.names`; `--help` lists
its settings.
"""

from rnnzoo import cli
from rnnzoo.tasks import names

if __name__ == "__main__":
    cli.main(names)
