"""Decoding speed: rnnzoo.decode against per-token Python loops.

On one trained seq2seq model (the keras-io `lstm_seq2seq` size: LSTM, 256
units, character vocabularies of 71 and 93, no attention), times for batch 1
and batch 64, 50 output tokens (early exit disabled with `end_token=-1`):

- keras-io loop: `decoder_model.predict` once per output token (the
  keras-io example's loop; here fed the whole batch at once, which favours
  it);
- step loop: the same Python loop calling the one-step model directly;
- rnnzoo.decode with the samplers `"greedy"`, `Beam(width=4)` and
  `Sample(seed=0)`: one compiled loop.

Prints tokens per second (batch x 50 / seconds) and the ratios to the
keras-io loop (best of `--repeats` runs; the keras-io loop runs once after
its warm-up); compile time (first call) is reported separately. Run once
per backend:

    KERAS_BACKEND=tensorflow nice python bench/decode.py
    KERAS_BACKEND=jax nice python bench/decode.py
"""

import argparse
import json
import platform
import time

import keras
import numpy as np

import rnnzoo

STEPS = 50
START, END = 1, 2


def trained_model(args):
    keras.utils.set_random_seed(0)
    model = rnnzoo.seq2seq(
        source_vocabulary_size=71, target_vocabulary_size=93, embedding_dim=64,
        units=args.units, bidirectional=False, attention=None, name="bench",
    )
    rng = np.random.default_rng(0)
    source = rng.integers(3, 71, size=(512, 20)).astype("int32")
    target = np.concatenate([np.full((512, 1), START), source[:, ::-1]], 1) % 93
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit([source, target[:, :-1]], target[:, 1:], batch_size=64, epochs=1,
              verbose=0)
    return model, source


def keras_io_loop(encoder, step, source, direct):
    states = encoder.predict(source, verbose=0) if not direct else encoder(source)
    states = [np.asarray(s) for s in states]
    token = np.full((len(source), 1), START, "int32")
    out = []
    for _ in range(STEPS):
        if direct:
            outputs = step([token, *states])
        else:
            outputs = step.predict([token, *states], verbose=0)
        probabilities = np.array(outputs[0])
        probabilities[:, 0] = 0
        token = probabilities.argmax(-1)[:, None].astype("int32")
        states = [np.asarray(s) for s in outputs[1:]]
        out.append(token[:, 0])
    return np.stack(out, 1)


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)  # best of `repeats`: the machine is shared


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write results here")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="methods not to time, by a word of their name (e.g. 'step': the "
                             "step loop, 0.1 s a token on JAX)")
    args = parser.parse_args()
    model, data = trained_model(args)
    encoder = rnnzoo.encoder_model(model)
    step = rnnzoo.decoder_step_model(model)
    common = dict(max_length=STEPS, start_token=START, end_token=-1)
    results = {
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": time.strftime("%Y-%m-%d"), "rows": [],
    }
    print(f"backend={results['backend']} keras={results['keras']} units={args.units}")
    for batch in args.batches:
        source = data[:batch]
        runs = {
            "keras-io loop (predict/token)": lambda: keras_io_loop(encoder, step, source, False),
            "step loop (model call/token)": lambda: keras_io_loop(encoder, step, source, True),
            "rnnzoo.decode greedy": lambda: rnnzoo.decode(model, source, **common),
            "rnnzoo.decode beam(4)": lambda: rnnzoo.decode(
                model, source, sampler=rnnzoo.samplers.Beam(width=4), **common),
            "rnnzoo.decode sample": lambda: rnnzoo.decode(
                model, source, sampler=rnnzoo.samplers.Sample(seed=0), **common),
        }
        reference = rnnzoo.decode(model, source, **common)
        assert (keras_io_loop(encoder, step, source, True) == reference).all()
        base = None
        runs = {name: fn for name, fn in runs.items()
                if not any(word in name for word in args.skip)}
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()  # warm-up (compiles)
            first = time.perf_counter() - start
            repeats = 1 if "keras-io" in name else args.repeats
            seconds = timed(fn, repeats)
            rate = batch * STEPS / seconds
            base = base or rate
            row = dict(batch=batch, method=name, tokens_per_s=rate,
                       ratio=rate / base, first_call_s=first, seconds=seconds)
            results["rows"].append(row)
            print(f"batch {batch:3d}  {name:32s} {rate:12.1f} tok/s  "
                  f"{rate / base:8.1f}x  (first call {first:.2f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
