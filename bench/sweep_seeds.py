"""Seeds per second at initialisation (depth-20, width-8 ReLU net), with and without the fast path,
with and without writing run folders, against the numpy baseline (bench/numpy_baseline.py), whose
figures are checked against the lab's. The speed-up of 2 workers: bench/sweep_workers.py.

    python -m bench.sweep_seeds [--seeds 300] [--quick]

Everything is measured side by side in one invocation. Prints a table, writes bench/results/sweep_seeds.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench import results_dir
from bench.numpy_baseline import seeds_per_second as numpy_seeds_per_second
from lab import load_config
from lab.sweeps.runner import run_sweep

BASE = {"data": {"dataset": "gaussian", "num_features": 10}, "model": {"depth": 20, "width": 8, "activation": "relu"},
        "training": {"epochs": 0}}


def seeds_per_second_in_memory(seeds: int, fast: bool) -> float:
    """Runs without writing anything: the worker's own speed."""
    from lab.sweeps.worker import run_one

    configs = [load_config(BASE, overrides={"seed": seed}) for seed in range(seeds + 1)]
    run_one(configs[0], fast)  # TensorFlow's import and the first trace are not part of the rate
    started = time.perf_counter()
    for config in configs[1:]:
        run_one(config, fast)
    return seeds / (time.perf_counter() - started)


def seconds_of_sweep(sweep: dict | Path, workers: int, fast: bool = True, quick: bool = False) -> float:
    """Wall time of a whole sweep into a fresh folder (folders and sweep.csv written)."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        started = time.perf_counter()
        run_sweep(sweep, folder, workers=workers, fast=fast, quick=quick)
        return time.perf_counter() - started


def agreement_with_numpy(seeds: int) -> float:
    """Largest relative difference between the numpy baseline and the lab, on the lab's own batch and weights."""
    from bench.numpy_baseline import check_against_lab
    from lab.sweeps.worker import run_one

    configs = [load_config(BASE, overrides={"seed": seed}) for seed in range(seeds)]
    return max(check_against_lab(config, run_one(config, True)) for config in configs)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="20 seeds (CI: the script cannot rot)")
    arguments = parser.parse_args()
    seeds = 20 if arguments.quick else arguments.seeds
    figures = {
        "fresh_build_in_memory": seeds_per_second_in_memory(max(5, seeds // 10), fast=False),
        "fast_path_in_memory": seeds_per_second_in_memory(seeds, fast=True),
    }
    sweep = {"name": "bench", "base": BASE, "grid": {"model.depth": [20]}, "seeds": seeds}
    figures["fast_path_with_folders"] = seeds / seconds_of_sweep(sweep, 1, fast=True)
    small = {**sweep, "seeds": max(5, seeds // 10)}
    figures["fresh_build_with_folders"] = small["seeds"] / seconds_of_sweep(small, 1, fast=False)
    figures.update(numpy_seeds_per_second(seeds))
    worst = agreement_with_numpy(5)
    print(f"{'seeds per second (depth 20, width 8, relu, epochs 0)':<56}{'':>8}")
    for key, value in figures.items():
        print(f"  {key:<54}{value:>8.1f}")
    fast = figures["fast_path_in_memory"]
    print(f"  {'fast path / fresh build (in memory)':<54}{fast / figures['fresh_build_in_memory']:>8.1f}x")
    print(f"  {'fast path / numpy one seed at a time':<54}{fast / figures['numpy_one_seed_at_a_time']:>8.2f}x")
    print(f"  numpy baseline vs the lab on 5 seeds: largest relative difference {worst:.1e} "
          "(dead fractions and histograms equal)")
    out = results_dir()
    (out / "sweep_seeds.json").write_text(json.dumps(
        {"seeds_per_second": figures, "numpy_largest_relative_difference": worst, "quick": arguments.quick}, indent=2))


if __name__ == "__main__":
    main()
