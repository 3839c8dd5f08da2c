"""The probe: one compiled forward and backward pass on the fixed probe batch, per-layer signals out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.models import Network
from lab.tf_runtime import import_tensorflow
from lab.training import per_sample_loss


@dataclass(frozen=True)
class ProbeReading:
    """Raw per-layer numbers of one probe pass (layer 1 first, the output layer last)."""

    loss: float
    kernel_grad_norms: np.ndarray  # Frobenius norm of dLoss/dKernel, loss = mean over the batch
    bias_grad_norms: np.ndarray  # L2 norm of dLoss/dBias
    preact_grad_rms: np.ndarray  # sqrt(mean_i ||d loss_i / d z||^2)
    kernels: tuple  # kernel values (numpy), for weight norms and update ratios
    preactivations: tuple  # z of each layer on the probe batch (the logits for the output layer)
    activations: tuple  # hidden layers' outputs on the probe batch (depth entries)


def make_probe(network: Network, num_features: int, binary: bool):
    """A compiled function probe(x, y) -> ProbeReading for this network."""
    tf = import_tensorflow()
    kernels = [layer.kernel for layer in network.dense_layers]
    biases = [layer.bias for layer in network.dense_layers]
    signature = [tf.TensorSpec([None, num_features], tf.float32), tf.TensorSpec([None], tf.int32)]

    @tf.function(input_signature=signature)
    def probe(inputs, labels):
        with tf.GradientTape() as tape:
            preactivations, activations = [], []
            tensor = inputs
            # Layer by layer (the same layers the model calls) so the tape holds each z.
            for dense, activation in zip(network.hidden_dense, network.hidden_activation):
                z = dense(tensor)
                tensor = activation(z)
                preactivations.append(z)
                activations.append(tensor)
            logits = network.output_dense(tensor)
            preactivations.append(logits)
            # Summed loss: its gradient at z row i is exactly d loss_i / d z_i, the per-sample signal
            # (the model has no layer that mixes samples). Kernel gradients are divided by N below to
            # be those of the mean loss, as in training.
            losses = per_sample_loss(logits, labels, binary)
            total = tf.reduce_sum(losses)
        count = tf.cast(tf.shape(inputs)[0], tf.float32)
        gradients = tape.gradient(
            total, [kernels, biases, preactivations], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        kernel_grads, bias_grads, preact_grads = gradients
        kernel_norms = tf.stack([tf.norm(grad / count) for grad in kernel_grads])
        bias_norms = tf.stack([tf.norm(grad / count) for grad in bias_grads])
        preact_rms = tf.stack(
            [tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=1))) for grad in preact_grads]
        )
        kernel_values = [tf.identity(kernel) for kernel in kernels]  # values now, not variable handles
        return total / count, kernel_norms, bias_norms, preact_rms, kernel_values, preactivations, activations

    def read(inputs: np.ndarray, labels: np.ndarray) -> ProbeReading:
        loss, kernel_norms, bias_norms, preact_rms, kernel_values, zs, acts = probe(inputs, labels)
        return ProbeReading(
            loss=float(loss),
            kernel_grad_norms=kernel_norms.numpy().astype(np.float64),
            bias_grad_norms=bias_norms.numpy().astype(np.float64),
            preact_grad_rms=preact_rms.numpy().astype(np.float64),
            kernels=tuple(value.numpy() for value in kernel_values),
            preactivations=tuple(value.numpy() for value in zs),
            activations=tuple(value.numpy() for value in acts),
        )

    return read
