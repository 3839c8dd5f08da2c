"""GradientFlow: the lab's per-layer probe as a Keras 3 callback for anyone's model.fit, writing a lab run folder."""
from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from lab.contract.result import frame
from lab.keras.callback_folder import check_folder, run_id_of_model, write_folder
from lab.keras.keras_probe import make_keras_probe
from lab.keras.model_rows import read_rows
from lab.training.measures import histogram_columns, layer_rows
from lab.training.trainer import Trainer

# Keras' names for the accuracy a model was compiled with, in the order they are looked for in fit's logs.
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")


class GradientFlow(keras.callbacks.Callback):
    """Record the lab's per-layer measures of a model during model.fit into a run folder.

    probe: (x, y), a fixed batch (2-D numeric x; labels as the model's loss takes them), measured with the model's
    own compiled loss at step 0 (before the first update), then every epoch (every="epoch") or every N optimizer
    updates (every=N), and at the end of training. folder: the run folder itself (refused if it already holds a
    complete run); it gets layers.csv, history.csv, histograms.csv, probe.npy and summary.json (source
    keras_callback), which `python -m lab show`, the app's Compare page and the lab's charts open.
    """

    def __init__(self, probe, folder, every="epoch"):
        super().__init__()
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"every: 'epoch' or a whole number of optimizer updates >= 1 (got {every!r})")
        self.inputs, self.labels = probe_arrays(probe)
        self.folder, self.every = Path(folder), every
        check_folder(self.folder)
        if every != "epoch":
            # Only then a batch hook: Keras runs fit's batches asynchronously, without turning every batch's logs into
            # Python numbers, as long as no callback overrides on_train_batch_end.
            self.on_train_batch_end = self.record_on_schedule

    def on_train_begin(self, logs=None):
        check_folder(self.folder)  # again: another run may have finished there since the callback was made
        self.rows = read_rows(self.model)
        self.read = make_keras_probe(self.model, self.rows, self.inputs, self.labels)
        self.run_id = run_id_of_model(self.model, self.inputs, self.labels)
        self.started, self.first_iteration = time.perf_counter(), self.iterations()
        self.step = self.epochs_done = 0
        self.layer_rows, self.histogram_chunks, self.history_rows = [], [], []
        self.previous_kernels, self.last_recorded_step = None, -1
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
        if self.every == "epoch":
            self.record()

    def on_train_end(self, logs=None):
        self.step = self.iterations() - self.first_iteration
        if self.last_recorded_step != self.step:
            self.record()  # the end of training is always recorded
        layers, history = frame("layers", self.layer_rows), frame("history", self.history_rows)
        histograms = Trainer.frame_of_chunks("histograms", self.histogram_chunks)
        write_folder(self.folder, self.model, self.rows, self.run_id, (layers, history, histograms), self.inputs,
                     every=self.every, steps=self.step, epochs=self.epochs_done,
                     wall_time=time.perf_counter() - self.started)
        self.read = None  # the traced probe holds the model's variables: let them go with the model

    def record(self) -> None:
        """Measure the model on the probe batch now and keep the rows."""
        reading = self.read()
        context = {"run_id": self.run_id, "step": self.step, "epoch": self.epochs_done}
        self.layer_rows += layer_rows(reading, self.previous_kernels, "linear", 0.01, context)
        self.histogram_chunks.append(histogram_columns(reading, context))
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
    if inputs.ndim != 2 or len(inputs) < 1:
        raise ValueError(f"probe: x must be a 2-D array (samples, features) with at least one sample (got shape {inputs.shape})")
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
