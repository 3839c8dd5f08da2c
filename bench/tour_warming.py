"""The tour warmed in the background (app.tour_warmer): how long until every section is warm, what it holds, and how long
a visitor's Train waits for the slot while it warms.

    python -m bench.tour_warming [--quick] [--visitors 12] [--idle-timeout 120]

In one process, as in the app's server: the warmer's thread (no start delay: TensorFlow is imported first and timed
apart) trains the tour's runs into a results cache of the app's default budget, through a TrainingQueue.
1. Alone: the wall time of each warm run and of the whole tour, and the bytes the tour holds in the cache (app.memory_size).
2. With visitors: a fresh cache and warmer (the app's QUIET_SECONDS: a warm run starts only that long after a
   visitor's training ended), and a visitor who presses Train (the default experiment, a new seed each time, so never
   from the cache) QUIET_SECONDS + an offset (OFFSETS, in turn) after the previous one's training ended, so each
   arrives that far into a warm run, until the tour is warm; a visitor's wait from entering the queue to holding the
   slot, while a warm run was in flight, is the figure (0 with warming off: the visitor would be alone).
--quick: the first two sections' quick configs, 3 visitors and a quiet period of 1 s (the tests run it; the figures
are the full mode's).
Waits for an idle machine first (bench.sweep_workers.wait_until_idle) and says when it could not get one.
Writes bench/results/tour_warming.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from app.byte_cache import ByteBudgetCache
from app.caches import DEFAULT_CACHE_MB, MB, RESULT_SHARE
from app.memory_size import result_bytes
from app.run_queue import TrainingQueue
from app.tour_warmer import QUIET_SECONDS, TourWarmer, tour_configs
from bench import results_dir
from bench.sweep_workers import IDLE_CORES, wait_until_idle
from lab import run
from lab.contract.config import ExperimentConfig
from lab.training.runtime import import_tensorflow

QUICK_RUNS = 4  # step and sigmoid: each experiment and its remedy
OFFSETS = (0.5, 1.5, 3.0, 5.0)  # seconds into a warm run at which a visitor arrives, in turn


def results_cache() -> ByteBudgetCache:
    """A results cache of the app's default budget (LAB_CACHE_MB unset)."""
    return ByteBudgetCache(int(DEFAULT_CACHE_MB * MB * RESULT_SHARE))


def warm_alone(configs) -> dict:
    """Phase 1: the warmer with no visitor; each run's seconds and bytes, the tour's total."""
    timings = []

    def timed_run(config, on_progress):
        started = time.perf_counter()
        result = run(config, on_progress=on_progress)
        timings.append({"name": config.name, "seconds": round(time.perf_counter() - started, 2),
                        "mb": round(result_bytes(result) / MB, 2)})
        return result

    warmer = TourWarmer(lambda: configs, TrainingQueue(), results_cache(), train=timed_run, prepare=lambda: None,
                        start_delay=0.0, quiet_seconds=0.0)
    started = time.perf_counter()
    warmer.warm_all()
    return {"seconds": round(time.perf_counter() - started, 1), "runs": timings,
            "cache_mb": round(warmer.results.total_bytes / MB, 1), "stopped_reason": warmer.stopped_reason}


def warm_with_visitors(configs, most: int, quiet_seconds: float = QUIET_SECONDS) -> dict:
    """Phase 2: visitors pressing Train while the warmer works, each quiet_seconds + an offset after the last one's
    training ended, so each arrives that offset into a warm run; each visitor's wait for the slot and the run in flight."""
    queue = TrainingQueue()
    warmer = TourWarmer(lambda: configs, queue, results_cache(), prepare=lambda: None, start_delay=0.0,
                        quiet_seconds=quiet_seconds)
    started = time.perf_counter()
    thread = warmer.start()
    waits = []
    for index in range(most):
        time.sleep(quiet_seconds + OFFSETS[index % len(OFFSETS)])
        if warmer.finished.is_set():
            break
        in_flight = warmer.current
        queued = time.perf_counter()
        with queue.slot():
            waited = time.perf_counter() - queued
            run(ExperimentConfig(seed=1000 + index))  # the default experiment, a new seed: never from the cache
        waits.append({"at_seconds": round(queued - started, 1), "wait_seconds": round(waited, 2), "warm_run": in_flight})
    thread.join()
    during = [wait["wait_seconds"] for wait in waits if wait["warm_run"] is not None]
    return {"seconds": round(time.perf_counter() - started, 1), "visitors": waits, "preemptions": warmer.preemptions,
            "median_wait_seconds": statistics.median(during) if during else None,
            "max_wait_seconds": max(during) if during else None, "runs_warmed": len(warmer.warmed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the first two sections' quick configs and 3 visitors")
    parser.add_argument("--visitors", type=int, default=40, help="at most this many visitors (they stop once the tour is warm)")
    parser.add_argument("--idle-timeout", type=float, default=120.0)
    arguments = parser.parse_args()
    visitors = 3 if arguments.quick else arguments.visitors
    load = wait_until_idle(0.0 if arguments.quick else arguments.idle_timeout)
    if load is not None and load >= IDLE_CORES:
        print(f"the machine was not idle: other processes used {load:.1f} cores")
    configs = tour_configs(quick=True)[:QUICK_RUNS] if arguments.quick else tour_configs()
    started = time.perf_counter()
    import_tensorflow()
    figures = {"quick": arguments.quick, "other_load_cores": load,
               "tensorflow_import_seconds": round(time.perf_counter() - started, 1)}
    figures["alone"] = warm_alone(configs)
    figures["with_visitors"] = warm_with_visitors(configs, visitors, 1.0 if arguments.quick else QUIET_SECONDS)
    alone, shared = figures["alone"], figures["with_visitors"]
    print(f"tour warm alone: {alone['seconds']} s for {len(alone['runs'])} runs, {alone['cache_mb']} MB in the cache"
          f" (TensorFlow's import before it: {figures['tensorflow_import_seconds']} s)")
    for item in alone["runs"]:
        print(f"  {item['name']:45s} {item['seconds']:7.2f} s {item['mb']:7.2f} MB")
    print(f"with {len(shared['visitors'])} visitors: a visitor's wait for the slot during a warm run median "
          f"{shared['median_wait_seconds']} s, max {shared['max_wait_seconds']} s; {shared['preemptions']} warm runs stopped "
          f"and started again; tour warm after {shared['seconds']} s")
    for wait in shared["visitors"]:
        print(f"  visitor at {wait['at_seconds']:6.1f} s, during {wait['warm_run']}: waited {wait['wait_seconds']} s")
    (results_dir() / "tour_warming.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
