"""Theory beside one experiment: the predicted per-layer profile at initialisation, anchored to the run."""
from __future__ import annotations

import math

import pandas as pd

from lab.contract.config import ExperimentConfig
from lab.science import theory
from lab.science.theory import bias_value

RELATIVE_COLUMN = {"grad_norm": "log10_grad_relative", "preact_grad_rms": "log10_signal_relative"}


def theory_profile(layers: pd.DataFrame, config: ExperimentConfig, measure: str) -> pd.DataFrame | None:
    """(layer, plotted): theory's relative profile scaled so its last hidden layer meets the measured one at step 0.

    Theory predicts ratios between layers, not absolute sizes (those depend on the loss at the
    output), so the curve is pinned to the run's own last hidden layer. None where theory says
    nothing: other measures, a single hidden layer, a remedy it does not model (theory.covers), or no
    finite positive anchor.
    """
    if config is None or measure not in RELATIVE_COLUMN or config.model.depth < 2 or layers.empty:  # None: a callback run
        return None
    if not theory.covers(config.model, with_sigma=True):  # σw and σb are passed below
        return None
    model, data = config.model, config.data
    first_step = layers["step"].min()
    anchor_rows = layers[(layers["step"] == first_step) & (layers["layer"] == model.depth)][measure]
    anchor = float(anchor_rows.iloc[0]) if len(anchor_rows) else float("nan")
    if not (math.isfinite(anchor) and anchor > 0):
        return None
    outputs = 1 if model.output_activation == "sigmoid" else data.num_classes
    sigma_b = model.sigma_b if model.bias_initializer == "gaussian" else 0.0  # a gaussian bias adds σb² to q
    profile = theory.predicted_profile(model.activation, model.kernel_initializer, model.depth, model.width,
                                       data.num_features, outputs, bias_value(model.bias_initializer), model.leaky_alpha,
                                       sigma_w=model.sigma_w, sigma_b=sigma_b)
    plotted = anchor * 10.0 ** profile[RELATIVE_COLUMN[measure]]
    return pd.DataFrame({"layer": profile["layer"].astype(int), "plotted": plotted}).query("plotted > 0")
