"""Exports a model: a TensorFlow SavedModel of the decoding loop, or ONNX / LiteRT files (TensorFlow only).

`format="saved_model"` serves a decoder's whole decoding loop
(`generate`), plus the encoder (`encode`) and the one-step decoder
(`step`), and loads with `tf.saved_model.load` in a process that has
TensorFlow but not rnnzoo. `format="onnx"` and `"litert"` write the
model's forward call (classifier, tagger, forecaster, language model, dense
baseline), or an encoder-decoder's encoder, one-step decoder and decoding
loop, through Keras' exporters (tf2onnx; TensorFlow's LiteRT converter with
builtin ops only, the model traced inside `rnnzoo.layers.loops.builtin_loops()`),
for onnxruntime or the LiteRT interpreter without TensorFlow.
"""

import keras
import numpy as np

from rnnzoo.data_checks import input_vocabularies
from rnnzoo.decoding import samplers
from rnnzoo.decoding.inference import inference_parts
from rnnzoo.decoding.loop import prompt_states
from rnnzoo.decoding.search import decoding_function
from rnnzoo.io import atomic_path
from rnnzoo.layers.loops import plain_loops
from rnnzoo.validation import check_choice

FORMATS = ("saved_model", "onnx", "litert")
EXTENSIONS = {"onnx": ".onnx", "litert": ".tflite"}


