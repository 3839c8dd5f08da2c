""""Fix it": a finished run's config with one remedy applied, and what the remedy changed, read from both runs.

A remedy here is a named set of config changes (the same keys a config file sets, see
experiments/remedies/): batch or layer normalisation, skip connections, an initializer, σw on the
order-chaos boundary, an activation, gradient clipping or a smaller learning rate. Which ones make sense
depends on the run (He initialisation is for ReLU-like activations; batch normalisation is not offered
to a net that already has it), and the one suggested first follows from what the run measured (a
diverged run is offered clipping first, a net with dead layers leaky ReLU, a vanishing sigmoid net batch
normalisation, a plain Gaussian tanh net in the ordered or chaotic phase σw on the boundary).

Recurrent networks (model.kind rnn, issue #14) have their own remedies: a gated cell (LSTM, GRU), an orthogonal or
identity recurrent matrix, a spectral radius of 1, beside clipping, a smaller learning rate and tanh, which act there
as in an MLP. The MLP's block remedies (normalisation, skips, RAI: refused by the config for rnn) and those acting on a
Dense layer's kernel or on one layer's tiny gradient (He, σw on mean field's boundary, Adam, SELU, leaky ReLU) are not
offered for rnn: the gradient through time passes through the recurrent matrix and the cell, which they leave as it
was. The suggestion reads the timesteps frame: the gradient reaching t = 1 over the one at t = T.

The comparison is computed from the two runs' layer frames, never from the remedy's name: the sentence
"with batch normalisation the first layer receives 34 of the last layer's signal instead of 1.3e-12"
takes both numbers from the runs.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import ConfigError, load_config
from lab.contract.result import RunResult
from lab.readings import phase
from lab.readings.report import dead_layer_count, dead_share, final_accuracy, first_to_last
from lab.readings.time_reading import run_time_ratio as time_ratio
from lab.science.initializers import SIGMA_W_INITIALIZERS
from lab.science.mean_field import critical_sigma_w, mean_field
from lab.science.recurrent_initializers import SIMPLE_ONLY_RECURRENT_INITIALIZERS
from lab.text.i18n import fact_sentences, translate

RELU_FAMILY = ("relu", "leaky_relu")
# A skip every 3 blocks, as experiments/remedies/residual.yaml: every 2 lets ReLU outputs (never
# negative) pile up along the skips until SGD at 0.1 diverges on a 50-layer net.
RESIDUAL_EVERY = 3
CLIP_NORM = 1.0
LEARNING_RATE_DIVISOR = 10.0
ADAM_LEARNING_RATE = 0.01  # as the presets that train with Adam (relu_he, dead_at_birth, softmax_multiclass)
LEAKY_ALPHA = 0.1  # as experiments/leaky_relu_rescue.yaml: 0.01 leaves a narrow net too little slope to learn in 30 epochs
# φ(ax) = aφ(x) for a > 0: χ1 = σw² E[φ′²] does not depend on q, so their boundary σw is the same at every σb, and at
# σb > 0 the length map there grows without bound (q* = ∞): their one finite critical point has σb = 0.
HOMOGENEOUS = ("relu", "leaky_relu", "linear")
CRITICAL_DIGITS = 4  # σw on the boundary to 4 significant digits: a readable config.yaml, χ1 within 1e-3 of 1
# Which model kinds a remedy is for (model.kind): an MLP's, a recurrent network's, or both.
MLP, RNN, BOTH = ("mlp",), ("rnn",), ("mlp", "rnn")
# The smaller_spectral_radius remedy sets the simple cell's recurrent matrix to spectral radius 1: for the linearised
# recurrence h_t = U h_(t-1) the radius where the gradient through time neither grows nor shrinks on the largest
# eigenvector; with tanh (|φ′| ≤ 1) the per-step factor ρ·√mean φ′² is then at most 1, so it cannot explode in mean field.
UNIT_SPECTRAL_RADIUS = 1.0
DEFAULT_RECURRENT_INITIALIZER = "orthogonal"  # Keras' default; what a gated cell falls back to from identity
# An MLP's first layer receiving under 1 % of the last hidden layer's signal has vanished, over 100x exploded.
VANISHED, EXPLODED = 1e-2, 1e2
# The gradient through time (timesteps frame, t = 1 over t = T at initialisation): under a tenth vanished, over 10x
# exploded. A factor of 10 over the whole lag, not the MLP's 100: rnn_vanishing (T = 50), which no simple cell learns,
# measured 0.013, 0.019, 0.037 for seeds 0-2, and a tanh cell's orthogonal start cannot exceed 1 in mean field.
TIME_VANISHED, TIME_EXPLODED = 0.1, 10.0


def critical_sigma_w_of(config: ExperimentConfig) -> float | None:
    """The σw on the order-chaos boundary (χ1 = 1) at the config's σb, for the edge_of_chaos remedy; None where it has none.

    Mean field (lab.science.mean_field) speaks of plain nets whose σw and σb the config names: a gaussian or orthogonal
    kernel, gaussian or zero biases, no normalisation or skips. The boundary must be a critical point with a finite q*
    (HOMOGENEOUS activations have one only at σb = 0: above it q diverges at χ1 = 1) and χ1 must be 1 to within
    phase.CRITICAL_TOLERANCE at the rounded σw (gelu's and swish's q* jumps there, so no σw near it is critical).
    None too for a net that is already critical: the remedy would change nothing that matters.
    """
    model = config.model
    if model.kernel_initializer not in SIGMA_W_INITIALIZERS or model.normalization != "none" or model.residual_every:
        return None
    sigma_w2, sigma_b2, _ = phase.effective_sigma_w_squared(config)
    if sigma_w2 is None or sigma_b2 is None:
        return None
    try:
        if abs(_mean_field(model.activation, float(model.sigma_w), math.sqrt(sigma_b2), model.leaky_alpha).chi_1 - 1.0) \
                <= phase.CRITICAL_TOLERANCE:
            return None
        return _critical_point(model.activation, math.sqrt(sigma_b2), model.leaky_alpha)
    except ValueError:  # an activation mean field does not define
        return None


@functools.lru_cache(maxsize=256)
def _mean_field(activation: str, sigma_w: float, sigma_b: float, leaky_alpha: float):
    """mean_field, cached: Fix it asks on every rerun of a finished run's page (0.02-0.7 s a call)."""
    return mean_field(activation, sigma_w, sigma_b, leaky_alpha)


