"""The probe: one compiled forward and backward pass on the fixed probe batch, per-layer signals out.

What the rows mean under the remedies (lab.training.models):
- Rows are the main Dense layers only. A skip's projection kernel and the normalisation layers' gamma
  and beta are trained but are not rows.
- preact_grad_rms is measured at z = Dense(h), the Dense layer's own output. With a 'before'
  normalisation that signal has passed back through the normalisation; with skips, the signal reaching
  a block's output is the sum of the path through the blocks above and the skip path, so layer k's
  signal includes what the skip carried around the blocks in between.
- preactivations (histograms, saturated_fraction) are the activation's input: z after a 'before'
  normalisation. activations (dead_fraction, activation_mean/std) are the activation's output,
  before an 'after' normalisation and before a skip is added: a dead unit is one whose own output is 0.
- Batch normalisation runs in training mode, on the probe batch's own statistics, as the optimizer
  sees it; its moving averages are put back afterwards (the probe measures, it never trains). Batch
  statistics couple the samples, so the row i of the signal is d(sum_j loss_j)/dz_i, which includes
  every sample's dependence on sample i through the batch mean and variance; without batch
  normalisation it is exactly the per-sample d loss_i / d z_i.
- The gradients are the raw ones: training.clip_norm / clip_value clip only what the optimizer applies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.training.models import Network, forward
from lab.training.runtime import import_tensorflow
from lab.training.steps import per_sample_loss


@dataclass(frozen=True)
class ProbeReading:
    """Raw per-layer numbers of one probe pass (layer 1 first, the output layer last)."""

    loss: float
    kernel_grad_norms: np.ndarray  # Frobenius norm of dLoss/dKernel, loss = mean over the batch
    bias_grad_norms: np.ndarray  # L2 norm of dLoss/dBias
    preact_grad_rms: np.ndarray  # sqrt(mean_i ||d loss_i / d z_i||^2) (with batch norm: d(sum_j loss_j) / d z_i)
    kernels: tuple  # kernel values (numpy), for weight norms and update ratios
    preactivations: tuple  # each layer's activation input on the probe batch (the logits for the output layer)
    activations: tuple  # hidden layers' activation outputs on the probe batch (depth entries)
    # Recurrent networks (lab.training.recurrent_probes) only: per hidden layer the saturated share when it is
    # measured in the graph (gated cells), and the timesteps frame's arrays; None for the MLP.
    saturated_fractions: np.ndarray | None = None
    timesteps: dict | None = None


def frobenius_norm(tensor):
    """tf.norm(tensor) (Frobenius/L2 over every element) with the ops it makes, minus its Python wrapping.

    The same Mul, Sum over every axis and Sqrt (so the same float32 number), without tf.norm's name scope, conj and
    keepdims/squeeze: at 2(depth + 1) norms a probe, that wrapping was about half of their tracing time.
    """
    tf = import_tensorflow()
    return tf.sqrt(tf.reduce_sum(tensor * tensor))


def make_probe(network: Network, num_features: int, binary: bool):
    """A compiled function probe(x, y) -> ProbeReading for this network."""
    tf = import_tensorflow()
    kernels = [layer.kernel for layer in network.dense_layers]
    biases = [layer.bias for layer in network.dense_layers]
    signature = [tf.TensorSpec([None, num_features], tf.float32), tf.TensorSpec([None], tf.int32)]

    # Batch normalisation updates its moving averages when run in training mode: saved and put back.
    moving = [variable for layer in network.blocks.normalizations for variable in layer.non_trainable_variables]

    @tf.function(input_signature=signature, autograph=False)  # plain Python loops over layers: nothing to convert
    def probe(inputs, labels):
        saved = [tf.identity(variable) for variable in moving]
        with tf.GradientTape() as tape:
            # The model's own forward, keeping each z on the tape; training mode only matters for batch norm.
            trace = forward(network.blocks, inputs, training=True)
            measured_at = [*trace.dense_outputs, trace.logits]
            # Summed loss: its gradient at z row i is d(sum_j loss_j) / d z_i, which is the per-sample signal
            # d loss_i / d z_i unless batch normalisation couples the samples (see the module docstring).
            # Kernel gradients are divided by N below to be those of the mean loss, as in training.
            losses = per_sample_loss(trace.logits, labels, binary)
            total = tf.reduce_sum(losses)
        count = tf.cast(tf.shape(inputs)[0], tf.float32)
        gradients = tape.gradient(
            total, [kernels, biases, measured_at], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        for variable, value in zip(moving, saved):
            variable.assign(value)
        kernel_grads, bias_grads, preact_grads = gradients
        kernel_norms = tf.stack([frobenius_norm(grad / count) for grad in kernel_grads])
        bias_norms = tf.stack([frobenius_norm(grad / count) for grad in bias_grads])
        preact_rms = tf.stack(
            [tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=1))) for grad in preact_grads]
        )
        kernel_values = [tf.identity(kernel) for kernel in kernels]  # values now, not variable handles
        preactivations = [*trace.activation_inputs, trace.logits]
        return total / count, kernel_norms, bias_norms, preact_rms, kernel_values, preactivations, trace.activation_outputs

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

    read.function = probe  # for lab.training.run.release_components and lab.training.seed_batch
    return read
