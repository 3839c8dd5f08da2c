"""The guided tour: the tutorial's sections in order, each a claim, a preset, a remedy and the measured facts.

Sections follow the tutorial: the step function, sigmoid and the vanishing gradient, tanh, ReLU and
dying ReLU, leaky ReLU, softmax for multiclass; then why depth matters, the edge of chaos (issue #13), and the
vanishing gradient through time in a recurrent network, where it was first found (issue #14).
Each names a preset in experiments/ (its live experiment) and, except softmax, a remedy of
lab.readings.fix_it applied to that preset. What the page shows as measured comes from each section's
`facts`, computed from the runs' frames: the text holds only the claim and the sentence templates.
`claim_holds` tests the claim on the numbers with the claim of the section's preset (its YAML, read by
lab.readings.claims), so a run that does not bear a claim out is shown as qualifying it, not as
confirming it, and the tour tests exactly what the preset's tests and docs/presets.md state.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import load_config
from lab.contract.presets import EXPERIMENTS
from lab.contract.result import RunResult
from lab.readings import time_reading
from lab.readings.claims import claim_for, evaluate, number_text
from lab.readings.fix_it import format_ratio, remedied_config, time_ratio
from lab.readings.phase import effective_sigma_w_squared, where_you_are
from lab.readings.report import dead_layer_count, dead_share, final_accuracy, first_to_last, hidden_rows
from lab.science.mean_field import mean_field
from lab.text.i18n import fact_sentences, translate

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


def depth_scale_fact(result: RunResult) -> Fact:
    """The signal's measured factor per layer beside mean field's √χ1 = e^(−1/(2ξ)) at q*, and that factor over the net.

    χ1 is the squared signal's factor per layer, so the signal's is its square root; the measured factor is the geometric
    mean over the depth − 1 layers from the last hidden layer down to the first (per_layer_factor), which includes the
    first layers' approach from q₁ to q*.
    """
    sigma_w2, sigma_b2, _ = effective_sigma_w_squared(result.config)
    model = result.config.model
    field = mean_field(model.activation, math.sqrt(sigma_w2), math.sqrt(sigma_b2), model.leaky_alpha)
    theory = math.sqrt(field.chi_1)
    return ("tour_fact_depth_scale", {"measured": f"{per_layer_factor(result, 'preact_grad_rms'):.3f}",
                                      "theory": f"{theory:.3f}", "layers": model.depth - 1,
                                      "predicted": format_ratio(theory ** (model.depth - 1))})


def edge_fact(config: ExperimentConfig) -> Fact:
    """Where the edge_of_chaos remedy moves σw: σw² on the boundary at the same σb², and mean field's χ1 there."""
    remedied = remedied_config(config, "edge_of_chaos")
    sigma_w2, sigma_b2, _ = effective_sigma_w_squared(remedied)
    model = remedied.model
    field = mean_field(model.activation, math.sqrt(sigma_w2), math.sqrt(sigma_b2), model.leaky_alpha)
    return ("tour_fact_edge", {"sigma_w2": f"{sigma_w2:.4g}", "sigma_b2": f"{sigma_b2:.3g}", "chi_1": f"{field.chi_1:.3f}"})


def edge_of_chaos_facts(result: RunResult) -> list[Fact]:
    """Mean field's phase sentences for the net, the signal's first-to-last ratio and its factor per layer beside
    theory's, where the remedy moves σw, and the accuracy (the remedy's own numbers are the comparison's)."""
    return [*where_you_are(result.config), ratio_fact(result, "preact_grad_rms"), depth_scale_fact(result),
            edge_fact(result.config), accuracy_fact(result)]


def time_ratio_fact(result: RunResult, moment: str) -> Fact:
    """The gradient reaching t = 1 over the one reaching t = T, at the last recurrent layer, at the first or last record."""
    value = format_ratio(time_ratio(result, moment))
    if value == "ratio_both_zero":
        return ("tour_rnn_fact_time_zero", {"moment": f"moment_{moment}", "length": result.config.data.sequence_length})
    return ("tour_rnn_fact_time", {"moment": f"moment_{moment}", "value": value, "length": result.config.data.sequence_length})


def per_step_factor(result: RunResult) -> float:
    """The geometric mean factor by which the gradient changes per step back in time at initialisation, t = T to t = 1."""
    ratio, steps = time_ratio(result, "start"), result.config.data.sequence_length - 1
    return ratio ** (1.0 / steps) if ratio > 0 and math.isfinite(ratio) else math.nan


