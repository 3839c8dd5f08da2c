"""The resource estimates (lab/contract/resources.py) against measurement, for a spread of configs.

    python -m bench.resource_calibration [--quick]

Each config runs in a fresh subprocess (one TensorFlow thread, as the lab's default): its wall time
(lab.run) and its peak resident memory beyond the process's memory once TensorFlow is imported, which
is what the estimate covers. Prints estimate / measured per config and writes
bench/results/resource_calibration.json. Ratios >= 1 mean the estimate errs on the safe side.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench import results_dir
from lab import load_config
from lab.contract.resources import estimate

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = {
    "default": {},
    "deep_narrow": {"model": {"depth": 50, "width": 64}, "training": {"epochs": 5}},
    "wide_shallow": {"data": {"num_samples": 5000}, "model": {"depth": 3, "width": 1024},
                     "training": {"epochs": 3, "batch_size": 256}},
    "wide_deep_adam": {"data": {"num_samples": 5000}, "model": {"depth": 20, "width": 256},
                       "training": {"epochs": 4, "optimizer": "adam", "learning_rate": 0.001}},
    "record_every_step": {"data": {"num_samples": 512}, "model": {"depth": 5}, "training": {"epochs": 20, "record_every": 1}},
    "deepest": {"model": {"depth": 100, "width": 16, "activation": "relu", "kernel_initializer": "he_normal"},
                "training": {"epochs": 3}},
    "many_samples": {"data": {"num_samples": 20000, "dataset": "gaussian", "num_features": 100},
                     "model": {"depth": 10, "width": 512}, "training": {"epochs": 1, "batch_size": 512}},
    # Remedies add layers the cost model counts separately: normalisation per block, a skip's projection.
    "batch_norm_deep": {"model": {"depth": 50, "width": 64, "normalization": "batch"}, "training": {"epochs": 5}},
    "layer_norm_residual": {"data": {"num_samples": 5000}, "model": {"depth": 30, "width": 128, "normalization": "layer",
                            "residual_every": 3, "activation": "relu"}, "training": {"epochs": 3}},
}
QUICK = ("default", "record_every_step")

MEASURE = r"""
import json, resource, sys, time
from lab import load_config, run
from lab.training.runtime import import_tensorflow
config = load_config(json.loads(sys.argv[1]))
import_tensorflow()
import keras  # noqa: F401  (part of the base, as in the app)

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

base = rss_mb()
started = time.perf_counter()
result = run(config)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "memory_mb": peak - base, "status": result.status}))
"""


def measure(overrides: dict) -> dict:
    """Wall time and peak memory beyond TensorFlow's of one run, in a fresh process."""
    completed = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(overrides)], cwd=ROOT, capture_output=True,
                               text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two small configs (CI: the script cannot rot)")
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGS), help="measure only these configs")
    arguments = parser.parse_args()
    names = arguments.only or (QUICK if arguments.quick else tuple(CONFIGS))
    rows = {}
    print(f"{'config':<20}{'est MB':>8}{'meas MB':>9}{'ratio':>7}{'est s':>8}{'meas s':>8}{'ratio':>7}")
    for name in names:
        predicted = estimate(load_config(CONFIGS[name]))
        measured = measure(CONFIGS[name])
        rows[name] = {"estimate": {"memory_mb": predicted.memory_mb, "seconds": predicted.seconds}, "measured": measured,
                      "memory_ratio": predicted.memory_mb / max(measured["memory_mb"], 1.0),
                      "time_ratio": predicted.seconds / measured["seconds"]}
        print(f"{name:<20}{predicted.memory_mb:>8.0f}{measured['memory_mb']:>9.0f}{rows[name]['memory_ratio']:>7.2f}"
              f"{predicted.seconds:>8.1f}{measured['seconds']:>8.1f}{rows[name]['time_ratio']:>7.2f}")
    (results_dir() / "resource_calibration.json").write_text(json.dumps({"configs": rows, "quick": arguments.quick}, indent=2))


if __name__ == "__main__":
    main()