@functools.lru_cache(maxsize=64)
def _critical_point(activation: str, sigma_b: float, leaky_alpha: float) -> float | None:
    """critical_sigma_w rounded to CRITICAL_DIGITS where it is a critical point (see critical_sigma_w_of), else None."""
    if activation in HOMOGENEOUS and sigma_b > 0:
        return None
    exact = critical_sigma_w(activation, sigma_b, leaky_alpha)
    if not math.isfinite(exact) or not math.isfinite(_mean_field(activation, exact, sigma_b, leaky_alpha).q_star):
        return None
    sigma_w = float(f"{exact:.{CRITICAL_DIGITS}g}")
    critical = abs(_mean_field(activation, sigma_w, sigma_b, leaky_alpha).chi_1 - 1.0) <= phase.CRITICAL_TOLERANCE
    return sigma_w if critical else None


@dataclass(frozen=True)
class Remedy:
    """One remedy: the model kinds it is for, when it applies to a config of those, and the dotted overrides that apply it."""

    name: str
    applies: Callable[[ExperimentConfig], bool]
    overrides: Callable[[ExperimentConfig], dict]
    kinds: tuple[str, ...] = MLP

    def changes(self, config: ExperimentConfig) -> bool:
        """Whether the remedy is for this config's kind of model and changes something in it."""
        return config.model.kind in self.kinds and self.applies(config)


def gated_cell(cell: str) -> Callable[[ExperimentConfig], dict]:
    """The overrides that swap the recurrent cell for a gated one: its activation is tanh (the config's rule), and a
    simple-cell-only recurrent matrix (identity, a spectral radius) goes back to Keras' default, orthogonal."""
    def overrides(config: ExperimentConfig) -> dict:
        changes = {"model.cell": cell, "model.activation": "tanh"}
        if config.model.recurrent_initializer in SIMPLE_ONLY_RECURRENT_INITIALIZERS:
            changes["model.recurrent_initializer"] = DEFAULT_RECURRENT_INITIALIZER
        if config.model.spectral_radius is not None:
            changes["model.spectral_radius"] = None
        return changes
    return overrides


def recurrent_matrix_is(config: ExperimentConfig, initializer: str) -> bool:
    """Whether the recurrent matrix is already drawn by initializer at its own scale (spectral radius 1 for both
    orthogonal and identity, so a radius of exactly 1 is the same matrix)."""
    return config.model.recurrent_initializer == initializer and config.model.spectral_radius in (None, 1.0)


