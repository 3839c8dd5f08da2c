"""Seeds per second at initialisation (depth-20, width-8 ReLU net, default initializer), the lab against its
numpy baseline (bench/numpy_baseline.py, whose figures are checked against the lab's), like with like:
both in memory, and both writing their results. The speed-up of 2 workers: bench/sweep_workers.py.

    taskset -c 0 python -m bench.sweep_seeds [--seeds 300] [--rounds 3] [--quick]

Per core, both sides single-threaded: TensorFlow gets one thread (the sweep workers' environment, set
below before TensorFlow is imported) and numpy one BLAS thread (threadpoolctl, as the sweep worker does);
`taskset -c 0` also pins the process to one core. The lab's side is the sweep worker's own path: run_batch
on batches of runner.MAX_BATCH seeds (in memory), or a whole run_sweep with workers=1 (run folders and
sweep.csv written). Rounds alternate the sides; each figure is the median over rounds, in wall time and in
the process's CPU time (the robust one when other work shares the machine). Prints a table,
writes bench/results/sweep_seeds.json.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from bench import results_dir
from bench.numpy_baseline import one_seed_at_a_time
from bench.numpy_baseline import seeds_per_second as numpy_seeds_per_second
from lab import load_config
from lab.contract.config_io import config_to_yaml
from lab.sweeps.runner import MAX_BATCH, WORKER_ENVIRONMENT, run_sweep

# One thread, as a sweep worker has, set before TensorFlow is imported (at the first run: importing lab never does).
os.environ.update(WORKER_ENVIRONMENT)

BASE = {"data": {"dataset": "gaussian", "num_features": 10}, "model": {"depth": 20, "width": 8, "activation": "relu"},
        "training": {"epochs": 0}}


def texts_of(seeds) -> list[str]:
    """The config texts a sweep sends its workers, one per seed."""
    return [config_to_yaml(load_config(BASE, overrides={"seed": seed})) for seed in seeds]


def timed(work) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of work(): on a shared machine the CPU time is the robust one."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def lab_in_memory(texts: list[str], fast: bool = True) -> None:
    """The sweep worker's run_batch on the runner's batch size, writing nothing."""
    from lab.sweeps.worker import run_batch

    for start in range(0, len(texts), MAX_BATCH):
        run_batch(texts[start:start + MAX_BATCH], fast)


def lab_in_memory_kernels_kept(texts: list[str]) -> None:
    """lab_in_memory with TensorFlow's kernel cache kept across batches (lab.sweeps.worker.kernels_kept around them)."""
    from lab.sweeps.worker import kernels_kept

    with kernels_kept():
        lab_in_memory(texts)


def sweep_with_folders(sweep: dict, kernels_kept: bool = False) -> None:
    """A whole sweep with 1 worker into a fresh folder (run folders and sweep.csv written); kernels_kept: the
    kernel cache kept across its batches (lab.sweeps.worker.kernels_kept around the sweep)."""
    from lab.sweeps.worker import kernels_kept as keep

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder, keep() if kernels_kept else contextlib.nullcontext():
        run_sweep(sweep, folder, workers=1)


def numpy_with_files(seeds) -> None:
    """numpy one seed at a time, writing each seed's layers.csv, histograms.csv and summary.json."""
    with tempfile.TemporaryDirectory(prefix="bench-numpy-") as folder:
        one_seed_at_a_time(seeds, Path(folder))


def agreement_with_numpy(seeds: int) -> float:
    """Largest relative difference between the numpy baseline and the lab, on the lab's own batch and weights."""
    from bench.numpy_baseline import check_against_lab
    from lab.sweeps.worker import run_one

    configs = [load_config(BASE, overrides={"seed": seed}) for seed in range(seeds)]
    return max(check_against_lab(config, run_one(config, True)) for config in configs)


