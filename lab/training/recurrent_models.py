"""The recurrent Keras models the lab measures (model.kind: rnn): stacked SimpleRNN, LSTM or GRU layers, the head
on the last time step.

Layer l (1 = nearest the input) is a Keras SimpleRNN / LSTM / GRU layer named recurrent_l whose cell holds
kernel (in_l, G·units), recurrent_kernel (units, G·units) and bias (Keras 3 shapes: simple (units,), lstm
(4·units,), gru (2, 3·units) with reset_after); G = 1, 4, 3. Lower layers return their whole sequence, the
last only h_T, which the Dense head turns into logits. The probe (lab.training.recurrent_probes) runs the
same cells, so what is trained is what is measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.science.recurrent_initializers import CELLS, recurrent_weights
from lab.training.keras_activations import keras_activation
from lab.training.runtime import import_tensorflow


@dataclass(frozen=True)
class RecurrentNetwork:
    """A built recurrent model and what the probe and a re-initialisation need."""

    model: object  # keras.Model: inputs (N, T, channels) -> logits (N, output units)
    recurrent: tuple  # depth Keras RNN layers, layer 1 first
    output_dense: object  # the Dense head on h_T of the last recurrent layer
    cell_kind: str  # simple, lstm or gru
    activation: str  # the simple cell's activation (tanh for the gated cells' candidate)
    assign_weights: object  # a list of arrays in the order of weight_shapes -> the variables
    weight_shapes: tuple  # per recurrent layer kernel, recurrent_kernel, bias; then the head's kernel and bias

    @property
    def cells(self) -> tuple:
        """The depth Keras cells (SimpleRNNCell / LSTMCell / GRUCell), layer 1 first."""
        return tuple(layer.cell for layer in self.recurrent)

    @property
    def depth(self) -> int:
        """Stacked recurrent layers."""
        return len(self.recurrent)

    @property
    def units(self) -> int:
        """Units of every recurrent layer."""
        return self.recurrent[0].cell.units

    @property
    def measured_kernels(self) -> tuple:
        """The kernel of each row of layers.csv: each layer's recurrent kernel, then the head's kernel."""
        return (*(cell.recurrent_kernel for cell in self.cells), self.output_dense.kernel)

    @property
    def measured_biases(self) -> tuple:
        """The bias of each row of layers.csv: each cell's bias, then the head's bias."""
        return (*(cell.bias for cell in self.cells), self.output_dense.bias)


def recurrent_layer(cell: str, units: int, activation, name: str, return_sequences: bool):
    """One Keras recurrent layer, built with zeros (the seeded values are assigned afterwards)."""
    import keras

    zeros = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros", "bias_initializer": "zeros"}
    if cell == "simple":
        return keras.layers.SimpleRNN(units, activation=activation, return_sequences=return_sequences, name=name, **zeros)
    # cuDNN off: this lab runs on CPUs, and the generic loop is the one whose numbers the probe reproduces.
    if cell == "lstm":
        # unit_forget_bias only shapes Keras' own initial bias; the lab assigns its seeded one (forget block 1).
        return keras.layers.LSTM(units, return_sequences=return_sequences, name=name, use_cudnn=False, **zeros)
    return keras.layers.GRU(units, return_sequences=return_sequences, reset_after=True, name=name, use_cudnn=False, **zeros)


def build_recurrent_network(cell: str, depth: int, units: int, activation: str, num_features: int, output_units: int,
                            weights: list[np.ndarray], leaky_alpha: float = 0.01) -> RecurrentNetwork:
    """depth stacked recurrent layers of units (cell simple, lstm or gru), a Dense head on h_T; weights assigned.

    weights: per recurrent layer kernel, recurrent_kernel, bias, then the head's kernel and bias
    (lab.science.recurrent_initializers.recurrent_weights gives them for a config and seed).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    if cell != "simple" and activation != "tanh":
        raise ValueError(f"activation: the {cell} cell takes tanh only (got {activation!r})")
    tf = import_tensorflow()
    import keras

    function = keras_activation(activation, leaky_alpha)
    recurrent = tuple(recurrent_layer(cell, units, function, f"recurrent_{index + 1}", index + 1 < depth)
                      for index in range(depth))
    output_dense = keras.layers.Dense(output_units, kernel_initializer="zeros", name="output")
    # A free time axis: one model (and one trace of each tf.function) serves any sequence length.
    inputs = keras.Input(shape=(None, num_features), name="inputs")
    sequence = inputs
    for layer in recurrent:
        sequence = layer(sequence)
    model = keras.Model(inputs, output_dense(sequence), name=f"rnn_{cell}")

    variables = [variable for layer in recurrent for variable in (layer.cell.kernel, layer.cell.recurrent_kernel,
                                                                   layer.cell.bias)]
    variables += [output_dense.kernel, output_dense.bias]
    shapes = tuple(tuple(variable.shape) for variable in variables)
    sizes = [int(np.prod(shape)) for shape in shapes]

    # One flat vector in, split inside the graph (as lab.training.models does for the MLP).
    @tf.function(input_signature=[tf.TensorSpec([sum(sizes)], tf.float32)])
    def assign_flat(flat):
        for variable, part, shape in zip(variables, tf.split(flat, sizes), shapes):
            variable.assign(tf.reshape(part, shape))

    def assign_weights(values):
        given = tuple(tuple(np.shape(value)) for value in values)
        if given != shapes:
            raise ValueError(f"weights: expected shapes {shapes}, got {given}")
        assign_flat(np.concatenate([np.ravel(value) for value in values]).astype(np.float32))

    assign_weights.function = assign_flat  # for lab.training.run.release_components
    network = RecurrentNetwork(model, recurrent, output_dense, cell, activation, assign_weights, shapes)
    assign_weights(weights)
    return network


def seeded_recurrent_weights(model_config, num_features: int, output_units: int, seed: int) -> list[np.ndarray]:
    """The initial values of every variable of a config's recurrent network for a seed (numpy, lab.science)."""
    return recurrent_weights(
        model_config.cell, model_config.depth, model_config.width, num_features, output_units,
        model_config.kernel_initializer, model_config.recurrent_initializer, model_config.spectral_radius,
        model_config.bias_initializer, seed, model_config.sigma_w, model_config.sigma_b)


def build_recurrent_from_config(model_config, num_features: int, num_classes: int, seed: int) -> RecurrentNetwork:
    """The recurrent network of a config (model.kind rnn) with the seed's initial weights."""
    output_units = 1 if model_config.output_activation == "sigmoid" else num_classes
    weights = seeded_recurrent_weights(model_config, num_features, output_units, seed)
    return build_recurrent_network(model_config.cell, model_config.depth, model_config.width, model_config.activation,
                                   num_features, output_units, weights, model_config.leaky_alpha)


def reinitialize_recurrent(network: RecurrentNetwork, model_config, seed: int) -> None:
    """Give a built recurrent network the weights of this seed: one compiled call, no rebuild."""
    num_features = network.weight_shapes[0][0]
    output_units = network.weight_shapes[-1][0]
    network.assign_weights(seeded_recurrent_weights(model_config, num_features, output_units, seed))
