"""The guided tour: the tutorial's sections in order, each a claim, a preset, a remedy and the measured facts.

Sections follow the tutorial: the step function, sigmoid and the vanishing gradient, tanh, ReLU and
dying ReLU, leaky ReLU, softmax for multiclass. Each names a preset in experiments/ (its live
experiment) and, except softmax, a remedy of lab.readings.fix_it applied to that preset. What the page shows
as measured comes from each section's `facts`, computed from the runs' frames: the text holds only the claim
and the sentence templates. `claim_holds` tests the claim on the numbers, so a run that does not
bear a claim out is shown as qualifying it, not as confirming it.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import load_config
from lab.contract.presets import EXPERIMENTS
from lab.readings.fix_it import format_ratio, remedied_config
from lab.readings.report import dead_layer_count, dead_share, final_accuracy, first_to_last, hidden_rows
from lab.contract.result import RunResult


Fact = tuple[str, dict]


def accuracy_or_nan(result: RunResult) -> float:
    """The final validation accuracy, NaN when the run recorded none (so no claim test passes on it)."""
    value = final_accuracy(result)
    return math.nan if value is None else float(value)


def largest_hidden_gradient(result: RunResult) -> float:
    """The largest hidden-layer weight-gradient norm over every record."""
    return float(result.layers.loc[result.layers["layer_kind"] == "hidden", "grad_norm"].abs().max())


def accuracy_fact(result: RunResult) -> Fact:
    """Final validation accuracy beside chance (one over the number of classes)."""
    chance = 1.0 / result.config.data.num_classes
    return ("tour_fact_accuracy", {"value": f"{accuracy_or_nan(result):.2f}", "chance": f"{chance:.2f}"})


def ratio_fact(result: RunResult, column: str, moment: str = "start") -> Fact:
    """Layer 1's value over the last hidden layer's."""
    measure = "measure_signal" if column == "preact_grad_rms" else "measure_weight"
    value = format_ratio(first_to_last(result.layers, column, moment))
    if value == "ratio_both_zero":  # no ratio to state: say what the numbers are
        return ("tour_fact_both_zero", {"moment": f"moment_{moment}", "measure": measure})
    return ("tour_fact_ratio", {"moment": f"moment_{moment}", "measure": measure, "value": value})


def step_facts(result: RunResult) -> list[Fact]:
    """Every hidden weight gradient at every record, the output layer's, the accuracy."""
    layers = result.layers
    output = layers[(layers["layer_kind"] == "output") & (layers["step"] == layers["step"].min())]
    return [
        ("tour_fact_largest_hidden", {"value": format_ratio(largest_hidden_gradient(result)),
                                      "records": int(layers["step"].nunique()),
                                      "output": f"{float(output['grad_norm'].iloc[0]):.3g}"}),
        accuracy_fact(result),
    ]


def per_layer_factor(result: RunResult, column: str) -> float:
    """The geometric mean factor by which column shrinks per hidden layer at initialisation, going down."""
    ratio = first_to_last(result.layers, column)
    depth = result.config.model.depth
    return ratio ** (1.0 / (depth - 1)) if depth > 1 and ratio > 0 and math.isfinite(ratio) else math.nan


def gradient_facts(result: RunResult) -> list[Fact]:
    """First layer over last at initialisation (weight gradient and signal), and the signal's factor per layer."""
    return [ratio_fact(result, "grad_norm"), ratio_fact(result, "preact_grad_rms"),
            ("tour_fact_per_layer", {"value": f"{per_layer_factor(result, 'preact_grad_rms'):.2f}"})]


def sigmoid_facts(result: RunResult) -> list[Fact]:
    return [*gradient_facts(result), accuracy_fact(result)]


def tanh_facts(result: RunResult) -> list[Fact]:
    saturated = float(hidden_rows(result.layers, "end")["saturated_fraction"].mean())
    return [*gradient_facts(result), ("tour_fact_saturated", {"value": f"{saturated:.0%}"}), accuracy_fact(result)]


def dead_facts(result: RunResult) -> list[Fact]:
    """Dead units and layers at initialisation and at the end."""
    depth = result.config.model.depth
    return [("tour_fact_dead", {"moment": f"moment_{moment}", "value": f"{dead_share(result.layers, moment):.0%}",
                                "layers": dead_layer_count(result.layers, moment), "depth": depth})
            for moment in ("start", "end")]


def relu_facts(result: RunResult) -> list[Fact]:
    return [*dead_facts(result), accuracy_fact(result)]


def leaky_facts(result: RunResult) -> list[Fact]:
    return [*dead_facts(result), ratio_fact(result, "grad_norm"), accuracy_fact(result)]


def softmax_facts(result: RunResult) -> list[Fact]:
    """The signal at the logits (p - y with cross-entropy) at initialisation and at the end, and the accuracy."""
    layers = result.layers
    output = layers[layers["layer_kind"] == "output"].sort_values("step")
    return [("tour_fact_logits", {"classes": result.config.data.num_classes,
                                  "start": f"{float(output['preact_grad_rms'].iloc[0]):.3g}",
                                  "end": f"{float(output['preact_grad_rms'].iloc[-1]):.3g}"}),
            accuracy_fact(result)]


