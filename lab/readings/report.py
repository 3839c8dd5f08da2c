"""Plain-text reading of a run: the per-layer table, a verdict computed from the numbers, and the readings
(first layer over last, dead units, final accuracy) that the verdict, Fix it and the tour share."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lab.contract.result import RunResult
from lab.readings import time_reading
from lab.text.i18n import fact_sentences


def hidden_rows(layers: pd.DataFrame, moment: str = "start") -> pd.DataFrame:
    """The hidden layers' rows at the first ('start') or last ('end') recorded step, layer 1 first."""
    step = layers["step"].min() if moment == "start" else layers["step"].max()
    return layers[(layers["step"] == step) & (layers["layer_kind"] == "hidden")].sort_values("layer")


def first_to_last(layers: pd.DataFrame, column: str, moment: str = "start") -> float:
    """Layer 1's value of column over the last hidden layer's, at the first ('start') or last ('end') record
    (NaN for 0/0, inf for x/0)."""
    hidden = hidden_rows(layers, moment)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 below a dead layer is NaN, not a warning
        return float(np.float64(hidden[column].iloc[0]) / np.float64(hidden[column].iloc[-1]))


def dead_share(layers: pd.DataFrame, moment: str) -> float:
    """The mean dead fraction over the hidden layers at the first or last record."""
    return float(hidden_rows(layers, moment)["dead_fraction"].mean())


def dead_layer_count(layers: pd.DataFrame, moment: str) -> int:
    """Hidden layers whose every unit is dead on the probe batch at the first or last record."""
    return int((hidden_rows(layers, moment)["dead_fraction"] >= 1.0).sum())


def final_accuracy(result: RunResult) -> float | None:
    """The final validation accuracy (None when the run recorded none)."""
    return result.summary.get("final", {}).get("val_accuracy")


def verdict_facts(layers: pd.DataFrame, depth: int) -> list[tuple[str, dict]]:
    """What the numbers say, as (text key, values) pairs that lab.text.i18n turns into sentences."""
    if layers.empty:
        return []
    facts = []
    trained = layers["step"].nunique() > 1
    for moment in ("start", "end") if trained else ("start",):
        rows = hidden_rows(layers, moment).set_index("layer")
        for measure, column in (("measure_weight", "grad_norm"), ("measure_signal", "preact_grad_rms")):
            first, last = rows.loc[1, column], rows.loc[depth, column]
            if depth < 2 or not (math.isfinite(first) and math.isfinite(last)) or last == 0:
                continue
            if first == 0:
                facts.append(("verdict_zero", {"moment": f"moment_{moment}", "measure": measure}))
            else:
                ratio = f"{first / last:.2g}"
                facts.append(("verdict_ratio", {"moment": f"moment_{moment}", "measure": measure, "ratio": ratio}))
        dead_layers = dead_layer_count(layers, moment)
        dead_units = dead_share(layers, moment)
        if dead_layers:
            facts.append(("verdict_dead_layers", {"moment": f"moment_{moment}", "count": dead_layers, "depth": depth}))
        elif dead_units > 0:
            facts.append(("verdict_dead_units", {"moment": f"moment_{moment}", "percent": f"{dead_units:.0%}"}))
    return facts


def verdict(layers: pd.DataFrame, depth: int, language: str = "en") -> list[str]:
    """The verdict as sentences in the given language."""
    return fact_sentences(verdict_facts(layers, depth), language)


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


def header_line(result: RunResult) -> str:
    """The summary's first line: the run id and what was trained (a config's fields, or a callback run's model)."""
    summary, config = result.summary, result.config
    if config is None:  # lab.keras.GradientFlow in a user's model.fit: the summary describes the model
        kinds = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
        rows = " > ".join(f"{kinds.get(row.get('cell'), 'Dense')} {row['units']} {row['activation']}"
                          for row in summary["model"]["rows"])
        optimizer = summary.get("optimizer", {})
        rate = optimizer.get("learning_rate", "?")  # a number, or a schedule's text
        rate = f"{rate:.4g}" if isinstance(rate, (int, float)) else rate
        return (f"run {summary['run_id']}  {summary.get('name', '')}: your Keras model (GradientFlow in model.fit), "
                f"{rows}, {optimizer.get('name', 'optimizer')} lr {rate}, "
                f"loss {summary.get('loss', '?')}, {summary.get('steps', '?')} steps")
    model = config.model
    network = f"depth {model.depth} x width {model.width}"
    if model.kind == "rnn":
        network = (f"{model.cell} rnn, depth {model.depth} x width {model.width}, T {config.data.sequence_length}, "
                   f"recurrent {model.recurrent_initializer}"
                   + (f" (spectral radius {model.spectral_radius:g})" if model.spectral_radius is not None else ""))
    return (f"run {summary['run_id']}  {config.name}: {config.data.dataset}, {network}, "
            f"{model.activation} -> {model.output_activation}, {model.kernel_initializer}, "
            f"{config.training.optimizer} lr {config.training.learning_rate}, {config.training.epochs} epochs, "
            f"seed {config.seed}")


