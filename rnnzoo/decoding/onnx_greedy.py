"""Greedy decoding of an exported encoder-decoder in plain onnxruntime (no TensorFlow, no rnnzoo).

The reference loop of docs/decoding.md: it imports only NumPy and
onnxruntime, so it runs wherever the two ONNX files written by
`rnnzoo.export(model, folder, format="onnx")` are copied. It gives the ids
of `rnnzoo.decode(model, source, sampler="greedy", ...)`
(`export_test.py` checks this on a trained model).

    python onnx_greedy.py FOLDER SOURCE.npy OUT.npy MAX_LENGTH START END
"""

import sys

import numpy as np
import onnxruntime


def greedy(folder, source, max_length, start_token, end_token, pad_id=0):
    encoder = onnxruntime.InferenceSession(f"{folder}/encoder.onnx")
    step = onnxruntime.InferenceSession(f"{folder}/step.onnx")
    names = [i.name for i in step.get_inputs()]  # token, states..., [memory, memory_mask]
    state_names = [n for n in names[1:] if "_step_state_" in n]
    constant_names = [n for n in names[1:] if n not in state_names]
    encoded = encoder.run(None, {encoder.get_inputs()[0].name: source})
    constants = encoded[:len(constant_names)]  # encoder: [memory, memory_mask], states...
    states = encoded[len(constant_names):]
    batch = len(source)
    token = np.full((batch, 1), start_token, "int32")
    ids = np.full((batch, max_length), pad_id, "int32")
    finished = np.zeros(batch, bool)
    for t in range(max_length):
        feeds = {names[0]: token, **dict(zip(state_names, states)),
                 **dict(zip(constant_names, constants))}
        outputs = step.run(None, feeds)  # probabilities, states..., [attention]
        probabilities = outputs[0].copy()
        states = outputs[1:1 + len(state_names)]
        probabilities[:, pad_id] = 0.0  # the pad id marks finished rows, never a token
        choice = probabilities.argmax(-1).astype("int32")
        ids[:, t] = np.where(finished, pad_id, choice)
        finished |= choice == end_token
        if finished.all():
            break
        token = choice[:, None]
    return ids


if __name__ == "__main__":
    folder, source, out, max_length, start, end = sys.argv[1:7]
    np.save(out, greedy(folder, np.load(source), int(max_length), int(start), int(end)))
