"""compile_for: the loss, metrics and clipping it picks per model."""

import keras
import numpy as np
import pytest

import rnnzoo


def test_compile_for_picks_loss_metrics_and_clipping():
    clf = rnnzoo.compile_for(rnnzoo.sequence_classifier(vocabulary_size=9, num_classes="binary"))
    assert type(clf.loss).__name__ == "BinaryCrossentropy"
    assert clf.optimizer.clipnorm == 1.0
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