# The files hold plain TensorFlow ops: no XLA-compiled loops (a context
# manager from `contextlib` decorates too, entered afresh on every call).
@plain_loops()
def export(model, path, *, format="saved_model", max_length=None, end_token=None,
           start_token=None, sampler="greedy", pad_id=0, source_vocabulary=None,
           target_vocabulary=None, optimize=False):
    """Writes a SavedModel with `generate`, `encode` and `step` endpoints, or an ONNX / LiteRT file.

    `format="onnx"` / `"litert"` write the model's forward call
    (`_export_graphs`: a classifier, tagger (a CRF tagger's Viterbi tags),
    forecaster, language model or dense baseline) as one `.onnx` /
    `.tflite` file, or for a seq2seq or sequence_generator a folder with
    `encoder.<ext>` and `step.<ext>`, plus `generate.<ext>` (the whole
    decoding loop of `sampler`) when `max_length` is given. LiteRT files use
    builtin ops only; `optimize=True` stores int8 weights;
    `rnnzoo.exported_ops(file)` lists a file's operators. See
    docs/export.md. The rest of this docstring is the SavedModel of a
    decoder (`format="saved_model"`, the default).

    Endpoints (call them as methods of the object `tf.saved_model.load`
    returns; every one returns a dict of tensors):
    - `generate(inputs)`: the model's inputs (source ids, prompt ids or
      conditioning features, batched) -> `{"ids": (batch, max_length),
      "scores": (batch,)}`, decoded inside the SavedModel exactly as
      `rnnzoo.decode(model, inputs, sampler=sampler, ...)` does.
    - `generate_text(texts)` (only with `target_vocabulary`, and for token
      inputs `source_vocabulary`): a `(batch,)` string tensor, split on
      whitespace and looked up in `source_vocabulary` (unknown words are
      dropped) -> `{"ids", "scores", "text"}`; `text` joins the target
      tokens before the end token with single spaces. Vocabularies are lists
      where entry i is the token of id i (entry 0, padding, is never used).
    - `encode(inputs)`: `{"memory", "memory_mask", "state_1_0", ...}` as
      `rnnzoo.encoder_model` (memory entries only with attention; for a
      language model the states after all but the last prompt token and
      `"last_token"`).
    - `step(token, states..., [memory, memory_mask])`: `token` is
      `(batch,)` int32 -> `{"probabilities", "state_1_0", ...,
      ["attention"]}`, the one-step decoder.

    The directory is written next to `path` and renamed into place, so an
    interrupted export never leaves a half-written SavedModel.

    Args:
        model: a seq2seq, sequence_generator or language_model (TF backend).
        path: the SavedModel directory to (over)write.
        format: `"saved_model"`, `"onnx"` or `"litert"`.
        max_length, end_token, start_token, sampler, pad_id: the decoding
            configuration of `generate` (see `rnnzoo.decode`); `sampler` is
            any deterministic sampler: `"greedy"`, `"beam"`, a
            `rnnzoo.samplers.Beam(...)` or one of your own, not `Sample`
            (a SavedModel would freeze its seed).
        source_vocabulary: optional list of source tokens, indexed by id.
        target_vocabulary: optional list of target tokens, indexed by id.
        optimize: int8 weights (`"onnx"`: onnxruntime's dynamic
            quantisation; `"litert"`: dynamic-range quantisation).

    Returns:
        `path`.

    Example:

    >>> import numpy as np, tempfile, os, rnnzoo
    >>> import tensorflow as tf
    >>> model = rnnzoo.seq2seq(source_vocabulary_size=12,
    ...     target_vocabulary_size=12, units=8)
    >>> path = rnnzoo.export(model, os.path.join(tempfile.mkdtemp(), "m"),
    ...     max_length=5, start_token=1, end_token=2)
    >>> served = tf.saved_model.load(path)
    >>> served.generate(tf.constant([[3, 4, 5]]))["ids"].shape
    TensorShape([1, 5])
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "rnnzoo.export converts a TensorFlow graph and needs "
            "KERAS_BACKEND=tensorflow (save the model with `.keras` and reload "
            f"it there). Received: backend={keras.backend.backend()!r}"
        )
    import tensorflow as tf

    format = check_choice("format", format, FORMATS)
    if format != "saved_model":
        return _export_graphs(model, path, format, optimize, max_length=max_length,
                              start_token=start_token, end_token=end_token,
                              sampler=sampler, pad_id=pad_id)
    if optimize:
        raise ValueError("Expected `optimize=False` with format='saved_model' (int8 weights "
                         "are written by format='onnx' and 'litert'). Received: optimize=True")
    try:
        inference_parts(model)
    except ValueError:  # not a decoder: its forward call (a CRF tagger's tags) is served
        with atomic_path(path, directory=True) as tmp:
            _serving_model(model).export(tmp, format="tf_saved_model", verbose=False,
                                         input_signature=_input_signature(model))
        return path
    if max_length is None:
        raise ValueError("Expected `max_length` (the decoding loop's) for "
                         "format='saved_model'. Received: max_length=None")
    sampler = _loop_sampler(sampler, end_token, "format='saved_model'")
    run = decoding_function(
        model, sampler, max_length=max_length, start_token=start_token,
        end_token=end_token, pad_id=pad_id,
    )
    parts = inference_parts(model)
    if parts.is_language_model:
        input_spec = tf.TensorSpec((None, None), tf.int32, name="inputs")
    else:
        encoder_input = parts.encoder.inputs[0]
        dtype = "int32" if "int" in str(encoder_input.dtype) else "float32"
        input_spec = tf.TensorSpec(
            (None, *encoder_input.shape[1:]), dtype, name="inputs"
        )
    seed = tf.constant(0, tf.int32)
    vocabularies = input_vocabularies(model)
    source_size = vocabularies.get(0, (None,))[0]
    target_size = vocabularies.get(0 if parts.is_language_model else 1, (None,))[0]

    def check_ids(ids, size, arg):
        """Out-of-range ids raise in the SavedModel instead of wrapping or clamping."""
        if size is None or not ids.dtype.is_integer:
            return ids
        message = f"Expected every token id in `{arg}` to lie in [0, {size})"
        checks = [tf.debugging.assert_non_negative(ids, message=message),
                  tf.debugging.assert_less(ids, tf.constant(size, ids.dtype), message=message)]
        with tf.control_dependencies(checks):  # before any lookup reads them
            return tf.identity(ids)

    def generate(inputs):
        inputs = check_ids(inputs, source_size, "inputs")
        ids, scores, _ = run(((), ()), inputs, seed)
        return {"ids": ids, "scores": scores}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(parts.step)
    archive.add_endpoint("generate", generate, input_signature=[input_spec])
    names = parts.state_names

    if parts.is_language_model:
        def encode(inputs):
            inputs = check_ids(inputs, source_size, "inputs")
            batch = tf.shape(inputs)[0]
            states = tuple(tf.zeros((batch, *s)) for s in parts.state_shapes)
            states, last = prompt_states(parts.step_fn(()), states, inputs)
            result = dict(zip(names, states))
            result["last_token"] = last
            return result
    else:
        def encode(inputs):
            inputs = check_ids(inputs, source_size, "inputs")
            outputs = list(parts.encoder(inputs, training=False))
            result = {}
            if parts.has_memory:
                result["memory"] = outputs.pop(0)
                if parts.has_mask:
                    result["memory_mask"] = outputs.pop(0)
            result.update(zip(names, outputs))
            return result
    archive.add_endpoint("encode", encode, input_signature=[input_spec])

    step_specs = [tf.TensorSpec((None,), tf.int32, name="token")]
    for name, shape in zip(names, parts.state_shapes):
        step_specs.append(tf.TensorSpec((None, *shape), tf.float32, name=name))
    n = parts.num_states
    if parts.has_memory:
        memory_input = parts.step.inputs[1 + n]
        step_specs.append(tf.TensorSpec((None, None, memory_input.shape[-1]),
                                        tf.float32, name="memory"))
        if parts.has_mask:
            step_specs.append(tf.TensorSpec((None, None), tf.bool, name="memory_mask"))

    def step(token, *rest):
        token = check_ids(token, target_size, "token")
        probabilities, states, weights = parts.step_fn(())(
            token, rest[:n], tuple(rest[n:])
        )
        result = {"probabilities": probabilities}
        result.update(zip(names, states))
        if weights is not None:
            result["attention"] = weights
        return result

    archive.add_endpoint("step", step, input_signature=step_specs)

    if target_vocabulary is not None:
        _add_text_endpoint(
            archive, generate, parts, end_token=int(end_token), pad_id=int(pad_id),
            source_vocabulary=source_vocabulary,
            target_vocabulary=target_vocabulary, input_spec=input_spec,
        )
    elif source_vocabulary is not None:
        raise ValueError(
            "Pass `target_vocabulary` with `source_vocabulary` to export "
            "`generate_text`. Received: target_vocabulary=None"
        )
    _write_atomically(archive, path)
    return path


def _add_text_endpoint(archive, generate, parts, *, end_token, pad_id,
                       source_vocabulary, target_vocabulary, input_spec):
    import tensorflow as tf

    target_vocabulary = [str(t) for t in target_vocabulary]
    if len(target_vocabulary) != parts.vocabulary_size:
        raise ValueError(
            f"Expected `target_vocabulary` to have {parts.vocabulary_size} "
            "entries (one per target id). Received: target_vocabulary with "
            f"{len(target_vocabulary)} entries"
        )
    if input_spec.dtype != tf.int32:
        raise ValueError(
            "generate_text needs a model with token inputs (seq2seq or "
            "language_model). Received: target_vocabulary with a model whose "
            "inputs are features"
        )
    if parts.is_language_model and source_vocabulary is None:
        source_vocabulary = target_vocabulary
    if source_vocabulary is None:
        raise ValueError(
            "Expected `source_vocabulary` (a list of source tokens indexed by "
            "id) for a seq2seq model. Received: source_vocabulary=None"
        )
    source_vocabulary = [str(t) for t in source_vocabulary]
    keys = tf.constant(source_vocabulary[1:])
    values = tf.constant(np.arange(1, len(source_vocabulary), dtype="int32"))
    lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1
    )
    words = tf.constant(target_vocabulary)
    holder = tf.Module()
    holder.lookup = lookup
    archive.track(holder)

    def generate_text(texts):
        tokens = tf.strings.split(texts)
        ids = tf.ragged.map_flat_values(lookup.lookup, tokens)
        ids = tf.ragged.boolean_mask(ids, ids >= 0)
        result = generate(ids.to_tensor(0))
        out = result["ids"]
        before_end = tf.math.cumsum(tf.cast(out == end_token, tf.int32), axis=1) == 0
        keep = tf.logical_and(before_end, out != pad_id)
        kept = tf.ragged.boolean_mask(out, keep)
        text = tf.strings.reduce_join(
            tf.gather(words, kept), axis=-1, separator=" "
        )
        return {"ids": out, "scores": result["scores"], "text": text}

    archive.add_endpoint(
        "generate_text", generate_text,
        input_signature=[tf.TensorSpec((None,), tf.string, name="texts")],
    )


def _write_atomically(archive, path):
    with atomic_path(path, directory=True) as tmp:
        archive.write_out(tmp, verbose=False)


def _export_graphs(model, path, format, optimize, **decoding):
    """The model's forward call as one ONNX / LiteRT file at `path` (Keras' exporter).

    Right-padded token inputs keep their meaning: the padding mask is
    computed inside the graph from the ids (0 = padding), as in Keras. A
    model ending in a CRF (`sequence_tagger(crf=True)`) serves its Viterbi
    tags, as its `predict` does. An encoder-decoder model (seq2seq,
    sequence_generator: its forward call is teacher forcing) becomes a
    folder at `path` holding `encoder.<ext>` (`rnnzoo.encoder_model`) and
    `step.<ext>` (`rnnzoo.decoder_step_model`), which
    `rnnzoo/decoding/portable_greedy.py` decodes without TensorFlow; with
    `decoding["max_length"]`, also `generate.<ext>`: the whole decoding loop
    of `decoding["sampler"]` (`_generate_model`), source in, ids and scores
    out. Stateful models are refused before anything is written.
    Files are written beside `path` and renamed into place.
    """
    import os

    stateful = [layer.name for layer in model._flatten_layers(include_self=False)
                if getattr(layer, "stateful", False)]
    if stateful:
        raise ValueError(
            f"format={format!r} cannot carry states between calls. Received: model "
            f"{model.name!r} with stateful=True layers {stateful}")
    graphs = served_graphs(model, **decoding)
    write = _onnx_file if format == "onnx" else _litert_file
    extension = EXTENSIONS[format]
    if "" not in graphs:  # an encoder-decoder: a folder
        with atomic_path(path, directory=True) as tmp:
            os.makedirs(tmp)
            for stem, graph in graphs.items():
                write(graph, os.path.join(tmp, stem + extension), optimize)
        return path
    if format == "litert" and not str(path).endswith(extension):
        raise ValueError(f"Expected a path ending in {extension!r} for format='litert' "
                         f"(LiteRT's rule). Received: path={str(path)!r}")
    with atomic_path(path) as tmp:
        write(graphs[""], tmp, optimize)
    return path


def served_graphs(model, *, max_length=None, **decoding):
    """The Functional models `format="onnx"|"litert"` writes, by file stem.

    `{"": model}` for a model whose forward call is served (a CRF model:
    its Viterbi tags, `_serving_model`); for an encoder-decoder
    `{"encoder": ..., "step": ...}` and, with `max_length`, `"generate"`
    (the decoding loop; `decoding`: `start_token`, `end_token`, `sampler`,
    `pad_id`).

    Example:

    >>> import rnnzoo
    >>> sorted(served_graphs(rnnzoo.seq2seq(source_vocabulary_size=9,
    ...     target_vocabulary_size=9, units=4)))
    ['encoder', 'step']
    """
    from rnnzoo.decoding.inference import decoder_prefix
    from rnnzoo.decoding.inference import decoder_step_model
    from rnnzoo.decoding.inference import encoder_model

    try:
        encoder_decoder = decoder_prefix(model) != model.name  # not a language model
    except ValueError:  # not a decoder at all: its forward call is what it serves
        encoder_decoder = False
    if not encoder_decoder:
        return {"": _serving_model(model)}
    graphs = {"encoder": encoder_model(model), "step": decoder_step_model(model)}
    if max_length:
        graphs["generate"] = _generate_model(model, max_length=max_length, **decoding)
    return graphs


class _Generate(keras.layers.Layer):
    """Export only: the decoding loop of `decoding_function` as a layer (source -> ids, scores).

    The loop runs without XLA (`python_function` of the compiled function):
    tf2onnx and the LiteRT converter read plain TensorFlow graphs.
    """

    def __init__(self, model, run, max_length, **kwargs):
        super().__init__(**kwargs)
        self.decoder = model  # tracked: its variables are the file's weights
        self.step = inference_parts(model).step
        self.run, self.max_length = run, max_length

    def call(self, inputs):
        ids, scores, _ = self.run(((), ()), inputs, keras.ops.convert_to_tensor(0, "int32"))
        return ids, scores

    def compute_output_spec(self, inputs):
        return (keras.KerasTensor((inputs.shape[0], self.max_length), dtype="int32"),
                keras.KerasTensor((inputs.shape[0],), dtype="float32"))


def _loop_sampler(sampler, end_token, where):
    """The sampler of a decoding loop written into a file (`where`), which needs `end_token`.

    Only a deterministic one: the file would fix the seed of `Sample`.
    """
    if end_token is None:
        raise ValueError(f"Expected `end_token` (the decoding loop's) for {where}. "
                         "Received: end_token=None")
    sampler = samplers.get(sampler)
    if isinstance(sampler, samplers.Sample):
        raise ValueError(
            "Expected a deterministic `sampler` (greedy, beam or your own): "
            f"the file of {where} would fix the seed of `Sample`. "
            f"Received: sampler={sampler!r}")
    return sampler


def _generate_model(model, *, max_length, start_token, end_token, sampler, pad_id):
    """A Functional model whose call is the whole decoding loop (`generate.<ext>`)."""
    sampler = _loop_sampler(sampler, end_token, "generate.<ext>")
    run = decoding_function(model, sampler, max_length=max_length, start_token=start_token,
                            end_token=end_token, pad_id=pad_id).python_function
    source = inference_parts(model).encoder.inputs[0]
    inputs = keras.Input(source.shape[1:], dtype=source.dtype, name=source.name)
    outputs = _Generate(model, run, max_length, name=f"{model.name}_generate")(inputs)
    return keras.Model(inputs, list(outputs), name=f"{model.name}_generate")


class _ViterbiTags(keras.layers.Layer):
    """Export only: the Viterbi tags of a CRF layer's potentials, ids 0 masked.

    Traced with `builtin_loops()` in both formats: tf2onnx cannot convert
    the TensorList loop of `keras.ops.scan` with several carried tensors.
    """

    def __init__(self, crf, **kwargs):
        super().__init__(**kwargs)
        self.crf = crf
        self.supports_masking = True  # the mask comes from the ids; no mask out

    def compute_mask(self, potentials, mask=None):
        return None

    def call(self, potentials, ids):
        from rnnzoo.layers.loops import builtin_loops

        with builtin_loops():
            return self.crf.decode(potentials, keras.ops.not_equal(ids, 0))[0]

    def compute_output_spec(self, potentials, ids):
        return keras.KerasTensor(potentials.shape[:2], dtype="int32")


def _serving_model(model):
    """What an exported file computes: the model's call, or a CRF model's Viterbi tags."""
    from rnnzoo.models.crf_model import CRFModel

    if not isinstance(model, CRFModel):
        return model
    ids = model.inputs[0]
    tags = _ViterbiTags(model.crf_layer(), name=f"{model.name}_viterbi")(model.outputs[0], ids)
    return keras.Model(model.inputs, tags, name=model.name)


def _input_signature(model):
    """The model's inputs as TensorSpecs with their own names and dtypes."""
    import tensorflow as tf

    specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs]
    return specs if len(specs) == 1 else [specs]