def summary_text(result: RunResult, folder=None) -> str:
    """The one-screen summary printed by `run` and `show`."""
    summary = result.summary
    final = summary.get("final", {})
    lines = [header_line(result), f"status: {summary['status']} - {summary.get('message', '')}"]
    if final.get("loss") is not None:
        lines.append(
            "final: loss {}, accuracy {}, val_loss {}, val_accuracy {}".format(
                *(_number(final.get(key)) for key in ("loss", "accuracy", "val_loss", "val_accuracy"))
            )
        )
    lines += ["", layer_table(result.layers), "", *verdict(result.layers, result.depth)]
    if result.recurrent:
        # One home for the time readings: lab.readings.time_reading (the app's sentences and charts read it too).
        lines += ["", *time_reading.ratio_lines(result.timesteps), *time_reading.slope_lines(result.timesteps, summary)]
    if folder is not None:
        lines.append(f"written: {folder}")
    return "\n".join(lines)



# The figures of one run in sweep.csv (the classic studies' plots read them).
FIGURE_COLUMNS = (
    "status", "log10_grad_ratio_start", "log10_grad_ratio_end", "log10_signal_ratio_start", "log10_signal_ratio_end",
    "dead_layer_start", "dead_layer_end", "accuracy", "val_accuracy",
)


# Added only for runs with probe.propagation (a sweep without it keeps the columns above, byte for byte): at the last
# hidden layer L, J = dz_L/dz_1, the whole hidden stack's Jacobian that the isometry papers plot (Pennington et al. 2017).
# The spread is log10(jac_max / jac_min), each the mean over the Jacobian samples: infinite (or ~100 decades of
# rounding) wherever J is singular, as every ReLU net's is (a dead unit zeroes a row). The upper spread
# log10(jac_max / rms) stays finite there: how far the largest singular value stands above the root mean square.
# q_last_start lets a reader check that the last layer sits at q* (mean field's fixed point), where isometry is claimed.
PROPAGATION_FIGURE_COLUMNS = ("log10_jac_spread_start", "log10_jac_spread_end", "log10_jac_mean_sq_start",
                              "log10_jac_max_over_rms_start", "q_last_start")
# Added only for trained runs (training.epochs > 0): the mean of val_accuracy over the recorded epochs (1 to the last),
# the area under the learning curve per epoch: higher means learned sooner, not only learned in the end.
TRAINING_FIGURE_COLUMNS = ("val_accuracy_mean",)
# Added only for recurrent runs (model.kind rnn; every other sweep.csv keeps its columns, byte for byte): log10 of
# state_grad_rms at t = 1 over t = T (timesteps.csv) at the first and last record - the gradient through time that
# the time-lag and spectral-radius studies plot. With stacked layers, the LAST recurrent layer: the one the error
# enters from the head, so its ratio is the time lag alone, not mixed with the loss through the layers above.
TIME_FIGURE_COLUMNS = ("log10_time_ratio_start", "log10_time_ratio_end")


def figure_columns(config) -> tuple[str, ...]:
    """sweep.csv's figure columns for a run of this config: the classic ones, then those its probes and training add."""
    return (*FIGURE_COLUMNS, *(PROPAGATION_FIGURE_COLUMNS if config.probe.propagation else ()),
            *(TRAINING_FIGURE_COLUMNS if config.training.epochs > 0 else ()),
            *(TIME_FIGURE_COLUMNS if config.model.kind == "rnn" else ()))


