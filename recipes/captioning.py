"""Captioning recipe: attend over an image grid and emit a token sequence.

Default (offline): DIGIT STRIPS composed left to right from scikit-learn's
bundled REAL handwritten digit scans (3 to 6 per strip); the model
"captions" each strip with its digit sequence, attending over the strip.
Test strips use only held-out scans.

    python recipes/captioning.py                 # digit strips, full run
    python recipes/captioning.py --quick         # small run (tests)
    python recipes/captioning.py --strategy mirrored --batch-size 512   # all GPUs
    python recipes/captioning.py --quick --tune random --max-trials 10
    python recipes/captioning.py --data flickr8k
        # Flickr8k: downloads the images (~1 GB, MD5-checked) and the
        # MobileNetV2 weights; see docs/recipes.md, "Captioning"

Writes `model.keras`, `metrics.json`, `attention.png`, `loss.png` to
`--output-dir`.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import rnnzoo  # noqa: E402
from rnnzoo.tasks.captioning import digit_strips  # noqa: E402
from rnnzoo import plots  # noqa: E402
from rnnzoo.training import recipe  # noqa: E402


def main(argv=None):
    p = recipe.parser("captioning", __doc__.splitlines()[0], epochs=15,
                      batch_size=128)
    p.add_argument("--data", choices=["digits", "flickr8k"], default="digits")
    p.add_argument("--images-dir", default=None,
                   help="Flickr8k: folder of the .jpg images")
    p.add_argument("--num-train", type=int, default=30000)
    p.add_argument("--num-validation", type=int, default=None,
                   help="validation strips (default 1000; 500 with --quick)")
    p.add_argument("--num-test", type=int, default=None,
                   help="test strips (default 2000; 500 with --quick)")
    p.add_argument("--units", type=int, default=128, help="decoder width")
    p.add_argument("--encoder", default="mobilenet_v2",
                   help="Flickr8k: keras.applications encoder (mobilenet_v2, "
                        "efficientnet_b0, inception_v3)")
    p.add_argument("--encoder-weights", default="imagenet",
                   help="Flickr8k: encoder weights ('none': random, offline tests)")
    p.add_argument("--max-images", type=int, default=None,
                   help="Flickr8k: first N images of each split")
    p.add_argument("--feature-cache", default=None,
                   help="Flickr8k: folder of the cached encoder features")
    p.add_argument("--caption-vocabulary", type=int, default=5000)
    p.add_argument("--caption-length", type=int, default=24)
    p.add_argument("--max-minutes", type=float, default=9.0,
                   help="stop training after the epoch passing this time")
    args = p.parse_args(argv)
    if args.data == "flickr8k":
        from rnnzoo.data.datasets import flickr8k_images

        if args.quick and "--epochs" not in set(argv or sys.argv[1:]):
            args.epochs = 2
        if args.quick:
            args.units = min(args.units, 64)
        return flickr8k_images.run_recipe(args)
    given = set(argv if argv is not None else sys.argv[1:])
    if args.quick:  # the test's run: ~1 minute on 2 cores, most of it tracing
        args.num_train = min(args.num_train, 3000)
        args.num_validation = args.num_validation or 200
        args.num_test = args.num_test or 200
        args.units = min(args.units, 64)
        if "--epochs" not in given:
            args.epochs = 10
        if "--batch-size" not in given:
            args.batch_size = 64
    output_dir = recipe.start(args)
    print("Digit strips composed from real handwritten digit scans "
          "(scikit-learn load_digits); test strips use held-out scans only.")
    if args.tune:
        return _tune(args)
    result = digit_strips.train_and_evaluate(
        num_train=args.num_train,
        num_validation=args.num_validation or (500 if args.quick else 1000),
        num_test=args.num_test or (500 if args.quick else 2000),
        epochs=args.epochs, units=args.units,
        batch_size=args.batch_size, seed=args.seed, verbose=args.verbose,
        max_seconds=args.max_minutes * 60,
        scope=lambda: recipe.scope(args),  # --strategy
        fit=lambda model, *a, **k: recipe.fit(model, *a, args=args, name="captioner", **k),
    )
    model = result["model"]
    rnnzoo.save_model(model, os.path.join(output_dir, recipe.MODEL_FILE))
    test = result["test"]
    picks = list(range(4))
    plots.plot_strip_attention(
        os.path.join(output_dir, "attention.png"),
        test.images[picks][..., 0],
        [result["attention"][i] for i in picks],
        [[str(d) for d in result["predicted"][i]] for i in picks],
        result["grid_width"],
    )
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result["history"]["loss"], label="train loss")
    ax.plot(result["history"]["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.legend()
    plots.save_figure(fig, os.path.join(output_dir, "loss.png"))
    metrics = {
        "recipe": "captioning",
        "data": "digit strips composed from real scans (sklearn load_digits)",
        "test_strips": len(test.digits),
        "sequence_accuracy": round(result["sequence_accuracy"], 4),
        "digit_accuracy": round(result["digit_accuracy"], 4),
        "chance_sequence_accuracy": result["chance_sequence_accuracy"],
        "attention_left_to_right": round(result["left_to_right_fraction"], 4),
        "epochs_run": len(result["history"]["loss"]),
        "train_seconds": round(result["train_seconds"], 1),
        "history": result["history"],
        "examples": [
            {"true": test.digits[i], "predicted": result["predicted"][i]}
            for i in range(8)
        ],
        "quick": args.quick,
    }
    recipe.write_metrics(os.path.join(output_dir, recipe.METRICS_FILE), metrics)
    recipe.finish(args)
    recipe.summary("captioning", metrics,
                   ["sequence_accuracy", "digit_accuracy",
                    "attention_left_to_right", "train_seconds"], output_dir)
    return metrics


def _tune(args):
    """`--tune`: searches `rnnzoo.sequence_generator` over the digit strips."""
    train = digit_strips.make_strips(args.num_train, "train", seed=args.seed)
    validation = digit_strips.make_strips(args.num_validation or 500, "validation",
                                          seed=args.seed)
    return recipe.tune(
        args, "sequence_generator", [train.images, train.target_in], train.target_out,
        validation_data=([validation.images, validation.target_in], validation.target_out),
        recipe_name="captioning",
        fixed=dict(vocabulary_size=digit_strips.VOCABULARY_SIZE,
                   image_shape=tuple(train.images.shape[1:]), image_encoder="small_cnn",
                   embedding_dim=32),
        quick_space=dict(units=[32, 64], num_layers=1))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
