"""Translation recipe: word-level English -> French seq2seq with attention.

Trains `rnnzoo.seq2seq` (bidirectional GRU encoder, Luong attention) on the
Tatoeba English-French pairs (`rnnzoo.data.datasets.load_fra_eng`, test split
disjoint from training by English sentence), scores corpus BLEU and chrF with
sacreBLEU for greedy and beam search (width 4, GNMT length penalty), the
same model without attention, and copying the source; saves attention
heatmaps.

    python recipes/translation.py                      # English -> French
    python recipes/translation.py --reverse            # French -> English
    python recipes/translation.py --quick              # small run (tests)
    python recipes/translation.py translate "I am cold." "Where is the station?"
    python recipes/translation.py --strategy mirrored --batch-size 512   # all GPUs
    python recipes/translation.py --quick --tune random --max-trials 10

Every setting is a flag (`--help`; logic in `rnnzoo.tasks.translation`).
Writes `model.keras`, `vocabularies.json`, `metrics.json`,
`attention_*.png`, `loss.png` to `--output-dir` (default `runs/translation`).
"""

from rnnzoo import cli
from rnnzoo.tasks import translation

if __name__ == "__main__":
    cli.main(translation)
