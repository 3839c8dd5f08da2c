"""Speed-up of 2 local workers over 1 on a training sweep, as the user runs it: `python -m lab sweep --workers N`.

    flock /tmp/bench.lock python -m bench.sweep_workers [--repeats 2] [--quick] [--max-other-load 0.1]

Each side is a fresh `python -m lab sweep FILE --out DIR --workers N` subprocess into a fresh folder, so
interpreter start, TensorFlow's import (in the CLI process with 1 worker, in each spawned worker with 2),
training, run folders, sweep.csv, the sweep charts and process exit are all counted. Both sides must write
byte-identical sweep.csv files (same work on both sides); a mismatch is printed and the script exits 1.
The sides alternate in order from repeat to repeat, so a drift of the machine does not favour one side.

On a shared machine the lock only keeps other benchmarks out. A process that keeps one core busy does not
slow 1 worker at all but halves 2 workers, so each measurement also records the CPU used by every other
process meanwhile (Linux /proc/stat minus our own processes), waits for an idle machine first, and is
repeated (up to --attempts) when others used more than --max-other-load cores.
Prints a table of medians and writes bench/results/sweep_workers.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench import results_dir

ROOT = Path(__file__).resolve().parent.parent

WORKER_COUNTS = (1, 2)
GOAL_SPEEDUP = 1.7
# 16 training runs of about 2.5 s each on one core (depth 10, width 64, 40 epochs of 819 moons samples):
# about 45 s with 1 worker on an idle machine, long enough that the fixed costs (interpreter, TensorFlow's
# import and teardown, charts) are the minor part they are in real studies, short enough to repeat.
FULL_SWEEP = {
    "name": "bench_sweep_workers",
    "base": {"data": {"dataset": "moons", "num_samples": 1024},
             "model": {"depth": 10, "width": 64, "kernel_initializer": "he_normal"},
             "training": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 40},
             "probe": {"num_samples": 256}},
    "grid": {"model.activation": ["relu", "tanh"]},
    "seeds": 8,
}
# 4 tiny training runs: the whole --quick check (two subprocesses) stays well under a minute.
QUICK_SWEEP = {
    "name": "bench_sweep_workers_quick",
    "base": {"data": {"dataset": "moons", "num_samples": 128},
             "model": {"depth": 3, "width": 8},
             "training": {"epochs": 2},
             "probe": {"num_samples": 32}},
    "grid": {"model.activation": ["relu", "tanh"]},
    "seeds": 2,
}
# Thread settings come from the lab's defaults (one TensorFlow thread per process), not from this shell.
THREAD_VARIABLES = ("LAB_TF_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
IDLE_CORES = 0.15  # below this, the machine counts as idle before a measurement starts


def cli_environment() -> dict:
    """This environment without thread overrides."""
    return {key: value for key, value in os.environ.items() if key not in THREAD_VARIABLES}


def machine_busy_seconds() -> float | None:
    """CPU seconds every core has spent busy since boot (user, nice, system, irq, softirq, steal); None off Linux."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def our_children_seconds() -> float:
    """CPU seconds of our finished subprocesses, their pool workers included (each process reaps its own)."""
    times = os.times()
    return times.children_user + times.children_system


def wait_until_idle(timeout: float) -> float | None:
    """Wait (at most timeout s) until other processes use under IDLE_CORES; the load last seen, in cores."""
    deadline = time.monotonic() + timeout
    while True:
        before = machine_busy_seconds()
        if before is None:
            return None
        time.sleep(2.0)
        cores = (machine_busy_seconds() - before) / 2.0
        if cores < IDLE_CORES or time.monotonic() >= deadline:
            return cores


def timed_sweep(sweep_file: Path, workers: int, scratch: Path) -> dict:
    """Wall seconds, others' load in cores and sweep.csv's bytes of one fresh CLI sweep into a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix=f"workers-{workers}-", dir=scratch))
    command = [sys.executable, "-m", "lab", "sweep", str(sweep_file), "--out", str(out), "--workers", str(workers)]
    busy_before, ours_before = machine_busy_seconds(), our_children_seconds()
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=cli_environment(), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` exited {finished.returncode}:\n{finished.stdout}\n{finished.stderr[-3000:]}")
    ours = our_children_seconds() - ours_before
    others = None if busy_before is None else max(0.0, machine_busy_seconds() - busy_before - ours) / seconds
    return {"seconds": seconds, "other_load_cores": others, "our_cores": ours / seconds,
            "table": (out / "sweep.csv").read_bytes()}


def measured_side(sweep_file: Path, workers: int, scratch: Path, limits: argparse.Namespace) -> list[dict]:
    """Attempts at one side until others stayed under the load limit (or attempts ran out); the last one counts."""
    attempts = []
    for number in range(1, limits.attempts + 1):
        idle = wait_until_idle(limits.idle_timeout)
        attempt = {**timed_sweep(sweep_file, workers, scratch), "load_before_cores": idle}
        attempts.append(attempt)
        others = attempt["other_load_cores"]
        disturbed = others is not None and others > limits.max_other_load
        print(f"    {workers} worker(s): {attempt['seconds']:.1f} s, our processes {attempt['our_cores']:.2f} cores, "
              f"others {'?' if others is None else f'{others:.2f}'} cores{' (over the limit)' if disturbed else ''}", flush=True)
        if not disturbed:
            break
        if number < limits.attempts:
            print("    measuring again", flush=True)
    return attempts


def measure(sweep: dict, limits: argparse.Namespace) -> dict[int, list[list[dict]]]:
    """Per worker count, per repeat, the attempts; the order of the sides alternates by repeat."""
    results = {workers: [] for workers in WORKER_COUNTS}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-workers-") as folder:
        scratch = Path(folder)
        sweep_file = scratch / "sweep.yaml"
        sweep_file.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
        for repeat in range(limits.repeats):
            order = WORKER_COUNTS if repeat % 2 == 0 else tuple(reversed(WORKER_COUNTS))
            print(f"  repeat {repeat + 1}/{limits.repeats}", flush=True)
            for workers in order:
                results[workers].append(measured_side(sweep_file, workers, scratch, limits))
    return results


def tables_identical(results: dict[int, list[list[dict]]]) -> bool:
    """Whether every attempt's sweep.csv equals the first 1-worker one; prints any difference loudly."""
    reference = results[WORKER_COUNTS[0]][0][0]["table"]
    identical = True
    for workers, repeats in results.items():
        for repeat, attempts in enumerate(repeats):
            for attempt in attempts:
                if attempt["table"] != reference:
                    identical = False
                    print(f"!!! MISMATCH: sweep.csv of {workers} worker(s), repeat {repeat + 1}, differs from 1 worker's "
                          f"({len(attempt['table'])} vs {len(reference)} bytes): not the same work on both sides",
                          file=sys.stderr)
    return identical


