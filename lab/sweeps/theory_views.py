"""What theory predicts for the cells of a sweep: the dashed lines of the depth, born-dead and spectral-radius views."""
from __future__ import annotations

import math

import pandas as pd

from lab.science import theory
from lab.science.recurrent_theory import predicted_time_ratio
from lab.science.theory import bias_value
from lab.sweeps.sweep_config import PlannedRun

DEPTH_THEORY_COLUMNS = ("model.depth", "model.activation", "model.kernel_initializer", "log10_signal_ratio", "log10_grad_ratio")


def depth_theory(planned: list[PlannedRun]) -> pd.DataFrame:
    """Predicted log10 first-to-last ratios for every distinct (depth, activation, initializer) of the sweep.

    σw and σb are passed (gaussian and orthogonal kernels, gaussian biases: theory.covers with_sigma). The depth
    view draws one line per (activation, initializer): where the sweep holds cells of one such line and depth
    whose predictions of a ratio differ (a grid over sigma_w, or over width for the grad ratio), no single dashed
    value is right, so that ratio is NaN there and the view draws no theory at that point.
    """
    predictions: dict[tuple, set] = {}
    for item in planned:
        model, data = item.config.model, item.config.data
        if model.kind == "rnn" or not theory.covers(model, with_sigma=True):  # depth theory is the MLP's
            continue
        outputs = 1 if model.output_activation == "sigmoid" else data.num_classes
        sigma_b = model.sigma_b if model.bias_initializer == "gaussian" else 0.0  # a gaussian bias adds σb² to q
        inputs = (model.activation, model.kernel_initializer, model.depth, model.width, data.num_features, outputs,
                  bias_value(model.bias_initializer), model.leaky_alpha, model.sigma_w, sigma_b)
        predictions.setdefault((model.depth, model.activation, model.kernel_initializer), set()).add(inputs)
    rows = []
    for (depth, activation, initializer), distinct in predictions.items():
        ratios = [_ratios(inputs) for inputs in sorted(distinct, key=repr)]
        agreed = {name: value if all(_same(value, other[name]) for other in ratios) else math.nan
                  for name, value in ratios[0].items()}
        rows.append({"model.depth": depth, "model.activation": activation, "model.kernel_initializer": initializer, **agreed})
    # With its columns even when empty (no cell covered, e.g. a sweep over normalisation): the views read them.
    return pd.DataFrame(rows, columns=list(DEPTH_THEORY_COLUMNS))


def _ratios(inputs: tuple) -> dict:
    """theory.predicted_ratios for (activation, initializer, depth, width, features, outputs, bias, alpha, σw, σb)."""
    *positional, sigma_w, sigma_b = inputs
    return theory.predicted_ratios(*positional, sigma_w=sigma_w, sigma_b=sigma_b)


def _same(first: float, second: float) -> bool:
    """Whether two predictions agree to plotting precision (cells that differ only in what theory ignores)."""
    return math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-9)


def dead_theory(planned: list[PlannedRun]) -> pd.DataFrame | None:
    """The born-dead bound per (width, depth), where its assumptions hold: ReLU, zero bias (else None)."""
    models = [item.config.model for item in planned]
    if any(model.kind == "rnn" or model.activation != "relu" or bias_value(model.bias_initializer) != 0.0
           or not theory.covers(model) for model in models):
        return None
    pairs = sorted({(model.width, model.depth) for model in models})
    return pd.DataFrame([{"model.width": width, "model.depth": depth, "bound": theory.born_dead_bound(width, depth)}
                         for width, depth in pairs])


def theory_frames(sweep: pd.DataFrame, planned: list[PlannedRun]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(depth-view theory, born-dead theory or None) for a sweep's planned runs."""
    return depth_theory(planned), dead_theory(planned)


TIME_THEORY_COLUMNS = ("cell", "log10_time_ratio")


def time_theory(planned: list[PlannedRun]) -> pd.DataFrame:
    """Per grid cell of a recurrent sweep, mean field's log10 t = 1 / t = T ratio at initialisation
    (lab.science.recurrent_theory; the seed does not enter it); cells it does not cover are left out. Empty, with its
    columns, for a sweep without such cells."""
    rows, seen = [], set()
    for item in planned:
        if item.cell in seen:
            continue
        seen.add(item.cell)
        predicted = predicted_time_ratio(item.config)
        if predicted is not None:
            rows.append({"cell": item.cell, "log10_time_ratio": predicted})
    return pd.DataFrame(rows, columns=list(TIME_THEORY_COLUMNS))


def chance_accuracy(planned: list[PlannedRun]) -> float | None:
    """The accuracy of guessing: 1 / classes when every run of the sweep has the same classes (else None)."""
    classes = {item.config.data.num_classes for item in planned}
    return 1.0 / classes.pop() if len(classes) == 1 else None
