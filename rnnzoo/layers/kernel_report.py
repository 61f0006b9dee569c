"""Which recurrent layers of a model can use the fused (cuDNN) kernel."""

import keras

from rnnzoo.layers.fast_rnn import fast_path_reason
from rnnzoo.layers.fast_rnn import option_reasons


def _walk(layers):
    for layer in layers:
        if isinstance(layer, keras.Model):
            yield from _walk(layer.layers)
        else:
            yield layer


def _reasons(rnn):
    if isinstance(rnn, keras.layers.SimpleRNN):
        return ["SimpleRNN has no fused cuDNN kernel in Keras"]
    reasons = option_reasons(rnn)
    if getattr(rnn, "use_cudnn", "auto") is False:
        reasons.append("use_cudnn=False")
    return reasons


def kernel_report(model):
    """Reports, per recurrent layer, whether the fused kernel can be used.

    The fused (cuDNN) kernel needs tanh/sigmoid activations, no recurrent
    dropout, no unrolling and biases (and `reset_after=True` for GRU): the
    same rule as rnnzoo's fused CPU loop (`fast_rnn.option_reasons`). It
    also needs right-padded masks at run time: a left-padded or gapped
    batch falls back to the generic loop (see `check_padding`).

    Args:
        model: a Keras model.

    Returns:
        A list of dicts, one per recurrent layer (each direction of a
        bidirectional layer separately): `layer` (name), `cell` (class
        name), `fused` (bool) and `reason` (None when fused, else why not)
        for the GPU's cuDNN kernel; and for machines without a GPU,
        `cpu_path` (`"rnnzoo fused loop"`: rnnzoo's LSTM/GRU with the input
        projection outside the loop and a hand-written backward pass, see
        `rnnzoo.layers.fast_rnn`; else `"keras generic loop"`) and
        `cpu_reason` (None, or why not the fused loop).

    Example:

    >>> import rnnzoo
    >>> model = rnnzoo.sequence_classifier(vocabulary_size=50, num_classes=3)
    >>> [r["fused"] for r in rnnzoo.kernel_report(model)]
    [True]
    """
    report = []
    for layer in _walk(model.layers):
        rnns = []
        if isinstance(layer, keras.layers.Bidirectional):
            rnns = [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, keras.layers.RNN):
            rnns = [layer]
        for rnn in rnns:
            reasons = _reasons(rnn)
            cpu_reason = fast_path_reason(rnn)
            report.append({
                "layer": rnn.name,
                "cell": type(rnn).__name__,
                "fused": not reasons,
                "reason": "; ".join(reasons) if reasons else None,
                "cpu_path": "keras generic loop" if cpu_reason else "rnnzoo fused loop",
                "cpu_reason": cpu_reason,
            })
    return report


_warned = set()


def check_padding(ids=None, mask=None, pad_id=0, name="inputs"):
    """Warns once if a batch is not right-padded (it forces the slow path).

    Right padding (all real tokens first, then pads) keeps the fused cuDNN
    kernel; a left-padded or gapped batch still gives correct results
    through the generic masked loop, but slower.

    Args:
        ids: integer token ids `(batch, time)`, padded with `pad_id`; or
        mask: a boolean `(batch, time)` mask (`True` = real step).
        pad_id: the padding id.
        name: the data's name, used in the warning.

    Returns:
        True when every row is right-padded.
    """
    import warnings

    import numpy as np

    if mask is None:
        mask = np.asarray(ids) != pad_id
    mask = np.asarray(mask, dtype=bool)
    right_padded = bool(np.all(mask[:, 1:] <= mask[:, :-1])) if mask.shape[1] > 1 else True
    if not right_padded and name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"`{name}` is not right-padded (a real step follows a padded one): "
            "results stay correct through the generic masked loop, but the "
            "fused cuDNN kernel cannot be used. Pad on the right for speed.",
            stacklevel=2,
        )
    return right_padded
