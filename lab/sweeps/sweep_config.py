"""Sweep files: a base experiment, a grid (dotted keys; tied axes set several at once) and seeds, expanded into run configs."""
from __future__ import annotations

import difflib
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lab.contract.config import NAME_PATTERN, ExperimentConfig
from lab.contract.config_io import (
    ConfigError,
    apply_overrides,
    apply_quick,
    dump_yaml,
    flatten,
    parse_yaml,
    read_text,
    shorten,
    source_to_mapping,
    validate,
)

MAX_SWEEP_RUNS = 20_000  # cells x seeds; a bigger study belongs in several sweeps (or a typo in a grid)
MAX_SEEDS = 10_000
QUICK_SEEDS = 3


# The dotted fields a grid may vary: every experiment field but the two the sweep sets itself.
GRID_KEYS = tuple(key for key in flatten(ExperimentConfig()) if key not in ("seed", "name"))


class SweepConfig(BaseModel):
    """name, base (inline config or a path relative to the sweep file), grid, seeds.

    The grid's axes: a dotted key with its values, or a tied axis, a name without dots listing mappings of
    dotted keys that each set those keys together (every entry the same keys). Cells are their product.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: str = Field(pattern=NAME_PATTERN)
    base: dict | str = Field(default_factory=dict)
    grid: dict[str, list] = Field(min_length=1)
    seeds: int | list[int] = 1

    @field_validator("base", mode="before")
    @classmethod
    def _base_is_mapping_or_path(cls, base):
        """An inline experiment or a path; one message instead of one per Union branch."""
        if isinstance(base, (dict, str)):
            return base
        raise ValueError("must be an inline experiment (a mapping) or the path of an experiment file")

    @field_validator("grid")
    @classmethod
    def _axes_are_known_and_non_empty(cls, grid: dict) -> dict:
        """Every axis is a known dotted field, or a tied axis of same-keyed entries, and lists distinct values."""
        varied_by = {}  # dotted key -> the axis that varies it: one axis per key
        for key, values in grid.items():
            # A name without dots listing mappings is a tied axis; a name listing plain values, a misspelt field.
            tied = _tied_axis_name(key) and any(isinstance(value, dict) for value in values)
            if not tied and not (_tied_axis_name(key) and not values):  # an empty tied axis is told so below
                _check_dotted_key(f"grid.{key}", key, tied_hint="." not in key)
            if not values:
                also = "" if "." in key else " (a tied axis: at least one mapping of dotted keys)"
                raise ValueError(f"grid.{key}: needs at least one value{also}")
            entry_keys = _tied_axis_keys(key, values) if tied else [key]
            if len({_identity(value) for value in values}) != len(values):
                raise ValueError(f"grid.{key}: {'an entry' if tied else 'a value'} is listed twice")
            for dotted in entry_keys:
                if dotted in varied_by:
                    raise ValueError(f"grid.{key}: sets {dotted}, which grid.{varied_by[dotted]} varies already; "
                                     "each dotted key belongs to one axis")
                varied_by[dotted] = key
        return grid

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds_in_range(cls, seeds):
        """A count (seeds 0..n-1) or distinct seeds, each a valid experiment seed."""
        # Checked here rather than by the Union: pydantic would report each branch's failure separately.
        if _is_whole_number(seeds):
            if not 1 <= seeds <= MAX_SEEDS:
                raise ValueError(f"a count must be between 1 and {MAX_SEEDS}")
            return seeds
        if isinstance(seeds, list) and seeds and all(_is_whole_number(seed) and 0 <= seed < 2**31 for seed in seeds):
            if len(set(seeds)) != len(seeds):
                raise ValueError("a seed is listed twice")
            return seeds
        raise ValueError(f"must be a count between 1 and {MAX_SEEDS} or a list of distinct whole numbers between 0 and 2^31-1")

    @property
    def seed_list(self) -> list[int]:
        """The seeds as a list."""
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    @property
    def grid_keys(self) -> list[str]:
        """The dotted keys the grid varies, in grid order (a tied axis' keys in its place): sweep.csv's grid columns."""
        return [dotted for key, values in self.grid.items() for dotted in (values[0] if is_tied(key) else [key])]

    def cells(self) -> list[dict]:
        """Every grid cell as {dotted key: value}, in grid order (the last axis varies fastest)."""
        axes = [[entry if is_tied(key) else {key: entry} for entry in values] for key, values in self.grid.items()]
        keys = self.grid_keys
        return [_merged(entries, keys) for entries in itertools.product(*axes)]

    @property
    def run_count(self) -> int:
        """cells x seeds, computed without expanding the grid."""
        return math.prod(len(values) for values in self.grid.values()) * len(self.seed_list)


def is_tied(key: str) -> bool:
    """Whether a (validated) grid key names a tied axis: plain axes are dotted fields, tied axes' names have no dot."""
    return "." not in key


# Top-level names of an experiment (sections, seed, name): `model: [{depth: 2}]` is a misplaced section, not an axis.
CONFIG_NAMES = tuple(ExperimentConfig.model_fields)


def _tied_axis_name(key: str) -> bool:
    """A name a tied axis may have: no dots (plain axes are dotted fields), none of an experiment's top-level names,
    NAME_PATTERN's letters."""
    return "." not in key and key not in CONFIG_NAMES and re.fullmatch(NAME_PATTERN, key) is not None


def _check_dotted_key(where: str, key, tied_hint: bool = False) -> None:
    """A key a grid may vary, or one line naming where it stands and what is allowed."""
    if key in ("seed", "name"):
        raise ValueError(f"{where}: set by the sweep itself (seeds: lists the seeds; every run is named after the sweep)")
    if key not in GRID_KEYS:
        close = difflib.get_close_matches(str(key), GRID_KEYS, n=1)
        hint = f" did you mean '{close[0]}'?" if close else ""
        tied = (" (or a name without dots whose values are mappings of dotted keys: a tied axis)" if tied_hint else "")
        raise ValueError(f"{where}: unknown key;{hint} a grid key is a dotted field such as model.depth{tied}")


def _tied_axis_keys(name: str, entries: list) -> list[str]:
    """The dotted keys every entry of tied axis `name` sets (the first entry's order); one line per refusal."""
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"grid.{name}: entry {number} is not a mapping (got {shorten(entry, limit=40)}); a tied axis "
                             "lists mappings of dotted keys, such as {model.activation: tanh, model.sigma_w: 1.0}")
    first = list(entries[0])
    for number, entry in enumerate(entries, start=1):
        if not entry:
            raise ValueError(f"grid.{name}: entry {number} sets no key; each entry of a tied axis sets dotted keys together")
        for key in entry:
            _check_dotted_key(f"grid.{name} entry {number}: {key}", key)
        if set(entry) != set(first):
            raise ValueError(f"grid.{name}: entry {number} sets {', '.join(entry)} but entry 1 sets {', '.join(first)}; "
                             "every entry of a tied axis sets the same keys")
    return first


