"""Plain-text reading of a run: the per-layer table and a verdict computed from the numbers."""
from __future__ import annotations

import math

import pandas as pd

from lab.result import RunResult


def _ratio_sentence(first: float, last: float, what: str) -> str | None:
    """'the first layer's <what> is 1e-06 of the last hidden layer's' (None if undefined)."""
    if not (math.isfinite(first) and math.isfinite(last)) or last == 0:
        return None
    if first == 0:
        return f"the first layer's {what} is exactly 0 (float32 underflow, a dead layer or a zero-gradient activation)"
    return f"the first layer's {what} is {first / last:.2g} of the last hidden layer's"


def verdict(layers: pd.DataFrame, depth: int) -> list[str]:
    """Sentences about vanishing gradients and dead units at the start and the end of training."""
    if layers.empty:
        return []
    lines = []
    steps = sorted(layers["step"].unique())
    for label, step in (("at initialisation", steps[0]), ("at the end", steps[-1])):
        rows = layers[(layers["step"] == step) & (layers["layer_kind"] == "hidden")].set_index("layer")
        if len(steps) == 1 and label == "at the end":
            break
        sentence = _ratio_sentence(rows.loc[1, "grad_norm"], rows.loc[depth, "grad_norm"], "weight gradient")
        signal = _ratio_sentence(rows.loc[1, "preact_grad_rms"], rows.loc[depth, "preact_grad_rms"], "back-propagated signal")
        parts = [part for part in (sentence, signal) if part]
        if depth > 1 and parts:
            lines.append(f"{label.capitalize()}, " + "; ".join(parts) + ".")
        dead_layers = int((rows["dead_fraction"] >= 1.0).sum())
        dead_units = rows["dead_fraction"].mean()
        if dead_layers:
            lines.append(f"{label.capitalize()}, {dead_layers} of {depth} hidden layers are completely dead.")
        elif dead_units > 0:
            lines.append(f"{label.capitalize()}, {dead_units:.0%} of hidden units are dead on the probe batch.")
    return lines


def _number(value: float) -> str:
    """A compact number for the table; exact zeros shown as 0, NaN as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "0" if value == 0 else f"{value:.3g}"


def layer_table(layers: pd.DataFrame) -> str:
    """Per layer: gradient norms and back-propagated signal at the start and the end, dead and saturated shares."""
    if layers.empty:
        return "(no layer records)"
    first, last = layers["step"].min(), layers["step"].max()
    start = layers[layers["step"] == first].set_index("layer")
    end = layers[layers["step"] == last].set_index("layer")
    # One column per measure and recorded moment: step 0 and, when training ran, the last step.
    moments = [(first, start)] if first == last else [(first, start), (last, end)]
    measures = (("grad", "grad_norm"), ("signal", "preact_grad_rms"), ("dead", "dead_fraction"), ("sat", "saturated_fraction"))
    header = ("layer", "kind", *(f"{label}@{step}" for label, _ in measures for step, _ in moments))
    rows = [header]
    for layer in start.index:
        cells = [_number(table.loc[layer, column]) for _, column in measures for _, table in moments]
        rows.append((str(layer), start.loc[layer, "layer_kind"], *cells))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows)


def summary_text(result: RunResult, folder=None) -> str:
    """The one-screen summary printed by `run` and `show`."""
    summary, config = result.summary, result.config
    model = config.model
    final = summary.get("final", {})
    lines = [
        f"run {summary['run_id']}  {config.name}: {config.data.dataset}, depth {model.depth} x width {model.width}, "
        f"{model.activation} -> {model.output_activation}, {model.kernel_initializer}, "
        f"{config.training.optimizer} lr {config.training.learning_rate}, {config.training.epochs} epochs, seed {config.seed}",
        f"status: {summary['status']} - {summary.get('message', '')}",
    ]
    if final.get("loss") is not None:
        lines.append(
            "final: loss {0}, accuracy {1}, val_loss {2}, val_accuracy {3}".format(
                *(_number(final.get(key)) for key in ("loss", "accuracy", "val_loss", "val_accuracy"))
            )
        )
    lines += ["", layer_table(result.layers), "", *verdict(result.layers, model.depth)]
    if folder is not None:
        lines.append(f"written: {folder}")
    return "\n".join(lines)
