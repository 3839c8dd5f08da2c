"""Training steps per second of the instrumented lab (`lab.run`, every probe on) against a plain `model.fit`.

    python -m bench.instrumentation [--repeats 5] [--epochs 10] [--quick]

Both sides train the same Keras model (lab.training.models.build_network, same seed, so the same initial weights)
with the same optimizer (lab.training.steps.make_optimizer), the same from-logits loss, the same arrays
(lab.contract.run_data.prepare_data), batch size and epochs: moons, 1024 samples (819 train, 205 validation),
width 64, sigmoid, SGD 0.1, batch 64 (13 steps per epoch). `fit` runs with shuffle=True, verbose=0, no
callbacks, no metrics, no validation data, the compile defaults (no XLA on CPU, one step per execution).

What is timed, the same on both sides: one call that trains E epochs (E x 13 optimizer steps) on a model
that is already built and traced. Each side builds its model once per depth and makes one 1-epoch warm-up
call (tracing the train step, and for the lab the probe, validation and boundary functions); before each
timed call the weights are reset to the seed's initial values (lab.training.models.reinitialize). The lab's call is
lab.training.run.execute(config, components=...) -- what lab.run does, on the prebuilt components the sweep
fast path uses -- so it includes the step-0 record, a probe record and a validation pass after each epoch,
the final boundary grid and the frames; fit's call includes its data pipeline setup. The two sides
alternate within each repeat; the table shows medians over repeats. Also: the lab with `record_every: 1`,
and the cost of one record split into the compiled probe call, layer_rows and histogram_columns.

Prints a table, writes bench/results/instrumentation.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import results_dir
from lab import load_config

DEPTHS = (5, 20, 50)


def config_for(depth: int, epochs: int, record_every="epoch"):
    """The benchmark's experiment at one depth."""
    return load_config({
        "name": "bench_instrumentation", "seed": 0,
        "data": {"dataset": "moons", "num_samples": 1024, "noise": 0.1},
        "model": {"depth": depth, "width": 64, "activation": "sigmoid", "output_activation": "sigmoid"},
        "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 64, "epochs": epochs, "record_every": record_every},
        "probe": {"num_samples": 256},
    })


class LabSide:
    """The lab's components for one depth, built and traced once; timed calls run lab's execute on them."""

    def __init__(self, config):
        from lab.contract.run_data import prepare_data
        from lab.training.trainer import build_components

        self.data = prepare_data(config)
        self.components = build_components(config, self.data[0].num_features, self.data[0].num_classes)
        self.train(config)  # warm-up: traces every compiled function

    def train(self, config) -> tuple[float, dict]:
        """Seconds of one instrumented run from the seed's initial weights, and facts to check the work."""
        from lab.training.models import reinitialize
        from lab.training.run import execute

        reinitialize(self.components[0], config.model, config.seed)
        started = time.perf_counter()
        result = execute(config, components=self.components, data=self.data)
        seconds = time.perf_counter() - started
        if result.summary["status"] != "ok":
            raise RuntimeError(f"the lab run did not finish: {result.summary['message']}")
        facts = {"steps": result.summary["steps"], "final_loss": result.summary["final"]["loss"],
                 "records": int(result.layers["step"].nunique())}
        if not result.timesteps.empty:  # a recurrent run (bench.rnn)
            facts["timestep_rows"] = len(result.timesteps)
        return seconds, facts


class FitSide:
    """The same network (MLP or recurrent), optimizer, loss and arrays, trained by a plain model.fit."""

    def __init__(self, config):
        import keras
        import numpy as np

        from lab.contract.run_data import prepare_data
        from lab.training.steps import make_optimizer
        from lab.training.trainer import build_model

        dataset, _ = prepare_data(config)
        self.inputs, self.labels = dataset.x_train, dataset.y_train.reshape(-1, 1).astype(np.float32)
        self.network = build_model(config, dataset.num_features, dataset.num_classes)
        self.network.model.compile(optimizer=make_optimizer(config.training),
                                   loss=keras.losses.BinaryCrossentropy(from_logits=True), jit_compile=False)
        keras.utils.set_random_seed(config.seed)  # fit's shuffling is a random op: op determinism wants a seed
        self.train(config)  # warm-up: traces the train function

    def train(self, config) -> tuple[float, dict]:
        """Seconds of one plain fit from the seed's initial weights."""
        from lab.training.models import reinitialize

        model = self.network.model
        reinitialize(self.network, config.model, config.seed)
        before = int(model.optimizer.iterations.numpy())
        started = time.perf_counter()
        history = model.fit(self.inputs, self.labels, batch_size=config.training.batch_size, epochs=config.training.epochs,
                            shuffle=True, verbose=0)
        seconds = time.perf_counter() - started
        return seconds, {"steps": int(model.optimizer.iterations.numpy()) - before,
                         "final_loss": float(history.history["loss"][-1])}


