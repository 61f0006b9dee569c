"""Word-level translation workflow: tokens, vocabularies, training, sacreBLEU.

The translation recipe (`recipes/translation.py`) is a thin script over this
module:

- `tokenize` lower-cases and splits words from punctuation (French
  apostrophes stay inside words: "j'ai", "l'homme"); `detokenize` joins with
  spaces. Scores are computed by sacrebleu on that text against the raw
  references, case-insensitively (`lowercase=True`), with sacrebleu's own
  13a tokenisation: never a hand-written BLEU.
- Vocabularies are counted in Python over the TRAINING pairs only, capped
  (`max_size`, most frequent first), and turned into Keras `StringLookup`
  layers (`vocabulary=`, no `adapt()`): id 0 is padding (`""`), 1 the
  out-of-vocabulary token, 2 `[START]`, 3 `[END]`.
- Pairs longer than `max_tokens` on either side are left out of TRAINING
  only; every test pair is translated and scored.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import time

import keras
import numpy as np

PAD, UNK, START, END = "", "[UNK]", "[START]", "[END]"
START_ID, END_ID = 2, 3

_TOKEN = re.compile(r"\w+(?:['’]\w+)*['’]?|[^\w\s]")


def tokenize(text):
    """Lower-cased word and punctuation tokens.

    Example:

    >>> tokenize("J'ai froid\\u202f!")
    ["j'ai", 'froid', '!']
    >>> tokenize("Where is the station?")
    ['where', 'is', 'the', 'station', '?']
    """
    text = str(text).replace("\u202f", " ").replace("\xa0", " ").lower()
    return _TOKEN.findall(text)


_SPLIT_HYPHEN = re.compile(r"(?<=[\w\]]) - (?=[\w\[])")


def detokenize(tokens):
    """Joins tokens with single spaces, re-attaching hyphens inside words.

    sacrebleu's 13a tokenisation splits punctuation again ("froid ." and
    "froid." score the same) but keeps word-internal hyphens, so
    "est - ce" must become "est-ce" to match the references.

    Example:

    >>> detokenize(["qu'est", "-", "ce", "que", "c'est", "?"])
    "qu'est-ce que c'est ?"
    >>> detokenize(["il", "fait", "froid", ".", "[END]"])
    'il fait froid .'
    """
    text = " ".join(t for t in tokens if t not in (PAD, START, END))
    return _SPLIT_HYPHEN.sub("-", text)


def count_vocabulary(token_lists, max_size, min_count=1):
    """The `max_size` most frequent tokens (ties broken alphabetically).

    Returns:
        A list starting with `[START]`, `[END]` (padding and OOV are added
        by `StringLookup`), then tokens by decreasing count; its length is
        at most `max_size`.

    Example:

    >>> count_vocabulary([["a", "b", "a"], ["c", "a", "b"]], 4)
    ['[START]', '[END]', 'a', 'b']
    """
    counts = collections.Counter(t for tokens in token_lists for t in tokens)
    ranked = sorted(
        (t for t, c in counts.items() if c >= min_count),
        key=lambda t: (-counts[t], t),
    )
    return [START, END] + ranked[: max(0, max_size - 2)]


def lookup_layer(vocabulary, invert=False):
    """A `StringLookup` over `vocabulary`: `""` -> 0, OOV -> 1, then 2, 3, ...

    Example:

    >>> layer = lookup_layer(["[START]", "[END]", "chat"])
    >>> np.asarray(layer(["chat", "chien", ""])).tolist()
    [4, 1, 0]
    """
    return keras.layers.StringLookup(
        vocabulary=list(vocabulary), mask_token=PAD, oov_token=UNK,
        invert=invert,
    )


def encode(lookup, token_lists, length, start=False, end=False):
    """Token lists -> right-padded int32 ids of `length` columns.

    Example:

    >>> encode(lookup_layer(["[START]", "[END]", "a"]), [["a"], ["b", "a"]],
    ...        4, start=True, end=True).tolist()
    [[2, 4, 3, 0], [2, 1, 4, 3]]
    """
    rows = []
    for tokens in token_lists:
        row = ([START] if start else []) + list(tokens)[: length - start - end]
        row += [END] if end else []
        rows.append(row + [PAD] * (length - len(row)))
    if not rows:
        return np.zeros((0, length), dtype="int32")
    return np.asarray(lookup(np.array(rows, dtype=object).astype(str)),
                      dtype="int32")


def ids_to_tokens(ids, vocabulary):
    """Decoded ids -> token lists, stopping at `[END]` or padding.

    Example:

    >>> ids_to_tokens(np.array([[4, 5, 3, 0]]), ["[START]", "[END]", "a", "b"])
    [['a', 'b']]
    """
    table = [PAD, UNK] + list(vocabulary)
    out = []
    for row in np.asarray(ids):
        tokens = []
        for i in row:
            i = int(i)
            if i in (0, END_ID):
                break
            tokens.append(table[i] if i < len(table) else UNK)
        out.append(tokens)
    return out


def corpus_scores(hypotheses, references):
    """Corpus BLEU and chrF with sacrebleu (case-insensitive BLEU).

    Args:
        hypotheses: list of strings.
        references: list of strings (one reference each).

    Returns:
        `{"bleu": float, "chrf": float}`.

    Example:

    >>> corpus_scores(["il fait froid ."], ["Il fait froid."])["bleu"]
    100.0
    """
    import sacrebleu

    # force=True: hypotheses are space-joined tokens ("froid ."), which
    # sacrebleu's 13a tokeniser re-splits exactly as it splits the raw
    # references ("froid."), so its "forgot to detokenize" warning is moot.
    bleu = sacrebleu.metrics.BLEU(lowercase=True, force=True)
    chrf = sacrebleu.metrics.CHRF(lowercase=True)
    refs = [list(references)]
    return {
        "bleu": round(float(bleu.corpus_score(list(hypotheses), refs).score), 2),
        "chrf": round(float(chrf.corpus_score(list(hypotheses), refs).score), 2),
    }


@dataclasses.dataclass
class TranslationData:
    """Encoded pairs and vocabularies (see `prepare`)."""

    source_vocabulary: list
    target_vocabulary: list
    x_train: np.ndarray
    y_in_train: np.ndarray
    y_out_train: np.ndarray
    x_validation: np.ndarray
    y_in_validation: np.ndarray
    y_out_validation: np.ndarray
    test_sources: list
    test_references: list
    x_test: np.ndarray
    max_tokens: int


def prepare(dataset, *, max_tokens=12, source_vocabulary_size=8000,
            target_vocabulary_size=10000, reverse=False, limit=None,
            test_limit=None, validation_limit=2000):
    """Tokenises, filters and encodes a `TranslationDataset`.

    Args:
        dataset: from `rnnzoo.data.datasets.load_fra_eng`.
        max_tokens: longest training pair kept (tokens, either side).
        source_vocabulary_size, target_vocabulary_size: vocabulary caps
            (including `[START]`, `[END]`; ids 0/1 are padding/OOV).
        reverse: translate French -> English.
        limit: keep at most this many training pairs: a fixed random
            subset (seed 0) of those within `max_tokens`, in file order (the
            file is sorted by length, so its first pairs are the shortest).
        test_limit: score at most this many test pairs (file order).
        validation_limit: validation pairs used for early stopping.

    Returns:
        A `TranslationData`.
    """
    def side(split):
        src, tgt = (split.y, split.x) if reverse else (split.x, split.y)
        return [tokenize(s) for s in src], [tokenize(t) for t in tgt], src, tgt

    s_train, t_train, _, _ = side(dataset.train)
    keep = [i for i in range(len(s_train))
            if len(s_train[i]) <= max_tokens and len(t_train[i]) <= max_tokens]
    if limit and limit < len(keep):
        pick = np.random.default_rng(0).choice(len(keep), limit, replace=False)
        keep = [keep[i] for i in np.sort(pick)]
    s_train = [s_train[i] for i in keep]
    t_train = [t_train[i] for i in keep]
    source_vocabulary = count_vocabulary(s_train, source_vocabulary_size)
    target_vocabulary = count_vocabulary(t_train, target_vocabulary_size)
    src_lookup = lookup_layer(source_vocabulary)
    tgt_lookup = lookup_layer(target_vocabulary)
    s_val, t_val, _, _ = side(dataset.validation)
    keep_val = [i for i in range(len(s_val))
                if len(s_val[i]) <= max_tokens and len(t_val[i]) <= max_tokens]
    keep_val = keep_val[:validation_limit]
    s_val = [s_val[i] for i in keep_val]
    t_val = [t_val[i] for i in keep_val]
    s_test, _, raw_src, raw_tgt = side(dataset.test)
    n_test = len(s_test) if not test_limit else min(test_limit, len(s_test))
    width = max_tokens + 1
    test_width = max(width, max(len(s) for s in s_test[:n_test]) if n_test else 1)
    return TranslationData(
        source_vocabulary=source_vocabulary,
        target_vocabulary=target_vocabulary,
        x_train=encode(src_lookup, s_train, max_tokens),
        y_in_train=encode(tgt_lookup, t_train, width, start=True),
        y_out_train=encode(tgt_lookup, t_train, width, end=True),
        x_validation=encode(src_lookup, s_val, max_tokens),
        y_in_validation=encode(tgt_lookup, t_val, width, start=True),
        y_out_validation=encode(tgt_lookup, t_val, width, end=True),
        test_sources=[str(s) for s in raw_src[:n_test]],
        test_references=[str(t) for t in raw_tgt[:n_test]],
        x_test=encode(src_lookup, s_test[:n_test], test_width),
        max_tokens=max_tokens,
    )


def build_translator(data, *, attention="luong", cell="gru", units=192,
                     embedding_dim=128, dropout=0.0, learning_rate=2e-3):
    """A compiled `rnnzoo.seq2seq` with a bidirectional encoder."""
    from rnnzoo.models.seq2seq import seq2seq

    model = seq2seq(
        source_vocabulary_size=len(data.source_vocabulary) + 2,
        target_vocabulary_size=len(data.target_vocabulary) + 2,
        embedding_dim=embedding_dim, cell=cell, units=units,
        bidirectional=True, dropout=dropout, attention=attention,
        name="translator",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
    )
    return model


def translate_ids(model, x, *, sampler="greedy", max_length=None,
                  return_attention=False, batch_size=256):
    """Decodes source ids in batches with `rnnzoo.decode` (`sampler`: as there)."""
    from rnnzoo.decoding import decode

    max_length = max_length or x.shape[1] + 6
    ids, weights = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        out = decode(model, batch, sampler=sampler, max_length=max_length,
                     start_token=START_ID, end_token=END_ID,
                     return_attention=return_attention)
        if return_attention:
            out, w = out
            weights.append(np.asarray(w))
        ids.append(np.asarray(out))
    ids = np.concatenate(ids) if ids else np.zeros((0, max_length), "int32")
    if return_attention:
        return ids, np.concatenate(weights)
    return ids


def translate(model, sentences, source_vocabulary, target_vocabulary,
              sampler="beam", **kwargs):
    """Translates raw sentences (tokenised, looked up, decoded).

    Returns:
        A list of translated strings.
    """
    tokens = [tokenize(s) for s in sentences]
    width = max(1, max(len(t) for t in tokens))
    x = encode(lookup_layer(source_vocabulary), tokens, width)
    ids = translate_ids(model, x, sampler=sampler, **kwargs)
    return [detokenize(t) for t in ids_to_tokens(ids, target_vocabulary)]


def evaluate(model, data, methods=("greedy", "beam")):
    """sacreBLEU and chrF on the test pairs for each decoding method."""
    scores = {}
    for method in methods:
        start = time.time()
        ids = translate_ids(model, data.x_test, sampler=method)
        hyps = [detokenize(t) for t in ids_to_tokens(ids, data.target_vocabulary)]
        scores[method] = corpus_scores(hyps, data.test_references)
        scores[method]["seconds"] = round(time.time() - start, 1)
        scores[method]["examples"] = [
            [data.test_sources[i], hyps[i], data.test_references[i]]
            for i in range(min(5, len(hyps)))
        ]
    return scores


def unigram_accuracy(data):
    """Validation next-token accuracy of always predicting the most frequent
    training target token (`[END]` included, padding excluded): the floor a
    trained model's `val_accuracy` must clear.

    Example:

    >>> d = TranslationData([], [], None, None, np.array([[4, 4, 3, 0]]), None,
    ...                     None, np.array([[4, 5, 3, 0]]), [], [], None, 3)
    >>> unigram_accuracy(d)
    0.3333
    """
    train = data.y_out_train[data.y_out_train > 0]
    val = data.y_out_validation[data.y_out_validation > 0]
    if not len(train) or not len(val):
        return 0.0
    top = np.bincount(train).argmax()
    return round(float(np.mean(val == top)), 4)


def copy_baseline(data):
    """Scores of copying the source sentence as its own translation."""
    return corpus_scores(data.test_sources, data.test_references)


def save_vocabularies(path, data, reverse=False):
    """Writes both vocabularies (and the direction) as JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"source": data.source_vocabulary,
                   "target": data.target_vocabulary,
                   "reverse": bool(reverse)}, f, ensure_ascii=False)
    return path


def load_vocabularies(path):
    """Reads `save_vocabularies`' file: `(source, target, reverse)`."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data["source"], data["target"], data["reverse"]
