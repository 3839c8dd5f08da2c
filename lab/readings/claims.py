"""The presets' claims: what each preset in experiments/ shows, written once as data in its YAML, and the one
reader of it. The tests, the tour, `python -m lab claims` and docs/presets.md all evaluate a claim here.

A preset's top-level `claim:` mapping is preset metadata, not config: the config loader drops it
(lab.contract.config_io.PRESET_METADATA_KEYS), so run ids and config.yaml never see it.

    claim:
      says: ... {threshold} ...   # the sentence; {threshold} becomes the test and its number ("below 10⁻⁴")
      measure: preact_grad_rms    # a column of the layers frame, or status, val_accuracy, dead_layers, or a
                                  # propagation column (probe.propagation): q, c, jac_mean_sq, jac_max, jac_min,
                                  # jac_spread (= jac_max ÷ jac_min, the spread of J = dz_l/dz_1's singular values),
                                  # or time_ratio (model.kind rnn: state_grad_rms at t = 1 ÷ at t = T, timesteps frame)
      reading: first_to_last      # a column as one number: first_to_last (layer 1 ÷ last hidden), mean, largest, last
      layers: all                 # or near_q_star (propagation columns, mean or largest): only the layers whose q is
                                  # within 10 % of the mean-field q* (lab.science.mean_field) of the preset's net
      moment: start               # start (initialisation), end, or every (every record, with mean or largest)
      compare: value              # value; change (end − start); counterpart; over_counterpart (preset ÷ counterpart)
      counterpart: {model.normalization: none}   # the same preset with these overrides, as with --set
      below: 1.0e-4               # the one threshold: below, above, at_least, at_most, within (a factor), equals
      size: quick                 # the smallest size it holds at: quick, or full (tested at full size)

A time_ratio claim reads the LAST recurrent layer (the one the error enters from the head; the only one at depth 1)
at the first (start) or last (end) record, and takes no reading: it is one figure of a run at a moment (issue #14).

Isometry claims read only layers at the length fixed point (issue #13): a Jacobian's spectrum is a statement
about the network at q*, and a layer whose q drifted away by finite-width chance is another network.

A claim holds only on a run that ended `ok` (unless it is about that run's own status: the frames of a
diverged or stopped run end early), and a claim that compares holds only beside its counterpart's run.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import ConfigError, load_config, parse_yaml, read_text, validate
from lab.contract.presets import experiment_presets
from lab.contract.result import LAYER_COLUMNS, RunResult
from lab.readings import phase
from lab.readings.report import dead_layer_count, final_accuracy, first_to_last, hidden_rows
from lab.readings.time_reading import run_time_ratio
from lab.science import mean_field

LAYER_MEASURES = tuple(column for column in LAYER_COLUMNS if column not in ("run_id", "step", "epoch", "layer", "layer_kind"))
RUN_MEASURES = ("status", "val_accuracy", "dead_layers")
# The propagation frame's columns (probe.propagation), and jac_spread = jac_max ÷ jac_min of the same layer and record.
PROPAGATION_MEASURES = ("q", "c", "jac_mean_sq", "jac_max", "jac_min", "jac_spread")
# The timesteps frame (model.kind rnn) as one figure: state_grad_rms at t = 1 ÷ at t = T, last recurrent layer.
TIMESTEP_MEASURES = ("time_ratio",)
TIME_RATIO_TEXT = "state_grad_rms at t = 1 ÷ at t = T, last recurrent layer"
NEAR_Q_STAR = 0.10  # layers: near_q_star reads the layers whose q is within 10 % of q* (issue #13)
TESTS = ("below", "above", "at_least", "at_most", "within", "equals")
TEST_WORDS = {"below": "below", "above": "above", "at_least": "at least", "at_most": "at most",
              "within": "within a factor of", "equals": "exactly"}
SYMBOLS = {"below": "<", "above": ">", "at_least": "≥", "at_most": "≤", "equals": "="}
READINGS = {"first_to_last": "layer 1 ÷ last hidden", "mean": "mean over hidden layers", "largest": "largest over hidden layers",
            "last": "last hidden layer"}
LAYER_SETS = {"all": "", "near_q_star": "layers with q within 10 % of q*"}
MOMENTS = {"start": "at initialisation", "end": "at the end", "every": "at every record"}
PLACEHOLDER = "{threshold}"
Scalar = bool | int | float | str | None


class Claim(BaseModel):
    """One preset's claim: one figure of a run (or of it beside its counterpart), one test, one threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    says: str = Field(min_length=1)
    measure: Literal[LAYER_MEASURES + RUN_MEASURES + PROPAGATION_MEASURES + TIMESTEP_MEASURES]
    reading: Literal[tuple(READINGS)] | None = None
    layers: Literal[tuple(LAYER_SETS)] = "all"
    moment: Literal[tuple(MOMENTS)] = "start"
    compare: Literal["value", "change", "counterpart", "over_counterpart"] = "value"
    counterpart: dict[str, Scalar] | None = None
    below: float | None = None
    above: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    within: float | None = Field(None, gt=1)
    equals: float | str | None = None
    size: Literal["quick", "full"] = "quick"

    @model_validator(mode="after")
    def _consistent(self) -> Claim:
        given = [name for name in TESTS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"claim.{'/'.join(TESTS)}: give exactly one threshold (got {', '.join(given) or 'none'})")
        if self.says.count(PLACEHOLDER) != 1:
            raise ValueError(f"claim.says: must say {PLACEHOLDER} once, where the threshold goes in the sentence")
        if self.measure in LAYER_MEASURES + PROPAGATION_MEASURES and self.reading is None:
            raise ValueError(f"claim.reading: a layers column needs one of {', '.join(READINGS)}")
        if self.layers == "near_q_star" and (self.measure not in PROPAGATION_MEASURES or self.reading not in ("mean", "largest")):
            raise ValueError("claim.layers: near_q_star reads a propagation column (q, c, jac_*) with reading mean or largest")
        if self.measure in RUN_MEASURES and self.reading is not None:
            raise ValueError(f"claim.reading: leave it out: {self.measure} is one figure of a run")
        if self.measure in TIMESTEP_MEASURES and self.reading is not None:
            raise ValueError(f"claim.reading: leave it out: {self.measure} is one figure of a run at a moment")
        if self.measure in TIMESTEP_MEASURES and self.moment == "every":
            raise ValueError(f"claim.moment: {self.measure} is read at one record: write moment: start or end")
        if self.measure in ("status", "val_accuracy") and self.moment != "end":
            raise ValueError(f"claim.moment: {self.measure} is read at the end: write moment: end")
        if self.moment == "every" and self.reading not in ("mean", "largest"):
            raise ValueError("claim.moment: every record goes with reading mean or largest")
        if (self.counterpart is not None) != (self.compare in ("counterpart", "over_counterpart")):
            raise ValueError("claim.counterpart: give one exactly when compare is counterpart or over_counterpart")
        if self.measure == "status":
            if not isinstance(self.equals, str):
                raise ValueError("claim.equals: a status is tested with equals: <status>, e.g. equals: diverged")
            if self.compare in ("change", "over_counterpart"):
                raise ValueError("claim.compare: a status is text: compare it as value or counterpart")
        elif isinstance(self.equals, str):
            raise ValueError(f"claim.equals: {self.measure} is a number (only a status is text)")
        if self.compare == "change" and self.moment != "end":
            raise ValueError("claim.compare: a change is the end minus the start: write moment: end")
        return self

    @property
    def test(self) -> str:
        """The one test given: below, above, at_least, at_most, within or equals."""
        return next(name for name in TESTS if getattr(self, name) is not None)

    @property
    def threshold(self) -> float | str:
        return getattr(self, self.test)