REMEDIES = {remedy.name: remedy for remedy in (
    Remedy("batch_norm", lambda c: c.model.normalization != "batch",
           lambda c: {"model.normalization": "batch", "model.normalization_position": "before"}),
    Remedy("layer_norm", lambda c: c.model.normalization != "layer",
           lambda c: {"model.normalization": "layer", "model.normalization_position": "before"}),
    Remedy("residual", lambda c: c.model.residual_every == 0 and c.model.depth >= 2,
           lambda c: {"model.residual_every": min(RESIDUAL_EVERY, c.model.depth)}),
    Remedy("he_init", lambda c: c.model.activation in RELU_FAMILY and not c.model.kernel_initializer.startswith("he_"),
           lambda c: {"model.kernel_initializer": "he_normal"}),
    # σw moved onto the order-chaos boundary at the same σb, the kernel and biases kept (Schoenholz et al. 2017).
    Remedy("edge_of_chaos", lambda c: critical_sigma_w_of(c) is not None,
           lambda c: {"model.sigma_w": critical_sigma_w_of(c)}),
    Remedy("leaky_relu", lambda c: c.model.activation == "relu",
           lambda c: {"model.activation": "leaky_relu", "model.leaky_alpha": LEAKY_ALPHA}),
    Remedy("rai", lambda c: c.model.activation in RELU_FAMILY and c.model.kernel_initializer != "rai",
           lambda c: {"model.kernel_initializer": "rai"}),
    Remedy("selu_lecun", lambda c: (c.model.activation, c.model.kernel_initializer) != ("selu", "lecun_normal"),
           lambda c: {"model.activation": "selu", "model.kernel_initializer": "lecun_normal"}),
    Remedy("tanh", lambda c: c.model.activation in ("step", "sigmoid"),
           lambda c: {"model.activation": "tanh", "model.kernel_initializer": "glorot_uniform"}, BOTH),
    Remedy("relu_he", lambda c: c.model.activation not in RELU_FAMILY,
           lambda c: {"model.activation": "relu", "model.kernel_initializer": "he_normal"}),
    # Adam divides each parameter's step by its gradient's running RMS, so a first layer with a tiny
    # gradient still moves: it does not change the gradients (the profile), it changes the updates.
    Remedy("adam", lambda c: c.training.optimizer != "adam",
           lambda c: {"training.optimizer": "adam", "training.learning_rate": ADAM_LEARNING_RATE}),
    Remedy("clip_norm", lambda c: c.training.clip_norm is None,
           lambda c: {"training.clip_norm": CLIP_NORM, "training.clip_value": None}, BOTH),
    # Always offered: learning_rate's only lower bound is > 0, so any rate can be made smaller.
    Remedy("lower_learning_rate", lambda c: True,
           lambda c: {"training.learning_rate": float(f"{c.training.learning_rate / LEARNING_RATE_DIVISOR:.6g}")}, BOTH),
    # Recurrent networks (issue #14). Gated cells (Hochreiter & Schmidhuber 1997; Cho et al. 2014): the cell's own
    # path through time, whose factor per step is a gate the network learns to open, not a fixed matrix and slope.
    Remedy("lstm", lambda c: c.model.cell != "lstm", gated_cell("lstm"), RNN),
    Remedy("gru", lambda c: c.model.cell != "gru", gated_cell("gru"), RNN),
    # Every eigenvalue of modulus 1 (Saxe et al. 2014; Keras' default): offered where the run drew another matrix
    # or rescaled it.
    Remedy("recurrent_orthogonal", lambda c: not recurrent_matrix_is(c, "orthogonal"),
           lambda c: {"model.recurrent_initializer": "orthogonal", "model.spectral_radius": None}, RNN),
    # U = I (Le et al. 2015, with relu the IRNN): the state is copied forward at initialisation. Simple cell only.
    Remedy("recurrent_identity", lambda c: c.model.cell == "simple" and not recurrent_matrix_is(c, "identity"),
           lambda c: {"model.recurrent_initializer": "identity", "model.spectral_radius": None}, RNN),
    # Only from a radius above 1: below it a smaller radius shrinks the gradient through time further.
    Remedy("smaller_spectral_radius", lambda c: c.model.cell == "simple" and c.model.spectral_radius is not None
           and c.model.spectral_radius > UNIT_SPECTRAL_RADIUS,
           lambda c: {"model.spectral_radius": UNIT_SPECTRAL_RADIUS}, RNN),
)}


