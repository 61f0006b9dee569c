"""A Functional model ending in a CRF: trained on the CRF's likelihood, predicting Viterbi tags."""

import keras
from keras import ops

from rnnzoo.layers.crf import CRF


@keras.saving.register_keras_serializable(package="rnnzoo")
class CRFModel(keras.Model):
    """A Functional model whose output is a `rnnzoo.layers.CRF` layer's potentials.

    Built like any Functional model (`CRFModel(inputs, outputs, name=...)`;
    `rnnzoo.sequence_tagger(crf=True)` builds one). Its first input is the
    `(batch, time)` token ids, 0 on padded steps; that padding is the CRF's
    mask. What differs from a plain Functional model:

    - the training loss (`compute_loss`) is the CRF's negative
      log-likelihood of the target tags, summed over the batch's sentences
      and divided by its real tokens (comparable to a per-token
      cross-entropy); `compile(loss=None)` is enough;
    - `predict` returns the Viterbi tags `(batch, time)` (int32, 0 on
      padded steps); calling the model returns the potentials;
    - compiled, it reports `accuracy`: the Viterbi tags' accuracy over real
      tokens (`val_accuracy` on validation data, e.g. to pick the epoch).

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = rnnzoo.sequence_tagger(vocabulary_size=20, num_classes=4, units=8,
    ...                                crf=True)
    >>> _ = model.compile(optimizer="adam")
    >>> ids = np.array([[3, 4, 5, 0]])
    >>> model.fit(ids, np.array([[1, 2, 3, 0]]), verbose=0).history["loss"][0] > 0
    True
    >>> model.predict(ids, verbose=0).shape
    (1, 4)
    """

    def crf_layer(self):
        """The model's `CRF` layer (the last one)."""
        layers = [layer for layer in self.layers if isinstance(layer, CRF)]
        if not layers:
            raise ValueError(f"Expected a model ending in an rnnzoo CRF layer. Received: model "
                             f"{self.name!r} without one")
        return layers[-1]

    def token_mask(self, x):
        """`ids != 0` of the first input: the real steps."""
        ids = x
        while isinstance(ids, (list, tuple)):
            ids = ids[0]
        if isinstance(ids, dict):
            ids = next(iter(ids.values()))
        return ops.not_equal(ids, 0)

    def compile(self, *args, **kwargs):
        if not hasattr(self, "tag_accuracy"):
            # keras.metrics.Accuracy: its direction ("up") is what early
            # stopping and best-epoch checkpoints read.
            self.tag_accuracy = keras.metrics.Accuracy(name="accuracy")
        super().compile(*args, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mask = self.token_mask(x)
        crf = self.crf_layer()
        log_likelihood = crf.log_likelihood(y_pred, y, mask)
        if getattr(self, "tag_accuracy", None) is not None:
            # Updated here, where the CRF's weights are at hand on every
            # backend (JAX maps only the metrics' own variables in
            # `compute_metrics`); Keras reports and resets it with the rest.
            tags, _ = crf.decode(ops.stop_gradient(y_pred), mask)
            self.tag_accuracy.update_state(ops.cast(y, "int32"), tags,
                                           sample_weight=ops.cast(mask, "float32"))
        if sample_weight is not None:
            log_likelihood = log_likelihood * ops.cast(ops.reshape(sample_weight, (-1,)),
                                                       "float32")
        tokens = ops.maximum(ops.sum(ops.cast(mask, "float32")), 1.0)
        loss = -ops.sum(log_likelihood) / tokens
        for extra in self.losses:  # regularisers and other added losses
            loss = loss + ops.cast(extra, "float32")
        return loss

    def predict_step(self, *args):
        if keras.backend.backend() == "jax":  # (state, data): stateless
            state, data = args
            potentials, non_trainable = super().predict_step(state, data)
            x = keras.utils.unpack_x_y_sample_weight(data)[0]
            mapping = list(zip(self.trainable_variables, state[0]))
            with keras.StatelessScope(state_mapping=mapping):
                tags, _ = self.crf_layer().decode(potentials, self.token_mask(x))
            return tags, non_trainable
        (data,) = args
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self.crf_layer().decode(super().predict_step(data), self.token_mask(x))[0]
