"""The Keras Functional MLP the lab measures, with every layer named so rows map to layers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.activations import keras_activation
from lab.config import ModelConfig
from lab.initializers import network_weights
from lab.tf_runtime import import_tensorflow


@dataclass(frozen=True)
class Network:
    """A built model and direct handles on its layers, in order from the input."""

    model: object  # keras.Model: inputs -> logits
    hidden_dense: tuple  # depth Dense layers (no activation: pre-activations are measured)
    hidden_activation: tuple  # depth Activation layers
    output_dense: object  # the output Dense layer, producing logits
    assign_weights: object  # compiled: a list of arrays [kernel 1, bias 1, ..., output bias] -> the variables
    weight_shapes: tuple  # ((kernel shape, bias shape), ...) per Dense layer, read once (a re-initialisation needs them)

    @property
    def dense_layers(self) -> tuple:
        """Every Dense layer, layer 1 first and the output last (layer depth + 1)."""
        return (*self.hidden_dense, self.output_dense)


def seeded_weights(network: Network, model_config: ModelConfig, seed: int) -> list[np.ndarray]:
    """The initial weights of this architecture for a seed (numpy, see lab.initializers)."""
    return network_weights(network.weight_shapes, model_config.kernel_initializer, model_config.bias_initializer, seed)


def reinitialize(network: Network, model_config: ModelConfig, seed: int) -> None:
    """Give a built network the weights of this seed: one compiled call, no rebuild and no retrace."""
    network.assign_weights(seeded_weights(network, model_config, seed))


def build_network(model_config: ModelConfig, num_features: int, num_classes: int, seed: int) -> Network:
    """depth Dense+Activation blocks of width units, then a logits layer (1 unit binary, k softmax)."""
    tf = import_tensorflow()
    import keras

    inputs = keras.Input(shape=(num_features,), name="inputs")
    hidden_dense, hidden_activation = [], []
    tensor = inputs
    activation = keras_activation(model_config.activation, model_config.leaky_alpha)
    for index in range(model_config.depth):
        # Built with zeros, then given their seeded values below (the same path as a re-initialisation).
        dense = keras.layers.Dense(model_config.width, kernel_initializer="zeros", name=f"dense_{index + 1}")
        act = keras.layers.Activation(activation, name=f"activation_{index + 1}")
        tensor = act(dense(tensor))
        hidden_dense.append(dense)
        hidden_activation.append(act)
    output_units = 1 if model_config.output_activation == "sigmoid" else num_classes
    output_dense = keras.layers.Dense(output_units, kernel_initializer="zeros", name="output")
    logits = output_dense(tensor)
    model = keras.Model(inputs, logits, name="mlp")
    variables = [variable for layer in (*hidden_dense, output_dense) for variable in (layer.kernel, layer.bias)]
    shapes = [tuple(variable.shape) for variable in variables]
    sizes = [int(np.prod(shape)) for shape in shapes]

    # One flat vector in, split inside the graph: converting and checking 2·(depth+1) separate
    # arguments cost more per call than the assignment itself.
    @tf.function(input_signature=[tf.TensorSpec([sum(sizes)], tf.float32)])
    def assign_flat(flat):
        for variable, part, shape in zip(variables, tf.split(flat, sizes), shapes):
            variable.assign(tf.reshape(part, shape))

    def assign_weights(values):
        assign_flat(np.concatenate([np.ravel(value) for value in values]).astype(np.float32))

    weight_shapes = tuple(zip(shapes[0::2], shapes[1::2]))
    network = Network(model, tuple(hidden_dense), tuple(hidden_activation), output_dense, assign_weights, weight_shapes)
    reinitialize(network, model_config, seed)
    return network
