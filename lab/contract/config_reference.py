"""docs/config.md, generated from the schema: every field's key, type, default, allowed values and description, then
the rules that tie fields together. `python -m lab config-reference [--check]` writes it, or says whether it is stale.
"""
from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from lab.contract.config import (
    ASYMMETRIC_INITIALIZERS,
    DEFAULT_PROBE_SAMPLES,
    MAX_RNN_DEPTH,
    RNN_DEFAULTS,
    SIGMA_W_INITIALIZERS,
    ExperimentConfig,
)
from lab.contract.field_limits import bounds, choices, field_info
from lab.science.data import BINARY_ONLY, DIGITS_CLASSES, DIGITS_FEATURES, DIGITS_SAMPLES, TWO_DIMENSIONAL
from lab.science.sequences import CHANNELS, CLASSES, SEQUENCE_TASKS

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.md"
# The probe's default depends on the data (ExperimentConfig._cross_field_rules): the field's own default says too little.
DEFAULTS_SHOWN = {"probe.num_samples": f"{DEFAULT_PROBE_SAMPLES}, or the training set if smaller",
                  "probe.jacobian_samples": "4, or probe.num_samples if smaller"}


class CrossFieldRule(NamedTuple):
    """A rule of ExperimentConfig's validators, the field its message names, and a config that breaks it."""

    field: str
    text: str
    breaking: dict  # dotted overrides refused with a message naming field (tests/test_config_reference.py checks it)


def _names(values) -> str:
    """`a`, `b` and `c`, sorted."""
    quoted = [f"`{value}`" for value in sorted(values)]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


