"""Experiment configs: YAML (or a dict) in, a validated frozen object out, and back to YAML."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from lab.science.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from lab.science.csv_data import CSV_DATASET, CsvTable
from lab.science.data import (
    ALL_DATASETS,
    BINARY_ONLY,
    DEFAULT_SEQUENCE_LENGTH,
    DIGITS_CLASSES,
    DIGITS_FEATURES,
    DIGITS_SAMPLES,
    TWO_DIMENSIONAL,
)
from lab.science.initializers import (
    ASYMMETRIC_INITIALIZERS,
    BIAS_INITIALIZER_NAMES,
    DEFAULT_SIGMA_B,
    DEFAULT_SIGMA_W,
    KERNEL_INITIALIZER_NAMES,
    SIGMA_W_INITIALIZERS,
)
from lab.science.recurrent_initializers import (
    CELLS,
    GATES,
    MAX_SPECTRAL_RADIUS,
    RECURRENT_INITIALIZERS,
    SIMPLE_ONLY_RECURRENT_INITIALIZERS,
)
from lab.science.sequences import CHANNELS, CLASSES, MIN_LENGTH, SEQUENCE_TASKS

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
# Recurrent networks (issue #14): model.kind rnn stacks at most MAX_RNN_DEPTH recurrent layers; left out, depth
# and activation resolve to RNN_DEFAULTS (written to config.yaml); gated cells take tanh only (their gates are sigmoid).
MODEL_KINDS = ("mlp", "rnn")
MAX_RNN_DEPTH = 4
RNN_DEFAULTS = {"depth": 1, "activation": "tanh"}
GATED_CELL_ACTIVATION = "tanh"
MAX_SEQUENCE_LENGTH = 1000
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# A user's own data (issue #15): data.dataset csv. lab.contract.config_io reads the file (data.path, an upload, or the
# data.csv beside a run folder's config.yaml) and hands the checked table to validation under this context key.
CSV_TABLE_CONTEXT = "csv_table"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


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


class DataConfig(RemedyFieldsOff):
    """Which data set, how big and how noisy."""

    dataset: Literal[ALL_DATASETS + (CSV_DATASET,)] = Field("moons", description=(
        "The data set: synthetic, or digits (scikit-learn's 1797 8×8 handwritten digits, bundled: no download), or a "
        "sequence task for model.kind rnn (bit_memory, adding, temporal_order: docs/experiments.md), or csv: your own "
        "file (data.path; docs/own-data.md)."))
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
    # Issue #14; left out of dumps at its default (RemedyFieldsOff), so every earlier run id stays.
    sequence_length: int = Field(DEFAULT_SEQUENCE_LENGTH, ge=MIN_LENGTH, le=MAX_SEQUENCE_LENGTH, description=(
        "Time steps T of a sequence task (read by the sequence tasks only)."))
    # Issue #15 (your own data); left out of dumps while null (RemedyFieldsOff). path is read and dropped by
    # lab.load_config, so the resolved config (and the run id) records the file's bytes (sha256), never where it was.
    path: str | None = Field(None, description=(
        "data.dataset csv: the CSV file, relative to the config file's folder (the CLI; the app takes an upload). "
        "Numeric feature columns and a label column of 2-10 classes. Not written to config.yaml: the run folder keeps "
        "the file as data.csv."))
    sha256: str | None = Field(None, pattern=SHA256_PATTERN, description=(
        "data.dataset csv: sha256 of the file's bytes, filled in when the file is read (a changed file is a new run); "
        "given, the file must match it."))
    # The checked file of a csv config (lab.science.csv_data.CsvTable), set by validation from its context: never
    # dumped, so run ids depend on data.sha256 alone; copies of the config (model_copy, pickling) keep it.
    _csv_table: CsvTable | None = PrivateAttr(None)

    def remedy_fields_off(self) -> list[str]:
        """sequence_length at its default; path and sha256 while null."""
        off = ["sequence_length"] if self.sequence_length == DEFAULT_SEQUENCE_LENGTH else []
        return off + [name for name in ("path", "sha256") if getattr(self, name) is None]

    @property
    def csv_table(self) -> CsvTable | None:
        """The checked CSV of data.dataset csv (None for the other data sets, or a csv config validated without its file)."""
        return self._csv_table


class ModelConfig(RemedyFieldsOff):
    """The network: an MLP (depth hidden blocks, then the output head) or a recurrent one (depth stacked cells, then the head)."""

    # Issue #14 (recurrent networks); left out of dumps at their defaults (RemedyFieldsOff).
    kind: Literal[MODEL_KINDS] = Field("mlp", description=(
        "mlp: Dense hidden blocks; rnn: stacked recurrent layers of model.cell reading a sequence task, the output "
        "head on the last time step's state."))
    cell: Literal[CELLS] = Field("simple", description=(
        "The recurrent cell (model.kind rnn): Keras SimpleRNNCell, LSTMCell (forget-gate bias 1) or GRUCell."))
    depth: int = Field(10, ge=1, le=MAX_DEPTH, description=(
        f"Hidden layers (Dense, then the activation); with model.kind rnn, stacked recurrent layers (1 when left out, "
        f"at most {MAX_RNN_DEPTH})."))
    width: int = Field(32, ge=1, le=MAX_WIDTH, description="Units in each hidden (or recurrent) layer.")
    activation: Literal[HIDDEN_ACTIVATIONS] = Field("sigmoid", description=(
        "Activation function of the hidden layers; with model.kind rnn the simple cell's (tanh when left out; "
        "lstm and gru take tanh only)."))
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
    recurrent_initializer: Literal[RECURRENT_INITIALIZERS] = Field("orthogonal", description=(
        "Initial recurrent kernels (model.kind rnn): orthogonal (Keras' default, the whole units × G·units matrix), "
        "glorot_uniform, identity (simple cell only; with relu: IRNN) or gaussian N(0, 1/units)."))
    spectral_radius: float | None = Field(None, description=(
        "The simple cell's recurrent kernel rescaled to this largest |eigenvalue| at initialisation; null = as drawn."))
    # Remedies, off by default (lab.training.models builds them; RemedyFieldsOff keeps old run ids).
    normalization: Literal[NORMALIZATIONS] = Field(
        "none", description="Remedy: batch or layer normalisation in each hidden block.")
    normalization_position: Literal[NORMALIZATION_POSITIONS] = Field(
        "before", description="Remedy: normalise before or after the activation.")
    residual_every: int = Field(0, ge=0, le=MAX_DEPTH, description="Remedy: a skip connection every k hidden blocks; 0 = none.")

    def remedy_fields_off(self) -> list[str]:
        """normalization none (with its position at the default), residual_every 0, sigma_w 1, sigma_b 0; kind mlp,
        cell simple, recurrent_initializer orthogonal, spectral_radius null."""
        off = [name for name, default in (("kind", "mlp"), ("cell", "simple"), ("recurrent_initializer", "orthogonal"),
                                          ("spectral_radius", None)) if getattr(self, name) == default]
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

    @field_validator("spectral_radius", mode="before")
    @classmethod
    def _spectral_radius_is_null_or_positive(cls, value: Any) -> Any:
        """null (as drawn) or a finite number > 0 (at most MAX_SPECTRAL_RADIUS); one message instead of one per branch."""
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_SPECTRAL_RADIUS:
            return float(value)
        raise ValueError(f"must be null (the recurrent kernel as drawn) or a number > 0 and at most {MAX_SPECTRAL_RADIUS:g}")


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
    def _cross_field_rules(self, info: ValidationInfo) -> ExperimentConfig:
        """Rules that tie fields together; each message names the field to change."""
        self._csv_rules((info.context or {}).get(CSV_TABLE_CONTEXT))
        self._digits_rules()
        self._sequence_rules()
        self._recurrent_rules()
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

    def _csv_rules(self, table: CsvTable | None) -> None:
        """data.dataset csv: the file's rows, feature columns and classes are the data's (left out, they resolve to them;
        written out resolved, as digits' are), no noise; data.path and data.sha256 are for csv only."""
        data = self.data
        if data.dataset != CSV_DATASET:
            for name in ("path", "sha256"):
                if getattr(data, name) is not None:
                    raise ValueError(f"data.{name}: only with data.dataset: csv (your own file); leave it out for "
                                     f"{data.dataset} (got {getattr(data, name)!r})")
            return
        if table is None:
            if data.path is not None:
                raise ValueError("data.path: a csv is read by lab.load_config only (python -m lab run, the app); "
                                 "sweeps and ExperimentConfig(...) alone do not read files")
            if data.sha256 is None:
                raise ValueError("data.sha256: a csv config names its file's bytes: load it with lab.load_config and "
                                 "data.path (or an upload in the app)")
            return  # a resolved dump validated again: its sizes were written out resolved
        explicit = data.model_fields_set
        for name, size, what in (("num_samples", table.num_samples, "rows"), ("num_features", table.num_features,
                                 "feature columns"), ("num_classes", table.num_classes, "classes in its label column")):
            if name in explicit and getattr(data, name) != size:
                raise ValueError(f"data.{name}: the csv has {size} {what} (got {getattr(data, name)}); "
                                 f"leave it out or set {size}")
        if "noise" in explicit and data.noise != DataConfig.model_fields["noise"].default:
            raise ValueError(f"data.noise: a csv is your data as it is and takes no noise (got {data.noise}); leave it out")
        resolved = data.model_copy(update={"num_samples": table.num_samples, "num_features": table.num_features,
                                           "num_classes": table.num_classes, "path": None, "sha256": table.sha256})
        resolved._csv_table = table
        object.__setattr__(self, "data", resolved)

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

    def _sequence_rules(self) -> None:
        """A sequence task fixes its channels and classes (left out, they resolve to them) and takes noise only for
        bit_memory; data.sequence_length is read by the sequence tasks only."""
        data = self.data
        if data.dataset not in SEQUENCE_TASKS:
            if data.sequence_length != DEFAULT_SEQUENCE_LENGTH:
                raise ValueError(f"data.sequence_length: only the sequence tasks ({', '.join(SEQUENCE_TASKS)}) read it; "
                                 f"leave it out for {data.dataset} (got {data.sequence_length})")
            return
        explicit = data.model_fields_set
        task = data.dataset
        for name, size, what in (("num_features", CHANNELS[task], "input channels"), ("num_classes", CLASSES[task], "classes")):
            if name in explicit and getattr(data, name) != size:
                raise ValueError(f"data.{name}: {task} has {size} {what} (got {getattr(data, name)}); leave it out or set {size}")
        if task != "bit_memory" and "noise" in explicit and data.noise != DataConfig.model_fields["noise"].default:
            raise ValueError(f"data.noise: only bit_memory takes noise; {task} is defined without it (got {data.noise}); "
                             "leave it out")
        # Written out resolved (as digits' are), so config.yaml says the task's sizes; reading it back keeps them.
        resolved = data.model_copy(update={"num_features": CHANNELS[task], "num_classes": CLASSES[task]})
        object.__setattr__(self, "data", resolved)

    def _recurrent_rules(self) -> None:
        """model.kind rnn reads a sequence task with recurrent cells; the recurrent fields need it (issue #14)."""
        model, data = self.model, self.data
        if model.kind == "mlp":
            if data.dataset in SEQUENCE_TASKS:
                raise ValueError(f"data.dataset: {data.dataset} is a sequence task, read by a recurrent network: set "
                                 "model.kind: rnn (model.kind is mlp)")
            without_cell = "only with model.kind: rnn (an MLP has no recurrent cell); set model.kind: rnn or leave it out"
            if model.cell != "simple":
                raise ValueError(f"model.cell: {without_cell} (got {model.cell})")
            if model.recurrent_initializer != "orthogonal":
                raise ValueError(f"model.recurrent_initializer: {without_cell} (got {model.recurrent_initializer})")
            if model.spectral_radius is not None:
                raise ValueError(f"model.spectral_radius: {without_cell} (got {model.spectral_radius:g})")
            return
        if data.dataset not in SEQUENCE_TASKS:
            raise ValueError(f"data.dataset: model.kind rnn reads sequences; use one of {', '.join(SEQUENCE_TASKS)} "
                             f"(got {data.dataset}, a vector data set: use model.kind mlp for it)")
        explicit = model.model_fields_set
        resolved = {name: value for name, value in RNN_DEFAULTS.items() if name not in explicit}
        if resolved:  # written out resolved, so config.yaml says depth 1 and tanh; reading it back keeps them
            model = model.model_copy(update=resolved)
            object.__setattr__(self, "model", model)
        if model.depth > MAX_RNN_DEPTH:
            raise ValueError(f"model.depth: with model.kind rnn at most {MAX_RNN_DEPTH} stacked recurrent layers "
                             f"(got {model.depth})")
        if model.cell != "simple" and model.activation != GATED_CELL_ACTIVATION:
            raise ValueError(f"model.activation: the {model.cell} cell takes {GATED_CELL_ACTIVATION} only (its gates are "
                             f"sigmoid); leave it out or set {GATED_CELL_ACTIVATION} (got {model.activation})")
        if model.cell != "simple" and model.recurrent_initializer in SIMPLE_ONLY_RECURRENT_INITIALIZERS:
            raise ValueError(f"model.recurrent_initializer: {model.recurrent_initializer} is for model.cell simple only "
                             f"(the {model.cell} cell's recurrent kernel is units x {GATES[model.cell]}·units); "
                             "use " + ", ".join(name for name in RECURRENT_INITIALIZERS
                                                if name not in SIMPLE_ONLY_RECURRENT_INITIALIZERS))
        if model.cell != "simple" and model.spectral_radius is not None:
            raise ValueError(f"model.spectral_radius: for model.cell simple only (the {model.cell} cell's recurrent kernel "
                             "is not square: no single spectral radius); leave it out (null)")
        # Each raise written out, so tests/test_config_reference.py finds every field these rules name.
        if model.normalization != "none":
            raise ValueError("model.normalization: not with model.kind rnn (the MLP's blocks only); "
                             "set model.normalization: none")
        if model.residual_every != 0:
            raise ValueError("model.residual_every: not with model.kind rnn (the MLP's blocks only); set model.residual_every: 0")
        if model.kernel_initializer in ASYMMETRIC_INITIALIZERS:
            raise ValueError(f"model.kernel_initializer: {model.kernel_initializer} draws a Dense unit's weights and bias "
                             "together, not a recurrent cell's; with model.kind rnn use another kernel initializer")
        if self.probe.propagation:
            raise ValueError("probe.propagation: not with model.kind rnn (its Jacobians dz_l/dz_1 are an MLP's); "
                             "set probe.propagation: false")

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
