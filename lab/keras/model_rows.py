"""A user's Keras model read as the lab's rows: each Dense layer with the activation and normalisation that follow it.

The rule (issue #15): rows are the Dense layers in model order, the last one the output row. An Activation, ReLU or
LeakyReLU layer that follows a Dense belongs to it (so does the Dense's own `activation=`); Dropout, BatchNormalization
and LayerNormalization may sit between. Anything else is refused by name, with what is supported, before training
starts: a probe that silently skipped a Conv2D or a custom layer would measure a different network from the one
trained.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Keras' activation names -> the lab's (lab.science.activations), for the saturated fraction; any other activation
# is measured too, with saturated_fraction NaN (the lab does not know where it saturates).
KERAS_TO_LAB_ACTIVATION = {
    "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "elu": "elu", "selu": "selu", "gelu": "gelu",
    "silu": "swish", "swish": "swish", "softsign": "softsign", "linear": "linear", "leaky_relu": "leaky_relu",
    "hard_tanh": "hard_tanh", "softmax": "softmax",
}
KERAS_LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope
ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU")
PASS_THROUGH_LAYERS = ("Dropout",)  # off in the probe: identity
NORMALIZATION_LAYERS = ("BatchNormalization", "LayerNormalization")
SUPPORTED = ("Dense", *ACTIVATION_LAYERS, *PASS_THROUGH_LAYERS, *NORMALIZATION_LAYERS, "InputLayer")


class UnsupportedModel(ValueError):
    """A model the callback cannot read; the message names the layer and what is supported."""


@dataclass
class Row:
    """One Dense layer and what belongs to it, in the order the model applies them."""

    dense: object
    activation: object = None  # a tensor -> tensor callable, or None (linear)
    activation_name: str = "linear"  # the lab's name when it knows the activation, else Keras' name
    leaky_alpha: float = 0.01
    after: list = field(default_factory=list)  # (kind, layer) applied after the Dense, in order: "norm" / "act" / "skip"


def layer_kind(layer) -> str:
    """The Keras class name of a layer (what the messages say)."""
    return type(layer).__name__


def chain_layers(model) -> list:
    """The model's layers in order, refusing a model that is not a chain (a branch or a merge)."""
    layers = [layer for layer in model.layers if layer_kind(layer) != "InputLayer"]
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) > 1:
            raise UnsupportedModel(f"layer {layer.name!r} ({layer_kind(layer)}) is called more than once; GradientFlow reads "
                                   "a chain of layers, each used once (a keras.Sequential, or a Functional chain)")
        if nodes and len(nodes[0].input_tensors) > 1:
            raise UnsupportedModel(f"layer {layer.name!r} ({layer_kind(layer)}) takes several inputs; GradientFlow reads a "
                                   "chain of layers (supported: " + ", ".join(SUPPORTED) + ")")
    return layers


def activation_of(function) -> tuple[str, float]:
    """(name, leaky alpha) of a Keras activation function: the lab's name when it knows it."""
    import keras

    name = keras.activations.serialize(function)
    name = name if isinstance(name, str) else getattr(function, "__name__", "custom")
    return KERAS_TO_LAB_ACTIVATION.get(name, name), KERAS_LEAKY_SLOPE if name == "leaky_relu" else 0.01


def activation_layer(layer) -> tuple[object, str, float]:
    """(callable, name, alpha) of an Activation, ReLU or LeakyReLU layer."""
    kind = layer_kind(layer)
    if kind == "Activation":
        name, alpha = activation_of(layer.activation)
        return layer, name, alpha
    if kind == "LeakyReLU":
        return layer, "leaky_relu", float(layer.negative_slope)
    # ReLU: plain max(x, 0), or with a negative slope a leaky ReLU; a cap or threshold is another function.
    if layer.max_value is not None or float(layer.threshold) != 0.0:
        raise UnsupportedModel(f"layer {layer.name!r} (ReLU with max_value or threshold) is not supported; use ReLU(), "
                               "LeakyReLU(negative_slope) or an Activation layer")
    slope = float(layer.negative_slope)
    return layer, ("leaky_relu" if slope else "relu"), (slope if slope else 0.01)


def read_rows(model) -> list[Row]:
    """The model's Dense rows (the last one the output), or UnsupportedModel naming the first layer it cannot read."""
    rows: list[Row] = []
    for layer in chain_layers(model):
        kind = layer_kind(layer)
        if kind == "Dense":
            rows.append(dense_row(layer))
            continue
        if kind not in SUPPORTED:
            raise UnsupportedModel(f"layer {layer.name!r} ({kind}) is not supported by GradientFlow; supported: "
                                   + ", ".join(SUPPORTED[:-1]) + " (recurrent layers: build the network with the lab, "
                                   "model.kind rnn)")
        if not rows:
            raise UnsupportedModel(f"layer {layer.name!r} ({kind}) comes before the first Dense layer; GradientFlow's rows "
                                   "start at a Dense layer (put the inputs straight into a Dense)")
        row = rows[-1]
        if kind in ACTIVATION_LAYERS:
            if row.activation is not None:
                raise UnsupportedModel(f"layer {layer.name!r} ({kind}) follows Dense {row.dense.name!r}, which already has an "
                                       "activation; give each Dense one activation (its own, or one layer after it)")
            row.activation, row.activation_name, row.leaky_alpha = activation_layer(layer)
            row.after.append(("act", layer))
        elif kind in NORMALIZATION_LAYERS:
            row.after.append(("norm", layer))
        else:
            row.after.append(("skip", layer))
    if not rows:
        raise UnsupportedModel("the model has no Dense layer; GradientFlow measures Dense layers")
    return rows


def dense_row(layer) -> Row:
    """A row for a Dense layer; its own activation= (if not linear) belongs to it."""
    name, alpha = activation_of(layer.activation)
    if name == "linear":
        return Row(layer)
    # ("act", None): the Dense's own activation, applied first, before anything that follows the layer.
    return Row(layer, activation=layer.activation, activation_name=name, leaky_alpha=alpha, after=[("act", None)])


def describe(rows: list[Row]) -> list[dict]:
    """summary.json's description of the rows: layer number, kind, Dense name and units, activation, what follows."""
    return [{
        "layer": index + 1,
        "layer_kind": "output" if index == len(rows) - 1 else "hidden",
        "dense": row.dense.name,
        "units": int(row.dense.units),
        "activation": row.activation_name,
        **({"leaky_alpha": row.leaky_alpha} if row.activation_name == "leaky_relu" else {}),
        "after": [layer.name for _, layer in row.after if layer is not None],
    } for index, row in enumerate(rows)]