def applicable_remedies(config: ExperimentConfig) -> list[str]:
    """The remedies that change something in this config and give a valid one, in REMEDIES' order.

    A remedy can change a config into one a cross-field rule refuses (normalisation with probe.propagation:
    no per-sample Jacobian), and a remedy offered must be one that can run.
    """
    return [name for name, remedy in REMEDIES.items() if remedy.changes(config) and _gives_a_valid_config(config, name)]


def _gives_a_valid_config(config: ExperimentConfig, remedy: str) -> bool:
    """Whether the remedied config passes validation."""
    try:
        load_config(config, overrides=REMEDIES[remedy].overrides(config))
    except ConfigError:
        return False
    return True


def remedied_config(config: ExperimentConfig, remedy: str) -> ExperimentConfig:
    """The same experiment (seed, data, everything else) with one remedy applied, validated.

    The name gets the remedy appended, so the two runs are told apart in menus and legends; the name is
    part of the run id, as for any run. ValueError for an unknown or inapplicable remedy.
    """
    if remedy not in REMEDIES:
        raise ValueError(f"remedy: unknown {remedy!r}; choose one of {', '.join(REMEDIES)}")
    if not REMEDIES[remedy].changes(config):
        raise ValueError(f"remedy: {remedy} does not change this config (choose one of {', '.join(applicable_remedies(config))})")
    name = f"{config.name}+{remedy}"[:64].replace("+", "_")
    overrides = {**REMEDIES[remedy].overrides(config), "name": name}
    return load_config(config, overrides=overrides)


def suggested_remedy(result: RunResult) -> str | None:
    """The remedy the run's own numbers point to, among those that apply; None when they point to none.

    Divergence points to clipping, the step function to a differentiable activation; then an MLP's layer profile
    (mlp_wanted) or a recurrent network's gradient through time (rnn_wanted) names the rest.
    """
    config = result.config
    wanted = []
    if result.status == "diverged":
        wanted += ["clip_norm", "lower_learning_rate"]
    if config.model.activation == "step":
        wanted += ["tanh", "relu_he"]
    wanted += rnn_wanted(result) if config.model.kind == "rnn" else mlp_wanted(result)
    choices = applicable_remedies(config)
    return next((name for name in wanted if name in choices), None)


def mlp_wanted(result: RunResult) -> list[str]:
    """An MLP's remedies in the order its layers frame points to them: units that died during training to a smaller
    learning rate, layers dead at birth to leaky ReLU, a first layer receiving under 1% of the last layer's signal to He
    initialisation (ReLU-like), σw on the order-chaos boundary (a plain net mean field covers) or batch normalisation,
    and one receiving over 100 times it (the chaotic phase) to the boundary too."""
    config, layers = result.config, result.layers
    wanted = []
    if not layers.empty:
        if dead_share(layers, "end") > 2 * dead_share(layers, "start") + 0.05:
            wanted += ["lower_learning_rate"]
        if dead_layer_count(layers, "start") or dead_layer_count(layers, "end"):
            wanted += ["leaky_relu", "rai"]
        signal = first_to_last(layers, "preact_grad_rms")
        if not signal >= VANISHED:  # NaN (nothing passed) counts as vanished
            # edge_of_chaos applies only to the plain nets mean field covers, where it is the cause's own fix
            wanted += ["he_init", "edge_of_chaos", "batch_norm"] if config.model.activation in RELU_FAMILY else \
                ["edge_of_chaos", "batch_norm"]
        elif signal > EXPLODED:  # exploding on the way down: the chaotic phase
            wanted += ["edge_of_chaos"]
    return wanted


def rnn_wanted(result: RunResult) -> list[str]:
    """A recurrent network's remedies in the order its gradient through time at initialisation points to them.

    A simple cell whose gradient reaching t = 1 is under a tenth of the one at t = T (or nothing: NaN) points to a
    gated cell, LSTM first. A gated cell's is not read that way: on adding at T = 50 gated cells measured a SMALLER
    ratio at initialisation than the simple cell (LSTM 5.5e-5, GRU 5.5e-10, tanh 0.013) and still learn, as their
    gates open in training. Over 10 times it (exploding) points to a spectral radius of 1 where the run set one above
    it, to clipping (Pascanu et al. 2013), then to an orthogonal recurrent matrix.
    """
    config = result.config
    ratio = time_ratio(result, "start")
    if config.model.cell == "simple" and not ratio >= TIME_VANISHED:
        return ["lstm", "gru"]
    if ratio > TIME_EXPLODED:
        return ["smaller_spectral_radius", "clip_norm", "recurrent_orthogonal"]
    return []


