"""The Keras Functional MLP the lab measures, with every layer named so rows map to layers.

A hidden block is Dense -> [normalisation 'before'] -> activation -> [normalisation 'after'], and with
model.residual_every = k the output of every k-th block also gets the output of the block k below
added (the network's inputs below the first), through a linear projection where the widths differ.
The model and the probe run the same forward (forward below), so what is trained is what is measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.contract.config import ModelConfig
from lab.science.initializers import network_weights, projection_kernel
from lab.training.keras_activations import keras_activation
from lab.training.runtime import import_tensorflow

# Keras' epsilon for both normalisations. Batch-norm momentum 0.9 (PyTorch's default) rather than Keras'
# 0.99: the lab's runs are often tens of steps, too few for 0.99's moving averages to leave their start.
NORMALIZATION_EPSILON = 1e-3
BATCH_NORM_MOMENTUM = 0.9
# Start values of the normalisation layers' variables, by variable name (Keras' defaults).
NORMALIZATION_START = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}


@dataclass(frozen=True)
class Trace:
    """The tensors of one forward pass, per hidden layer (layer 1 first) unless said otherwise."""

    logits: object
    dense_outputs: list  # z = Dense(h): where the back-propagated signal is measured
    activation_inputs: list  # the activation's input (z after a 'before' normalisation)
    activation_outputs: list  # the activation's output, before an 'after' normalisation and any skip


@dataclass(frozen=True)
class Blocks:
    """The layers of the hidden blocks and the output layer, in order from the input."""

    hidden_dense: tuple  # depth Dense layers (no activation: pre-activations are measured)
    hidden_activation: tuple  # depth Activation layers
    output_dense: object  # the output Dense layer, producing logits
    normalizations: tuple = ()  # per block a BatchNormalization or LayerNormalization layer, or () without
    normalization_position: str = "before"  # of the activation
    skips: tuple = ()  # per block None or (source block 0..depth-1, projection Dense or None, Add layer); () without


@dataclass(frozen=True)
class Network:
    """A built model, its blocks, and what a re-initialisation needs."""

    model: object  # keras.Model: inputs -> logits
    blocks: Blocks
    assign_weights: object  # compiled: a list of arrays (see seeded_weights for the order) -> the variables
    weight_shapes: tuple  # ((kernel shape, bias shape), ...) per Dense layer, read once (a re-initialisation needs them)
    projection_shapes: tuple = ()  # ((block index, kernel shape), ...) of the skip projections
    normalization_variables: tuple = ()  # (variable name, shape) of every normalisation variable, in block order

    @property
    def hidden_dense(self) -> tuple:
        """The depth hidden Dense layers, layer 1 first."""
        return self.blocks.hidden_dense

    @property
    def hidden_activation(self) -> tuple:
        """The depth Activation layers, layer 1 first."""
        return self.blocks.hidden_activation

    @property
    def output_dense(self):
        """The output Dense layer (logits)."""
        return self.blocks.output_dense

    @property
    def dense_layers(self) -> tuple:
        """Every Dense layer, layer 1 first and the output last (layer depth + 1)."""
        return (*self.hidden_dense, self.output_dense)


def forward(blocks: Blocks, inputs, training=None) -> Trace:
    """Run the blocks on inputs, keeping every tensor the probes measure (symbolic or concrete inputs)."""
    dense_outputs, activation_inputs, activation_outputs = [], [], []
    block_outputs = [inputs]  # block_outputs[j]: the output of block j (0 = the network's inputs)
    for index, (dense, activation) in enumerate(zip(blocks.hidden_dense, blocks.hidden_activation)):
        normalization = blocks.normalizations[index] if blocks.normalizations else None
        z = dense(block_outputs[-1])
        before = normalization is not None and blocks.normalization_position == "before"
        u = normalization(z, training=training) if before else z
        a = activation(u)
        output = normalization(a, training=training) if normalization is not None and not before else a
        skip = blocks.skips[index] if blocks.skips else None
        if skip is not None:
            source, projection, add = skip
            carried = block_outputs[source] if projection is None else projection(block_outputs[source])
            output = add([output, carried])
        dense_outputs.append(z)
        activation_inputs.append(u)
        activation_outputs.append(a)
        block_outputs.append(output)
    return Trace(blocks.output_dense(block_outputs[-1]), dense_outputs, activation_inputs, activation_outputs)


def seeded_weights(network: Network, model_config: ModelConfig, seed: int) -> list[np.ndarray]:
    """The initial values of every variable of this architecture for a seed (numpy, see lab.science.initializers).

    Order: each Dense layer's kernel and bias, then the projections' kernels, then the normalisation
    variables (moving statistics included, so a re-initialised network forgets its training).
    """
    values = network_weights(network.weight_shapes, model_config.kernel_initializer, model_config.bias_initializer, seed,
                             model_config.sigma_w, model_config.sigma_b)
    values += [projection_kernel(shape, seed, block) for block, shape in network.projection_shapes]
    values += [np.full(shape, NORMALIZATION_START[name], np.float32) for name, shape in network.normalization_variables]
    return values


def reinitialize(network: Network, model_config: ModelConfig, seed: int) -> None:
    """Give a built network (MLP or recurrent) the weights of this seed: one compiled call, no rebuild and no retrace."""
    from lab.training.recurrent_models import RecurrentNetwork, reinitialize_recurrent

    if isinstance(network, RecurrentNetwork):
        reinitialize_recurrent(network, model_config, seed)
        return
    network.assign_weights(seeded_weights(network, model_config, seed))


def normalization_layers(kind: str, depth: int) -> tuple:
    """One BatchNormalization or LayerNormalization layer (over the units) per block; () for 'none'."""
    import keras

    if kind == "batch":
        return tuple(keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, epsilon=NORMALIZATION_EPSILON,
                                                     name=f"batch_normalization_{index + 1}") for index in range(depth))
    if kind == "layer":
        return tuple(keras.layers.LayerNormalization(epsilon=NORMALIZATION_EPSILON, name=f"layer_normalization_{index + 1}")
                     for index in range(depth))
    return ()


def skip_layers(model_config: ModelConfig, num_features: int) -> tuple:
    """Per hidden block, None or (source block, projection Dense or None, Add layer).

    Block l (1-based) with l % residual_every == 0 gets the output of block l - residual_every; the
    first skip starts at the inputs, which are num_features wide: a bias-free Dense projects them to
    width when the two differ (He et al. 2016's projection shortcut), never elsewhere.
    """
    import keras

    every, skips = model_config.residual_every, []
    for index in range(model_config.depth):
        block = index + 1
        if every == 0 or block % every:
            skips.append(None)
            continue
        source = block - every
        source_width = num_features if source == 0 else model_config.width
        projection = None
        if source_width != model_config.width:
            projection = keras.layers.Dense(model_config.width, use_bias=False, kernel_initializer="zeros",
                                            name=f"projection_{block}")
        skips.append((source, projection, keras.layers.Add(name=f"skip_{block}")))
    return tuple(skips)


def build_network(model_config: ModelConfig, num_features: int, num_classes: int, seed: int) -> Network:
    """depth blocks of width units (normalisation and skips as configured), then a logits layer (1 unit binary, k softmax)."""
    tf = import_tensorflow()
    import keras

    activation = keras_activation(model_config.activation, model_config.leaky_alpha)
    # Built with zeros, then given their seeded values below (the same path as a re-initialisation).
    hidden_dense = tuple(keras.layers.Dense(model_config.width, kernel_initializer="zeros", name=f"dense_{index + 1}")
                         for index in range(model_config.depth))
    hidden_activation = tuple(keras.layers.Activation(activation, name=f"activation_{index + 1}")
                              for index in range(model_config.depth))
    output_units = 1 if model_config.output_activation == "sigmoid" else num_classes
    output_dense = keras.layers.Dense(output_units, kernel_initializer="zeros", name="output")
    blocks = Blocks(hidden_dense, hidden_activation, output_dense,
                    normalization_layers(model_config.normalization, model_config.depth), model_config.normalization_position,
                    skip_layers(model_config, num_features) if model_config.residual_every else ())
    inputs = keras.Input(shape=(num_features,), name="inputs")
    model = keras.Model(inputs, forward(blocks, inputs).logits, name="mlp")

    projections = [(index, skip[1]) for index, skip in enumerate(blocks.skips) if skip is not None and skip[1] is not None]
    normalization_variables = [variable for layer in blocks.normalizations for variable in layer.weights]
    variables = [variable for layer in (*hidden_dense, output_dense) for variable in (layer.kernel, layer.bias)]
    variables += [projection.kernel for _, projection in projections] + normalization_variables
    shapes = [tuple(variable.shape) for variable in variables]
    sizes = [int(np.prod(shape)) for shape in shapes]

    # One flat vector in, split inside the graph: converting and checking 2·(depth+1) separate
    # arguments cost more per call than the assignment itself. Every variable is assigned, the moving
    # statistics included, so a reused network (the sweep's fast path) equals a fresh build bit for bit.
    @tf.function(input_signature=[tf.TensorSpec([sum(sizes)], tf.float32)], autograph=False)
    def assign_flat(flat):
        for variable, part, shape in zip(variables, tf.split(flat, sizes), shapes):
            variable.assign(tf.reshape(part, shape))

    def assign_weights(values):
        assign_flat(np.concatenate([np.ravel(value) for value in values]).astype(np.float32))

    assign_weights.function = assign_flat  # for lab.training.run.release_components and lab.training.seed_batch

    dense_count = 2 * (model_config.depth + 1)
    network = Network(
        model, blocks, assign_weights, weight_shapes=tuple(zip(shapes[0:dense_count:2], shapes[1:dense_count:2])),
        projection_shapes=tuple((index, tuple(projection.kernel.shape)) for index, projection in projections),
        normalization_variables=tuple((variable.name, tuple(variable.shape)) for variable in normalization_variables),
    )
    # The first values are assigned eagerly, one variable at a time: tracing assign_flat (and optimising its graph
    # at the first call) cost 20-130 ms a build, far more than these assignments, and most networks are never
    # re-initialised. The values are the same float32 numbers assign_weights gives (each cast alone, not concatenated).
    for variable, value in zip(variables, seeded_weights(network, model_config, seed)):
        variable.assign(np.asarray(value, dtype=np.float32).reshape(variable.shape))
    return network