def _onnx_file(model, path, optimize=False):
    """One Functional model's call as an ONNX file (int8 weights with `optimize`)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        plain = os.path.join(folder, "float32.onnx") if optimize else path
        # The inputs' own names and dtypes (Keras would ask for a model called once).
        model.export(plain, format="onnx", verbose=False,
                     input_signature=_input_signature(model))
        if optimize:
            from onnxruntime.quantization import QuantType
            from onnxruntime.quantization import quantize_dynamic

            # EnableSubgraph: the recurrent kernels live in the Loop bodies.
            quantize_dynamic(plain, path, weight_type=QuantType.QInt8,
                             extra_options={"EnableSubgraph": True})


def _litert_file(model, path, optimize=False):
    """One Functional model's call as a LiteRT file with builtin ops only.

    The model is traced inside `rnnzoo.layers.loops.builtin_loops()`, so
    its recurrent loops become builtin `WHILE` ops; `optimize` stores the
    weights as int8 (dynamic-range quantisation).
    """
    import tensorflow as tf

    from rnnzoo.layers.loops import builtin_loops

    settings = dict(target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
    if optimize:
        settings["optimizations"] = [tf.lite.Optimize.DEFAULT]
        # One scale per weight tensor: per-channel scales (and int64 zero
        # points) cost ~40 KB of a 0.6 MB names classifier (0.30x -> 0.28x
        # of float32) for no measured accuracy (bench/export_int8.py).
        settings["_experimental_disable_per_channel"] = True
    try:
        with builtin_loops():
            model.export(path, format="litert", verbose=False,
                         input_signature=_input_signature(model), **settings)
    except Exception as error:  # the converter's error lists the ops it lacks
        import re

        missing = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op",
                                        str(error))))
        if not missing:
            raise
        raise ValueError(
            f"format='litert' writes builtin LiteRT ops only, and model {model.name!r} "
            f"needs TensorFlow ops that have no builtin kernel: {missing}. Received: "
            f"model {model.name!r}") from error


def exported_ops(path):
    """The operators an exported ONNX or LiteRT file uses, with their counts.

    Loop bodies (ONNX `Loop`, LiteRT `WHILE` subgraphs) are counted too, so
    a LiteRT file that needs flex kernels shows them as `FlexXxx` /
    `DELEGATE` entries.

    Args:
        path: a `.onnx` or `.tflite` file written by `rnnzoo.export`.

    Returns:
        A dict `{op name: count}`, sorted by name.

    Example:

    >>> import os, tempfile, rnnzoo
    >>> model = rnnzoo.sequence_classifier(vocabulary_size=20, num_classes=2, units=4)
    >>> path = rnnzoo.export(model, os.path.join(tempfile.mkdtemp(), "m.tflite"),
    ...                      format="litert")
    >>> ops = rnnzoo.exported_ops(path)
    >>> "WHILE" in ops, any(name.startswith("Flex") for name in ops)
    (True, False)
    """
    import collections

    path = str(path)
    counts = collections.Counter()
    if path.endswith(".onnx"):
        import onnx

        def walk(graph):
            for node in graph.node:
                counts[node.op_type] += 1
                for attribute in node.attribute:
                    if attribute.type == onnx.AttributeProto.GRAPH:
                        walk(attribute.g)

        walk(onnx.load(path).graph)
    elif path.endswith(".tflite"):
        from ai_edge_litert import schema_py_generated as schema

        with open(path, "rb") as f:
            tflite = schema.ModelT.InitFromPackedBuf(bytearray(f.read()), 0)
        names = {getattr(schema.BuiltinOperator, n): n for n in dir(schema.BuiltinOperator)
                 if not n.startswith("_")}
        for subgraph in tflite.subgraphs:
            for op in subgraph.operators:
                code = tflite.operatorCodes[op.opcodeIndex]
                builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
                name = names.get(builtin, str(builtin))
                if name == "CUSTOM":
                    name = code.customCode.decode() if code.customCode else "CUSTOM"
                counts[name] += 1
    else:
        raise ValueError(f"Expected a path ending in '.onnx' or '.tflite'. Received: "
                         f"path={path!r}")
    return dict(sorted(counts.items()))
