"""What theory predicts for the cells of a sweep: the dashed lines of the depth and born-dead views."""
from __future__ import annotations

import pandas as pd

from lab.science import theory
from lab.science.theory import bias_value
from lab.sweeps.sweep_config import PlannedRun

THEORY_ACTIVATIONS = ("step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish")


def depth_theory(planned: list[PlannedRun]) -> pd.DataFrame:
    """Predicted log10 first-to-last ratios for every distinct (depth, activation, initializer) of the sweep."""
    rows, seen = [], set()
    for item in planned:
        model, data = item.config.model, item.config.data
        key = (model.depth, model.activation, model.kernel_initializer)
        if key in seen or model.activation not in THEORY_ACTIVATIONS or not theory.covers(model):
            continue
        seen.add(key)
        outputs = 1 if model.output_activation == "sigmoid" else data.num_classes
        ratios = theory.predicted_ratios(model.activation, model.kernel_initializer, model.depth, model.width,
                                         data.num_features, outputs, bias_value(model.bias_initializer), model.leaky_alpha)
        rows.append({"model.depth": model.depth, "model.activation": model.activation,
                     "model.kernel_initializer": model.kernel_initializer, **ratios})
    return pd.DataFrame(rows)


def dead_theory(planned: list[PlannedRun]) -> pd.DataFrame | None:
    """The born-dead bound per (width, depth), where its assumptions hold: ReLU, zero bias (else None)."""
    models = [item.config.model for item in planned]
    if any(model.activation != "relu" or bias_value(model.bias_initializer) != 0.0 or not theory.covers(model) for model in models):
        return None
    pairs = sorted({(model.width, model.depth) for model in models})
    return pd.DataFrame([{"model.width": width, "model.depth": depth, "bound": theory.born_dead_bound(width, depth)}
                         for width, depth in pairs])


def theory_frames(sweep: pd.DataFrame, planned: list[PlannedRun]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(depth-view theory, born-dead theory or None) for a sweep's planned runs."""
    return depth_theory(planned), dead_theory(planned)
