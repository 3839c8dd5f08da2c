"""What probe.propagation costs: the default experiment with against without it, and the Jacobians of a deep wide net.

    python -m bench.propagation [--repeats 5] [--quick]

(a) The default experiment (every field at its default: moons 1024, depth 10, width 32, sigmoid, 30 epochs),
run whole by lab.run as the CLI and the app run it (model built and traced each time, TensorFlow already
imported), with and without `probe.propagation: true`; the two alternate within each repeat after one
warm-up run of each; medians, and their ratio (goal: at most 1.5x).
(b) The propagation measurement of one record (lab.training.propagation.propagation_columns: the activation
slopes by the tape, J_l = dz_l/dz_1 for every hidden layer by the float64 chain, their singular values, q
and c) of a depth-50 width-256 tanh net at 4 Jacobian samples (256-sample probe), on a reading of the
network at initialisation: the first call (tracing the slopes function) and the median of the warm calls
(goal: under 2 s).

Prints a table, writes bench/results/propagation.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import results_dir
from lab import load_config


def default_run_seconds(repeats: int, overrides: dict) -> dict:
    """Median seconds of lab.run on the default experiment without and with probe.propagation (alternating)."""
    from lab import run

    configs = {"without": load_config({}, overrides=overrides),
               "with": load_config({}, overrides={**overrides, "probe.propagation": True})}
    for config in configs.values():
        run(config)  # warm-up
    samples = {name: [] for name in configs}
    for _ in range(repeats):
        for name, config in configs.items():
            started = time.perf_counter()
            result = run(config)
            samples[name].append(time.perf_counter() - started)
            if result.status != "ok":
                raise RuntimeError(f"the run did not finish: {result.summary['message']}")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {"seconds": medians, "samples": samples, "ratio": medians["with"] / medians["without"],
            "spectrum_rows": len(result.spectrum)}


def jacobian_seconds(depth: int, width: int, samples: int, repeats: int) -> dict:
    """Seconds of one record's propagation measurement (first call, and median of warm calls)."""
    from lab.contract.run_data import prepare_data
    from lab.training.propagation import propagation_columns, skip_sources
    from lab.training.trainer import Trainer

    config = load_config({"name": "bench_propagation", "model": {"depth": depth, "width": width, "activation": "tanh"},
                          "training": {"epochs": 0}, "probe": {"propagation": True, "jacobian_samples": samples}})
    data, probe_index = prepare_data(config)
    trainer = Trainer(config, data, probe_index, "bench")
    reading = trainer.probe(trainer.probe_inputs, trainer.probe_labels)
    sources, context = skip_sources(trainer.network.blocks), {"run_id": "bench", "step": 0}
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        _, spectrum = propagation_columns(reading, trainer.slopes, sources, samples, context)
        times.append(time.perf_counter() - started)
    if len(spectrum["singular_value"]) != depth * samples * width:
        raise RuntimeError("the spectrum does not hold every singular value")
    return {"first_seconds": times[0], "median_seconds": statistics.median(times[1:]), "samples": times[1:]}


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, 3 epochs, Jacobians at depth 10 width 64 (the script cannot rot)")
    arguments = parser.parse_args()
    from lab.training.runtime import import_tensorflow, thread_settings

    import_tensorflow()
    repeats = 2 if arguments.quick else arguments.repeats
    overrides = {"training.epochs": 3} if arguments.quick else {}
    depth, width = (10, 64) if arguments.quick else (50, 256)
    runs = default_run_seconds(repeats, overrides)
    jacobians = jacobian_seconds(depth, width, 4, repeats)
    seconds = runs["seconds"]
    print(f"threads {thread_settings()['intra_op_parallelism_threads']}, medians of {repeats} repeats")
    print(f"(a) default experiment{' (3 epochs)' if arguments.quick else ''}: without {seconds['without']:.2f} s, "
          f"with probe.propagation {seconds['with']:.2f} s: {runs['ratio']:.2f}x (goal <= 1.5x; "
          f"{runs['spectrum_rows']} spectrum rows)")
    print(f"(b) Jacobians of a depth-{depth} width-{width} tanh net at 4 samples, one record: "
          f"{jacobians['median_seconds']:.2f} s warm, {jacobians['first_seconds']:.2f} s first call (goal < 2 s)")
    (results_dir() / "propagation.json").write_text(json.dumps(
        {"default_experiment": runs, "jacobians": {"depth": depth, "width": width, "samples": 4, **jacobians},
         "repeats": repeats, "quick": arguments.quick, "threads": thread_settings()}, indent=2))


if __name__ == "__main__":
    main()
