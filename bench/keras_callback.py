"""lab.keras.GradientFlow's cost: a user's model.fit with the callback against the same fit without it.

    python -m bench.keras_callback [--repeats 5] [--epochs 3] [--quick]

The model is the Keras documentation's MLP at the issue's size: Dense 512 relu, Dropout 0.2, Dense 512 relu, Dropout
0.2, Dense 10 softmax, 20 features, categorical cross-entropy, RMSprop, batch 128, on 60,000 synthetic samples (uniform
features, random one-hot labels); the callback's probe is 256 samples, recording every epoch (plus step 0 and the
end). The process is a user's: keras is imported before lab.keras, so TensorFlow keeps its own thread pools and
op determinism stays off (the lab's runs set both; a callback must not).

What is timed, the same on both sides: one model.fit call of E epochs on a model that is already built and traced,
its weights reset to the same initial values first (the optimizer's state carries on: the same work per call). The
callback side builds a new GradientFlow per call (its probe is traced in that call: a real per-fit cost) and writes
its run folder. One warm-up call per side first; the sides alternate within each repeat; medians over repeats, and
the median of the per-repeat ratios. Goal (issue #15): with / without <= 1.2.

Prints a table, writes bench/results/keras_callback.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import keras  # first, as a user's script: lab.keras then leaves TensorFlow's settings alone
import numpy as np

from bench import results_dir
from lab.keras import GradientFlow

FULL = {"samples": 60_000, "width": 512, "epochs": 3, "repeats": 5}
QUICK = {"samples": 4_000, "width": 64, "epochs": 2, "repeats": 2}
FEATURES, CLASSES, BATCH, PROBE = 20, 10, 128, 256


def model_of(width: int):
    """The Keras documentation's MLP, compiled as it compiles it."""
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(FEATURES,)),
        layers.Dense(width, activation="relu"), layers.Dropout(0.2),
        layers.Dense(width, activation="relu"), layers.Dropout(0.2),
        layers.Dense(CLASSES, activation="softmax"),
    ], name="keras_docs_mlp")
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    return model


def measure(samples: int, width: int, epochs: int, repeats: int) -> dict:
    """Median seconds of fit without and with the callback (alternating), the per-repeat ratios, and facts."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, FEATURES)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(CLASSES, size=samples), CLASSES)
    probe = (x[:PROBE], y[:PROBE])
    keras.utils.set_random_seed(0)
    model = model_of(width)
    initial = model.get_weights()
    folders = tempfile.TemporaryDirectory(prefix="bench-keras-callback-")
    calls = iter(range(10**6))

    def fit(with_callback: bool, epochs_now: int) -> float:
        model.set_weights(initial)
        callbacks = [GradientFlow(probe, Path(folders.name) / f"run{next(calls)}")] if with_callback else []
        started = time.perf_counter()
        model.fit(x, y, epochs=epochs_now, batch_size=BATCH, verbose=0, callbacks=callbacks)
        return time.perf_counter() - started

    fit(False, 1), fit(True, 1)  # warm-up: fit's train function and the callback's first trace
    samples_of = {"plain": [], "callback": []}
    for _ in range(repeats):
        samples_of["plain"].append(fit(False, epochs))
        samples_of["callback"].append(fit(True, epochs))
    last = sorted(Path(folders.name).iterdir())[-1]
    records = len({line.split(",")[1] for line in (last / "layers.csv").read_text().splitlines()[1:]})
    folders.cleanup()
    medians = {name: statistics.median(values) for name, values in samples_of.items()}
    return {"seconds": medians, "samples": samples_of, "callback_over_plain": medians["callback"] / medians["plain"],
            "callback_over_plain_paired": statistics.median(c / p for c, p in zip(samples_of["callback"], samples_of["plain"])),
            "records_per_fit": records, "steps_per_epoch": -(-samples // BATCH),
            "config": {"samples": samples, "width": width, "features": FEATURES, "batch_size": BATCH, "probe": PROBE,
                       "epochs": epochs, "every": "epoch"}}


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=FULL["repeats"])
    parser.add_argument("--epochs", type=int, default=FULL["epochs"], help="epochs per timed fit call")
    parser.add_argument("--quick", action="store_true", help="4,000 samples, width 64, 2 epochs, 2 repeats (CI)")
    arguments = parser.parse_args()
    size = QUICK if arguments.quick else {**FULL, "repeats": arguments.repeats, "epochs": arguments.epochs}
    figures = measure(size["samples"], size["width"], size["epochs"], size["repeats"])
    seconds, setup = figures["seconds"], figures["config"]
    print(f"Keras docs MLP Dense {setup['width']}-{setup['width']}, {setup['features']} features, {setup['samples']} samples, "
          f"batch {setup['batch_size']}, {setup['epochs']} epochs per fit, probe {setup['probe']} every epoch; "
          f"medians of {size['repeats']} repeats")
    print(f"  fit {seconds['plain']:.2f} s, fit + GradientFlow {seconds['callback']:.2f} s "
          f"({figures['records_per_fit']} records): with / without {figures['callback_over_plain']:.3f} "
          f"(per repeat, median {figures['callback_over_plain_paired']:.3f}; goal <= 1.2)")
    (results_dir() / "keras_callback.json").write_text(json.dumps({**figures, "repeats": size["repeats"],
                                                                   "quick": arguments.quick}, indent=2))


if __name__ == "__main__":
    main()