CROSS_FIELD_RULES = (
    CrossFieldRule("data.num_classes", f"{_names(BINARY_ONLY)} are binary: `data.num_classes` must be 2 for them.",
                   {"data.dataset": "moons", "data.num_classes": 3, "model.output_activation": "softmax"}),
    CrossFieldRule("data.num_features", f"The 2-D sets ({_names(TWO_DIMENSIONAL)}) need `data.num_features` of at least 2.",
                   {"data.dataset": "moons", "data.num_features": 1}),
    CrossFieldRule("model.output_activation", "`sigmoid` is for 2 classes; use `softmax` for more.",
                   {"data.dataset": "blobs", "data.num_classes": 3, "model.output_activation": "sigmoid"}),
    CrossFieldRule("probe.num_samples",
                   f"Left out, `probe.num_samples` is {DEFAULT_PROBE_SAMPLES}, or the training set if smaller (config.yaml "
                   "holds the resolved number); set explicitly, it may be at most the training set. The training set is "
                   "`data.num_samples` minus round(`data.num_samples` × `data.validation_split`).",
                   {"data.num_samples": 100, "probe.num_samples": 90}),
    CrossFieldRule("training.batch_size", "`training.batch_size` is at most the training set.",
                   {"data.num_samples": 100, "probe.num_samples": 10, "training.batch_size": 90}),
    CrossFieldRule("model.residual_every", "`model.residual_every` is at most `model.depth` (0 = no skip connections).",
                   {"model.depth": 2, "model.residual_every": 3}),
    CrossFieldRule("model.bias_initializer",
                   f"With an asymmetric kernel initializer ({_names(ASYMMETRIC_INITIALIZERS)}), `model.bias_initializer` stays "
                   "`zeros`: it draws each unit's bias with its weights.",
                   {"model.kernel_initializer": ASYMMETRIC_INITIALIZERS[0], "model.bias_initializer": -1.0}),
    CrossFieldRule("training.clip_value", "Set at most one of `training.clip_norm` and `training.clip_value`.",
                   {"training.clip_norm": 1.0, "training.clip_value": 1.0}),
    CrossFieldRule("model.sigma_w", f"`model.sigma_w` other than 1 needs a kernel initializer that reads it "
                   f"({_names(SIGMA_W_INITIALIZERS)}).", {"model.sigma_w": 2.0}),
    CrossFieldRule("model.sigma_b", "`model.sigma_b` other than 0 needs `model.bias_initializer: gaussian`.",
                   {"model.sigma_b": 0.5}),
    CrossFieldRule("data.num_samples", f"`digits` has {DIGITS_SAMPLES} images: `data.num_samples` at most {DIGITS_SAMPLES} "
                   "(fewer: a seeded subset).",
                   {"data.dataset": "digits", "model.output_activation": "softmax", "data.num_samples": 2000}),
    CrossFieldRule("data.num_features", f"With `digits`, `data.num_features` and `data.num_classes` left out resolve to "
                   f"{DIGITS_FEATURES} and {DIGITS_CLASSES} (config.yaml holds them); other values are refused.",
                   {"data.dataset": "digits", "model.output_activation": "softmax", "data.num_features": 2}),
    CrossFieldRule("data.noise", "`digits` are real images: `data.noise` stays at its default (it is not used).",
                   {"data.dataset": "digits", "model.output_activation": "softmax", "data.noise": 0.5}),
    CrossFieldRule("model.output_activation", f"`digits` has {DIGITS_CLASSES} classes: `model.output_activation` is "
                   "`softmax`.", {"data.dataset": "digits"}),
    CrossFieldRule("probe.jacobian_samples", "`probe.jacobian_samples` other than 4 needs `probe.propagation: true`.",
                   {"probe.jacobian_samples": 2}),
    CrossFieldRule("probe.jacobian_samples", "Left out, `probe.jacobian_samples` is 4, or `probe.num_samples` if smaller "
                   "(config.yaml holds the resolved number); set explicitly, it may be at most `probe.num_samples`.",
                   {"probe.propagation": True, "probe.num_samples": 8, "probe.jacobian_samples": 10}),
    CrossFieldRule("probe.propagation", "`probe.propagation` needs `model.normalization: none` (normalisation couples "
                   "the samples: there is no per-sample Jacobian).",
                   {"probe.propagation": True, "model.normalization": "layer"}),
    # Recurrent networks (issue #14).
    CrossFieldRule("data.sequence_length", f"Only the sequence tasks ({_names(SEQUENCE_TASKS)}) read "
                   "`data.sequence_length`; it stays at its default for the others.", {"data.sequence_length": 20}),
    CrossFieldRule("data.num_features", "With a sequence task, `data.num_features` and `data.num_classes` left out resolve "
                   "to the task's channels and classes (" + ", ".join(f"`{task}` {CHANNELS[task]} and {CLASSES[task]}"
                                                                     for task in SEQUENCE_TASKS)
                   + "; config.yaml holds them); other values are refused.",
                   {"data.dataset": "adding", "model.kind": "rnn", "data.num_features": 3}),
    CrossFieldRule("data.noise", "Of the sequence tasks only `bit_memory` takes `data.noise` (the others stay at its default).",
                   {"data.dataset": "adding", "model.kind": "rnn", "data.noise": 0.5}),
    CrossFieldRule("data.dataset", "A sequence task needs `model.kind: rnn`.", {"data.dataset": "adding"}),
    CrossFieldRule("data.dataset", "`model.kind: rnn` needs a sequence task as `data.dataset`.", {"model.kind": "rnn"}),
    CrossFieldRule("model.cell", "`model.cell` other than `simple` needs `model.kind: rnn`.", {"model.cell": "lstm"}),
    CrossFieldRule("model.recurrent_initializer", "`model.recurrent_initializer` other than `orthogonal` needs "
                   "`model.kind: rnn`.", {"model.recurrent_initializer": "identity"}),
    CrossFieldRule("model.spectral_radius", "`model.spectral_radius` needs `model.kind: rnn`.", {"model.spectral_radius": 0.9}),
    CrossFieldRule("model.depth", f"With `model.kind: rnn`, `model.depth` left out is {RNN_DEFAULTS['depth']} "
                   f"(config.yaml holds it); at most {MAX_RNN_DEPTH} stacked recurrent layers.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.depth": MAX_RNN_DEPTH + 1}),
    CrossFieldRule("model.activation", f"With `model.kind: rnn`, `model.activation` left out is `{RNN_DEFAULTS['activation']}` "
                   "(config.yaml holds it); the `lstm` and `gru` cells take `tanh` only.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.cell": "lstm", "model.activation": "relu"}),
    CrossFieldRule("model.recurrent_initializer", "`identity` is for `model.cell: simple` only.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.cell": "gru",
                    "model.recurrent_initializer": "identity"}),
    CrossFieldRule("model.spectral_radius", "`model.spectral_radius` is for `model.cell: simple` only (a gated cell's "
                   "recurrent kernel is not square).",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.cell": "lstm", "model.spectral_radius": 0.9}),
    CrossFieldRule("model.normalization", "`model.normalization` stays `none` with `model.kind: rnn`.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.normalization": "layer"}),
    CrossFieldRule("model.residual_every", "`model.residual_every` stays 0 with `model.kind: rnn`.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.residual_every": 1}),
    CrossFieldRule("model.kernel_initializer", f"{_names(ASYMMETRIC_INITIALIZERS)} (a Dense unit's weights and bias drawn "
                   "together) is not for `model.kind: rnn`.",
                   {"data.dataset": "adding", "model.kind": "rnn", "model.kernel_initializer": ASYMMETRIC_INITIALIZERS[0]}),
    CrossFieldRule("probe.propagation", "`probe.propagation` is for `model.kind: mlp` only.",
                   {"data.dataset": "adding", "model.kind": "rnn", "probe.propagation": True}),
)

