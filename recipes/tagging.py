"""Part-of-speech tagging on UD English-EWT (UPOS): BiLSTM + character CNN + CRF.

    python recipes/tagging.py                        # full run: three variants, dev scored
    python recipes/tagging.py --quick                # 1,000 training sentences
    python recipes/tagging.py --tagset xpos          # Penn Treebank tags
    python recipes/tagging.py predict "I saw her duck ."

The task is `rnnzoo.tasks.tagging`; `--help` lists its settings.
"""

from rnnzoo import cli
from rnnzoo.tasks import tagging

if __name__ == "__main__":
    cli.main(tagging)
