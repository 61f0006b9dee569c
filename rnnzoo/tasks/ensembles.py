"""String-input classifier ensembles: train the members, assemble, save, plot.

The names and sentiment tasks both build an ensemble of classifiers over
raw strings: each member is a `(vectorizer, model)` branch (a
`TextVectorization` layer and an id-level classifier), trained with
`fit_classifier` (compiled once by `rnnzoo.compile_for`, trained through the
run's `Runner`: early stopping on validation accuracy, the best epoch
restored, the learning rate cut when the validation loss stalls). An
`Ensemble` collects the members and `Ensemble.save` writes ONE `.keras`
model that takes raw strings and averages the members' probabilities,
without the members' optimizer state.
"""

import numpy as np


def fit_classifier(runner, model, x, y=None, *, validation_data, name, epochs,
                   batch_size=None, learning_rate=1e-3, label_smoothing=0.0, patience=3,
                   optimizer="adam", callbacks=()):
    """Compiles a classifier once and trains it through the runner on validation accuracy.

    The model is compiled by `runner.compile` (`rnnzoo.compile_for`: the
    loss and accuracy of its output, Adam with gradient clipping) and
    trained by `runner.fit` with `monitor="val_accuracy"`: early stopping
    after `patience` epochs without improvement, the best epoch restored
    (over a resumed run too), and the learning rate multiplied by 0.3 when
    the validation loss stalls for two epochs.

    Args:
        runner: the run's started `rnnzoo.training.Runner`.
        model: a classifier (softmax, or one sigmoid unit) built under
            `runner.scope()`.
        x, y: training inputs and integer labels; or a dataset / `PyDataset`
            of `(x, y)` batches with `y=None` (it is then not shuffled by
            `fit`: its own pipeline orders it).
        validation_data: `(x, y)` or a batched dataset.
        name: the member's name, unique within the run (its checkpoints).
        epochs: the most epochs to train.
        batch_size: the global batch size (arrays only).
        learning_rate, optimizer: see `rnnzoo.compile_for`.
        label_smoothing: see `rnnzoo.compile_for`; integer labels of a
            softmax model are one-hot encoded for it here (arrays only).
        patience: epochs without a better validation accuracy before
            stopping.
        callbacks: more Keras callbacks, run after the learning-rate drop.

    Returns:
        The run's `History` (`.history` per metric, `.seconds` per epoch).

    Example:

    >>> import tempfile, numpy as np, rnnzoo
    >>> from rnnzoo.training.runner import Runner
    >>> runner = Runner(tempfile.mkdtemp(), verbose=0)
    >>> runner.start()
    >>> x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int64")
    >>> with runner.scope():
    ...     model = rnnzoo.dense_baseline(num_features=2, num_classes=2, units=8)
    >>> history = fit_classifier(runner, model, x, y, validation_data=(x, y), name="m",
    ...                          epochs=2, batch_size=16, label_smoothing=0.1)
    >>> sorted(history.history)
    ['accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss']
    """
    import keras

    runner.compile(model, learning_rate=learning_rate, label_smoothing=label_smoothing,
                   optimizer=optimizer)
    num_classes = model.outputs[0].shape[-1]
    if label_smoothing and num_classes > 1 and y is not None:
        y = keras.utils.to_categorical(y, num_classes)
        validation_data = (validation_data[0],
                           keras.utils.to_categorical(validation_data[1], num_classes))
    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2),
                 *callbacks]
    kwargs = dict(name=name, monitor="val_accuracy", patience=patience, callbacks=callbacks,
                  validation_data=validation_data, epochs=epochs)
    if y is None:  # batches from a pipeline that orders them itself
        return runner.fit(model, x, shuffle=False, **kwargs)
    return runner.fit(model, x, y, batch_size=batch_size, **kwargs)


def predicted_classes(probabilities):
    """Class ids from probabilities: argmax of a softmax, `p > 0.5` of one sigmoid.

    Example:

    >>> predicted_classes(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist()
    [1, 0]
    >>> predicted_classes(np.array([[0.7], [0.4]])).tolist()
    [1, 0]
    """
    probabilities = np.asarray(probabilities)
    if probabilities.shape[-1] == 1:
        return (probabilities[:, 0] > 0.5).astype("int64")
    return probabilities.argmax(-1)


