"""Each config field's limits as the schema holds them: ranges, choices, the probe's default, for widgets and docs.

Read from lab.contract.config, never restated: a field's ge/gt/le/lt, and, for the fields a validator checks
(a Union or Optional type cannot carry ge/le), the constants that validator compares with.
"""
from __future__ import annotations

import typing
from typing import Any, NamedTuple

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lab.contract.config import MAX_BIAS_CONSTANT, MAX_CLIP, MAX_STEPS, DataConfig, ExperimentConfig, TrainingConfig
from lab.science.initializers import BIAS_INITIALIZER_NAMES
from lab.science.recurrent_initializers import MAX_SPECTRAL_RADIUS


class Bounds(NamedTuple):
    """A numeric range; None for a side without a bound. An exclusive side is open (momentum < 1)."""

    low: float | None
    high: float | None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def text(self, name: str = "x") -> str:
        """'0 ≤ x < 1' (a side without a bound left out)."""
        parts = []
        if self.low is not None:
            parts.append(f"{_number(self.low)} {'≤' if self.low_inclusive else '<'} ")
        parts.append(name)
        if self.high is not None:
            parts.append(f" {'≤' if self.high_inclusive else '<'} {_number(self.high)}")
        return "".join(parts)


# The fields whose range a validator of lab.contract.config checks, with the constants it compares with.
VALIDATED_BOUNDS = {
    "model.bias_initializer": Bounds(-MAX_BIAS_CONSTANT, MAX_BIAS_CONSTANT),  # a constant bias (or a name)
    "training.record_every": Bounds(1, MAX_STEPS),  # a number of steps (or 'epoch')
    "training.clip_norm": Bounds(0.0, MAX_CLIP, low_inclusive=False),  # or null (off)
    "training.clip_value": Bounds(0.0, MAX_CLIP, low_inclusive=False),  # or null (off)
    "model.spectral_radius": Bounds(0.0, MAX_SPECTRAL_RADIUS, low_inclusive=False),  # or null (as drawn)
}
# The names a validator accepts where the type says only str.
VALIDATED_CHOICES = {"model.bias_initializer": BIAS_INITIALIZER_NAMES}


def field_info(key: str) -> FieldInfo:
    """The pydantic FieldInfo of a dotted key ('training.momentum'); KeyError for an unknown key."""
    model: type[BaseModel] = ExperimentConfig
    *sections, name = key.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[name]


def field_keys() -> list[str]:
    """Every dotted key of the schema, in schema order (sections flattened)."""
    keys = []
    for name, info in ExperimentConfig.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            keys += [f"{name}.{field}" for field in info.annotation.model_fields]
        else:
            keys.append(name)
    return keys


def bounds(key: str) -> Bounds:
    """The schema's range of a numeric field (Bounds(None, None) when it has none, e.g. a choice)."""
    if key in VALIDATED_BOUNDS:
        return VALIDATED_BOUNDS[key]
    low = high = None
    low_inclusive = high_inclusive = True
    for item in field_info(key).metadata:
        if isinstance(item, Ge):
            low, low_inclusive = item.ge, True
        elif isinstance(item, Gt):
            low, low_inclusive = item.gt, False
        elif isinstance(item, Le):
            high, high_inclusive = item.le, True
        elif isinstance(item, Lt):
            high, high_inclusive = item.lt, False
    return Bounds(low, high, low_inclusive, high_inclusive)


def choices(key: str) -> tuple[Any, ...]:
    """The values a field takes by name: its Literal choices (also inside a Union) and the names its validator accepts."""
    found = list(_literal_values(field_info(key).annotation))
    return tuple(found + [name for name in VALIDATED_CHOICES.get(key, ()) if name not in found])


def _literal_values(annotation: Any) -> list[Any]:
    """The Literal values in an annotation, looking inside Union/Optional."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [value for argument in typing.get_args(annotation) for value in _literal_values(argument)]


def default_probe_samples(num_samples: int, validation_split: float) -> int:
    """What probe.num_samples resolves to when left out, for this much data: asked of the schema itself."""
    data = DataConfig(num_samples=num_samples, validation_split=validation_split)
    # batch_size 1 so no other rule refuses small data; the rest stays at the defaults.
    return ExperimentConfig(data=data, training=TrainingConfig(batch_size=1)).probe.num_samples


def _number(value: float) -> str:
    """A bound as written in the docs: 100000, 0.5, 1e+06."""
    return f"{value:g}" if isinstance(value, float) else str(value)
