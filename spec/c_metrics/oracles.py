"""Independent references for the section-C tests: numpy in float64 and scikit-learn."""

import warnings

import keras
import numpy as np
from sklearn.metrics import balanced_accuracy_score


def rmse(y_true, y_pred, sample_weight=None):
    """sqrt(sum_i w_i * mean_i((y - p)^2) / sum_i w_i) in float64, one value per sample first (as Keras)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    per_sample = ((y_true - y_pred) ** 2).reshape(len(y_true), -1).mean(axis=1)
    weight = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.sum(weight * per_sample) / np.sum(weight)))


def balanced_accuracy(labels, scores, sample_weight=None):
    """scikit-learn's balanced accuracy of the arg-max of `scores` (classes never seen in labels drop out)."""
    predicted = np.argmax(np.asarray(scores), axis=-1)
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": scikit-learn drops those classes, as documented.
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(np.asarray(labels).reshape(-1), predicted, sample_weight=sample_weight))


def regressor(input_dim=4, units=16, seed=7):
    """A small regression net with seeded initial weights."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input(shape=(input_dim,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)]
    )


def classifier(input_dim=4, units=16, num_classes=3, seed=7):
    """A small softmax classifier with seeded initial weights."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


class RecordBatchPredictions(keras.callbacks.Callback):
    """Records, for each training batch of the latest epoch, the predictions of the weights the step starts from.

    With `shuffle=False`, batch b is rows [b * batch_size, (b + 1) * batch_size) (split between the replicas
    under a distribution strategy), so a metric's state after `fit` can be recomputed from these.
    """

    def __init__(self, x, batch_size, *, training=False):
        super().__init__()
        self.x, self.batch_size, self.training = x, batch_size, training

    def on_epoch_begin(self, epoch, logs=None):
        self.predictions = []

    def on_train_batch_begin(self, batch, logs=None):
        rows = self.x[batch * self.batch_size : (batch + 1) * self.batch_size]
        self.predictions.append(keras.ops.convert_to_numpy(self.model(rows, training=self.training)))
