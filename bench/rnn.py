"""Instrumented training of the rnn_vanishing experiment (`lab.run`'s path, every probe on) against a plain `model.fit`.

    python -m bench.rnn [--repeats 5] [--epochs 10] [--quick]

The experiment is experiments/rnn_vanishing.yaml (a simple tanh RNN on adding, T = 50, width 32; Adam, batch 64), or,
while that preset does not exist, the same network written out here (3,000 sequences, Adam 0.005). Both sides train
the same Keras model (lab.training.recurrent_models.build_recurrent_from_config, same seed, so the same initial
weights) with the same optimizer (lab.training.steps.make_optimizer), the same from-logits binary cross-entropy, the
same arrays (lab.contract.run_data.prepare_data), batch size and epochs. `fit` runs with shuffle=True, verbose=0, no
callbacks, no metrics, no validation data, the compile defaults.

What is timed, the same on both sides (as bench.instrumentation): one call that trains E epochs on a model that is
already built and traced, its weights reset to the seed's initial values first (lab.training.models.reinitialize).
Each side makes one 1-epoch warm-up call (tracing the train step, and for the lab the recurrent probe with its
timesteps.csv, validation and the frames). The lab's call is lab.training.run.execute(config, components=...) - what
lab.run does on prebuilt components - so it includes the step-0 record, a probe record (layers.csv and timesteps.csv
rows: the total derivative at every time step) and a validation pass after each epoch, and the frames; fit's call
includes its data pipeline setup. The two sides alternate within each repeat; medians over repeats. Also: the lab
recording only at step 0 and the end (the training loop without the per-epoch records).

Prints a table, writes bench/results/rnn.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bench import results_dir
from bench.instrumentation import FitSide, LabSide
from lab import load_config

PRESET = Path(__file__).resolve().parent.parent / "experiments" / "rnn_vanishing.yaml"
# rnn_vanishing as the issue calibrates it, for as long as the preset file is not in the tree.
FALLBACK = {
    "name": "rnn_vanishing",
    "data": {"dataset": "adding", "num_samples": 3000, "sequence_length": 50},
    "model": {"kind": "rnn", "cell": "simple", "activation": "tanh", "width": 32},
    "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 64, "epochs": 60},
}
QUICK = {"data.num_samples": 512, "data.sequence_length": 20}


MAX_RECORD_EVERY = 100_000  # beyond any run here: records at step 0 and at the end only


def config_for(epochs: int, quick: bool, record_every="epoch"):
    """The benchmark's experiment (the preset, or FALLBACK), trained for epochs; --quick: fewer and shorter sequences."""
    overrides = {"training.epochs": epochs, "training.record_every": record_every, "seed": 0, **(QUICK if quick else {})}
    return load_config(PRESET if PRESET.is_file() else FALLBACK, overrides=overrides)


def measure(epochs: int, repeats: int, quick: bool) -> dict:
    """Median seconds of each side over repeats (the sides alternate within a repeat), with the facts of the last.

    lab_ends: the lab recording at step 0 and the end only (record_every beyond the run), what the training loop
    costs without the per-epoch records.
    """
    # The sides of bench.instrumentation: both build the config's network (here recurrent) the same way.
    sides = {"fit": FitSide(config_for(1, quick)), "lab": LabSide(config_for(1, quick))}
    config = config_for(epochs, quick)
    configs = {"fit": config, "lab": config, "lab_ends": config_for(epochs, quick, record_every=MAX_RECORD_EVERY)}
    samples = {name: [] for name in configs}
    facts = {}
    for _ in range(repeats):
        for name, run_config in configs.items():
            seconds, facts[name] = sides[name.split("_")[0]].train(run_config)
            samples[name].append(seconds)
    if not facts["fit"]["steps"] == facts["lab"]["steps"] == facts["lab_ends"]["steps"]:
        raise RuntimeError(f"different work: fit {facts['fit']['steps']} steps, lab {facts['lab']['steps']}, "
                           f"lab_ends {facts['lab_ends']['steps']}")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    # Per repeat the two sides ran back to back: the median of their ratios shrugs off load that comes and goes.
    paired = statistics.median(lab / fit for lab, fit in zip(samples["lab"], samples["fit"]))
    return {"seconds": medians, "samples": samples, "facts": facts, "lab_over_fit_time": medians["lab"] / medians["fit"],
            "lab_over_fit_paired": paired,
            "config": {"dataset": config.data.dataset, "sequence_length": config.data.sequence_length,
                       "num_samples": config.data.num_samples, "cell": config.model.cell, "width": config.model.width,
                       "batch_size": config.training.batch_size, "epochs": epochs, "record_every": config.training.record_every,
                       "from_preset": PRESET.is_file()}}


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10, help="epochs timed per call")
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, 2 epochs, 512 sequences of T = 20 (CI: the script cannot rot)")
    arguments = parser.parse_args()
    repeats, epochs = (2, 2) if arguments.quick else (arguments.repeats, arguments.epochs)
    from lab.training.runtime import import_tensorflow, thread_settings

    import_tensorflow()
    figures = measure(epochs, repeats, arguments.quick)
    seconds, facts, setup = figures["seconds"], figures["facts"], figures["config"]
    print(f"{setup['cell']} rnn on {setup['dataset']}, T {setup['sequence_length']}, width {setup['width']}, "
          f"{setup['num_samples']} sequences, batch {setup['batch_size']}, {epochs} epochs "
          f"({'experiments/rnn_vanishing.yaml' if setup['from_preset'] else 'bench.rnn.FALLBACK'}); "
          f"medians of {repeats} repeats, threads {thread_settings()['intra_op_parallelism_threads']}")
    print(f"  model.fit {seconds['fit']:.2f} s, lab {seconds['lab']:.2f} s ({facts['lab']['records']} records, "
          f"{facts['lab']['timestep_rows']} timesteps.csv rows): lab / fit time {figures['lab_over_fit_time']:.2f} "
          f"(goal <= 1.0; per repeat, median {figures['lab_over_fit_paired']:.2f}); {facts['lab']['steps']} steps each; "
          f"final loss fit {facts['fit']['final_loss']:.4f} / "
          f"lab {facts['lab']['final_loss']:.4f}")
    print(f"  lab recording at step 0 and the end only: {seconds['lab_ends']:.2f} s "
          f"({seconds['lab_ends'] / seconds['fit']:.2f} of fit's time)")
    (results_dir() / "rnn.json").write_text(json.dumps(
        {**figures, "repeats": repeats, "quick": arguments.quick, "threads": thread_settings()}, indent=2))


if __name__ == "__main__":
    main()