def per_step_fact(result: RunResult) -> list[Fact]:
    """The measured factor per step beside mean field's ρ·√(mean φ′(z)²) at initialisation (simple cell: summary.json's
    "recurrence" rows; gated cells have none, so the fact is left out)."""
    timesteps = result.timesteps
    steps = time_reading.recorded_steps(timesteps)
    theory = time_reading.theory_factor(result.summary, steps[0], time_reading.last_layer(timesteps)) if steps else math.nan
    measured = per_step_factor(result)
    if not (math.isfinite(theory) and math.isfinite(measured)):
        return []
    return [("tour_rnn_fact_per_step", {"measured": f"{measured:.3f}", "theory": f"{theory:.3f}",
                                        "steps": result.config.data.sequence_length - 1})]


def latch_facts(result: RunResult) -> list[Fact]:
    """The latch beside the vanishing run: the gradient through time at initialisation and the accuracy it ends at."""
    return [("tour_rnn_fact_latch", {"value": format_ratio(time_ratio(result, "start")),
                                     "length": result.config.data.sequence_length,
                                     "accuracy": f"{accuracy_or_nan(result):.2f}",
                                     "chance": f"{1.0 / result.config.data.num_classes:.2f}"})]


def rnn_facts(result: RunResult) -> list[Fact]:
    """The gradient through time at initialisation (and its factor per step beside theory's) and at the end, and the
    accuracy; the remedy's numbers (its ratios, the LSTM's carry) are the Fix it comparison's."""
    return [time_ratio_fact(result, "start"), *per_step_fact(result), time_ratio_fact(result, "end"), accuracy_fact(result)]


@dataclass(frozen=True)
class TourSection:
    """One section: its text key, preset (whose claim the section tests), remedy (a lab.readings.fix_it remedy or
    None), facts, and the preset whose claim the remedied run must bear out (None: the remedy claims nothing); a note
    (a text key: the section's nuance) and an aside, a preset run beside the experiment whose numbers (aside_facts) the
    note states; and the caption shown before the runs (a text key saying how long they take)."""

    key: str
    preset: str
    remedy: str | None
    facts: Callable[[RunResult], list[Fact]]
    remedy_claim: str | None = None
    note: str | None = None
    aside: str | None = None
    aside_facts: Callable[[RunResult], list[Fact]] | None = None
    not_run: str = "tour_not_run"

    def config(self, quick: bool = False) -> ExperimentConfig:
        """The section's experiment: its preset, as the Experiment page would load it (quick: shrunk, for tests)."""
        return section_configs(self.preset, self.remedy, quick)[0]

    def remedy_config(self, quick: bool = False) -> ExperimentConfig | None:
        """The same experiment with the section's remedy applied (None for a section without one)."""
        return section_configs(self.preset, self.remedy, quick)[1]

    def aside_config(self, quick: bool = False) -> ExperimentConfig | None:
        """The aside's experiment (None for a section without one)."""
        return None if self.aside is None else section_configs(self.aside, None, quick)[0]


@functools.cache
def section_configs(preset: str, remedy: str | None, quick: bool) -> tuple[ExperimentConfig, ExperimentConfig | None]:
    """A section's two configs, read and validated once per process: the tour page asks for all of them on
    every rerun (14 ms a rerun when read each time), and configs are frozen, so one copy serves every visitor."""
    config = load_config(EXPERIMENTS / f"{preset}.yaml", quick=quick)
    return config, None if remedy is None else remedied_config(config, remedy)