@dataclass(frozen=True)
class TourSection:
    """One section: its text key, preset, remedy (a lab.readings.fix_it remedy or None), facts and the claim's test."""

    key: str
    preset: str
    remedy: str | None
    facts: Callable[[RunResult], list[Fact]]
    holds: Callable[[RunResult, RunResult | None], bool]

    def config(self, quick: bool = False) -> ExperimentConfig:
        """The section's experiment: its preset, as the Experiment page would load it (quick: shrunk, for tests)."""
        return section_configs(self.preset, self.remedy, quick)[0]

    def remedy_config(self, quick: bool = False) -> ExperimentConfig | None:
        """The same experiment with the section's remedy applied (None for a section without one)."""
        return section_configs(self.preset, self.remedy, quick)[1]


@functools.cache
def section_configs(preset: str, remedy: str | None, quick: bool) -> tuple[ExperimentConfig, ExperimentConfig | None]:
    """A section's two configs, read and validated once per process: the tour page asks for all of them on
    every rerun (14 ms a rerun when read each time), and configs are frozen, so one copy serves every visitor."""
    config = load_config(EXPERIMENTS / f"{preset}.yaml", quick=quick)
    return config, None if remedy is None else remedied_config(config, remedy)


SECTIONS = (
    # Claim: no hidden layer gets any gradient, at any record.
    TourSection("step", "step_zero_gradient", "tanh", step_facts,
                lambda run, remedy: largest_hidden_gradient(run) == 0.0),
    # Claim: the first layer's weight gradient is at least 10^4 below the last hidden layer's (about 10^-6 at depth 10).
    TourSection("sigmoid", "sigmoid_vanishing", "batch_norm", sigmoid_facts,
                lambda run, remedy: first_to_last(run.layers, "grad_norm") < 1e-4),
    # Claim: tanh keeps the first layer's weight gradient within a factor of ten of the last.
    TourSection("tanh", "tanh_vs_sigmoid", "batch_norm", tanh_facts,
                lambda run, remedy: 0.1 < first_to_last(run.layers, "grad_norm") < 10),
    # Claim: a too-high learning rate kills ReLU units: the dead share at the end is over twice that at the start.
    TourSection("relu", "dying_relu_training", "lower_learning_rate", relu_facts,
                lambda run, remedy: dead_share(run.layers, "end") > 2 * dead_share(run.layers, "start")),
    # Claim: the dead-at-birth ReLU net has a dead layer; with leaky ReLU none, and it learns (>= 90%).
    TourSection("leaky_relu", "dead_at_birth", "leaky_relu", leaky_facts,
                lambda run, remedy: dead_layer_count(run.layers, "start") > 0 and remedy is not None
                and dead_layer_count(remedy.layers, "start") == 0 and accuracy_or_nan(remedy) >= 0.9),
    # Claim: softmax over 4 classes learns the task (>= 80% where chance is 25%).
    TourSection("softmax", "softmax_multiclass", None, softmax_facts,
                lambda run, remedy: accuracy_or_nan(run) >= 0.8),
)


def section(key: str) -> TourSection:
    """The section with this key (KeyError names the keys)."""
    for candidate in SECTIONS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"tour section {key!r}: one of {', '.join(item.key for item in SECTIONS)}")


def claim_holds(tour_section: TourSection, run: RunResult, remedy: RunResult | None) -> bool:
    """Whether the measured numbers bear the section's claim out (NaN comparisons count as not)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return bool(tour_section.holds(run, remedy))


def tour_text(language: str = "en", quick: bool = False) -> str:
    """The whole tour as text, every section run headless: the page's numbers, for a terminal or a note."""
    from lab.training.run import run
    from lab.readings.fix_it import comparison_sentences
    from lab.text.i18n import fact_sentences, translate

    lines = []
    for item in SECTIONS:
        experiment = run(item.config(quick))
        remedy = run(item.remedy_config(quick)) if item.remedy else None
        lines += [translate(f"tour_{item.key}_title", language),
                  f"  {translate('tour_claim', language)}: {translate(f'tour_{item.key}_claim', language)}",
                  f"  {translate('tour_measured', language)} ({experiment.config.name}, run {experiment.run_id}):"]
        lines += [f"  - {sentence}" for sentence in fact_sentences(item.facts(experiment), language)]
        verdict = "tour_confirmed" if claim_holds(item, experiment, remedy) else "tour_qualified"
        lines.append(f"  {'✅' if verdict == 'tour_confirmed' else '⚠️'} {translate(verdict, language)}")
        lines.append(f"  {translate('tour_remedy', language)}: {translate(f'tour_{item.key}_remedy', language)}")
        if remedy is not None:
            lines += [f"  - {sentence}" for sentence in comparison_sentences(experiment, remedy, item.remedy, language)]
        lines.append("")
    return "\n".join(lines)