def format_ratio(value: float) -> str:
    """A ratio for a sentence: 0.72, 130, 1.3×10⁻¹²; the two cases where a layer passed exactly nothing
    are text keys ('ratio_both_zero': 0/0, 'ratio_last_zero': x/0), translated with their sentence."""
    if math.isnan(value):
        return "ratio_both_zero"
    if math.isinf(value):
        return "ratio_last_zero"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent <= 3:
        return f"{float(f'{value:.2g}'):g}"  # two significant digits without an exponent: 130, not 1.3e+02
    mantissa = float(f"{value / 10 ** exponent:.2g}")
    if abs(mantissa) >= 10:  # 9.96 rounds to 10: carry into the exponent
        mantissa, exponent = mantissa / 10, exponent + 1
    superscript = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:g}×10{superscript}"


def comparison_facts(before: RunResult, after: RunResult) -> list[tuple[str, dict]]:
    """What changed from before to after, as (text key, values) pairs that lab.text.i18n turns into sentences.

    The profile's figures (layer_facts for an MLP, time_facts for a recurrent network), each only when it differs
    between the runs; then the status when it differs, and the final validation accuracy of both.
    """
    trained = before.layers["step"].max() > 0 and after.layers["step"].max() > 0
    moments = ("start", "end") if trained else ("start",)
    facts = time_facts(before, after, moments) if before.config.model.kind == "rnn" else layer_facts(before, after, moments)
    if before.status != after.status:
        facts.append(("fix_status", {"after": f"run_status_{after.status}", "before": f"run_status_{before.status}"}))
    accuracy_before, accuracy_after = final_accuracy(before), final_accuracy(after)
    if accuracy_before is not None and accuracy_after is not None:
        facts.append(("fix_accuracy", {"after": f"{accuracy_after:.2f}", "before": f"{accuracy_before:.2f}"}))
    return facts


def layer_facts(before: RunResult, after: RunResult, moments: tuple[str, ...]) -> list[tuple[str, dict]]:
    """Per recorded moment, the first layer's share of the last hidden layer's back-propagated signal and weight
    gradient, at the end also of its relative weight update, and the share of dead hidden units; only what differs."""
    def ratios(column: str, moment: str) -> dict:
        return {"after": format_ratio(first_to_last(after.layers, column, moment)),
                "before": format_ratio(first_to_last(before.layers, column, moment))}

    facts = []
    for moment in moments:
        for measure, column in (("measure_signal", "preact_grad_rms"), ("measure_weight", "grad_norm")):
            facts.append(("fix_ratio", {"moment": f"fix_moment_{moment}", "measure": measure, **ratios(column, moment)}))
        if moment == "end":
            # How far each layer's weights moved over the last record interval, first over last: a
            # vanishing gradient shows as a first layer that barely moves (Adam's remedy acts here).
            facts.append(("fix_update", ratios("update_ratio", moment)))
        facts.append(("fix_dead", {"moment": f"fix_moment_{moment}", "after": f"{dead_share(after.layers, moment):.0%}",
                                   "before": f"{dead_share(before.layers, moment):.0%}"}))
    # An unchanged figure (same initial weights, say) tells nothing: only what differs is kept.
    return [(key, values) for key, values in facts if values["after"] != values["before"]]


def time_facts(before: RunResult, after: RunResult, moments: tuple[str, ...]) -> list[tuple[str, dict]]:
    """Per recorded moment, the gradient reaching t = 1 over the one at t = T (the last recurrent layer's
    state_grad_rms) in both runs, only where it differs; and where the remedy made the cell an LSTM, the same ratio of
    its cell state's gradient (the carry: cell_grad_rms), which the run before did not have."""
    steps = after.config.data.sequence_length
    facts = [("fix_rnn_time_ratio", {"moment": f"fix_moment_{moment}", "steps": steps,
                                     "after": format_ratio(time_ratio(after, moment)),
                                     "before": format_ratio(time_ratio(before, moment))}) for moment in moments]
    facts = [(key, values) for key, values in facts if values["after"] != values["before"]]
    if after.config.model.cell == "lstm" and before.config.model.cell != "lstm":
        facts += [("fix_rnn_carry", {"moment": f"fix_moment_{moment}", "steps": steps,
                                     "after": format_ratio(time_ratio(after, moment, "cell_grad_rms"))})
                  for moment in moments]
    return facts


def comparison_sentences(before: RunResult, after: RunResult, remedy: str, language: str = "en") -> list[str]:
    """The comparison as sentences naming the remedy, in the given language."""
    return fact_sentences(comparison_facts(before, after), language, remedy=translate(f"remedy_{remedy}", language))