class _PresetFile(BaseModel):
    """An experiment file as far as its claim goes (the rest is validated as a config)."""

    model_config = ConfigDict(extra="ignore")
    claim: Claim


@dataclass(frozen=True)
class Measurement:
    """What a run measured against its claim: the value, whether it passes, and what it was computed from."""

    value: float | str
    holds: bool
    detail: str = ""  # '33.7 ÷ 1.3×10⁻¹²' (preset ÷ counterpart), '0 → 3' (start → end), '' for a plain value

    def text(self) -> str:
        """'2.5×10¹³ (33.7 ÷ 1.3×10⁻¹²)', '3 (0 → 3)', 'diverged', '0.998'."""
        value = number_text(self.value, 3)
        return f"{value} ({self.detail})" if self.detail else value


@dataclass(frozen=True)
class PresetClaim:
    """A preset (name relative to experiments/, its file) and its claim."""

    name: str
    path: Path
    claim: Claim

    def config(self, quick: bool = False) -> ExperimentConfig:
        return load_config(self.path, quick=quick)

    def counterpart_config(self, quick: bool = False) -> ExperimentConfig | None:
        """The same preset with the claim's counterpart overrides (None for a claim without a counterpart)."""
        counterpart = self.claim.counterpart
        return None if counterpart is None else load_config(self.path, overrides=counterpart, quick=quick)

    def measure(self, quick: bool = False) -> tuple[Measurement, RunResult, RunResult | None]:
        """Run the preset (and its counterpart) and evaluate the claim on them."""
        from lab.training.run import run

        result = run(self.config(quick))
        counterpart_config = self.counterpart_config(quick)
        counterpart = None if counterpart_config is None else run(counterpart_config)
        return evaluate(self.claim, result, counterpart), result, counterpart


