"""run(config) -> RunResult: data, model, instrumented training, the four frames and the summary."""
from __future__ import annotations

import functools
import math
import platform
import time
from typing import Callable

import numpy as np
import pandas as pd

from lab import __version__
from lab.config import ExperimentConfig
from lab.config_io import load_config, run_id_of
from lab.data import TWO_DIMENSIONAL, Dataset, grid_for_boundary, make_dataset
from lab.result import FORMAT_VERSION, RunResult, frame

# Seeds are explicit and derived per purpose, never process-global: the app trains for several
# visitors in one process. make_dataset takes the run seed; the others use these stream keys.
PROBE_STREAM, SHUFFLE_STREAM = 2, 3

ProgressCallback = Callable[[int, int, pd.DataFrame, pd.DataFrame], None]


def prepare_data(config: ExperimentConfig) -> tuple[Dataset, np.ndarray]:
    """The run's data set and the indices of its fixed probe batch in the training split (no TF)."""
    data = config.data
    dataset = make_dataset(
        data.dataset, data.num_samples, data.noise, data.num_features, data.num_classes, data.validation_split, config.seed
    )
    rng = np.random.default_rng([config.seed, PROBE_STREAM])
    probe_index = np.sort(rng.choice(len(dataset.x_train), size=config.probe.num_samples, replace=False))
    return dataset, probe_index


def steps_per_epoch(config: ExperimentConfig) -> int:
    """Optimizer updates per epoch (the last batch may be smaller)."""
    return math.ceil(config.num_train_samples / config.training.batch_size)


def run(config, on_progress: ProgressCallback | None = None) -> RunResult:
    """Train one experiment with the probes on and return its frames; TensorFlow is imported here."""
    if not isinstance(config, ExperimentConfig):
        config = load_config(config)
    return execute(config, on_progress)


def execute(config: ExperimentConfig, on_progress: ProgressCallback | None = None, components=None, data=None,
            run_id: str | None = None) -> RunResult:
    """run() for a validated config, optionally on prebuilt components, prepared data and its known run_id."""
    from lab.trainer import Trainer  # imports TensorFlow (about 7 s the first time)

    started = time.perf_counter()
    run_id = run_id or run_id_of(config)
    dataset, probe_index = data or prepare_data(config)
    trainer = Trainer(config, dataset, probe_index, run_id, on_progress, components)
    try:
        status, message = trainer.train()
        boundary = trainer.boundary_frame() if (status == "ok" and config.data.dataset in TWO_DIMENSIONAL) else frame("boundary")
    finally:
        if components is None:  # this run's own model and tf.functions: nothing uses them after it
            release_run(trainer)
    history = frame("history", trainer.history_rows)
    summary = {
        "format_version": FORMAT_VERSION,
        "lab_version": __version__,
        "run_id": run_id,
        "name": config.name,
        "config": config.model_dump(mode="json"),
        "status": status,
        "message": message,
        "final": final_metrics(history),
        "steps": trainer.step,
        "wall_time_seconds": round(time.perf_counter() - started, 3),
        "versions": versions(),
        "seed": config.seed,
        "threads": trainer.threads,
    }
    return RunResult(
        config=config,
        layers=frame("layers", trainer.layer_rows),
        history=history,
        histograms=trainer.histograms_frame(),
        boundary=boundary,
        summary=summary,
    )


def release_run(trainer) -> None:
    """Let a finished run's model, optimizer and traced graphs be freed (the server trains many runs).

    TensorFlow's gradient registry would otherwise keep every training step's graph, and with it the
    model's variables, for the life of the process (see lab.tf_runtime.release_custom_gradients), and
    its kernel cache the kernels of every shape any run used (lab.tf_runtime.clear_kernel_cache).
    Nothing computed changes: the frames are already built from numpy values.
    """
    from lab.tf_runtime import clear_kernel_cache, release_custom_gradients

    steps = trainer.steps
    release_custom_gradients([steps.train_step, steps.evaluate, steps.probabilities, trainer.probe,
                              trainer.network.assign_weights])
    clear_kernel_cache()


def final_metrics(history: pd.DataFrame) -> dict:
    """The last epoch's loss and accuracies (None when no epoch ran); JSON-safe."""
    if history.empty:
        return {"loss": None, "accuracy": None, "val_loss": None, "val_accuracy": None}
    last = history.iloc[-1]
    return {key: (None if pd.isna(last[key]) else float(last[key])) for key in ("loss", "accuracy", "val_loss", "val_accuracy")}


@functools.cache
def _versions() -> tuple:
    """versions() computed once per process (platform.platform() alone reads files)."""
    import keras
    import tensorflow as tf

    return tuple({
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }.items())


def versions() -> dict:
    """Versions that decide the numbers, so a difference across machines can be traced."""
    return dict(_versions())


def partial_result(config: ExperimentConfig, layers: pd.DataFrame, history: pd.DataFrame, step: int, message: str) -> RunResult:
    """A RunResult from the records of a training stopped early (status 'stopped'); never cached.

    The app builds it from what on_progress delivered before the visitor pressed Stop.
    """
    run_id = run_id_of(config)
    history = frame("history", history.to_dict("records"))
    summary = {
        "format_version": FORMAT_VERSION, "lab_version": __version__, "run_id": run_id, "name": config.name,
        "config": config.model_dump(mode="json"), "status": "stopped", "message": message,
        "final": final_metrics(history), "steps": int(step), "wall_time_seconds": None, "versions": versions(),
        "seed": config.seed, "threads": None,
    }
    return RunResult(config, frame("layers", layers.to_dict("records")), history, frame("histograms"), frame("boundary"), summary)