def _merged(entries: tuple[dict, ...], keys: list[str]) -> dict:
    """One cell: the axes' entries merged, in the grid's key order."""
    values = {key: value for entry in entries for key, value in entry.items()}
    return {key: values[key] for key in keys}


def _identity(value):
    """What makes two grid values the same: their repr (so NaN equals NaN), or the int when too long to print.

    A tied axis' entries are the same whatever order they list their keys in.
    """
    if isinstance(value, dict):
        return tuple(sorted((str(key), _identity(item)) for key, item in value.items()))
    try:
        return repr(value)
    except ValueError:
        return value


def _is_whole_number(value) -> bool:
    """An int that is not a bool (YAML's true would otherwise count as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


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
    what = "sweep"
    if isinstance(source, (str, Path)) and (isinstance(source, Path) or str(source).endswith((".yaml", ".yml"))):
        folder, what = Path(source).parent, str(source)
        raw = parse_yaml(read_text(Path(source)), what=what)
    else:
        raw = source_to_mapping(source)
    if not isinstance(raw, dict) or "grid" not in raw:
        raise ConfigError(f"{what}: must be a mapping with name, base, grid and seeds (a file without grid is an experiment)")
    sweep = validate(raw, SweepConfig)
    base = sweep.base
    if isinstance(base, str):
        base = source_to_mapping(folder / base)
        if "grid" in base:
            raise ConfigError(f"base: {folder / sweep.base} is a sweep file (it has a grid); base must be an experiment")
    if quick:
        grid = {key: (values if len(values) < 3 else [values[0], values[-1]]) for key, values in sweep.grid.items()}
        sweep = sweep.model_copy(update={"grid": grid, "seeds": sweep.seed_list[:QUICK_SEEDS]})
    check_run_count(sweep)
    return sweep, dict(base)


def check_run_count(sweep: SweepConfig) -> None:
    """Refuse more than MAX_SWEEP_RUNS runs, counted from the axis lengths: a grid of 10^12 cells is never built."""
    if sweep.run_count > MAX_SWEEP_RUNS:
        seeds = len(sweep.seed_list)
        raise ConfigError(f"grid: {sweep.run_count // seeds} cells x {seeds} seeds = {sweep.run_count} runs; "
                          f"at most {MAX_SWEEP_RUNS} in one sweep")


def expand(sweep: SweepConfig, base: dict, quick: bool = False) -> list[PlannedRun]:
    """Every run in grid order, then seed order; every cell validated before anything runs."""
    check_run_count(sweep)  # again: a SweepConfig may be made by hand, not through load_sweep
    cells = sweep.cells()
    seeds = sweep.seed_list
    planned = []
    for cell_index, cell in enumerate(cells):
        configs = [cell_config(sweep, base, cell, seed, quick, cell_index) for seed in seeds]
        planned += [PlannedRun(len(planned) + offset, cell_index, cell, seed, config)
                    for offset, (seed, config) in enumerate(zip(seeds, configs))]
    return planned


def cell_config(sweep: SweepConfig, base: dict, cell: dict, seed: int, quick: bool, cell_index: int) -> ExperimentConfig:
    """The config of one grid cell at one seed; errors name the cell."""
    try:
        raw = apply_overrides(source_to_mapping(base), {**cell, "seed": seed, "name": sweep.name})
        return validate(apply_quick(raw) if quick else raw)
    except ConfigError as error:
        described = ", ".join(f"{key}={shorten(value, limit=40)}" for key, value in cell.items())
        raise ConfigError(f"grid cell {cell_index} ({described}): {error}") from None


def expanded_yaml(sweep: SweepConfig, base: dict, planned: list[PlannedRun], quick: bool = False) -> str:
    """sweep.yaml: the sweep with its base resolved (every default filled in), seeds listed, runs counted."""
    try:
        raw = apply_overrides(source_to_mapping(base), {"name": sweep.name})
        # With --quick the caps are written into the base, so the written sweep.yaml reruns the quick sweep.
        resolved = validate(apply_quick(raw) if quick else raw).model_dump(mode="json")
    except ConfigError:
        resolved = source_to_mapping(base)  # valid only together with the grid: keep it as written
    resolved.pop("seed", None)
    document = {"name": sweep.name, "base": resolved, "grid": sweep.grid, "seeds": sweep.seed_list}
    seeds = len(sweep.seed_list)
    header = f"# Expanded sweep: {len(planned)} runs ({len(planned) // seeds} grid cells x {seeds} seeds).\n"
    return header + dump_yaml(document, default_flow_style=None)