def read_claim(path: Path) -> Claim | None:
    """The claim of an experiment file (None if it has none); ConfigError in one line naming the field."""
    raw = parse_yaml(read_text(Path(path)), what=str(path))
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: must be a YAML mapping")
    if "claim" not in raw:
        return None
    try:
        return validate(raw, _PresetFile).claim
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


@functools.cache
def preset_claims() -> dict[str, PresetClaim]:
    """Every experiment preset that has a claim, by name ("sigmoid_vanishing", "remedies/batch_norm"); read once."""
    found = {name: read_claim(path) for name, path in experiment_presets().items()}
    return {name: PresetClaim(name, experiment_presets()[name], claim) for name, claim in found.items() if claim is not None}


def claim_for(name: str) -> PresetClaim:
    """The claim of one preset (KeyError names the presets with claims)."""
    claims = preset_claims()
    if name not in claims:
        raise KeyError(f"preset {name!r} has no claim; presets with one: {', '.join(claims)}")
    return claims[name]


# ---- evaluation ---------------------------------------------------------------------------------------------

def figure(claim: Claim, result: RunResult, moment: str) -> float | str:
    """The claim's measure on one run at one moment (NaN where the run has no such number)."""
    if claim.measure == "status":
        return result.status
    if claim.measure == "val_accuracy":
        value = final_accuracy(result)
        return math.nan if value is None else float(value)
    if claim.measure in PROPAGATION_MEASURES:
        return propagation_figure(claim, result, moment)
    if claim.measure == "time_ratio":
        return run_time_ratio(result, moment)
    layers = result.layers
    hidden = layers[layers["layer_kind"] == "hidden"] if moment == "every" else hidden_rows(layers, moment)
    if hidden.empty:
        return math.nan
    if claim.measure == "dead_layers":
        return float(dead_layer_count(layers, moment))
    if claim.reading == "first_to_last":
        return first_to_last(layers, claim.measure, moment)
    values = hidden[claim.measure]
    if claim.reading == "last":
        return float(values.iloc[-1])
    return float(values.max() if claim.reading == "largest" else values.mean())


def propagation_rows(result: RunResult, moment: str) -> pd.DataFrame:
    """The propagation frame's rows at the first or last record (every record for 'every'), with jac_spread."""
    frame = result.propagation
    if moment != "every" and not frame.empty:
        frame = frame[frame["step"] == (frame["step"].min() if moment == "start" else frame["step"].max())]
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero smallest singular value: an infinite spread
        spread = frame["jac_max"].to_numpy(np.float64) / frame["jac_min"].to_numpy(np.float64)
    return frame.assign(jac_spread=spread).sort_values(["step", "layer"])


def config_q_star(config) -> float:
    """The mean-field q* of a config's hidden layers at its (σw², σb²) (lab.readings.phase); NaN where mean field has none."""
    sigma_w2, sigma_b2, _ = phase.effective_sigma_w_squared(config)
    if sigma_w2 is None or sigma_b2 is None:
        return math.nan
    try:
        model = config.model
        return float(mean_field.q_star(model.activation, math.sqrt(sigma_w2), math.sqrt(sigma_b2), model.leaky_alpha))
    except ValueError:  # an activation the mean field does not define
        return math.nan


def propagation_figure(claim: Claim, result: RunResult, moment: str) -> float:
    """A propagation column as one number (NaN without probe.propagation, or with no layer near q*)."""
    rows = propagation_rows(result, moment)
    if claim.layers == "near_q_star":
        star = config_q_star(result.config)
        rows = rows[np.abs(rows["q"] - star) <= NEAR_Q_STAR * star] if math.isfinite(star) and star > 0 else rows.iloc[:0]
    if rows.empty:
        return math.nan
    values = rows[claim.measure].to_numpy(np.float64)
    if claim.reading == "first_to_last":
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(values[0] / values[-1])
    if claim.reading == "last":
        return float(values[-1])
    return float(values.max() if claim.reading == "largest" else values.mean())


