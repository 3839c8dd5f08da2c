"""Sweep files: a base experiment, a grid of dotted keys and seeds, expanded into validated run configs."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lab.config import NAME_PATTERN, ExperimentConfig
from lab.config_io import ConfigError, apply_overrides, parse_yaml, read_text, source_to_mapping, validate

MAX_SWEEP_RUNS = 20_000  # cells x seeds; a bigger study belongs in several sweeps (or a typo in a grid)
MAX_SEEDS = 10_000
QUICK_SEEDS = 3


class SweepConfig(BaseModel):
    """name, base (inline config or a path relative to the sweep file), grid of dotted keys, seeds."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: str = Field(pattern=NAME_PATTERN)
    base: Union[dict, str] = Field(default_factory=dict)
    grid: dict[str, list] = Field(min_length=1)
    seeds: Union[int, list[int]] = 1

    @field_validator("grid")
    @classmethod
    def _axes_are_non_empty(cls, grid: dict) -> dict:
        """Every axis lists at least one value, without repeats."""
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid.{key}: needs at least one value")
            if len({repr(value) for value in values}) != len(values):
                raise ValueError(f"grid.{key}: a value is listed twice")
        return grid

    @field_validator("seeds")
    @classmethod
    def _seeds_in_range(cls, seeds):
        """A count (seeds 0..n-1) or distinct seeds, each a valid experiment seed."""
        if isinstance(seeds, int) and not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(f"a count must be between 1 and {MAX_SEEDS}")
        if isinstance(seeds, list):
            if not seeds or len(set(seeds)) != len(seeds) or any(not 0 <= seed < 2**31 for seed in seeds):
                raise ValueError("a list needs distinct seeds between 0 and 2^31-1")
        return seeds

    @property
    def seed_list(self) -> list[int]:
        """The seeds as a list."""
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: its place in the grid, its seed and its validated config."""

    index: int
    cell: int
    cell_values: dict
    seed: int
    config: ExperimentConfig


def load_sweep(source: Any, quick: bool = False) -> tuple[SweepConfig, dict]:
    """(the sweep, its base as a raw dict), from a path, YAML text or a mapping; ConfigError if invalid."""
    folder = Path(".")
    if isinstance(source, (str, Path)) and (isinstance(source, Path) or str(source).endswith((".yaml", ".yml"))):
        folder = Path(source).parent
        raw = parse_yaml(read_text(Path(source)), what=str(source))
    else:
        raw = source_to_mapping(source)
    if not isinstance(raw, dict) or "grid" not in raw:
        raise ConfigError("sweep: must be a mapping with name, base, grid and seeds (a file without grid is an experiment)")
    sweep = validate(raw, SweepConfig)
    base = sweep.base
    if isinstance(base, str):
        base = source_to_mapping(folder / base)
    if quick:
        grid = {key: (values if len(values) < 3 else [values[0], values[-1]]) for key, values in sweep.grid.items()}
        sweep = sweep.model_copy(update={"grid": grid, "seeds": sweep.seed_list[:QUICK_SEEDS]})
    return sweep, dict(base)


def expand(sweep: SweepConfig, base: dict, quick: bool = False) -> list[PlannedRun]:
    """Every run in grid order, then seed order; every cell validated before anything runs."""
    keys = list(sweep.grid)
    cells = [dict(zip(keys, values)) for values in itertools.product(*(sweep.grid[key] for key in keys))]
    seeds = sweep.seed_list
    if len(cells) * len(seeds) > MAX_SWEEP_RUNS:
        raise ConfigError(
            f"grid: {len(cells)} cells x {len(seeds)} seeds = {len(cells) * len(seeds)} runs; at most {MAX_SWEEP_RUNS} in one sweep"
        )
    planned = []
    for cell_index, cell in enumerate(cells):
        configs = [cell_config(sweep, base, cell, seed, quick, cell_index) for seed in seeds]
        planned += [PlannedRun(len(planned) + offset, cell_index, cell, seed, config)
                    for offset, (seed, config) in enumerate(zip(seeds, configs))]
    return planned


def cell_config(sweep: SweepConfig, base: dict, cell: dict, seed: int, quick: bool, cell_index: int) -> ExperimentConfig:
    """The config of one grid cell at one seed; errors name the cell."""
    from lab.config_io import apply_quick

    try:
        raw = apply_overrides(source_to_mapping(base), {**cell, "seed": seed, "name": sweep.name})
        return validate(apply_quick(raw) if quick else raw)
    except ConfigError as error:
        described = ", ".join(f"{key}={value}" for key, value in cell.items())
        raise ConfigError(f"grid cell {cell_index} ({described}): {error}") from None


def expanded_yaml(sweep: SweepConfig, base: dict, planned: list[PlannedRun], quick: bool = False) -> str:
    """sweep.yaml: the sweep with its base resolved (every default filled in), seeds listed, runs counted."""
    import yaml

    try:
        from lab.config_io import apply_quick

        raw = apply_overrides(source_to_mapping(base), {"name": sweep.name})
        # With --quick the caps are written into the base, so the written sweep.yaml reruns the quick sweep.
        resolved = validate(apply_quick(raw) if quick else raw).model_dump(mode="json")
    except ConfigError:
        resolved = source_to_mapping(base)  # valid only together with the grid: keep it as written
    resolved.pop("seed", None)
    document = {"name": sweep.name, "base": resolved, "grid": sweep.grid, "seeds": sweep.seed_list}
    header = f"# Expanded sweep: {len(planned)} runs ({len(planned) // len(sweep.seed_list)} grid cells x {len(sweep.seed_list)} seeds).\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
