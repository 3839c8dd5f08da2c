"""The instrumented lab (`lab.run`, every probe on) against a plain `model.fit`: whole runs, and steady-state steps/s.

    python -m bench.instrumentation [--repeats 5] [--epochs 10] [--only whole|steady] [--quick]

Whole runs (issue #16 goal 6): a fresh `lab.run(config)` - data, build, tracing, training, every record (step 0 and
each epoch: probe, layers and histogram rows, validation), the boundary grid and the frames - against a fresh plain
Keras model of the same network (keras.Sequential of Dense layers with the activation inside, given the lab's initial
weights for the seed), compiled with the same optimizer and from-logits loss and `fit` on the same arrays, batch and
epochs (its data prepared inside the timed call too). Sides alternate within a repeat (which goes first alternates),
after one untimed warm-up run of each at the depth; medians of wall and CPU (process) seconds, and the time each side
spent in Python's full (generation 2) garbage collections. Then where a lab run's time goes: the build, each compiled
function's tracing and first call (graph optimisation) and a later call, and the per-record numpy work.

Both sides train the same Keras model (lab.training.models.build_network, same seed, so the same initial weights)
with the same optimizer (lab.training.steps.make_optimizer), the same from-logits loss, the same arrays
(lab.contract.run_data.prepare_data), batch size and epochs: moons, 1024 samples (819 train, 205 validation),
width 64, sigmoid, SGD 0.1, batch 64 (13 steps per epoch). `fit` runs with shuffle=True, verbose=0, no
callbacks, no metrics, no validation data, the compile defaults (no XLA on CPU, one step per execution).

Steady state: what is timed, the same on both sides: one call that trains E epochs (E x 13 optimizer steps) on a model
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
import gc
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


class FullCollections:
    """Seconds spent in Python's full (generation 2) garbage collections while active (gc.callbacks)."""

    def __init__(self):
        self.seconds, self.count, self._started = 0.0, 0, None

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds, self.count, self._started = self.seconds + time.perf_counter() - self._started, self.count + 1, None

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def timed(call) -> tuple[float, float, float, object]:
    """(wall s, CPU s of this process, s in full garbage collections, call's value) of call()."""
    with FullCollections() as collections:
        wall, cpu = time.perf_counter(), time.process_time()
        value = call()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, collections.seconds, value


def whole_lab_run(config) -> dict:
    """A fresh lab.run(config), timed: build, trace, train, every record, boundary, frames."""
    import lab

    wall, cpu, collecting, result = timed(lambda: lab.run(config))
    if result.summary["status"] != "ok":
        raise RuntimeError(f"the lab run did not finish: {result.summary['message']}")
    return {"wall_s": wall, "cpu_s": cpu, "gc_s": collecting, "steps": result.summary["steps"],
            "final_loss": result.summary["final"]["loss"], "records": int(result.layers["step"].nunique())}


