import os

import keras
import keras_tuner
import numpy as np
import pytest

import rnnzoo
from rnnzoo.training import tuning

CASES = [
    (tuning.HyperSequenceClassifier, dict(vocabulary_size=30, num_classes=3), (2, 3)),
    (tuning.HyperSequenceTagger, dict(vocabulary_size=30, num_classes=4), (2, 5, 4)),
    (tuning.HyperSeq2Seq, dict(source_vocabulary_size=30, target_vocabulary_size=25),
     (2, 5, 25)),
    (tuning.HyperLanguageModel, dict(vocabulary_size=30), (2, 5, 30)),
    (tuning.HyperForecaster, dict(sequence_length=6, num_features=2, horizon=3), (2, 3, 1)),
    (tuning.HyperSequenceGenerator, dict(vocabulary_size=30, num_features=8), (2, 5, 30)),
]


def _inputs(model):
    rng = np.random.default_rng(0)
    xs = []
    for t in model.inputs:
        shape = [2] + [d or 5 for d in t.shape[1:]]
        xs.append(rng.integers(1, 25, shape).astype("int32") if "int" in str(t.dtype)
                  else rng.standard_normal(shape).astype("float32"))
    return xs[0] if len(xs) == 1 else xs


@pytest.mark.multi_backend
@pytest.mark.parametrize("cls,data_kwargs,out_shape", CASES, ids=[c[0].__name__ for c in CASES])
def test_defaults_overrides_and_depth(cls, data_kwargs, out_shape):
    # Defaults: the searched arguments and the learning rate are tunable.
    hm = cls(**data_kwargs)
    hp = keras_tuner.HyperParameters()
    hm.build(hp)
    names = {p.name for p in hp.space}
    assert {"cell", "units_0", "learning_rate"} <= names
    assert set(hm.searched) - {"units", "num_layers"} <= names
    # Overrides: a scalar fixes, a list narrows; every depth stacks right.
    for depth in (1, 3):
        hm = cls(**data_kwargs, cell="gru", units=[6, 8], num_layers=depth, dropout=0.0,
                 learning_rate=3e-3)
        hp = keras_tuner.HyperParameters()
        model = hm.build(hp)
        assert "cell" not in hp.values and hp.values["learning_rate"] == 3e-3
        units = [hp.values[k] for k in sorted(hp.values) if k.startswith("units")]
        assert len(units) == depth and set(units) <= {6, 8}
        assert model(_inputs(model)).shape == out_shape
        rnns = [l for l in model.layers if isinstance(l, keras.layers.GRU)
                or isinstance(getattr(l, "forward_layer", None), keras.layers.GRU)]
        assert len(rnns) >= depth
        assert keras.backend.standardize_dtype(model.optimizer.learning_rate.dtype) == "float32"
        np.testing.assert_allclose(float(model.optimizer.learning_rate), 3e-3, rtol=1e-6)


@pytest.mark.multi_backend
def test_bad_arguments():
    with pytest.raises(ValueError, match=r"`units_per_layer` is not an argument.*Received"):
        tuning.HyperSequenceClassifier(vocabulary_size=9, num_classes=2, units_per_layer=3)
    with pytest.raises(ValueError, match=r"cell.*Received: cell=\[\]"):
        tuning.HyperForecaster(sequence_length=4, cell=[])
    for lr in (0, (1e-2, 1e-4), [], "fast"):
        with pytest.raises(ValueError, match="Received: learning_rate="):
            tuning.HyperLanguageModel(vocabulary_size=9, learning_rate=lr)
    with pytest.raises(ValueError, match="Received: tuner='grid'"):
        tuning.make_tuner(tuning.HyperLanguageModel(vocabulary_size=9), "grid")
    with pytest.raises(ValueError, match="max_trials"):
        tuning.make_tuner(tuning.HyperLanguageModel(vocabulary_size=9), max_trials=0)
    with pytest.raises(ValueError, match="Received: builder='cnn'"):
        tuning.hypermodel_for("cnn")
    # The builders' own checks still apply to fixed values.
    with pytest.raises(ValueError, match="cell='lstn'"):
        tuning.HyperSeq2Seq(source_vocabulary_size=9, target_vocabulary_size=9,
                            cell="lstn").build(keras_tuner.HyperParameters())


def _names_subset(n=600, length=10):
    from rnnzoo.data.datasets import load_names
    from rnnzoo.data.datasets._testing import shared_data_dir

    data = load_names(data_dir=shared_data_dir("names") / "names")  # or skip
    rng = np.random.default_rng(0)

    def take(split, k):
        idx = rng.choice(len(split.x), k, replace=False)
        return [split.x[i] for i in idx], split.y[idx]

    (xt, yt), (xv, yv) = take(data.train, n), take(data.validation, n // 4)
    chars = sorted({c for name in xt + xv for c in name})
    index = {c: i + 1 for i, c in enumerate(chars)}

    def encode(names):
        out = np.zeros((len(names), length), "int32")
        for r, name in enumerate(names):
            ids = [index[c] for c in name][:length]
            out[r, :len(ids)] = ids
        return out

    return encode(xt), yt, encode(xv), yv, len(chars) + 1, data.num_classes


def test_random_search_on_names_and_best_model_reloads(tmp_path):
    # TensorFlow pass only: the search loop is keras-tuner's, the same on every
    # backend; the HyperModels build and train on JAX in the tests above.
    x, y, xv, yv, vocabulary_size, num_classes = _names_subset()
    hm = tuning.HyperSequenceClassifier(
        vocabulary_size=vocabulary_size, num_classes=num_classes, embedding_dim=16,
        units=[16, 32], num_layers=[1, 2], bidirectional=False, pooling=["last", "max"],
        learning_rate=[3e-3, 1e-2],
    )
    model, rows = tuning.run_search(
        hm, x, y, validation_data=(xv, yv), max_trials=2, epochs=2, batch_size=64,
        output_dir=str(tmp_path), objective="val_accuracy",
    )
    print(tuning.format_table(rows))
    assert len(rows) == 2 and all(r["status"] == "COMPLETED" for r in rows)
    assert rows[0]["score"] >= rows[1]["score"]
    # Better than the majority class on held-out names.
    majority = np.bincount(yv, minlength=num_classes).max() / len(yv)
    accuracy = float(np.mean(np.argmax(model.predict(xv, verbose=0), -1) == yv))
    assert accuracy == pytest.approx(rows[0]["score"], abs=1e-6)
    assert accuracy > majority + 0.05, (accuracy, majority)
    for name in ("trials.tsv", "trials.json", "best.keras"):
        assert os.path.exists(tmp_path / name)
    header = open(tmp_path / "trials.tsv").readline().strip().split("\t")
    assert {"trial", "score", "units_0", "learning_rate"} <= set(header)
    reloaded = rnnzoo.load_model(str(tmp_path / "best.keras"))
    np.testing.assert_allclose(
        reloaded.predict(xv[:16], verbose=0), model.predict(xv[:16], verbose=0), atol=1e-6
    )
