"""SST-2 sentiment (binary), word level, reported on the official dev split (872).

    python recipes/sentiment.py                  # full run
    python recipes/sentiment.py --quick          # a small run
    python recipes/sentiment.py predict "a gorgeous, witty film"
    python recipes/sentiment.py --strategy mirrored --batch-size 256   # all GPUs
    python recipes/sentiment.py --tune bayesian --max-trials 10         # search the BiLSTM

The task (an ensemble of recurrent classifiers and bag-of-n-gram MLPs, each
validated on its own fold of held-out sentences, saved as one `.keras` file
over raw strings) is `rnnzoo.tasks.sentiment`; `--help` lists its settings.
"""

from rnnzoo import cli
from rnnzoo.tasks import sentiment

if __name__ == "__main__":
    cli.main(sentiment)
