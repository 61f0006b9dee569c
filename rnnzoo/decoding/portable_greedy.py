"""Greedy decoding of exported rnnzoo models in onnxruntime or LiteRT (no TensorFlow, no rnnzoo).

The reference loops of docs/decoding.md. They import NumPy and either
onnxruntime (`.onnx` files) or ai_edge_litert (`.tflite` files), so they
run wherever the exported files are copied:

- `greedy(folder, source, ...)`: an encoder-decoder (seq2seq,
  sequence_generator) exported by `rnnzoo.export(model, folder,
  format="onnx"|"litert")`, a folder with `encoder.<ext>` and `step.<ext>`;
- `greedy_lm(path, prompt, ...)`: a language model's one-step decoder,
  exported by `rnnzoo.export(rnnzoo.decoder_step_model(lm), path, ...)`.

Both give the ids of `rnnzoo.decode(model, inputs, sampler="greedy", ...)`
(`export_test.py` checks this on trained models, in both formats).

    python portable_greedy.py FOLDER SOURCE.npy OUT.npy MAX_LENGTH START END [.onnx|.tflite]
    python portable_greedy.py --lm STEP_FILE PROMPT.npy OUT.npy MAX_LENGTH END
"""

import sys

import numpy as np


def open_model(path):
    """`(input shapes by name, run(feeds) -> list of outputs)` of an .onnx or .tflite file."""
    if path.endswith(".onnx"):
        import onnxruntime

        session = onnxruntime.InferenceSession(path)
        shapes = {i.name: i.shape for i in session.get_inputs()}
        return shapes, lambda feeds: session.run(None, feeds)
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path).get_signature_runner()
    shapes = {n: list(d["shape_signature"]) for n, d in runner.get_input_details().items()}

    def run(feeds):  # outputs are named output_0, output_1, ...
        out = runner(**feeds)
        return [out[k] for k in sorted(out, key=lambda k: int(k.rsplit("_", 1)[1]))]

    return shapes, run


def _step_names(shapes):
    """The step file's token input, its state inputs (in order), the other inputs."""
    token = next(n for n in shapes if n.endswith("_token"))
    states = sorted((n for n in shapes if "_step_state_" in n),
                    key=lambda n: [int(p) for p in n.rsplit("_step_state_", 1)[1].split("_")])
    constants = sorted(n for n in shapes if n != token and n not in states)  # memory, mask
    return token, states, constants


def _loop(run, token_name, state_names, constants, states, token, max_length, end_token,
          pad_id):
    """The greedy loop over a step file, from `states` and a first `token` per row."""
    ids = np.full((len(token), max_length), pad_id, "int32")
    finished = np.zeros(len(token), bool)
    for t in range(max_length):
        outputs = run({token_name: token[:, None], **dict(zip(state_names, states)),
                       **constants})  # probabilities, states..., [attention]
        probabilities = outputs[0].copy()
        states = outputs[1:1 + len(state_names)]
        probabilities[:, pad_id] = 0.0  # the pad id marks finished rows, never a token
        token = probabilities.argmax(-1).astype("int32")
        ids[:, t] = np.where(finished, pad_id, token)
        finished |= token == end_token
        if finished.all():
            break
    return ids


def greedy(folder, source, max_length, start_token, end_token, pad_id=0, extension=".onnx",
           opened=None):
    """`opened`: the `open_model` pairs of the encoder and step files, to reuse across calls."""
    (source_shape, encode), (shapes, step) = opened or [
        open_model(f"{folder}/{part}{extension}") for part in ("encoder", "step")]
    token_name, state_names, constant_names = _step_names(shapes)
    encoded = encode({next(iter(source_shape)): source})
    constants = dict(zip(constant_names, encoded))  # encoder: [memory, memory_mask], states...
    states = encoded[len(constant_names):]
    token = np.full(len(source), start_token, "int32")
    return _loop(step, token_name, state_names, constants, states, token, max_length,
                 end_token, pad_id)


def greedy_lm(path, prompt, max_length, end_token, pad_id=0):
    """Continues right-padded prompts (at least one token each) with a language model's step file."""
    prompt = prompt.astype("int32")
    shapes, step = open_model(path)
    token_name, state_names, _ = _step_names(shapes)
    states = [np.zeros((len(prompt), *shapes[n][1:]), "float32") for n in state_names]
    lengths = (prompt != pad_id).sum(1)
    for t in range(lengths.max() - 1):  # every prompt token but the last, per row
        outputs = step({token_name: prompt[:, t:t + 1], **dict(zip(state_names, states))})
        active = (t < lengths - 1)[:, None]
        states = [np.where(active, new, old) for new, old in zip(outputs[1:], states)]
    token = prompt[np.arange(len(prompt)), lengths - 1].astype("int32")
    return _loop(step, token_name, state_names, {}, states, token, max_length, end_token,
                 pad_id)


if __name__ == "__main__":
    if sys.argv[1] == "--lm":
        path, prompt, out, max_length, end = sys.argv[2:7]
        np.save(out, greedy_lm(path, np.load(prompt), int(max_length), int(end)))
    else:
        folder, source, out, max_length, start, end = sys.argv[1:7]
        extension = sys.argv[7] if len(sys.argv) > 7 else ".onnx"
        np.save(out, greedy(folder, np.load(source), int(max_length), int(start), int(end),
                            extension=extension))
