"""The preset experiments and sweeps shipped in experiments/: where they are and which is which.

A file with a top-level `grid` is a sweep, anything else an experiment, wherever it sits under
experiments/ (DESIGN.md). The folder sits beside the lab package in a checkout or an editable install.
"""
from __future__ import annotations

from pathlib import Path

import yaml

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
REMEDY_PRESETS = EXPERIMENTS / "remedies"
SWEEP_PRESETS = EXPERIMENTS / "sweeps"


def is_sweep(path: Path) -> bool:
    """True for a sweep file (a mapping with a top-level grid)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(raw, dict) and "grid" in raw


def experiment_presets() -> dict[str, Path]:
    """Experiment presets by name relative to experiments/ ("sigmoid_vanishing", "remedies/batch_norm")."""
    return {str(path.relative_to(EXPERIMENTS).with_suffix("")): path
            for path in sorted(EXPERIMENTS.rglob("*.yaml")) if not is_sweep(path)}


def sweep_presets() -> dict[str, Path]:
    """Sweep presets by file stem."""
    return {path.stem: path for path in sorted(EXPERIMENTS.rglob("*.yaml")) if is_sweep(path)}