def load() -> str:
    """The load average, to print beside the figures."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 seeds, 1 round (CI: the script cannot rot)")
    arguments = parser.parse_args()
    seeds, rounds = (20, 1) if arguments.quick else (arguments.seeds, arguments.rounds)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == WORKER_ENVIRONMENT["TF_NUM_INTRAOP_THREADS"]
    sweep = {"name": "bench", "base": BASE, "grid": {"model.depth": [20]}, "seeds": seeds}
    load_before = load()
    with threadpool_limits(limits=1, user_api="blas"):
        lab_in_memory(texts_of(range(seeds, seeds + 2)))  # TensorFlow's import, the build and the traces: not in the rates
        walls: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        for round_index in range(rounds):
            # Fresh seeds every round for the lab's in-memory sides (texts made outside the timing, as a sweep's driver does).
            texts = texts_of(range((round_index + 1) * 10_000, (round_index + 1) * 10_000 + seeds))
            for key, work in (
                ("numpy_one_seed_at_a_time", lambda: one_seed_at_a_time(range(seeds))),
                ("fast_path_in_memory", lambda: lab_in_memory(texts)),
                ("fast_path_in_memory_kernels_kept", lambda: lab_in_memory_kernels_kept(texts)),
                ("numpy_one_seed_writing_files", lambda: numpy_with_files(range(seeds))),
                ("fast_path_with_folders", lambda: sweep_with_folders(sweep)),
                ("fast_path_with_folders_kernels_kept", lambda: sweep_with_folders(sweep, kernels_kept=True)),
            ):
                wall, cpu = timed(work)
                walls.setdefault(key, []).append(seeds / wall)
                cpus.setdefault(key, []).append(seeds / cpu)
        figures = {key: statistics.median(values) for key, values in walls.items()}
        cpu_figures = {key: statistics.median(values) for key, values in cpus.items()}
        few = max(5, seeds // 10)
        figures["fresh_build_in_memory"] = few / timed(lambda: lab_in_memory(texts_of(range(few)), fast=False))[0]
        figures["numpy_vectorised_over_seeds"] = numpy_seeds_per_second(seeds)["numpy_vectorised_over_seeds"]
    worst = agreement_with_numpy(5)
    pairs = {"in memory": ("fast_path_in_memory", "numpy_one_seed_at_a_time"),
             "in memory, kernel cache kept across batches": ("fast_path_in_memory_kernels_kept", "numpy_one_seed_at_a_time"),
             "both writing their results": ("fast_path_with_folders", "numpy_one_seed_writing_files"),
             "writing, kernel cache kept across batches": ("fast_path_with_folders_kernels_kept", "numpy_one_seed_writing_files")}
    ratios = {name: {"wall": figures[lab] / figures[numpy], "cpu": cpu_figures[lab] / cpu_figures[numpy]}
              for name, (lab, numpy) in pairs.items()}
    print(f"seeds per second (depth 20, width 8, relu, epochs 0), one thread a side, median of {rounds} round(s) of {seeds}")
    print(f"  {'':<50}{'wall':>9}{'CPU':>9}")
    for key, value in figures.items():
        print(f"  {key:<50}{value:>9.1f}{cpu_figures[key] if key in cpu_figures else float('nan'):>9.1f}")
    for name, ratio in ratios.items():
        print(f"  {'lab / numpy, ' + name:<50}{ratio['wall']:>8.2f}x{ratio['cpu']:>8.2f}x")
    print(f"  numpy baseline vs the lab on 5 seeds: largest relative difference {worst:.1e} "
          "(dead fractions and histograms equal)")
    load_after = load()
    print(f"  load before: {load_before}\n  load after:  {load_after}")
    (results_dir() / "sweep_seeds.json").write_text(json.dumps({
        "seeds_per_second": figures, "seeds_per_cpu_second": cpu_figures, "ratios": ratios,
        "rounds": {"wall": walls, "cpu": cpus},
        "numpy_largest_relative_difference": worst, "quick": arguments.quick, "load": [load_before, load_after],
    }, indent=2))


if __name__ == "__main__":
    main()
