"""The Keras Functional MLP the lab measures, with every layer named so rows map to layers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.activations import keras_activation
from lab.config import ModelConfig
from lab.tf_runtime import import_tensorflow


@dataclass(frozen=True)
class Network:
    """A built model and direct handles on its layers, in order from the input."""

    model: object  # keras.Model: inputs -> logits
    hidden_dense: tuple  # depth Dense layers (no activation: pre-activations are measured)
    hidden_activation: tuple  # depth Activation layers
    output_dense: object  # the output Dense layer, producing logits

    @property
    def dense_layers(self) -> tuple:
        """Every Dense layer, layer 1 first and the output last (layer depth + 1)."""
        return (*self.hidden_dense, self.output_dense)


def layer_seeds(seed: int, count: int) -> list[int]:
    """Independent per-layer initializer seeds derived from the run seed (explicit, no global state)."""
    return [int(value) for value in np.random.SeedSequence([seed, 1]).generate_state(count)]


def kernel_initializer(name: str, seed: int):
    """A seeded Keras kernel initializer; 'classic' is U(±1/√fan_in) (Glorot & Bengio 2010, eq. 1)."""
    import_tensorflow()
    import keras

    if name == "classic":
        # VarianceScaling uniform draws from U(±sqrt(3·scale/fan_in)); scale 1/3 gives U(±1/√fan_in).
        return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def bias_initializer(value, seed: int):
    """A number is a constant bias (e.g. -1.0 provokes dead ReLUs); a name is a Keras initializer."""
    import_tensorflow()
    import keras

    if isinstance(value, float):
        return keras.initializers.Constant(value)
    if value in ("zeros", "ones"):
        return keras.initializers.get(value)
    return keras.initializers.get({"class_name": value, "config": {"seed": seed}})


def build_network(model_config: ModelConfig, num_features: int, num_classes: int, seed: int) -> Network:
    """depth Dense+Activation blocks of width units, then a logits layer (1 unit binary, k softmax)."""
    import_tensorflow()
    import keras

    depth = model_config.depth
    seeds = layer_seeds(seed, 2 * (depth + 1))
    inputs = keras.Input(shape=(num_features,), name="inputs")
    hidden_dense, hidden_activation = [], []
    tensor = inputs
    activation = keras_activation(model_config.activation, model_config.leaky_alpha)
    for index in range(depth):
        dense = keras.layers.Dense(
            model_config.width,
            kernel_initializer=kernel_initializer(model_config.kernel_initializer, seeds[2 * index]),
            bias_initializer=bias_initializer(model_config.bias_initializer, seeds[2 * index + 1]),
            name=f"dense_{index + 1}",
        )
        act = keras.layers.Activation(activation, name=f"activation_{index + 1}")
        tensor = act(dense(tensor))
        hidden_dense.append(dense)
        hidden_activation.append(act)
    output_units = 1 if model_config.output_activation == "sigmoid" else num_classes
    # The output layer keeps the kernel initializer but a zero bias: an output bias of -1 would only
    # shift the logits, while the hidden bias choice is what the dead-unit experiments vary.
    output_dense = keras.layers.Dense(
        output_units,
        kernel_initializer=kernel_initializer(model_config.kernel_initializer, seeds[2 * depth]),
        bias_initializer="zeros",
        name="output",
    )
    logits = output_dense(tensor)
    model = keras.Model(inputs, logits, name="mlp")
    return Network(model, tuple(hidden_dense), tuple(hidden_activation), output_dense)