def counted(results: dict[int, list[list[dict]]]) -> dict[int, list[dict]]:
    """The attempt that counts in each repeat: the last one."""
    return {workers: [attempts[-1] for attempts in repeats] for workers, repeats in results.items()}


def print_table(kept: dict[int, list[dict]], medians: dict[int, float], runs: int) -> None:
    """workers, median wall time, spread, others' highest load, speed-up over 1 worker."""
    repeats = len(kept[WORKER_COUNTS[0]])
    print(f"training sweep, {runs} runs, medians over {repeats} repeat(s), a fresh `python -m lab sweep` each")
    print(f"{'workers':>8}{'wall s':>9}{'min-max s':>13}{'others max':>12}{'speed-up':>10}")
    for workers in WORKER_COUNTS:
        walls = [attempt["seconds"] for attempt in kept[workers]]
        loads = [attempt["other_load_cores"] for attempt in kept[workers] if attempt["other_load_cores"] is not None]
        load = f"{max(loads):.2f} cores" if loads else "?"
        print(f"{workers:>8}{medians[workers]:>9.1f}{f'{min(walls):.1f}-{max(walls):.1f}':>13}{load:>12}"
              f"{medians[WORKER_COUNTS[0]] / medians[workers]:>9.2f}x")


def write_json(arguments: argparse.Namespace, sweep: dict, results: dict, medians: dict, identical: bool) -> None:
    """Every attempt (without the tables), the medians and the verdict, to bench/results/sweep_workers.json."""
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    attempts = {str(workers): [[{key: value for key, value in attempt.items() if key != "table"} for attempt in repeat]
                               for repeat in repeats] for workers, repeats in results.items()}
    figures = {"quick": arguments.quick, "repeats": arguments.repeats, "max_other_load_cores": arguments.max_other_load,
               "cpu_count": os.cpu_count(), "sweep": sweep, "attempts": attempts,
               "median_seconds": {str(workers): value for workers, value in medians.items()},
               "speedup_2_over_1": medians[1] / medians[2], "goal_speedup": GOAL_SPEEDUP, "sweep_csv_identical": identical}
    (out / "sweep_workers.json").write_text(json.dumps(figures, indent=2))


def parse_arguments() -> argparse.Namespace:
    """The command line; --quick fixes 1 repeat, 1 attempt and no waiting."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="fresh sweeps per worker count (median reported)")
    parser.add_argument("--quick", action="store_true", help="a tiny sweep, 1 repeat (CI: the script cannot rot)")
    parser.add_argument("--max-other-load", type=float, default=0.1, help="cores other processes may use during a measurement")
    parser.add_argument("--attempts", type=int, default=3, help="tries per measurement while others exceed that load")
    parser.add_argument("--idle-timeout", type=float, default=120.0, help="seconds to wait for an idle machine first")
    arguments = parser.parse_args()
    arguments.repeats = max(1, arguments.repeats)
    arguments.attempts = max(1, arguments.attempts)
    if arguments.quick:
        arguments.repeats, arguments.attempts, arguments.idle_timeout = 1, 1, 0.0
    return arguments


def main() -> None:
    """Measure, check the tables, print, write the JSON."""
    arguments = parse_arguments()
    sweep = QUICK_SWEEP if arguments.quick else FULL_SWEEP
    started = time.perf_counter()
    results = measure(sweep, arguments)
    identical = tables_identical(results)
    kept = counted(results)
    medians = {workers: statistics.median(attempt["seconds"] for attempt in attempts) for workers, attempts in kept.items()}
    runs = math.prod(len(values) for values in sweep["grid"].values()) * sweep["seeds"]
    print_table(kept, medians, runs)
    print(f"sweep.csv identical on both sides: {'yes' if identical else 'NO'}; goal >= {GOAL_SPEEDUP}x on the full sweep; "
          f"this benchmark took {time.perf_counter() - started:.0f} s")
    write_json(arguments, sweep, results, medians, identical)
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
