"""An independent reference for the probes: a float64 forward and backward pass written out by hand in numpy."""
import numpy as np

from lab.science import activations as act


def numpy_backward(trainer):
    """Float64 forward and backward pass by hand: per-layer kernel gradients and per-sample deltas."""
    config = trainer.config
    weights = [tuple(np.float64(w) for w in layer.get_weights()) for layer in trainer.network.dense_layers]
    x, y = trainer.probe_inputs.astype(np.float64), trainer.probe_labels
    count = len(x)
    inputs, preacts, tensor = [], [], x
    for kernel, bias in weights[:-1]:
        inputs.append(tensor)
        z = tensor @ kernel + bias
        preacts.append(z)
        tensor = act.value(config.model.activation, z, config.model.leaky_alpha)
    inputs.append(tensor)
    logits = tensor @ weights[-1][0] + weights[-1][1]
    if config.model.output_activation == "sigmoid":
        delta = 1.0 / (1.0 + np.exp(-logits)) - y.reshape(-1, 1)  # d BCE_i / d logit_i
    else:
        delta = act.softmax(logits) - np.eye(logits.shape[1])[y]  # d CE_i / d logits_i
    deltas = [delta]
    for index in range(len(preacts) - 1, -1, -1):
        slope = act.derivative(config.model.activation, preacts[index], config.model.leaky_alpha)
        delta = (delta @ weights[index + 1][0].T) * slope
        deltas.insert(0, delta)
    kernel_grads = [layer_input.T @ d / count for layer_input, d in zip(inputs, deltas)]
    bias_grads = [d.sum(axis=0) / count for d in deltas]
    return kernel_grads, bias_grads, deltas
