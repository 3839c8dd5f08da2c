"""Experiment configs: YAML (or a dict) in, a validated frozen object out, and back to YAML."""
from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from lab.data import BINARY_ONLY, DATASETS, TWO_DIMENSIONAL

# Bounds are generous enough for research yet keep one run on a laptop; the hosted caps of the
# app are tighter and live with the app.
MAX_DEPTH = 100
MAX_WIDTH = 1024
MAX_SAMPLES = 100_000
MAX_EPOCHS = 1000
MAX_CLASSES = 10
MAX_FEATURES = 1000
MAX_STEPS = MAX_SAMPLES * MAX_EPOCHS  # batch size 1: the most optimizer steps one run can take
MAX_BIAS_CONSTANT = 100.0  # a constant bias of ±10 already saturates every unit; 1e308 overflows float32

KERNEL_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "classic")
BIAS_INITIALIZER_NAMES = (
    "zeros", "ones", "random_normal", "random_uniform",
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
)
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Section(BaseModel):
    """Shared strictness: unknown keys, wrong types and NaN/inf are errors, objects are frozen."""

    # strict: YAML already gives typed scalars, so "10" for an int is a mistake, not a convenience.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DataConfig(_Section):
    """Which synthetic data set, how big and how noisy."""

    dataset: Literal[DATASETS] = "moons"
    num_samples: int = Field(1024, ge=16, le=MAX_SAMPLES)
    noise: float = Field(0.1, ge=0.0, le=2.0)
    # For the 2-D sets, features beyond 2 are N(0,1) noise; for gaussian, the input dimension.
    num_features: int = Field(2, ge=1, le=MAX_FEATURES)
    # Also the spirals' arms and the blobs' centres.
    num_classes: int = Field(2, ge=2, le=MAX_CLASSES)
    validation_split: float = Field(0.2, ge=0.0, le=0.5)


class ModelConfig(_Section):
    """The MLP: depth hidden Dense layers of width units, then the output head."""

    depth: int = Field(10, ge=1, le=MAX_DEPTH)
    width: int = Field(32, ge=1, le=MAX_WIDTH)
    activation: Literal[HIDDEN_ACTIVATIONS] = "sigmoid"
    # Keras' own leaky defaults differ (function 0.2, layer 0.3); this lab uses 0.01.
    leaky_alpha: float = Field(0.01, ge=0.0, lt=1.0)
    output_activation: Literal[OUTPUT_ACTIVATIONS] = "sigmoid"
    kernel_initializer: Literal[KERNEL_INITIALIZERS] = "glorot_uniform"
    bias_initializer: Union[float, str] = "zeros"

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


class TrainingConfig(_Section):
    """Optimizer and schedule; record_every says when the probes measure."""

    optimizer: Literal[OPTIMIZERS] = "sgd"
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    learning_rate: float = Field(0.1, gt=0.0, le=10.0)
    batch_size: int = Field(64, ge=1, le=MAX_SAMPLES)
    epochs: int = Field(30, ge=0, le=MAX_EPOCHS)
    record_every: Union[Literal["epoch"], int] = "epoch"

    @field_validator("record_every", mode="before")
    @classmethod
    def _record_every_epoch_or_steps(cls, value: Any) -> Any:
        """'epoch' or a positive number of optimizer steps (at most a run's most steps)."""
        if value == "epoch" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_STEPS):
            return value
        raise ValueError(f"must be 'epoch' or a whole number of steps >= 1 (at most {MAX_STEPS})")


class ProbeConfig(_Section):
    """The fixed batch, drawn once from the training data, on which every probe measures."""

    num_samples: int = Field(256, ge=1, le=MAX_SAMPLES)


class ExperimentConfig(_Section):
    """One experiment: every field has a default, so an empty file is valid."""

    name: str = Field("experiment", pattern=NAME_PATTERN)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    probe: ProbeConfig = ProbeConfig()

    @property
    def num_train_samples(self) -> int:
        """Samples left for training after the validation split (as lab.data splits them)."""
        return self.data.num_samples - round(self.data.num_samples * self.data.validation_split)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> "ExperimentConfig":
        """Rules that tie fields together; each message names the field to change."""
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
        if self.probe.num_samples > train:
            raise ValueError(f"probe.num_samples: at most the training set, {train} samples (got {self.probe.num_samples})")
        if self.training.batch_size > train:
            raise ValueError(f"training.batch_size: at most the training set, {train} samples (got {self.training.batch_size})")
        return self
