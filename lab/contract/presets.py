"""The preset experiments and sweeps shipped in experiments/: where they are and which is which.

A file with a top-level `grid` is a sweep, anything else an experiment, wherever it sits under
experiments/ (DESIGN.md), except under experiments/sweeps/tables/: that folder holds the preset sweeps'
shipped full-size results (one folder per sweep preset, with its sweep.csv and the sweep.yaml it was
run from), which are results, not presets. The folder sits beside the lab package in a checkout or an
editable install.
"""
from __future__ import annotations

from pathlib import Path

import yaml

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
REMEDY_PRESETS = EXPERIMENTS / "remedies"
SWEEP_PRESETS = EXPERIMENTS / "sweeps"
SWEEP_TABLES = SWEEP_PRESETS / "tables"  # <preset name>/sweep.csv + sweep.yaml: docs/sweeps.md, "Shipped tables"


def is_sweep(path: Path) -> bool:
    """True for a sweep file (a mapping with a top-level grid)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(raw, dict) and "grid" in raw


def preset_files() -> list[Path]:
    """Every YAML file under experiments/ that is a preset (the shipped tables' sweep.yaml files are not)."""
    return [path for path in sorted(EXPERIMENTS.rglob("*.yaml")) if not path.is_relative_to(SWEEP_TABLES)]


def experiment_presets() -> dict[str, Path]:
    """Experiment presets by name relative to experiments/ ("sigmoid_vanishing", "remedies/batch_norm")."""
    return {str(path.relative_to(EXPERIMENTS).with_suffix("")): path for path in preset_files() if not is_sweep(path)}


def sweep_presets() -> dict[str, Path]:
    """Sweep presets by file stem."""
    return {path.stem: path for path in preset_files() if is_sweep(path)}


def shipped_sweep_table(name: str) -> Path | None:
    """The folder of a sweep preset's shipped full-size table (sweep.csv + sweep.yaml), or None if none is shipped."""
    folder = SWEEP_TABLES / name
    return folder if (folder / "sweep.csv").is_file() and (folder / "sweep.yaml").is_file() else None