SECTIONS = (
    TourSection("step", "step_zero_gradient", "tanh", step_facts),
    TourSection("sigmoid", "sigmoid_vanishing", "batch_norm", sigmoid_facts),
    TourSection("tanh", "tanh_vs_sigmoid", "batch_norm", tanh_facts),
    TourSection("relu", "dying_relu_training", "lower_learning_rate", relu_facts),
    # The dead-at-birth net, and with leaky ReLU (the remedy's config is leaky_relu_rescue.yaml's) it learns.
    TourSection("leaky_relu", "dead_at_birth", "leaky_relu", leaky_facts, remedy_claim="leaky_relu_rescue"),
    TourSection("softmax", "softmax_multiclass", None, softmax_facts),
    # A 30-layer tanh net in the ordered phase, and with σw on the order-chaos boundary (the remedy's config is
    # edge_of_chaos_tanh.yaml's) its signal reaches the first layer.
    TourSection("edge_of_chaos", "ordered_phase_tanh", "edge_of_chaos", edge_of_chaos_facts, remedy_claim="edge_of_chaos_tanh"),
    # A simple tanh RNN on the adding task at T = 50 (issue #14), and with an LSTM cell (the remedy's config is
    # lstm_remembers.yaml's) it learns the task.
    # Beside it the latch (rnn_latch: the same RNN on bit_memory): a tiny gradient at initialisation, and it learns.
    TourSection("rnn", "rnn_vanishing", "lstm", rnn_facts, remedy_claim="lstm_remembers", note="tour_rnn_note",
                aside="rnn_latch", aside_facts=latch_facts, not_run="tour_rnn_not_run"),
)


def section(key: str) -> TourSection:
    """The section with this key (KeyError names the keys)."""
    for candidate in SECTIONS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"tour section {key!r}: one of {', '.join(item.key for item in SECTIONS)}")


def claim_text(tour_section: TourSection, language: str = "en") -> str:
    """The section's claim in language, its numbers read from the preset's claim and, for a section whose remedy makes
    a claim of its own, that preset's (remedy_threshold): one threshold, one home."""
    threshold = number_text(claim_for(tour_section.preset).claim.threshold)
    remedy = {} if tour_section.remedy_claim is None else {
        "remedy_threshold": number_text(claim_for(tour_section.remedy_claim).claim.threshold)}
    return translate(f"tour_{tour_section.key}_claim", language, threshold=threshold, **remedy)


def claim_holds(tour_section: TourSection, run: RunResult, remedy: RunResult | None) -> bool:
    """Whether the measured numbers bear the section's claim out: its preset's claim on the run and, for a section
    whose remedy makes a claim of its own, that preset's claim on the remedied run (NaN counts as not)."""
    if not evaluate(claim_for(tour_section.preset).claim, run).holds:
        return False
    return tour_section.remedy_claim is None or (
        remedy is not None and evaluate(claim_for(tour_section.remedy_claim).claim, remedy).holds)


def note_sentences(tour_section: TourSection, aside: RunResult | None, language: str = "en") -> list[str]:
    """The aside's measured sentences for the section's note, with its run id (none before it has run)."""
    if aside is None or tour_section.aside_facts is None:
        return []
    tag = translate("run_tag", language, run_id=aside.run_id)
    return [f"{sentence} ({aside.config.name}, {tag})" for sentence in fact_sentences(tour_section.aside_facts(aside), language)]


def tour_text(language: str = "en", quick: bool = False) -> str:
    """The whole tour as text, every section run headless: the page's numbers, for a terminal or a note."""
    from lab.readings.fix_it import comparison_sentences
    from lab.training.run import run

    lines = []
    for item in SECTIONS:
        experiment = run(item.config(quick))
        remedy = run(item.remedy_config(quick)) if item.remedy else None
        run_tag = translate("run_tag", language, run_id=experiment.run_id)
        lines += [translate(f"tour_{item.key}_title", language),
                  f"  {translate('tour_claim', language)}: {claim_text(item, language)}",
                  f"  {translate('tour_measured', language)} ({experiment.config.name}, {run_tag}):"]
        lines += [f"  - {sentence}" for sentence in fact_sentences(item.facts(experiment), language)]
        verdict = "tour_confirmed" if claim_holds(item, experiment, remedy) else "tour_qualified"
        lines.append(f"  {'✅' if verdict == 'tour_confirmed' else '⚠️'} {translate(verdict, language)}")
        lines.append(f"  {translate('tour_remedy', language)}: {translate(f'tour_{item.key}_remedy', language)}")
        if remedy is not None:
            lines += [f"  - {sentence}" for sentence in comparison_sentences(experiment, remedy, item.remedy, language)]
        if item.note is not None:  # the section's nuance, with its aside's numbers, as the page shows it
            lines.append(f"  {translate(item.note, language)}")
            if item.aside is not None:
                aside = run(item.aside_config(quick))
                lines += [f"  - {sentence}" for sentence in note_sentences(item, aside, language)]
        lines.append("")
    return "\n".join(lines)