def run_figures(result: RunResult) -> dict:
    """One run's row of figures in sweep.csv: figures(), then the propagation, training and time figures its config asks for."""
    config = result.config
    row = figures(result.layers, config.model.depth, result.summary)
    if config.probe.propagation:
        row.update(propagation_figures(result.propagation, config.model.depth))
    if config.training.epochs > 0:
        row["val_accuracy_mean"] = learning_curve_mean(result.history)
    if config.model.kind == "rnn":
        row.update(time_figures(result.timesteps, config.model.depth))
    return row


def time_figures(timesteps: pd.DataFrame, depth: int) -> dict:
    """log10(state_grad_rms at t = 1 / at t = T) of the last recurrent layer at the first and last record (log10_ratio's
    -inf and NaN; NaN without rows)."""
    row = dict.fromkeys(TIME_FIGURE_COLUMNS, float("nan"))
    last_layer = timesteps[timesteps["layer"] == depth]
    if last_layer.empty:
        return row
    for moment, step in (("start", last_layer["step"].min()), ("end", last_layer["step"].max())):
        at_step = last_layer[last_layer["step"] == step].sort_values("t")
        row[f"log10_time_ratio_{moment}"] = log10_ratio(float(at_step["state_grad_rms"].iloc[0]),
                                                        float(at_step["state_grad_rms"].iloc[-1]))
    return row


def log10_spread(largest: float, smallest: float) -> float:
    """log10(largest / smallest) of singular values: inf when only the smallest is 0, NaN when undefined."""
    if not (math.isfinite(largest) and math.isfinite(smallest)) or largest <= 0 or smallest < 0:
        return float("nan")
    return float("inf") if smallest == 0 else math.log10(largest / smallest)


def propagation_figures(propagation: pd.DataFrame, depth: int) -> dict:
    """At the last hidden layer: the Jacobian's spread at the first and last step; its mean squared singular value,
    upper spread and q at the first step (NaN where the frame has no row for that layer)."""
    row = dict.fromkeys(PROPAGATION_FIGURE_COLUMNS, float("nan"))
    last_layer = propagation[propagation["layer"] == depth]
    if last_layer.empty:
        return row
    for moment, step in (("start", last_layer["step"].min()), ("end", last_layer["step"].max())):
        at_step = last_layer[last_layer["step"] == step].iloc[0]
        row[f"log10_jac_spread_{moment}"] = log10_spread(float(at_step["jac_max"]), float(at_step["jac_min"]))
        if moment == "start":
            mean_square = float(at_step["jac_mean_sq"])
            row["log10_jac_mean_sq_start"] = log10_ratio(mean_square, 1.0)
            row["log10_jac_max_over_rms_start"] = log10_spread(float(at_step["jac_max"]), math.sqrt(max(mean_square, 0.0)))
            row["q_last_start"] = float(at_step["q"])
    return row


def learning_curve_mean(history: pd.DataFrame) -> float:
    """The mean of val_accuracy over the recorded epochs; NaN without any, or when one is not a number."""
    values = history["val_accuracy"].to_numpy(dtype=np.float64)
    return float(values.mean()) if values.size and np.isfinite(values).all() else float("nan")


def log10_ratio(first: float, last: float) -> float:
    """log10(first / last): -inf when only the first is exactly 0, NaN when undefined (last 0, or NaN)."""
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return float("nan")
    return float("-inf") if first == 0 else math.log10(first / last)


def figures(layers: pd.DataFrame, depth: int, summary: dict) -> dict:
    """The summary figures of one run from its layers frame and summary."""
    hidden = layers[layers["layer_kind"] == "hidden"]
    row = {"status": summary["status"]}
    for moment, step in (("start", hidden["step"].min()), ("end", hidden["step"].max())):
        at_step = hidden[hidden["step"] == step].set_index("layer") if not hidden.empty else None
        for name, column in (("grad", "grad_norm"), ("signal", "preact_grad_rms")):
            row[f"log10_{name}_ratio_{moment}"] = (
                log10_ratio(at_step.loc[1, column], at_step.loc[depth, column]) if at_step is not None else float("nan")
            )
        row[f"dead_layer_{moment}"] = bool(at_step is not None and (at_step["dead_fraction"] >= 1.0).any())
    final = summary.get("final") or {}
    row["accuracy"] = float("nan") if final.get("accuracy") is None else final["accuracy"]
    row["val_accuracy"] = float("nan") if final.get("val_accuracy") is None else final["val_accuracy"]
    return row
