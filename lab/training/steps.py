"""Compiled (tf.function) train, evaluation and prediction steps; the loss always from logits."""
from __future__ import annotations

from lab.contract.config import TrainingConfig
from lab.training.models import Network  # or a lab.training.recurrent_models.RecurrentNetwork: the same model/loss
from lab.training.runtime import import_tensorflow


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
    """The Keras optimizer the config names: plain SGD, SGD with momentum, Adam or RMSprop, clipping as configured.

    clip_norm is Keras' global_clipnorm: the gradients of all trainable variables are rescaled together
    when their joint L2 norm exceeds it (Pascanu et al. 2013), so their directions are kept; Keras'
    per-variable clipnorm is not used. clip_value is Keras' clipvalue, elementwise. Both None = off.
    The probes measure the gradient before clipping (lab.training.probes).
    """
    import_tensorflow()
    import keras

    options = {"learning_rate": training.learning_rate, "global_clipnorm": training.clip_norm, "clipvalue": training.clip_value}
    if training.optimizer == "sgd":
        return keras.optimizers.SGD(**options)
    if training.optimizer == "momentum":
        return keras.optimizers.SGD(momentum=training.momentum, **options)
    if training.optimizer == "adam":
        return keras.optimizers.Adam(**options)
    return keras.optimizers.RMSprop(**options)


# Shorter record intervals train one update per compiled call (see CompiledSteps).
LOOP_MIN_STEPS = 4


class CompiledSteps:
    """The compiled functions of one run: the training step and the inference forward (evaluation, class probabilities)."""

    def __init__(self, network: Network, training: TrainingConfig, binary: bool):
        tf = import_tensorflow()
        self.network, self.binary = network, binary
        self.optimizer = make_optimizer(training)
        self.variables = network.model.trainable_variables
        # The model's own input shape: (None, features) for the MLP, (None, None, channels) for a recurrent
        # network (a free time axis: one trace serves every sequence length).
        inputs = tf.TensorSpec(tuple(network.model.inputs[0].shape), tf.float32)
        signature = [inputs, tf.TensorSpec([None], tf.int32)]
        # A fixed signature with a free batch size: the last, smaller batch reuses the same graph.
        # train_step(inputs, labels, order, batch_size) runs the updates on the batches of order: with
        # records every few steps, one update per call (a graph loop traces slower than it saves there);
        # otherwise every update up to the next record in one call (one Python call and one device read
        # per chunk instead of per update). Both compute each update exactly as the one-update step does.
        every = training.record_every
        self.steps_per_call = 1 if every != "epoch" and every < LOOP_MIN_STEPS else None
        self.train_step = tf.function(
            self._train_steps if self.steps_per_call is None else self._train_one,
            input_signature=[*signature, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)], autograph=False,
        )
        # One compiled forward serves the validation and the boundary grid; the few ops after the logits run
        # eagerly (the same kernels). Two traced forwards cost 40-170 ms of tracing and graph optimisation a
        # run (depth 5-50), far more than their eager tails at 11 calls a run.
        self.logits = tf.function(self._logits, input_signature=signature[:1], autograph=False)

    def reset_optimizer(self) -> None:
        """Give the optimizer a fresh one's state: step count and every slot (momentum, velocity ...) back to 0.

        For a network reused across runs (lab.sweeps.worker): with its weights re-initialised too, the next training
        is bit for bit a fresh build's, on the graphs already traced. Every Keras slot starts at zero; the learning
        rate is the config's and is left as it is.
        """
        import numpy as np

        for variable in self.optimizer.variables:
            if variable.name != "learning_rate":
                variable.assign(np.zeros(variable.shape, variable.dtype))

    def _train_one(self, inputs, labels, order, batch_size):
        """_train_steps for an order of one batch, without the loop."""
        tf = import_tensorflow()
        loss, correct = self._train_step(tf.gather(inputs, order), tf.gather(labels, order))
        return tf.reshape(loss, (1,)), tf.reshape(correct, (1,))

    def _train_steps(self, inputs, labels, order, batch_size):
        """Updates on consecutive batches of the rows order names (the last batch may be smaller).

        Stops after the first update whose loss is not finite. Returns each update's (summed loss,
        correct count), as the one-update step computes them, so the caller sums them in float64 in
        the same order and knows the exact step of a divergence.
        """
        tf = import_tensorflow()
        count = tf.size(order)
        num_steps = (count + batch_size - 1) // batch_size
        empty = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=())

        def not_done(step, finite, losses, corrects):
            return tf.logical_and(step < num_steps, finite)

        def update(step, finite, losses, corrects):
            index = order[step * batch_size:tf.minimum((step + 1) * batch_size, count)]
            loss, correct = self._train_step(tf.gather(inputs, index), tf.gather(labels, index))
            return step + 1, tf.math.is_finite(loss), losses.write(step, loss), corrects.write(step, correct)

        _, _, losses, corrects = tf.while_loop(not_done, update, (tf.constant(0), tf.constant(True), empty, empty))
        return losses.stack(), corrects.stack()

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

    def _logits(self, inputs):
        """The network's logits in inference mode (compiled as self.logits)."""
        return self.network.model(inputs, training=False)

    def evaluate(self, inputs, labels):
        """(summed loss, correct count) on a set, without updating."""
        tf = import_tensorflow()
        logits, labels = self.logits(inputs), tf.constant(labels, tf.int32)
        return tf.reduce_sum(per_sample_loss(logits, labels, self.binary)), correct_predictions(logits, labels, self.binary)

    def probabilities(self, inputs):
        """Class probabilities for display: sigmoid or softmax of the logits."""
        tf = import_tensorflow()
        logits = self.logits(inputs)
        if self.binary:
            positive = tf.sigmoid(logits)
            return tf.concat([1.0 - positive, positive], axis=1)
        return tf.nn.softmax(logits, axis=1)
