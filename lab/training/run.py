"""run(config) -> RunResult: data, model, instrumented training, the frames and the summary."""
from __future__ import annotations

import contextlib
import functools
import platform
import threading
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import load_config, run_id_of
from lab.contract.result import FORMAT_VERSION, LAB_VERSION, RunResult, frame
from lab.contract.run_data import prepare_data
from lab.science.data import TWO_DIMENSIONAL

ProgressCallback = Callable[[int, int, pd.DataFrame, pd.DataFrame], None]


# Runs in flight in this process. TensorFlow's kernel cache is process-wide, so it is dropped only by
# the last run to finish, holding this lock: a run starting meanwhile waits for the lock, and no run
# is ever using a kernel while the cache is cleared.
_IN_FLIGHT_LOCK = threading.Lock()
_in_flight = 0


def run(config, on_progress: ProgressCallback | None = None) -> RunResult:
    """Train one experiment with the probes on and return its frames; TensorFlow is imported here.

    Thread-safe: threads of one process (a notebook, a server) may call it at once, and each gets the
    numbers it gets alone. What a run leaves in TensorFlow's process-wide state (its gradient-registry
    entries, the kernel cache) is released without touching another run's.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_config(config)
    return execute(config, on_progress)


def execute(config: ExperimentConfig, on_progress: ProgressCallback | None = None, components=None, data=None,
            run_id: str | None = None) -> RunResult:
    """run() for a validated config, optionally on prebuilt components, prepared data and its known run_id."""
    from lab.training.trainer import Trainer  # imports TensorFlow (about 7 s the first time)

    started = time.perf_counter()
    run_id = run_id or run_id_of(config)
    dataset, probe_index = data or prepare_data(config)
    _enter_run()
    trainer = None
    try:
        trainer = Trainer(config, dataset, probe_index, run_id, on_progress, components)
        status, message = trainer.train()
        propagation, spectrum = trainer.propagation_frames()
        boundary = trainer.boundary_frame() if (status == "ok" and config.data.dataset in TWO_DIMENSIONAL) else frame("boundary")
    finally:
        # this run's own model and tf.functions (not prebuilt components): nothing uses them after it
        _leave_run(trainer if components is None else None)
    history = frame("history", trainer.history_rows)
    summary = {
        "format_version": FORMAT_VERSION,
        "lab_version": LAB_VERSION,
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
    if config.model.kind == "rnn":  # only rnn runs get the key: every MLP summary.json stays byte-identical
        summary["recurrence"] = trainer.recurrence_rows
    return RunResult(
        config=config,
        layers=frame("layers", trainer.layer_rows),
        history=history,
        histograms=trainer.histograms_frame(),
        boundary=boundary,
        summary=summary,
        propagation=propagation,
        spectrum=spectrum,
        timesteps=trainer.timesteps_frame(),
    )


def _enter_run() -> None:
    """Count a run in flight (waiting while the last one out clears the kernel cache)."""
    global _in_flight
    with _IN_FLIGHT_LOCK:
        _in_flight += 1


def _leave_run(trainer) -> None:
    """Release a finished run's own TensorFlow state (trainer None: nothing of its own); the last out clears the cache."""
    global _in_flight
    from lab.training.runtime import clear_kernel_cache

    try:
        if trainer is not None:
            release_run(trainer)
    finally:
        with _IN_FLIGHT_LOCK:
            _in_flight -= 1
            if _in_flight == 0:
                clear_kernel_cache()


def release_run(trainer) -> None:
    """Let a finished run's model, optimizer and traced graphs be freed (the server trains many runs).

    TensorFlow's gradient registry would otherwise keep every training step's graph, and with it the
    model's variables, for the life of the process (see lab.training.runtime.release_custom_gradients).
    Only this run's own entries are removed. Nothing computed changes: the frames are already built
    from numpy values. The kernel cache is cleared by the last run in flight (_leave_run).
    """
    release_components((trainer.network, trainer.steps, trainer.probe), [trainer.slopes.function] if trainer.slopes else [])


def release_components(components: tuple, extra_functions=()) -> None:
    """Remove the gradient-registry entries of a (network, steps, probe) no run will use again (release_run's, and a
    sweep worker's reused architectures when its sweep ends: lab.sweeps.worker.forget_architectures)."""
    from lab.training.runtime import release_custom_gradients

    network, steps, probe = components
    # The compiled functions themselves: the numpy-facing wrappers keep theirs as .function.
    release_custom_gradients([steps.train_step, steps.logits, probe.function, network.assign_weights.function,
                              *extra_functions])


@contextlib.contextmanager
def one_run_in_flight():
    """Count what runs inside as one run in flight: TensorFlow's kernel cache is dropped once, when it ends, not after
    each run inside (a sweep worker's batch: the next run needs the very same kernels)."""
    _enter_run()
    try:
        yield
    finally:
        _leave_run(None)


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


def partial_result(config: ExperimentConfig, layers: pd.DataFrame, history: pd.DataFrame, step: int, message: str,
                   timesteps: pd.DataFrame | None = None) -> RunResult:
    """A RunResult from the records of a training stopped early (status 'stopped'); never cached.

    The app builds it from what on_progress delivered before the visitor pressed Stop (a recurrent run's
    timesteps too, given to a callback that declares a timesteps keyword).
    """
    run_id = run_id_of(config)
    history = frame("history", history.to_dict("records"))
    summary = {
        "format_version": FORMAT_VERSION, "lab_version": LAB_VERSION, "run_id": run_id, "name": config.name,
        "config": config.model_dump(mode="json"), "status": "stopped", "message": message,
        "final": final_metrics(history), "steps": int(step), "wall_time_seconds": None, "versions": versions(),
        "seed": config.seed, "threads": None,
    }
    steps_in_time = frame("timesteps") if timesteps is None else frame("timesteps", timesteps.to_dict("records"))
    return RunResult(config, frame("layers", layers.to_dict("records")), history, frame("histograms"), frame("boundary"), summary,
                     timesteps=steps_in_time)