def drop_training_state(models):
    """Forgets the optimizers of trained models before they are saved for serving.

    A saved model holds the optimizer state of every compiled model inside
    it; for an ensemble of Adam-trained members that is two extra copies of
    every weight (the sentiment ensemble: 584 MB instead of about 200). The
    models must be compiled again to train further.

    Args:
        models: an iterable of trained `keras.Model`s.

    Example:

    >>> import rnnzoo
    >>> model = rnnzoo.compile_for(rnnzoo.dense_baseline(num_features=2, num_outputs=1))
    >>> drop_training_state([model])
    >>> model.optimizer is None, model.compiled
    (True, False)
    """
    for model in models:
        model.optimizer = None
        model.compiled = False


class Ensemble:
    """The trained members of a string-input classifier ensemble.

    Args:
        name: the saved model's name (and its input's prefix).

    Attributes:
        branches: the `(vectorizer, model)` pairs, in the order added.
        histories: member key -> its training `History`.
        test_accuracy: member key -> its accuracy on the test labels.

    Example:

    >>> import numpy as np, rnnzoo
    >>> from rnnzoo.data import text
    >>> layer = text.text_vectorizer(["a", "b"], split="character")
    >>> member = rnnzoo.sequence_classifier(vocabulary_size=4, num_classes=2, units=4)
    >>> ensemble = Ensemble("demo")
    >>> ensemble.add("rnn_1", layer, member, {"loss": [1.0]},
    ...              test=(np.array([[2, 3]]), np.array([1])))
    >>> ensemble.string_model()(np.array(["ab"])).shape
    TensorShape([1, 2])
    """

    def __init__(self, name):
        self.name = name
        self.branches = []
        self.histories = {}
        self.test_accuracy = {}

    def add(self, key, vectorizer, model, history, *, test=None):
        """Adds a trained member.

        Args:
            key: the member's name in the metrics (e.g. `"rnn_1"`).
            vectorizer: the layer turning raw strings into the member's input.
            model: the trained member.
            history: its training history.
            test: `(inputs, labels)` to score it on, the inputs vectorized
                for it (an array, or a dataset of batches); None: not scored.
        """
        self.branches.append((vectorizer, model))
        self.histories[key] = history
        if test is not None:
            inputs, labels = test
            predicted = predicted_classes(model.predict(inputs, verbose=0))
            self.test_accuracy[key] = float(np.mean(predicted == np.asarray(labels)))

    def string_model(self):
        """One model over raw strings averaging every member's probabilities."""
        from rnnzoo.data import text

        return text.string_model(self.branches, name=self.name)

    def save(self, runner):
        """Saves the ensemble (without the members' optimizer state) to the run's `model.keras`.

        Returns:
            `(model, path)`: the string-input ensemble and where it was saved.
        """
        drop_training_state(model for _, model in self.branches)  # weights only
        model = self.string_model()
        return model, runner.save_model(model)


def classification_plots(runner, history, y_true, y_pred, class_names, *, curves_title,
                         confusion_title):
    """Writes `curves.png` (loss and accuracy) and `confusion_matrix.png`; returns their paths.

    Example:

    >>> import tempfile, numpy as np
    >>> from rnnzoo.training.runner import Runner
    >>> runner = Runner(tempfile.mkdtemp())
    >>> paths = classification_plots(
    ...     runner, {"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, np.array([0, 1]),
    ...     np.array([0, 0]), ["no", "yes"], curves_title="demo", confusion_title="demo")
    >>> [p.rsplit("/", 1)[-1] for p in paths]
    ['curves.png', 'confusion_matrix.png']
    """
    from rnnzoo import plots

    paths = [
        plots.plot_history(history, runner.path("curves.png"), metrics=["loss", "accuracy"],
                           title=curves_title),
        runner.path("confusion_matrix.png"),
    ]
    plots.plot_confusion_matrix(y_true, y_pred, class_names, paths[1], title=confusion_title)
    return paths


def training_subset(x, y, limit, seed):
    """A seeded random subset of `limit` training examples, in file order.

    The tasks' `limit` setting (quick runs and tests); `limit` None or 0
    keeps everything.

    Example:

    >>> x, y = training_subset(np.arange(10), np.arange(10), 3, seed=0)
    >>> len(x), bool((x == y).all())
    (3, True)
    """
    if not limit:
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
    return x[keep], y[keep]