def whole_plain_fit(config) -> dict:
    """A fresh plain Keras model of the config's MLP, built, compiled and fit for its epochs, timed (data included)."""
    import keras
    import numpy as np

    from lab.contract.run_data import prepare_data
    from lab.science.initializers import network_weights
    from lab.training.keras_activations import keras_activation
    from lab.training.steps import make_optimizer

    model_config, training = config.model, config.training

    def fit():
        keras.utils.set_random_seed(config.seed)  # fit's shuffling is a random op: op determinism wants a seed
        dataset, _ = prepare_data(config)
        activation = keras_activation(model_config.activation, model_config.leaky_alpha)
        model = keras.Sequential([keras.Input((dataset.num_features,)),
                                  *[keras.layers.Dense(model_config.width, activation=activation, kernel_initializer="zeros")
                                    for _ in range(model_config.depth)],
                                  keras.layers.Dense(1, kernel_initializer="zeros")])
        shapes = [(tuple(layer.kernel.shape), tuple(layer.bias.shape)) for layer in model.layers]
        model.set_weights(network_weights(shapes, model_config.kernel_initializer, model_config.bias_initializer, config.seed,
                                          model_config.sigma_w, model_config.sigma_b))  # the lab's initial weights
        model.compile(optimizer=make_optimizer(training), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        history = model.fit(dataset.x_train, dataset.y_train.reshape(-1, 1).astype(np.float32), batch_size=training.batch_size,
                            epochs=training.epochs, shuffle=True, verbose=0)
        return int(model.optimizer.iterations.numpy()), float(history.history["loss"][-1])

    wall, cpu, collecting, (steps, loss) = timed(fit)
    return {"wall_s": wall, "cpu_s": cpu, "gc_s": collecting, "steps": steps, "final_loss": loss}


def whole_runs(depth: int, epochs: int, repeats: int) -> dict:
    """Medians over repeats of whole lab runs and whole plain fits at one depth (alternating, after a warm-up of each)."""
    config = config_for(depth, epochs)
    sides = {"lab": whole_lab_run, "fit": whole_plain_fit}
    for measure in sides.values():
        measure(config)  # warm-up: this depth's first run in the process
    samples = {name: [] for name in sides}
    for repeat in range(repeats):
        for name in (("lab", "fit") if repeat % 2 == 0 else ("fit", "lab")):
            samples[name].append(sides[name](config))
    row = {}
    for name, runs in samples.items():
        row[name] = {key: statistics.median(run[key] for run in runs) for key in ("wall_s", "cpu_s", "gc_s")}
        row[name].update({key: runs[-1][key] for key in runs[-1] if key not in ("wall_s", "cpu_s", "gc_s")},
                         wall_samples=[run["wall_s"] for run in runs])
    if row["lab"]["steps"] != row["fit"]["steps"]:
        raise RuntimeError(f"different work: lab {row['lab']['steps']} steps, fit {row['fit']['steps']}")
    row["lab_over_fit_wall"] = row["lab"]["wall_s"] / row["fit"]["wall_s"]
    row["lab_over_fit_cpu"] = row["lab"]["cpu_s"] / row["fit"]["cpu_s"]
    row["per_repeat_wall_ratio_median"] = statistics.median(
        lab["wall_s"] / fit["wall_s"] for lab, fit in zip(samples["lab"], samples["fit"]))
    return row


def where_the_time_goes(depth: int, epochs: int, repeats: int) -> dict:
    """Milliseconds of a lab run's parts at one depth (medians over fresh builds): build; per compiled function its
    tracing, first call (graph optimisation and the run) and a later call; per record the numpy work."""
    import numpy as np

    from lab.contract.run_data import prepare_data
    from lab.training.runtime import import_tensorflow
    from lab.training.trainer import build_components

    tf = import_tensorflow()
    config = config_for(depth, epochs)
    dataset, probe_index = prepare_data(config)
    inputs, labels = tf.constant(dataset.x_train), tf.constant(dataset.y_train)
    order = np.arange(len(dataset.x_train), dtype=np.int32)[:config.training.batch_size * 13]
    probe_inputs, probe_labels = dataset.x_train[probe_index], dataset.y_train[probe_index]
    parts: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        parts.setdefault(name, []).append(1000 * seconds)

    for _ in range(repeats):
        started = time.perf_counter()
        network, steps, probe = build_components(config, dataset.num_features, dataset.num_classes)
        add("build", time.perf_counter() - started)
        probe_function = probe.function  # make_probe's tf.function, without the numpy-facing reader
        calls = {"train_epoch": (steps.train_step, (inputs, labels, order, config.training.batch_size)),
                 "logits": (steps.logits, (dataset.x_val,)), "probe": (probe_function, (probe_inputs, probe_labels))}
        for name, (function, arguments) in calls.items():
            for phase in ("trace", "first_call", "later_call"):
                started = time.perf_counter()
                function.get_concrete_function(*arguments) if phase == "trace" else function(*arguments)
                add(f"{name}_{phase}", time.perf_counter() - started)
    result = {name: statistics.median(values) for name, values in parts.items()}
    result.update({f"record_{key}": value for key, value in record_cost(depth).items()})
    return result


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


def print_whole_runs(depths, epochs: int, repeats: int) -> dict:
    """The whole-run table and where a lab run's time goes, per depth."""
    rows = {}
    print(f"\nwhole runs, fresh models: lab.run vs plain Keras fit, {epochs} epochs x 13 steps, a record every epoch; "
          f"medians of {repeats} (load {load()})")
    print(f"{'depth':>5} {'lab s':>7} {'fit s':>7} {'wall':>6} {'cpu':>6} {'per-rep':>7} {'gc lab':>7} {'gc fit':>7}"
          "   loss lab / fit")
    for depth in depths:
        row = whole_runs(depth, epochs, repeats)
        lab, fit = row["lab"], row["fit"]
        row["parts_ms"] = where_the_time_goes(depth, epochs, max(1, min(repeats, 3)))
        rows[depth] = row
        print(f"{depth:>5} {lab['wall_s']:>7.3f} {fit['wall_s']:>7.3f} {row['lab_over_fit_wall']:>6.2f} "
              f"{row['lab_over_fit_cpu']:>6.2f} "
              f"{row['per_repeat_wall_ratio_median']:>7.2f} {lab['gc_s']:>7.3f} {fit['gc_s']:>7.3f}   "
              f"{lab['final_loss']:.4f} / {fit['final_loss']:.4f}")
    print("wall, cpu: lab over fit (medians); per-rep: median of the per-repeat wall ratios; gc: s in full collections")
    print("\nwhere a lab run's time goes, ms (trace / first call / later call of each compiled function; per record)")
    for depth, row in rows.items():
        parts = row["parts_ms"]
        functions = "  ".join(f"{name} {parts[name + '_trace']:.0f}/{parts[name + '_first_call']:.0f}"
                              f"/{parts[name + '_later_call']:.1f}"
                              for name in ("train_epoch", "probe", "logits"))
        print(f"{depth:>5} build {parts['build']:.0f}  {functions}  record: probe {parts['record_probe_ms']:.1f} "
              f"rows {parts['record_layer_rows_ms']:.1f} hist {parts['record_histograms_ms']:.1f} "
              f"all {parts['record_record_ms']:.1f}")
    return rows


def print_steady_state(depths, epochs: int, repeats: int) -> dict:
    """The steady-state table (prebuilt, traced models), per depth."""
    from lab.training.runtime import thread_settings

    rows = {}
    print(f"steps/s, medians of {repeats} repeats of {epochs} epochs x 13 steps on warm models "
          f"(moons 1024, width 64, sigmoid, SGD, batch 64; threads {thread_settings()['intra_op_parallelism_threads']}; "
          f"load {load()})")
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
    return rows


def load() -> str:
    """The 1-minute load average (other jobs on the machine), for beside each figure."""
    import os

    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of every run (E)")
    parser.add_argument("--only", choices=("whole", "steady"), default=None, help="one of the two tables")
    parser.add_argument("--quick", action="store_true", help="depth 5 only, 2 repeats, 3 epochs (CI: the script cannot rot)")
    arguments = parser.parse_args()
    depths, repeats, epochs = ((5,), 2, 3) if arguments.quick else (DEPTHS, arguments.repeats, arguments.epochs)
    from lab.training.runtime import import_tensorflow, thread_settings

    import_tensorflow()
    figures = {"repeats": repeats, "steady_epochs": epochs, "epochs": epochs, "quick": arguments.quick,
               "threads": thread_settings()}
    if arguments.only != "whole":
        figures["depths"] = print_steady_state(depths, epochs, repeats)
    if arguments.only != "steady":
        figures["whole_runs"] = print_whole_runs(depths, epochs, repeats)
    (results_dir() / "instrumentation.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
