"""Captioning recipe: attend over an image grid and emit a token sequence.

Default (offline): DIGIT STRIPS composed left to right from scikit-learn's
bundled REAL handwritten digit scans (3 to 6 per strip); the model
"captions" each strip with its digit sequence, attending over the strip.
Test strips use only held-out scans.

    python recipes/captioning.py                 # digit strips, full run
    python recipes/captioning.py --quick         # small run (tests)
    python recipes/captioning.py --strategy mirrored --batch-size 512   # all GPUs
    python recipes/captioning.py --quick --tune random --max-trials 10
    python recipes/captioning.py --dataset flickr8k --output-dir runs/captioning_flickr8k
        # Flickr8k: downloads the images (~1 GB, MD5-checked) and the
        # MobileNetV2 weights; see docs/recipes.md, "Captioning"

Every setting is a flag (`--help`; logic in `rnnzoo.tasks.captioning`).
Writes `model.keras`, `metrics.json`, `attention.png` (Flickr8k:
`captions.png`, `vocabulary.json`), `loss.png` to `--output-dir` (default
`runs/captioning`).
"""

from rnnzoo import cli
from rnnzoo.tasks import captioning

if __name__ == "__main__":
    cli.main(captioning)
