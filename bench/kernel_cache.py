"""Resident-memory growth and time per run, with TensorFlow's kernel cache cleared after each run (the lab)
and kept (lab.training.runtime.clear_kernel_cache replaced by a no-op), in one long-lived process each, as a
server that trains many different experiments is.

    python -m bench.kernel_cache [--rounds 20] [--quick]

Each side: a fresh Python process runs 9 small configs (depth 3/6/10 x width 8/16/32, 2 epochs of 512
samples) for --rounds rounds and reads its RSS after each round; growth is the least-squares slope of
RSS over the rounds after the first, per run. The two sides run one after the other
in this invocation. Prints a table, writes bench/results/kernel_cache.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench import results_dir

ROOT = Path(__file__).resolve().parent.parent

SIDE = r"""
import gc, json, sys, time
keep = sys.argv[1] == "keep"
rounds = int(sys.argv[2])
import lab.training.runtime
if keep:
    lab.training.runtime.clear_kernel_cache = lambda: None  # what the lab did before: the cache is kept
from lab import load_config, run

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

configs = [load_config({}, overrides={"model.depth": depth, "model.width": width, "training.epochs": 2, "data.num_samples": 512})
           for depth in (3, 6, 10) for width in (8, 16, 32)]
marks, started = [], time.perf_counter()
for _ in range(rounds):
    for config in configs:
        run(config)
    gc.collect()
    marks.append(rss_mb())
seconds_per_run = (time.perf_counter() - started) / (rounds * len(configs))
print(json.dumps({"rss_mb": marks, "runs_per_round": len(configs), "seconds_per_run": seconds_per_run}))
"""


def side(name: str, rounds: int) -> dict:
    """One side's figures, from a fresh process."""
    completed = subprocess.run([sys.executable, "-c", SIDE, name, str(rounds)], cwd=ROOT, capture_output=True, text=True,
                               check=True, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"})
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    # Least-squares slope of RSS over rounds, the first round left out (allocators and traces settle):
    # end points alone move by a few MB with the allocator, more than the growth being measured.
    marks = figures["rss_mb"][1:]
    slope = float(np.polyfit(np.arange(len(marks)), marks, 1)[0]) if len(marks) > 1 else float("nan")
    figures["growth_mb_per_run"] = slope / figures["runs_per_round"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 rounds (CI: the script cannot rot)")
    arguments = parser.parse_args()
    rounds = 3 if arguments.quick else max(arguments.rounds, 3)
    sides = {name: side(name, rounds) for name in ("cleared", "keep")}
    print(f"{'kernel cache':<14}{'MB/run (slope)':>19}{'s/run':>8}   RSS after each round (MB)")
    for name, figures in sides.items():
        print(f"{name:<14}{figures['growth_mb_per_run']:>19.3f}{figures['seconds_per_run']:>8.3f}   "
              + " ".join(f"{mark:.0f}" for mark in figures["rss_mb"]))
    time_ratio = sides["cleared"]["seconds_per_run"] / sides["keep"]["seconds_per_run"]
    print(f"time per run, cleared / kept: {time_ratio:.3f}")
    (results_dir() / "kernel_cache.json").write_text(json.dumps({"quick": arguments.quick, "rounds": rounds, "sides": sides,
                                                                 "time_cleared_over_kept": time_ratio}, indent=2))


if __name__ == "__main__":
    main()
