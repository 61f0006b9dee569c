"""Small GENERATED corpora in the real datasets' file formats, for the tasks' tests.

Each writer puts a tiny synthetic dataset where the dataset's loader looks
for it (`<folder>/<dataset>/...`), so a task runs end to end on it with
`Config(data_dir=folder)`, on a clean clone without the shared real data.
The data are generated from a seed and learnable by construction (each
writer says how), so a trained model must beat its trivial baseline.
"""

import os

import numpy as np

_LETTERS = "bcdfghklmnprstvz"
_VOWELS = "aeiou"


def _stem(rng, length):
    return "".join(rng.choice(list(_LETTERS if i % 2 == 0 else _VOWELS)) for i in range(length))


def write_names(folder, *, per_language=30, seed=0):
    """Writes generated surnames as `<folder>/names/<Language>.txt` (the 18 languages).

    Each language's names end in a suffix of its own after a random stem,
    so the language is learnable from the characters; English has three
    times as many names as each other language (the majority class).

    Args:
        folder: the parent folder (created if needed).
        per_language: names of each language but English.
        seed: the generator's seed.

    Returns:
        `folder`, to pass as `data_dir`.

    Example:

    >>> import tempfile
    >>> from rnnzoo.data.datasets import load_names
    >>> data = load_names(data_dir=write_names(tempfile.mkdtemp()))
    >>> data.num_classes, len(data.train) > 400
    (18, True)
    """
    from rnnzoo.data.datasets.names import LANGUAGES

    rng = np.random.default_rng(seed)
    target = os.path.join(folder, "names")
    os.makedirs(target, exist_ok=True)
    for index, language in enumerate(LANGUAGES):
        suffix = _VOWELS[index % 5] + _LETTERS[index % 16] + _VOWELS[(index // 5) % 5]
        count = per_language * (3 if language == "English" else 1)
        names = {(_stem(rng, int(rng.integers(3, 6))) + suffix).capitalize()
                 for _ in range(count)}
        with open(os.path.join(target, f"{language}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(sorted(names)) + "\n")
    return folder


_POSITIVE = ("good", "great", "superb", "witty", "gorgeous", "moving", "fine", "lovely")
_NEGATIVE = ("bad", "dull", "tedious", "awful", "boring", "messy", "poor", "lifeless")
_NEUTRAL = ("the", "film", "a", "movie", "plot", "cast", "story", "is", "was", "and",
            "very", "quite", "its", "this", "script", "ending")


def write_sst2(folder, *, train_rows=900, dev_rows=160, seed=0):
    """Writes generated labelled sentences as `<folder>/sst2/train.tsv` and `dev.tsv`.

    Each sentence mixes neutral words with one to three words of its
    label's polarity (positive: "good", "witty", ...; negative: "dull",
    ...), so the label is learnable from the words; about 58% of the rows
    are positive (the majority class).

    Args:
        folder: the parent folder (created if needed).
        train_rows, dev_rows: the rows of each file.
        seed: the generator's seed.

    Returns:
        `folder`, to pass as `data_dir`.

    Example:

    >>> import tempfile
    >>> from rnnzoo.data.datasets import load_sst2
    >>> data = load_sst2(data_dir=write_sst2(tempfile.mkdtemp()))
    >>> len(data.test), sorted(set(data.train.y.tolist()))
    (160, [0, 1])
    """
    rng = np.random.default_rng(seed)
    target = os.path.join(folder, "sst2")
    os.makedirs(target, exist_ok=True)

    def sentence(label):
        words = list(rng.choice(_NEUTRAL, int(rng.integers(3, 8))))
        polar = _POSITIVE if label else _NEGATIVE
        for word in rng.choice(polar, int(rng.integers(1, 4))):
            words.insert(int(rng.integers(0, len(words) + 1)), word)
        return " ".join(words)

    for name, rows in (("train.tsv", train_rows), ("dev.tsv", dev_rows)):
        labels = (rng.random(rows) < 0.58).astype(int)
        lines = ["label\tsentence"] + [f"{y}\t{sentence(y)}" for y in labels]
        with open(os.path.join(target, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return folder


_PHRASES = ("the time traveller", "said the psychologist", "in the machine",
            "we looked at the lamp", "and then he smiled", "the future was dark",
            "my hands were cold", "it was a strange night")


def write_time_machine(folder, *, characters=40000, seed=0):
    """Writes a generated book as `<folder>/timemachine/timemachine.txt`.

    The text strings together eight fixed phrases in random order, so a
    character model learns far more than the character frequencies (its
    perplexity falls well below the unigram model's).

    Args:
        folder: the parent folder (created if needed).
        characters: about how many characters to write.
        seed: the generator's seed.

    Returns:
        `folder`, to pass as `data_dir`.

    Example:

    >>> import tempfile
    >>> from rnnzoo.data.datasets import load_time_machine
    >>> corpus = load_time_machine(data_dir=write_time_machine(tempfile.mkdtemp()))
    >>> corpus.train[:4] in [p[:4] for p in _PHRASES], " " in corpus.vocabulary
    (True, True)
    """
    rng = np.random.default_rng(seed)
    target = os.path.join(folder, "timemachine")
    os.makedirs(target, exist_ok=True)
    parts, length = [], 0
    while length < characters:
        phrase = _PHRASES[int(rng.integers(len(_PHRASES)))]
        parts.append(phrase)
        length += len(phrase) + 1
    with open(os.path.join(target, "timemachine.txt"), "w", encoding="utf-8") as f:
        f.write(" ".join(parts) + "\n")
    return folder