def rates(sides: dict, depth: int, epochs: int, repeats: int) -> dict:
    """Median steps/s of each side over repeats (sides alternate within a repeat), with the facts of the last."""
    from lab.contract.run_data import steps_per_epoch

    configs = {"fit": config_for(depth, epochs), "lab": config_for(depth, epochs), "lab_every_step": config_for(depth, epochs, 1)}
    samples = {name: [] for name in configs}
    facts = {}
    for _ in range(repeats):
        for name, config in configs.items():
            seconds, facts[name] = sides[name.split("_")[0]].train(config)
            samples[name].append(epochs * steps_per_epoch(config) / seconds)
    return {name: {"steps_per_s": statistics.median(values), "samples": values, **facts[name]}
            for name, values in samples.items()}


def record_cost(depth: int, repeats: int = 20) -> dict:
    """Milliseconds per record: the compiled probe call, layer_rows and histogram_columns (medians)."""
    from lab.contract.config_io import run_id_of
    from lab.contract.run_data import prepare_data
    from lab.training.measures import histogram_columns, layer_rows
    from lab.training.trainer import Trainer

    config = config_for(depth, 1)
    dataset, probe_index = prepare_data(config)
    trainer = Trainer(config, dataset, probe_index, run_id_of(config))
    reading = trainer.probe(trainer.probe_inputs, trainer.probe_labels)  # traces
    parts = {"probe_ms": [], "layer_rows_ms": [], "histograms_ms": [], "record_ms": []}
    context = {"run_id": "x", "step": 0, "epoch": 0}
    for _ in range(repeats):
        started = time.perf_counter()
        reading = trainer.probe(trainer.probe_inputs, trainer.probe_labels)
        parts["probe_ms"].append(time.perf_counter() - started)
        started = time.perf_counter()
        layer_rows(reading, reading.kernels, config.model.activation, config.model.leaky_alpha, context)
        parts["layer_rows_ms"].append(time.perf_counter() - started)
        started = time.perf_counter()
        histogram_columns(reading, context)
        parts["histograms_ms"].append(time.perf_counter() - started)
        started = time.perf_counter()
        trainer.record()
        parts["record_ms"].append(time.perf_counter() - started)
    return {key: 1000 * statistics.median(values) for key, values in parts.items()}


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10, help="steady-state epochs timed (E)")
    parser.add_argument("--quick", action="store_true", help="depth 5 only, 2 repeats, 3 epochs (CI: the script cannot rot)")
    arguments = parser.parse_args()
    depths, repeats, epochs = ((5,), 2, 3) if arguments.quick else (DEPTHS, arguments.repeats, arguments.epochs)
    from lab.training.runtime import import_tensorflow, thread_settings

    import_tensorflow()
    rows = {}
    print(f"steps/s, medians of {repeats} repeats of {epochs} epochs x 13 steps on warm models "
          f"(moons 1024, width 64, sigmoid, SGD, batch 64; threads {thread_settings()['intra_op_parallelism_threads']})")
    header = (f"{'depth':>5} {'fit':>8} {'lab':>8} {'lab/fit':>8} {'lab@1':>8} {'@1/@ep':>7}  "
              f"{'probe':>6} {'rows':>6} {'hist':>6} {'record':>7} ms   loss fit / lab")
    print(header)
    for depth in depths:
        sides = {"fit": FitSide(config_for(depth, 1)), "lab": LabSide(config_for(depth, 1))}
        result = rates(sides, depth, epochs, repeats)
        fit, lab, every = result["fit"], result["lab"], result["lab_every_step"]
        if not fit["steps"] == lab["steps"] == every["steps"]:
            raise RuntimeError(f"different work: fit {fit['steps']} steps, lab {lab['steps']}, every step {every['steps']}")
        cost = record_cost(depth)
        rows[depth] = {"lab_over_fit": lab["steps_per_s"] / fit["steps_per_s"],
                       "every_step_over_every_epoch": every["steps_per_s"] / lab["steps_per_s"], "record_cost_ms": cost, **result}
        print(f"{depth:>5} {fit['steps_per_s']:>8.0f} {lab['steps_per_s']:>8.0f} {rows[depth]['lab_over_fit']:>8.2f} "
              f"{every['steps_per_s']:>8.0f} {rows[depth]['every_step_over_every_epoch']:>7.2f}  "
              f"{cost['probe_ms']:>6.2f} {cost['layer_rows_ms']:>6.2f} {cost['histograms_ms']:>6.2f} "
              f"{cost['record_ms']:>7.2f}      "
              f"{fit['final_loss']:.4f} / {lab['final_loss']:.4f}")
    print("lab@1: record_every 1; probe/rows/hist/record: ms per record (compiled probe call, layer_rows, "
          "histogram_columns, the whole Trainer.record); steps checked equal on all sides")
    out = results_dir()
    (out / "instrumentation.json").write_text(json.dumps(
        {"depths": rows, "repeats": repeats, "steady_epochs": epochs, "quick": arguments.quick, "threads": thread_settings()},
        indent=2))


if __name__ == "__main__":
    main()
