"""Experiment configs: YAML (or a dict) in, a validated frozen object out, and back to YAML."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from lab.science.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from lab.science.data import BINARY_ONLY, DATASETS, DIGITS_CLASSES, DIGITS_FEATURES, DIGITS_SAMPLES, TWO_DIMENSIONAL
from lab.science.initializers import (
    ASYMMETRIC_INITIALIZERS,
    BIAS_INITIALIZER_NAMES,
    DEFAULT_SIGMA_B,
    DEFAULT_SIGMA_W,
    KERNEL_INITIALIZER_NAMES,
    SIGMA_W_INITIALIZERS,
)

# Bounds are generous enough for research yet keep one run on a laptop; the hosted caps of the
# app are tighter and live with the app.
MAX_DEPTH = 100
MAX_WIDTH = 1024
MAX_SAMPLES = 100_000
MAX_EPOCHS = 1000
MAX_CLASSES = 10
MAX_FEATURES = 1000
DEFAULT_PROBE_SAMPLES = 256
DEFAULT_JACOBIAN_SAMPLES = 4
MAX_JACOBIAN_SAMPLES = 32
MAX_STEPS = MAX_SAMPLES * MAX_EPOCHS  # batch size 1: the most optimizer steps one run can take
MAX_BIAS_CONSTANT = 100.0  # a constant bias of ±10 already saturates every unit; 1e308 overflows float32

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
NORMALIZATIONS = ("none", "batch", "layer")
NORMALIZATION_POSITIONS = ("before", "after")  # of the activation function
MAX_CLIP = 1e6  # a clip threshold beyond any gradient this lab produces is "off": say null instead
MAX_SIGMA = 10.0  # σw = 10 already puts tanh deep in the chaotic phase; σb = 10 saturates every unit
# Asked for by serialisation to get every field, the remedies' off values included (see RemedyFieldsOff).
EVERY_FIELD = "every_field"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Section(BaseModel):
    """Shared strictness: unknown keys, wrong types and NaN/inf are errors, objects are frozen."""

    # strict: YAML already gives typed scalars, so "10" for an int is a mistake, not a convenience.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RemedyFieldsOff(_Section):
    """A section whose remedy fields (issue #7), and other later fields at their defaults, are left out of its dumps.

    Run ids are sha256 of the dumped config, and every config, run folder and sweep written before the
    remedies existed has them off: leaving them out keeps those dumps (config.yaml, summary.json's config,
    an expanded sweep.yaml), their run ids and folder names byte-identical. Fields added later (issue #13's
    model.sigma_w at 1 and model.sigma_b at 0) are left out the same way while at their defaults.
    Reading a dump back fills them in with the same off values, so nothing is lost. Dumping with
    context={EVERY_FIELD: True} lists them all (lab.contract.config_io.flatten: grid keys, app widgets).
    """

    def remedy_fields_off(self) -> list[str]:
        """The remedy (and later) fields whose value means 'off' or 'default' in this config: left out of dumps."""
        raise NotImplementedError

    @model_serializer(mode="wrap")
    def _leave_out_remedies_that_are_off(self, handler, info):
        dumped = handler(self)
        if not (info.context or {}).get(EVERY_FIELD):
            for name in self.remedy_fields_off():
                dumped.pop(name, None)
        return dumped


class DataConfig(_Section):
    """Which data set, how big and how noisy."""

    dataset: Literal[DATASETS] = Field("moons", description=(
        "The data set: synthetic, or digits (scikit-learn's 1797 8×8 handwritten digits, bundled: no download)."))
    num_samples: int = Field(1024, ge=16, le=MAX_SAMPLES, description=(
        "Samples drawn, before the validation split; digits: at most 1797, fewer is a seeded subset."))
    noise: float = Field(0.1, ge=0.0, le=2.0, description=(
        "Standard deviation of the noise added to the samples (not used by digits)."))
    num_features: int = Field(2, ge=1, le=MAX_FEATURES, description=(
        "Input features: for the 2-D sets, features beyond 2 are N(0,1) noise; for gaussian, the input dimension; "
        "digits has 64 (left out, it resolves to 64)."))
    num_classes: int = Field(2, ge=2, le=MAX_CLASSES, description=(
        "Classes; also the spirals' arms and the blobs' centres; digits has 10 (left out, it resolves to 10)."))
    validation_split: float = Field(0.2, ge=0.0, le=0.5, description="Share of the samples held out for validation.")


class ModelConfig(RemedyFieldsOff):
    """The MLP: depth hidden blocks (Dense, optional normalisation, activation, optional skip), then the output head."""

    depth: int = Field(10, ge=1, le=MAX_DEPTH, description="Hidden layers (Dense, then the activation).")
    width: int = Field(32, ge=1, le=MAX_WIDTH, description="Units in each hidden layer.")
    activation: Literal[HIDDEN_ACTIVATIONS] = Field("sigmoid", description="Activation function of the hidden layers.")
    # Keras' own leaky defaults differ (function 0.2, layer 0.3); this lab uses 0.01.
    leaky_alpha: float = Field(0.01, ge=0.0, lt=1.0, description="Slope of leaky_relu for negative inputs.")
    output_activation: Literal[OUTPUT_ACTIVATIONS] = Field(
        "sigmoid",
        description="Output layer: sigmoid for 2 classes, softmax for any number (the loss is computed from the logits).")
    kernel_initializer: Literal[KERNEL_INITIALIZER_NAMES] = Field(
        "glorot_uniform", description=(
            "Initial weights; classic is U(±1/√fan_in), rai is randomized asymmetric (Lu et al.), gaussian is "
            "N(0, sigma_w²/fan_in), orthogonal is sigma_w·√max(1, fan_out/fan_in) times a random (semi-)orthogonal matrix."))
    bias_initializer: float | str = Field(
        "zeros", description=(
            "Initial biases: a constant (e.g. -1.0 provokes dead ReLU units) or an initializer's name; "
            "gaussian is N(0, sigma_b²)."))
    # Issue #13 (signal propagation, edge of chaos); left out of dumps at their defaults (RemedyFieldsOff).
    sigma_w: float = Field(DEFAULT_SIGMA_W, gt=0.0, le=MAX_SIGMA, description=(
        "σw of the gaussian and orthogonal kernel initializers (weight variance σw²/fan_in); 1 for every other initializer."))
    sigma_b: float = Field(DEFAULT_SIGMA_B, ge=0.0, le=MAX_SIGMA, description=(
        "σb of the gaussian bias initializer (biases N(0, σb²)); 0 for every other bias initializer."))
    # Remedies, off by default (lab.training.models builds them; RemedyFieldsOff keeps old run ids).
    normalization: Literal[NORMALIZATIONS] = Field(
        "none", description="Remedy: batch or layer normalisation in each hidden block.")
    normalization_position: Literal[NORMALIZATION_POSITIONS] = Field(
        "before", description="Remedy: normalise before or after the activation.")
    residual_every: int = Field(0, ge=0, le=MAX_DEPTH, description="Remedy: a skip connection every k hidden blocks; 0 = none.")

    def remedy_fields_off(self) -> list[str]:
        """normalization none (with its position at the default), residual_every 0, sigma_w 1, sigma_b 0."""
        off = []
        if self.normalization == "none":
            off.append("normalization")
            if self.normalization_position == "before":
                off.append("normalization_position")
        if self.residual_every == 0:
            off.append("residual_every")
        off += [name for name, default in (("sigma_w", DEFAULT_SIGMA_W), ("sigma_b", DEFAULT_SIGMA_B))
                if getattr(self, name) == default]
        return off

    @field_validator("bias_initializer", mode="before")
    @classmethod
    def _bias_is_number_or_name(cls, value: Any) -> Any:
        """A constant (a finite number within ±MAX_BIAS_CONSTANT) or an initializer name; anything else is refused here."""
        # Checked here rather than by the Union: pydantic would report each branch's failure separately.
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_BIAS_CONSTANT:
            return float(value)
        if isinstance(value, str) and value in BIAS_INITIALIZER_NAMES:
            return value
        raise ValueError(
            f"must be a number between -{MAX_BIAS_CONSTANT:g} and {MAX_BIAS_CONSTANT:g} (a constant bias, e.g. -1.0) "
            "or one of: " + ", ".join(BIAS_INITIALIZER_NAMES)
        )


class TrainingConfig(RemedyFieldsOff):
    """Optimizer and schedule; record_every says when the probes measure."""

    optimizer: Literal[OPTIMIZERS] = Field("sgd", description="The optimizer.")
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="Momentum of the momentum optimizer (the others ignore it).")
    learning_rate: float = Field(0.1, gt=0.0, le=10.0, description="Step size of the optimizer.")
    batch_size: int = Field(64, ge=1, le=MAX_SAMPLES, description="Samples per optimizer step.")
    epochs: int = Field(
        30, ge=0, le=MAX_EPOCHS, description="Passes over the training set; 0 measures the network at initialisation only.")
    record_every: Literal["epoch"] | int = Field(
        "epoch", description="When the probes measure: every epoch, or every so many optimizer steps "
                             "(always at step 0 and at the end).")

    @field_validator("record_every", mode="before")
    @classmethod
    def _record_every_epoch_or_steps(cls, value: Any) -> Any:
        """'epoch' or a positive number of optimizer steps (at most a run's most steps)."""
        if value == "epoch" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_STEPS):
            return value
        raise ValueError(f"must be 'epoch' or a whole number of steps >= 1 (at most {MAX_STEPS})")

    # Gradient clipping, off (null) by default. clip_norm rescales the whole gradient (every trainable
    # variable together) when its global L2 norm exceeds it; clip_value clips each element to ±value.
    clip_norm: float | None = Field(
        None, description="Remedy: rescale the whole gradient when its global L2 norm exceeds this; null = off.")
    clip_value: float | None = Field(None, description="Remedy: clip each gradient element to ±this; null = off.")

    @field_validator("clip_norm", "clip_value", mode="before")
    @classmethod
    def _clip_is_null_or_positive(cls, value: Any) -> Any:
        """null (off) or a finite number > 0 (at most MAX_CLIP); one message instead of one per Optional branch."""
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_CLIP:
            return float(value)
        raise ValueError(f"must be null (off) or a number > 0 and at most {MAX_CLIP:g}")

    def remedy_fields_off(self) -> list[str]:
        """clip_norm and clip_value when null."""
        return [name for name in ("clip_norm", "clip_value") if getattr(self, name) is None]


class ProbeConfig(RemedyFieldsOff):
    """The fixed batch, drawn once from the training data, on which every probe measures."""

    # Left out, it is DEFAULT_PROBE_SAMPLES or the whole training set if that is smaller (ExperimentConfig).
    num_samples: int = Field(DEFAULT_PROBE_SAMPLES, ge=1, le=MAX_SAMPLES, description=(
        f"Samples in the probe batch: {DEFAULT_PROBE_SAMPLES}, or the training set if smaller (when left out); "
        "more than the training set is an error."))
    # Signal propagation (issue #13), off by default; left out of dumps at its defaults (RemedyFieldsOff).
    propagation: bool = Field(False, description=(
        "Also record propagation.csv and spectrum.csv (q, c and the input-output Jacobian's singular values per "
        "hidden layer) at step 0 and at the end of training."))
    # Left out, it is DEFAULT_JACOBIAN_SAMPLES or probe.num_samples if that is smaller (ExperimentConfig).
    jacobian_samples: int = Field(DEFAULT_JACOBIAN_SAMPLES, ge=1, le=MAX_JACOBIAN_SAMPLES, description=(
        "Probe samples (the first ones) at which the Jacobian dz_l/dz_1 is taken; at most probe.num_samples, "
        "only with probe.propagation."))

    def remedy_fields_off(self) -> list[str]:
        """propagation false, jacobian_samples at its default."""
        off = [] if self.propagation else ["propagation"]
        return off + (["jacobian_samples"] if self.jacobian_samples == DEFAULT_JACOBIAN_SAMPLES else [])


class ExperimentConfig(_Section):
    """One experiment: every field has a default, so an empty file is valid."""

    name: str = Field("experiment", pattern=NAME_PATTERN, description="Names the run folder, `<name>-<run_id>`.")
    seed: int = Field(
        0, ge=0, le=2**31 - 1, description="Seeds the data, the initial weights, the shuffling and the probe batch.")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    probe: ProbeConfig = ProbeConfig()

    @property
    def num_train_samples(self) -> int:
        """Samples left for training after the validation split (as lab.science.data splits them)."""
        return self.data.num_samples - round(self.data.num_samples * self.data.validation_split)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ExperimentConfig:
        """Rules that tie fields together; each message names the field to change."""
        self._digits_rules()
        data, model = self.data, self.model
        if data.dataset in BINARY_ONLY and data.num_classes != 2:
            raise ValueError(
                f"data.num_classes: {data.dataset} has 2 classes (got {data.num_classes}); "
                "use spirals, blobs or gaussian for more"
            )
        if data.dataset in TWO_DIMENSIONAL and data.num_features < 2:
            raise ValueError(f"data.num_features: {data.dataset} is 2-D, so it needs at least 2 (got {data.num_features})")
        if model.output_activation == "sigmoid" and data.num_classes != 2:
            raise ValueError(
                f"model.output_activation: sigmoid is for binary problems (num_classes 2); "
                f"use softmax for {data.num_classes} classes"
            )
        train = self.num_train_samples
        if "num_samples" not in self.probe.model_fields_set and self.probe.num_samples > train:
            # The default probe is the smaller of DEFAULT_PROBE_SAMPLES and the training set (written out
            # resolved, so config.yaml says which); configs this changes were refused before: no run id moves.
            kept = {name: getattr(self.probe, name) for name in self.probe.model_fields_set}
            object.__setattr__(self, "probe", ProbeConfig(**{**kept, "num_samples": train}))
        if self.probe.num_samples > train:
            raise ValueError(f"probe.num_samples: at most the training set, {train} samples (got {self.probe.num_samples})")
        if self.training.batch_size > train:
            raise ValueError(f"training.batch_size: at most the training set, {train} samples (got {self.training.batch_size})")
        self._remedy_rules()
        self._probe_rules()
        return self

    def _probe_rules(self) -> None:
        """Signal propagation's cross-field rules (issue #13); each message names the field to change."""
        probe = self.probe
        if not probe.propagation:
            if probe.jacobian_samples != DEFAULT_JACOBIAN_SAMPLES:
                raise ValueError("probe.jacobian_samples: only with probe.propagation: true (the Jacobians are taken "
                                 "only then); set probe.propagation: true or leave jacobian_samples out")
            return
        if self.model.normalization != "none":
            raise ValueError(
                f"probe.propagation: not with model.normalization {self.model.normalization} (normalisation couples or "
                "rescales the samples, so there is no per-sample Jacobian dz_l/dz_1); set model.normalization: none")
        if "jacobian_samples" not in probe.model_fields_set and probe.jacobian_samples > probe.num_samples:
            # The default is the smaller of DEFAULT_JACOBIAN_SAMPLES and the probe batch (written out resolved).
            kept = {name: getattr(probe, name) for name in probe.model_fields_set}
            object.__setattr__(self, "probe", ProbeConfig(**{**kept, "jacobian_samples": probe.num_samples}))
        if self.probe.jacobian_samples > self.probe.num_samples:
            raise ValueError(f"probe.jacobian_samples: at most probe.num_samples, {self.probe.num_samples} "
                             f"(got {self.probe.jacobian_samples})")

    def _digits_rules(self) -> None:
        """digits has 64 features, 10 classes and no noise; left out, num_features and num_classes resolve to them."""
        data = self.data
        if data.dataset != "digits":
            return
        explicit = data.model_fields_set
        if data.num_samples > DIGITS_SAMPLES:
            raise ValueError(f"data.num_samples: digits has {DIGITS_SAMPLES} images, so at most {DIGITS_SAMPLES} "
                             f"(got {data.num_samples})")
        for name, size in (("num_features", DIGITS_FEATURES), ("num_classes", DIGITS_CLASSES)):
            if name in explicit and getattr(data, name) != size:
                raise ValueError(f"data.{name}: digits has {size} (got {getattr(data, name)}); leave it out or set {size}")
        if "noise" in explicit and data.noise != DataConfig.model_fields["noise"].default:
            raise ValueError(f"data.noise: digits are real images and take no noise (got {data.noise}); leave it out")
        if self.model.output_activation != "softmax":
            raise ValueError(f"model.output_activation: digits has {DIGITS_CLASSES} classes, so it needs softmax "
                             f"(got {self.model.output_activation})")
        # Written out resolved (as the default probe is), so config.yaml says 64 and 10; reading it back keeps them.
        resolved = data.model_copy(update={"num_features": DIGITS_FEATURES, "num_classes": DIGITS_CLASSES})
        object.__setattr__(self, "data", resolved)

    def _remedy_rules(self) -> None:
        """The remedies' cross-field rules; each message names the field to change."""
        model, training = self.model, self.training
        if model.residual_every > model.depth:
            raise ValueError(
                f"model.residual_every: a skip every {model.residual_every} blocks needs at least that many hidden layers "
                f"(model.depth is {model.depth}); use 0 (no skips) up to {model.depth}"
            )
        if model.kernel_initializer in ASYMMETRIC_INITIALIZERS and model.bias_initializer not in ("zeros", 0.0):
            raise ValueError(
                f"model.bias_initializer: {model.kernel_initializer} draws each unit's bias together with its weights "
                f"(Lu et al. 2019), so leave bias_initializer at zeros (got {model.bias_initializer!r})"
            )
        if model.sigma_w != DEFAULT_SIGMA_W and model.kernel_initializer not in SIGMA_W_INITIALIZERS:
            raise ValueError(
                f"model.sigma_w: only the {' and '.join(SIGMA_W_INITIALIZERS)} kernel initializers read it; leave it at "
                f"{DEFAULT_SIGMA_W:g} for {model.kernel_initializer} (got {model.sigma_w:g})"
            )
        if model.sigma_b != DEFAULT_SIGMA_B and model.bias_initializer != "gaussian":
            raise ValueError(
                f"model.sigma_b: only bias_initializer gaussian reads it; leave it at {DEFAULT_SIGMA_B:g} for "
                f"{model.bias_initializer!r} (got {model.sigma_b:g})"
            )
        if training.clip_norm is not None and training.clip_value is not None:
            raise ValueError(
                "training.clip_value: set at most one of training.clip_norm and training.clip_value (Keras optimizers clip "
                "one way): clip_norm rescales the whole gradient, clip_value clips each element"
            )
