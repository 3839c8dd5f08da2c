"""GradientFlow: the lab's per-layer probe as a Keras 3 callback for anyone's model.fit, writing a lab run folder."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import keras
import numpy as np

from lab.contract.result import frame, frame_from_columns
from lab.keras.callback_folder import check_folder, run_id_of_model, write_folder
from lab.keras.keras_probe import make_keras_probe
from lab.keras.model_rows import read_rows
from lab.training.measures import histogram_columns, layer_rows, recurrence_rows, timestep_columns
from lab.training.trainer import Trainer

# Keras' names for the accuracy a model was compiled with, in the order they are looked for in fit's logs.
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")


class GradientFlow(keras.callbacks.Callback):
    """Record the lab's per-layer measures of a model during model.fit into a run folder.

    probe: (x, y), a fixed batch (2-D numeric x; labels as the model's loss takes them), measured with the model's
    own compiled loss at step 0 (before the first update), then every epoch (every="epoch") or every N optimizer
    updates (every=N), and at the end of training. folder: the run folder itself (refused if it already holds a
    complete run); it gets layers.csv, history.csv, histograms.csv, probe.npy and summary.json (source
    keras_callback), which `python -m lab show`, the app's Compare page and the lab's charts open. tensorboard: a folder
    to write the same records to as TensorBoard event files while fit runs (lab.exports.tensorboard's tags).
    """

    def __init__(self, probe, folder, every="epoch", tensorboard=None):
        super().__init__()
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"every: 'epoch' or a whole number of optimizer updates >= 1 (got {every!r})")
        self.inputs, self.labels = probe_arrays(probe)
        self.folder, self.every = Path(folder), every
        self.tensorboard = None if tensorboard is None else Path(tensorboard)
        check_folder(self.folder)
        if every != "epoch":
            # Only then a batch hook: Keras runs fit's batches asynchronously, without turning every batch's logs into
            # Python numbers, as long as no callback overrides on_train_batch_end.
            self.on_train_batch_end = self.record_on_schedule

    def on_train_begin(self, logs=None):
        check_folder(self.folder)  # again: another run may have finished there since the callback was made
        self.recurrent, self.rows = read_rows(self.model)
        expected = 3 if self.recurrent else 2
        if self.inputs.ndim != expected:
            shape = "(samples, time steps, channels)" if self.recurrent else "(samples, features)"
            raise ValueError(f"probe: x must be {expected}-D {shape} for this model (got shape {self.inputs.shape})")
        self.read = make_keras_probe(self.model, self.recurrent, self.rows, self.inputs, self.labels)
        self.run_id = run_id_of_model(self.model, self.inputs, self.labels)
        self.started, self.first_iteration = time.perf_counter(), self.iterations()
        self.step = self.epochs_done = 0
        self.layer_rows, self.histogram_chunks, self.history_rows, self.timestep_chunks = [], [], [], []
        self.previous_kernels, self.last_recorded_step = None, -1
        self.recurrence_rows = []  # summary.json's "recurrence": theory's per-step factor for simple cells
        self.events = None
        if self.tensorboard is not None:
            from lab.exports.tensorboard import EventWriter

            self.events = EventWriter(self.tensorboard)
        self.record()

    def iterations(self) -> int:
        """Optimizer updates applied so far (the optimizer's own counter, so steps_per_execution cannot fool it)."""
        return int(self.model.optimizer.iterations.numpy())

    def record_on_schedule(self, batch, logs=None):
        """on_train_batch_end, with every=N only (see __init__)."""
        self.step = self.iterations() - self.first_iteration
        if self.step // self.every > self.last_recorded_step // self.every:
            self.record()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done, self.step = epoch + 1, self.iterations() - self.first_iteration
        self.history_rows.append(history_row(self.run_id, epoch + 1, logs or {}))
        if self.events is not None:
            self.events.write_history(frame("history", self.history_rows[-1:]))
        if self.every == "epoch":
            self.record()

    def on_train_end(self, logs=None):
        self.step = self.iterations() - self.first_iteration
        if self.last_recorded_step != self.step:
            self.record()  # the end of training is always recorded
        layers, history = frame("layers", self.layer_rows), frame("history", self.history_rows)
        histograms = Trainer.frame_of_chunks("histograms", self.histogram_chunks)
        timesteps = Trainer.frame_of_chunks("timesteps", self.timestep_chunks) if self.recurrent else None
        if self.events is not None:
            self.events.close()
        write_folder(self.folder, self.model, (self.recurrent, self.rows), self.run_id, (layers, history, histograms, timesteps),
                     self.inputs, every=self.every, steps=self.step, epochs=self.epochs_done,
                     wall_time=time.perf_counter() - self.started,
                     recurrence=self.recurrence_rows if self.recurrent else None)
        self.read = None  # the traced probe holds the model's variables: let them go with the model

    def record(self) -> None:
        """Measure the model on the probe batch now and keep the rows."""
        reading = self.read()
        context = {"run_id": self.run_id, "step": self.step, "epoch": self.epochs_done}
        new_rows = layer_rows(reading, self.previous_kernels, "linear", 0.01, context)
        self.layer_rows += new_rows
        self.histogram_chunks.append(histogram_columns(reading, context))
        if reading.timesteps is not None:
            self.timestep_chunks.append(timestep_columns(reading.timesteps, context))
            self.recurrence_rows += simple_cell_theory(reading, self.recurrent, self.step)
        if self.events is not None:  # the same rows, as TensorBoard event files (lab.exports.tensorboard's tags)
            self.events.write_layers(frame("layers", new_rows))
            self.events.write_histograms(frame_from_columns("histograms", self.histogram_chunks[-1]))
            if reading.timesteps is not None:
                self.events.write_timesteps(frame_from_columns("timesteps", self.timestep_chunks[-1]))
            self.events.flush()
        self.previous_kernels, self.last_recorded_step = reading.kernels, self.step


def probe_arrays(probe) -> tuple[np.ndarray, np.ndarray]:
    """(x as float32, y) from probe=(x, y), checked: 2-D x with at least one sample, one label per sample."""
    if not isinstance(probe, (tuple, list)) or len(probe) != 2:
        raise ValueError("probe: a pair (x, y) of a fixed batch of inputs and their labels")
    try:
        inputs = np.asarray(probe[0], dtype=np.float32)
        labels = np.asarray(probe[1])
    except (TypeError, ValueError) as error:
        raise ValueError(f"probe: x must be numeric and y an array of labels ({error})") from None
    if inputs.ndim not in (2, 3) or len(inputs) < 1:
        raise ValueError(f"probe: x must be a 2-D array (samples, features), or 3-D (samples, time steps, channels) for a "
                         f"recurrent model, with at least one sample (got shape {inputs.shape})")
    if len(labels) != len(inputs):
        raise ValueError(f"probe: x has {len(inputs)} samples but y has {len(labels)} labels")
    if not np.isfinite(inputs).all():
        raise ValueError("probe: x holds NaN or infinite values")
    return inputs, labels


def history_row(run_id: str, epoch: int, logs: dict) -> dict:
    """The history frame's row of one epoch from fit's logs (NaN where the model did not compile that metric)."""
    def value(key):
        number = logs.get(key)
        return float(number) if number is not None else math.nan

    accuracy = next((key for key in ACCURACY_KEYS if key in logs), None)
    return {"run_id": run_id, "epoch": epoch, "loss": value("loss"), "accuracy": value(accuracy) if accuracy else math.nan,
            "val_loss": value("val_loss"), "val_accuracy": value(f"val_{accuracy}") if accuracy else math.nan}


def simple_cell_theory(reading, recurrent: list, step: int) -> list[dict]:
    """summary.json's "recurrence" rows of one record (spectral radius and rms slope of each simple cell), as the lab
    writes them for its own runs; none for gated cells or simple cells of different activations (no single phi')."""
    names = {(row.activation_name, row.leaky_alpha) for row in recurrent}
    if recurrent[0].cell != "simple" or len(names) != 1:
        return []
    (name, alpha), count = names.pop(), len(recurrent)
    only_recurrent = dataclasses.replace(reading, kernels=reading.kernels[:count], preactivations=reading.preactivations[:count],
                                         activations=reading.activations[:count])
    return recurrence_rows(only_recurrent, "simple", name, alpha, step)