def passes(claim: Claim, value: float | str) -> bool:
    """The claim's one test on a value (NaN passes none; an infinite lift passes above)."""
    threshold = claim.threshold
    if claim.test == "equals" or isinstance(value, str):
        return value == threshold
    if claim.test == "within":
        return 1 / threshold < value < threshold
    return {"below": value < threshold, "above": value > threshold,
            "at_least": value >= threshold, "at_most": value <= threshold}[claim.test]


def evaluate(claim: Claim, result: RunResult, counterpart: RunResult | None = None) -> Measurement:
    """The claim measured on a run (and its counterpart's run where the claim compares with one)."""
    detail = ""
    if claim.compare == "change":
        start, end = figure(claim, result, "start"), figure(claim, result, "end")
        value, detail = end - start, f"{number_text(start, 3)} → {number_text(end, 3)}"
    elif claim.compare == "value":
        value = figure(claim, result, claim.moment)
    elif counterpart is None:  # a comparison without the run to compare with: nothing measured
        value = math.nan
    elif claim.compare == "counterpart":
        value = figure(claim, counterpart, claim.moment)
    else:
        mine, other = figure(claim, result, claim.moment), figure(claim, counterpart, claim.moment)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(np.float64(mine) / np.float64(other))
        detail = f"{number_text(mine, 3)} ÷ {number_text(other, 3)}"
    own_status = claim.measure == "status" and claim.compare == "value"
    return Measurement(value, bool((result.status == "ok" or own_status) and passes(claim, value)), detail)


# ---- text ---------------------------------------------------------------------------------------------------

def number_text(value: float | str, digits: int = 2) -> str:
    """0.95, 10, 10⁻⁴, 2.3×10⁻⁶, exactly 0, NaN: a threshold or a measured value for a sentence or a table."""
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = float(f"{value / 10 ** exponent:.{digits}g}")
    if abs(mantissa) >= 10:  # 9.96 rounds to 10: carry into the exponent
        mantissa, exponent = mantissa / 10, exponent + 1
    power = "10" + str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    if abs(exponent) < 3 or (abs(exponent) == 3 and mantissa != 1):
        return f"{float(f'{value:.{digits}g}'):g}"  # no exponent: 0.95, 1200 (not 1.2e+03)
    return power if mantissa == 1 else f"{mantissa:g}×{power}"


def threshold_text(claim: Claim) -> str:
    """The test and its number as words: 'below 10⁻⁴', 'at least 0.95', 'within a factor of 10', 'diverged'."""
    if isinstance(claim.threshold, str):
        return claim.threshold
    return f"{TEST_WORDS[claim.test]} {number_text(claim.threshold, exact_digits(claim.threshold))}"


def exact_digits(value: float | str) -> int:
    """The significant digits (2 at least) that write a threshold exactly: 1.001 is not 'below 1'."""
    if isinstance(value, str):
        return 2
    return next((digits for digits in range(2, 17) if float(f"{value:.{digits}g}") == value), 17)


def sentence(claim: Claim) -> str:
    """The claim's sentence with its threshold in place."""
    return claim.says.replace(PLACEHOLDER, threshold_text(claim))


def overrides_text(overrides: Mapping[str, Scalar]) -> str:
    """{'training.clip_norm': None} -> 'training.clip_norm=null', as --set takes it."""
    def shown(value: Scalar) -> str:
        return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    return " ".join(f"{key}={shown(value)}" for key, value in overrides.items())


def formula(claim: Claim) -> str:
    """The claim as a formula: 'preact_grad_rms (layer 1 ÷ last hidden) at initialisation < 10⁻⁴'."""
    what = claim.measure + (f" ({READINGS[claim.reading]})" if claim.reading else "")
    if claim.measure == "time_ratio":
        what = f"{claim.measure} ({TIME_RATIO_TEXT})"
    if claim.layers != "all":
        what = f"{claim.measure} ({READINGS[claim.reading].replace('hidden layers', LAYER_SETS[claim.layers])})"
    what += ", end − start" if claim.compare == "change" else f" {MOMENTS[claim.moment]}"
    if claim.compare == "counterpart":
        what = f"{what} of the counterpart ({overrides_text(claim.counterpart)})"
    elif claim.compare == "over_counterpart":
        what = f"{what}: preset ÷ counterpart ({overrides_text(claim.counterpart)})"
    if claim.test == "within":
        return f"{number_text(1 / claim.threshold)} < {what} < {number_text(claim.threshold)}"
    return f"{what} {SYMBOLS[claim.test]} {number_text(claim.threshold, exact_digits(claim.threshold))}"