HEADER = """# Config reference

<!-- Generated from lab/contract/config.py by `python -m lab config-reference`; do not edit by hand.
     `python -m lab config-reference --check` (and tests/test_config_reference.py) fail when it is stale. -->

An experiment is one YAML file of sections; every field has a default, so an empty file is valid. Keys are written
here dotted (`model.depth`), as `--set model.depth=20` and the app's links take them. Unknown keys, wrong types and
out-of-range values are refused with a message naming the field. The app caps some sizes lower than the ranges
below (to fit a hosted server); `python -m lab run` takes the full ranges.
"""

FOOTER = """
The remedy fields at their off values (`model.normalization: none` with `model.normalization_position: before`,
`model.residual_every: 0`, `training.clip_norm` and `training.clip_value` null), and `model.sigma_w: 1.0` and
`model.sigma_b: 0.0`, and `probe.propagation: false` with `probe.jacobian_samples: 4`, and the recurrent fields at
their defaults (`model.kind: mlp`, `model.cell: simple`, `model.recurrent_initializer: orthogonal`,
`model.spectral_radius: null`, `data.sequence_length: 50`) are left out of config.yaml, so every run id from before
them stays the same; reading config.yaml back fills them in.
"""


def render() -> str:
    """The whole reference page as Markdown."""
    lines = [HEADER]
    top_level = [name for name, info in ExperimentConfig.model_fields.items() if not _is_section(info.annotation)]
    lines += _section("Top level", _first_line(ExperimentConfig.__doc__), top_level)
    for name, info in ExperimentConfig.model_fields.items():
        if _is_section(info.annotation):
            keys = [f"{name}.{field}" for field in info.annotation.model_fields]
            lines += _section(f"`{name}`", _first_line(info.annotation.__doc__), keys)
    lines += ["## Rules across fields", "", "Each refusal names the field to change.", ""]
    lines += [f"- `{rule.field}`: {rule.text}" for rule in CROSS_FIELD_RULES]
    lines.append(FOOTER)
    return "\n".join(lines)


def _section(title: str, summary: str, keys: list[str]) -> list[str]:
    """One section's heading, summary and table."""
    lines = [f"## {title}", "", summary, "", "| Key | Type | Default | Allowed | Description |", "|---|---|---|---|---|"]
    for key in keys:
        info = field_info(key)
        default = DEFAULTS_SHOWN.get(key) or f"`{_value_text(info.default)}`"
        cells = [f"`{key}`", type_text(info.annotation), default, allowed_text(key), info.description or ""]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines + [""]


def type_text(annotation: Any) -> str:
    """'integer', 'number', 'text', 'choice', or 'number or null' for a Union."""
    if typing.get_origin(annotation) is typing.Literal:
        return "choice"
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(type_text(argument) for argument in typing.get_args(annotation))
    names = {int: "integer", float: "number", str: "text", type(None): "null"}
    return names.get(annotation, getattr(annotation, "__name__", "?"))


def allowed_text(key: str) -> str:
    """The field's allowed values: null, named choices, a range, a pattern, joined by ', or '."""
    info = field_info(key)
    parts = []
    if type(None) in typing.get_args(info.annotation):
        parts.append("`null`")
    if info.annotation is bool:
        parts.append("`true` or `false`")
    named = choices(key)
    if named:
        parts.append(("one of " if len(named) > 1 else "") + ", ".join(f"`{value}`" for value in named))
    limits = bounds(key)
    if limits.low is not None or limits.high is not None:
        parts.append(limits.text("x"))
    parts += [f"matches `{item.pattern}`" for item in info.metadata if getattr(item, "pattern", None)]
    return ", or ".join(parts)


def _value_text(value: Any) -> str:
    """A default as YAML writes it: null, moons, 0.1."""
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _is_section(annotation: Any) -> bool:
    """A nested section (data, model, ...) rather than a value."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _first_line(text: str | None) -> str:
    """A docstring's first line."""
    return (text or "").strip().splitlines()[0] if text else ""


def write(path: Path | None = None) -> Path:
    """Write the reference page (by default to DOCS_PATH); returns its path."""
    path = DOCS_PATH if path is None else path
    path.write_text(render(), encoding="utf-8")
    return path


def is_current(path: Path | None = None) -> bool:
    """Whether the page on disk (by default DOCS_PATH) is what the schema generates."""
    path = DOCS_PATH if path is None else path
    return path.is_file() and path.read_text(encoding="utf-8") == render()
