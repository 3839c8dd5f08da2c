"""Many seeds of one MLP architecture probed in one compiled call, each number as the seed's run alone gets it.

A sweep's runs at initialisation (`epochs: 0`) each cost two compiled calls (the weight assignment and the
probe), and TensorFlow's Python call machinery cost more than the ops they run. Here one call takes the
initial weights of several seeds and, seed after seed, assigns them and calls the very graph of the
network's own probe (lab.training.probes) and of its own assignment (lab.training.models.build_network):
nested calls of the same traced functions, so every op and kernel is the one a run made alone uses and
the readings are bit for bit the same (tests/test_seed_batch.py compares them with runs made alone).

Why not one graph over weights stacked on a seed axis (batched matmul, or tf.vectorized_map): measured on
16 seeds of a depth-20 width-8 ReLU net, its layers.csv differs from the runs made alone in 672 of 2,352
cells (gradient norms up to 3.6e-6 relative, activation statistics up to 5e-7; histogram counts and dead
fractions equal): a batched matmul sums in another order than the 2-D one, and the bias gradients of a
stacked bias are not Keras' BiasAdd gradient. A run's id names one result, so that design was not kept.
"""
from __future__ import annotations

import numpy as np

from lab.training.models import Network
from lab.training.probes import ProbeReading
from lab.training.runtime import import_tensorflow


class SeedBatchProbe:
    """probe_seeds(weights, inputs, labels) -> one ProbeReading per seed, for one built MLP and its probe.

    Leaves the network holding the last seed's weights. Traced once, for every batch size: a loop over
    the seeds around nested calls of the network's own compiled functions.
    """

    def __init__(self, network: Network, probe):
        tf = import_tensorflow()
        # The network's and the probe's own compiled functions (their wrappers keep them as .function): nested calls
        # of the very graphs a run alone uses.
        assign, measure = network.assign_weights.function, probe.function

        structure = measure.get_concrete_function().structured_outputs  # the probe's own signature: no retrace
        flat_outputs = tf.nest.flatten(structure)

        # One trace for every batch size: the seed axis is left open.
        specs = [tf.TensorSpec([None, *spec.shape], spec.dtype) for spec in (*assign.input_signature, *measure.input_signature)]

        @tf.function(input_signature=specs)
        def probe_seeds(flat_weights, inputs, labels):
            def one_seed(index, arrays):
                # Stateful calls on the same variables run in program order: seed k is measured on its own weights.
                assign(flat_weights[index])
                values = tf.nest.flatten(measure(inputs[index], labels[index]))
                return index + 1, [array.write(index, value) for array, value in zip(arrays, values)]

            count = tf.shape(flat_weights)[0]
            arrays = [tf.TensorArray(output.dtype, size=count) for output in flat_outputs]
            # A loop, not K unrolled calls: the graph's size (and its optimisation at the first call, which grew
            # faster than K: 9 s for 16 seeds) stays that of one seed. One iteration at a time: the next seed's
            # assignment must never run beside this seed's probe.
            _, arrays = tf.while_loop(lambda index, _: index < count, one_seed, (0, arrays), parallel_iterations=1)
            return tf.nest.pack_sequence_as(structure, [array.stack() for array in arrays])

        self.function = probe_seeds

    def __call__(self, weights: list[list[np.ndarray]], inputs: list[np.ndarray], labels: list[np.ndarray]) -> list[ProbeReading]:
        """weights: per seed the arrays of lab.training.models.seeded_weights; inputs, labels: per seed its probe batch."""
        # Flattened and cast as Network.assign_weights does.
        flat = np.stack([np.concatenate([np.ravel(value) for value in values]).astype(np.float32) for values in weights])
        loss, kernel_norms, bias_norms, preact_rms, kernels, preactivations, activations = self.function(
            flat, np.stack(inputs).astype(np.float32), np.stack(labels).astype(np.int32))
        # Converted as the probe's own reader converts one seed's tensors (lab.training.probes.make_probe).
        losses = loss.numpy()
        kernel_norms, bias_norms, preact_rms = (norms.numpy().astype(np.float64)
                                                  for norms in (kernel_norms, bias_norms, preact_rms))
        kernels, preactivations, activations = ([layer.numpy() for layer in per_layer]
                                                 for per_layer in (kernels, preactivations, activations))
        return [
            ProbeReading(
                loss=float(losses[index]),
                kernel_grad_norms=kernel_norms[index],
                bias_grad_norms=bias_norms[index],
                preact_grad_rms=preact_rms[index],
                kernels=tuple(layer[index] for layer in kernels),
                preactivations=tuple(layer[index] for layer in preactivations),
                activations=tuple(layer[index] for layer in activations),
            )
            for index in range(len(weights))
        ]


class ReadingReplay:
    """A probe that returns a reading already measured (by SeedBatchProbe): what Trainer records at step 0."""

    def __init__(self, reading: ProbeReading):
        self.reading = reading

    def __call__(self, inputs, labels) -> ProbeReading:
        """The stored reading (the probe batch was the one it was measured on)."""
        return self.reading
