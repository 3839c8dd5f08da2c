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
RECURRENT_LAYERS = {"SimpleRNN": "simple", "LSTM": "lstm", "GRU": "gru"}  # Keras class -> the lab's model.cell
PASS_THROUGH_LAYERS = ("Dropout",)  # off in the probe: identity
NORMALIZATION_LAYERS = ("BatchNormalization", "LayerNormalization")
SUPPORTED = ("Dense", *ACTIVATION_LAYERS, *PASS_THROUGH_LAYERS, *NORMALIZATION_LAYERS, *RECURRENT_LAYERS, "InputLayer")


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


@dataclass
class RecurrentRow:
    """One SimpleRNN, LSTM or GRU layer at the front of the model (rows 1..R; the head reads h_T of the last)."""

    layer: object
    cell: str  # simple, lstm or gru
    activation_name: str = "tanh"  # the simple cell's; the gated cells' candidate is tanh
    leaky_alpha: float = 0.01


def layer_kind(layer) -> str:
    """The Keras class name of a layer (what the messages say)."""
    return type(layer).__name__


def chain_layers(model) -> list:
    """The model's layers in order, refusing a model that is not a chain (a branch or a merge)."""
    layers = [layer for layer in model.layers if layer_kind(layer) != "InputLayer"]
    for layer in layers:  # the first layer of a kind it cannot read is named before any question of shape
        if layer_kind(layer) not in SUPPORTED:
            raise unsupported(layer)
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) > 1:
            raise UnsupportedModel(f"layer {layer.name!r} ({layer_kind(layer)}) is called more than once; GradientFlow reads "
                                   "a chain of layers, each used once (a keras.Sequential, or a Functional chain)")
        if nodes and len(nodes[0].input_tensors) > 1:
            raise UnsupportedModel(f"layer {layer.name!r} ({layer_kind(layer)}) takes several inputs; GradientFlow reads a "
                                   "chain of layers (supported: " + ", ".join(SUPPORTED) + ")")
    return layers


def unsupported(layer) -> UnsupportedModel:
    """The one-line refusal of a layer class GradientFlow cannot read."""
    return UnsupportedModel(f"layer {layer.name!r} ({layer_kind(layer)}) is not supported by GradientFlow; supported: "
                            + ", ".join(SUPPORTED[:-1]))


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


def recurrent_row(layer, previous: list) -> RecurrentRow:
    """A row for a SimpleRNN, LSTM or GRU layer, refusing what the lab's time probe does not model (named)."""
    kind = layer_kind(layer)
    cell = layer.cell
    refuse = []
    if previous and previous[-1].cell != RECURRENT_LAYERS[kind]:
        refuse.append(f"the same cell in every recurrent layer (the first is {layer_kind(previous[-1].layer)})")
    if previous and not previous[-1].layer.return_sequences:
        refuse.append(f"return_sequences=True on every recurrent layer but the last ({previous[-1].layer.name!r} has False)")
    if getattr(layer, "go_backwards", False) or getattr(layer, "stateful", False) or getattr(layer, "return_state", False):
        refuse.append("go_backwards, stateful and return_state off")
    if not cell.use_bias:
        refuse.append("use_bias=True")
    if kind == "GRU" and not cell.reset_after:
        refuse.append("reset_after=True (Keras' default)")
    name, alpha = activation_of(cell.activation)
    if kind != "SimpleRNN" and (name != "tanh" or activation_of(cell.recurrent_activation)[0] != "sigmoid"):
        refuse.append("activation tanh and recurrent_activation sigmoid (Keras' defaults)")
    if refuse:
        raise UnsupportedModel(f"layer {layer.name!r} ({kind}): GradientFlow needs " + "; ".join(refuse))
    return RecurrentRow(layer, RECURRENT_LAYERS[kind], name, alpha)


def read_rows(model) -> tuple[list[RecurrentRow], list[Row]]:
    """(recurrent rows, Dense rows; the last Dense row is the output), or UnsupportedModel naming the first layer it
    cannot read. Recurrent layers come first, each feeding the next its whole sequence, the last giving h_T."""
    recurrent: list[RecurrentRow] = []
    rows: list[Row] = []
    for layer in chain_layers(model):
        kind = layer_kind(layer)
        if kind in RECURRENT_LAYERS:
            if rows:
                raise UnsupportedModel(f"layer {layer.name!r} ({kind}) follows a Dense layer; GradientFlow reads recurrent "
                                       "layers at the front of the model, then Dense layers on the last one's h_T")
            recurrent.append(recurrent_row(layer, recurrent))
            continue
        if kind == "Dropout" and recurrent and not rows:
            continue  # between the recurrent layers and the head: off in the probe
        if kind == "Dense":
            rows.append(dense_row(layer))
            continue
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
    if recurrent and recurrent[-1].layer.return_sequences:
        raise UnsupportedModel(f"layer {recurrent[-1].layer.name!r}: the last recurrent layer needs return_sequences=False "
                               "(GradientFlow reads a head on h_T, the last step's state)")
    return recurrent, rows


def dense_row(layer) -> Row:
    """A row for a Dense layer; its own activation= (if not linear) belongs to it."""
    name, alpha = activation_of(layer.activation)
    if name == "linear":
        return Row(layer)
    # ("act", None): the Dense's own activation, applied first, before anything that follows the layer.
    return Row(layer, activation=layer.activation, activation_name=name, leaky_alpha=alpha, after=[("act", None)])


def describe(recurrent: list[RecurrentRow], rows: list[Row]) -> list[dict]:
    """summary.json's description of the rows: layer number, kind, layer name and units, activation, what follows."""
    described = [{
        "layer": index + 1, "layer_kind": "hidden", "recurrent": row.layer.name, "cell": row.cell,
        "units": int(row.layer.cell.units), "activation": row.activation_name,
    } for index, row in enumerate(recurrent)]
    return described + [{
        "layer": len(recurrent) + index + 1,
        "layer_kind": "output" if index == len(rows) - 1 else "hidden",
        "dense": row.dense.name,
        "units": int(row.dense.units),
        "activation": row.activation_name,
        **({"leaky_alpha": row.leaky_alpha} if row.activation_name == "leaky_relu" else {}),
        "after": [layer.name for _, layer in row.after if layer is not None],
    } for index, row in enumerate(rows)]
