"""compile_for: the loss, metrics, clipping and label smoothing it picks per model."""

import keras
import numpy as np
import pytest

import rnnzoo


def test_compile_for_picks_loss_metrics_and_clipping():
    clf = rnnzoo.compile_for(rnnzoo.sequence_classifier(vocabulary_size=9, num_classes="binary"))
    assert type(clf.loss).__name__ == "BinaryCrossentropy"
    assert clf.optimizer.inner_optimizer.clipnorm == 1.0  # inside the non-finite step guard
    lm = rnnzoo.compile_for(rnnzoo.language_model(vocabulary_size=9, units=4))
    fc = rnnzoo.compile_for(rnnzoo.forecaster(sequence_length=4), learning_rate=0.01)
    assert type(fc.loss).__name__ == "MeanSquaredError"
    assert float(keras.ops.convert_to_numpy(fc.optimizer.learning_rate)) == pytest.approx(0.01)
    logs = lm.evaluate(np.array([[1, 2, 3, 0]]), np.array([[2, 3, 4, 0]]), verbose=0,
                       return_dict=True)
    # Perplexity is exp(masked mean cross-entropy): equal to exp(loss) here.
    assert logs["perplexity"] == pytest.approx(np.exp(logs["loss"]), rel=1e-5)
    with pytest.raises(ValueError, match="task='ranking'"):
        rnnzoo.compile_for(clf, task="ranking")


def _evaluate(model, x, y):
    return model.evaluate(x, y, verbose=0, return_dict=True)


def _loss(model, x, y):
    return float(_evaluate(model, x, y)["loss"])


@pytest.mark.multi_backend
def test_multiclass_label_smoothing_is_the_smoothed_cross_entropy():
    model = rnnzoo.dense_baseline(num_features=3, num_classes=4, units=4)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    labels = np.arange(16) % 4
    p = np.clip(model.predict(x, verbose=0), 1e-7, 1.0)
    one_hot = np.eye(4)[labels]
    smoothed = one_hot * 0.8 + 0.2 / 4
    rnnzoo.compile_for(model, label_smoothing=0.2)
    assert type(model.loss).__name__ == "CategoricalCrossentropy"
    assert _loss(model, x, one_hot) == pytest.approx(
        float(np.mean(-(smoothed * np.log(p)).sum(-1))), rel=1e-4)
    assert _evaluate(model, x, one_hot)["accuracy"] == pytest.approx(
        float(np.mean(p.argmax(-1) == labels)))
    # Without smoothing the labels stay sparse.
    rnnzoo.compile_for(model)
    assert _loss(model, x, labels) == pytest.approx(
        float(np.mean(-np.log(p[np.arange(16), labels]))), rel=1e-4)


@pytest.mark.multi_backend
def test_binary_label_smoothing_moves_targets_towards_one_half():
    model = rnnzoo.dense_baseline(num_features=2, num_classes="binary", units=4)
    x = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    y = (np.arange(8) % 2).astype("float32")
    p = np.clip(model.predict(x, verbose=0)[:, 0], 1e-7, 1 - 1e-7)
    rnnzoo.compile_for(model, label_smoothing=0.1)
    target = y * 0.9 + 0.05
    expected = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert _loss(model, x, y) == pytest.approx(float(expected), rel=1e-4)


@pytest.mark.multi_backend
def test_label_smoothing_errors_name_the_argument():
    model = rnnzoo.dense_baseline(num_features=2, num_outputs=1)
    with pytest.raises(ValueError, match=r"Received: label_smoothing=0.1 for task='regression'"):
        rnnzoo.compile_for(model, label_smoothing=0.1)
    classifier = rnnzoo.dense_baseline(num_features=2, num_classes=3)
    for bad in (1.0, -0.1, "0.1"):
        with pytest.raises(ValueError, match="Received: label_smoothing="):
            rnnzoo.compile_for(classifier, label_smoothing=bad)


def test_compile_for_picks_the_probabilistic_forecasters_losses():
    from rnnzoo.losses import DistributionNLL
    from rnnzoo.losses import PinballLoss

    model = rnnzoo.forecaster(sequence_length=5, horizon=2, quantiles=(0.2, 0.5, 0.8))
    rnnzoo.compile_for(model)
    assert isinstance(model.loss, PinballLoss) and model.loss.quantiles == (0.2, 0.5, 0.8)
    model = rnnzoo.forecaster(sequence_length=5, horizon=2, distribution="student_t")
    rnnzoo.compile_for(model, task="distribution")
    assert isinstance(model.loss, DistributionNLL) and model.loss.distribution == "student_t"
    with pytest.raises(ValueError, match="MonotoneQuantiles head.*Received: model="):
        rnnzoo.compile_for(rnnzoo.forecaster(sequence_length=5), task="quantile")
