"""Compiled (tf.function) train, evaluation and prediction steps; the loss always from logits."""
from __future__ import annotations

from lab.config import TrainingConfig
from lab.models import Network
from lab.tf_runtime import import_tensorflow


def per_sample_loss(logits, labels, binary: bool):
    """Cross-entropy per sample computed from logits (never from clipped probabilities).

    Cross-entropy on clipped probabilities has zero gradient once the output saturates: a fake
    vanishing gradient. The logit forms below are exact and stable.
    """
    tf = import_tensorflow()
    if binary:
        targets = tf.cast(tf.reshape(labels, (-1, 1)), logits.dtype)
        return tf.reshape(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), (-1,))
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def correct_predictions(logits, labels, binary: bool):
    """How many samples the logits classify correctly (a float32 count)."""
    tf = import_tensorflow()
    if binary:
        predicted = tf.cast(tf.reshape(logits, (-1,)) > 0, labels.dtype)
    else:
        predicted = tf.cast(tf.argmax(logits, axis=1), labels.dtype)
    return tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32))


def make_optimizer(training: TrainingConfig):
    """The Keras optimizer the config names: plain SGD, SGD with momentum, Adam or RMSprop."""
    import_tensorflow()
    import keras

    rate = training.learning_rate
    if training.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate)
    if training.optimizer == "momentum":
        return keras.optimizers.SGD(learning_rate=rate, momentum=training.momentum)
    if training.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    return keras.optimizers.RMSprop(learning_rate=rate)


class CompiledSteps:
    """The tf.functions of one run: training step, evaluation, and class probabilities."""

    def __init__(self, network: Network, training: TrainingConfig, num_features: int, binary: bool):
        tf = import_tensorflow()
        self.network, self.binary = network, binary
        self.optimizer = make_optimizer(training)
        self.variables = network.model.trainable_variables
        signature = [tf.TensorSpec([None, num_features], tf.float32), tf.TensorSpec([None], tf.int32)]
        # A fixed signature with a free batch size: the last, smaller batch reuses the same graph.
        self.train_step = tf.function(self._train_step, input_signature=signature)
        self.evaluate = tf.function(self._evaluate, input_signature=signature)
        self.probabilities = tf.function(self._probabilities, input_signature=signature[:1])

    def _train_step(self, inputs, labels):
        """One optimizer update; returns (summed loss, correct count) of the batch before the update."""
        tf = import_tensorflow()
        with tf.GradientTape() as tape:
            logits = self.network.model(inputs, training=True)
            losses = per_sample_loss(logits, labels, self.binary)
            loss = tf.reduce_mean(losses)
        gradients = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(gradients, self.variables))
        return tf.reduce_sum(losses), correct_predictions(logits, labels, self.binary)

    def _evaluate(self, inputs, labels):
        """(summed loss, correct count) on a set, without updating."""
        tf = import_tensorflow()
        logits = self.network.model(inputs, training=False)
        return tf.reduce_sum(per_sample_loss(logits, labels, self.binary)), correct_predictions(logits, labels, self.binary)

    def _probabilities(self, inputs):
        """Class probabilities for display: sigmoid or softmax of the logits."""
        tf = import_tensorflow()
        logits = self.network.model(inputs, training=False)
        if self.binary:
            positive = tf.sigmoid(logits)
            return tf.concat([1.0 - positive, positive], axis=1)
        return tf.nn.softmax(logits, axis=1)
