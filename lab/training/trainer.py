"""The instrumented training loop: compiled steps, probe records on schedule, divergence detection."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lab.contract.config import ExperimentConfig
from lab.contract.result import frame, frame_from_columns
from lab.contract.run_data import SHUFFLE_STREAM, steps_per_epoch
from lab.science.data import Dataset, grid_for_boundary
from lab.training.measures import histogram_columns, layer_rows, recurrence_rows, timestep_columns
from lab.training.models import build_network
from lab.training.probes import make_probe
from lab.training.propagation import frames_of, make_slopes, propagation_columns, skip_sources
from lab.training.recurrent_models import build_recurrent_from_config
from lab.training.recurrent_probes import make_recurrent_probe
from lab.training.runtime import import_tensorflow, thread_settings
from lab.training.steps import CompiledSteps


def build_components(config: ExperimentConfig, num_features: int, num_classes: int) -> tuple:
    """A fresh network with its compiled steps and probe (each tf.function traces on first use).

    num_features: the inputs' last axis (a sequence task's channels).
    """
    binary = config.model.output_activation == "sigmoid"
    network = build_model(config, num_features, num_classes)
    probe = (make_recurrent_probe if config.model.kind == "rnn" else make_probe)(network, num_features, binary)
    return network, CompiledSteps(network, config.training, binary), probe


def build_model(config: ExperimentConfig, num_features: int, num_classes: int):
    """The config's network (an MLP, or stacked recurrent cells for model.kind rnn) with the seed's initial weights."""
    if config.model.kind == "rnn":
        return build_recurrent_from_config(config.model, num_features, num_classes, config.seed)
    return build_network(config.model, num_features, num_classes, config.seed)


def accepts_keyword(function, name: str) -> bool:
    """Whether function can be called with the keyword argument name (declared, or through **kwargs)."""
    import inspect

    if function is None:
        return False
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable without a signature: call it as the contract says
        return False
    return any(parameter.name == name and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
               or parameter.kind == parameter.VAR_KEYWORD for parameter in parameters)


class Trainer:
    """Runs one experiment and accumulates the rows of its frames as it goes."""

    def __init__(self, config: ExperimentConfig, dataset: Dataset, probe_index: np.ndarray, run_id: str, on_progress=None,
                 components: tuple | None = None):
        import_tensorflow()
        self.config, self.dataset, self.run_id, self.on_progress = config, dataset, run_id, on_progress
        self.binary = config.model.output_activation == "sigmoid"
        features = dataset.num_features  # the last axis: a sequence task's channels
        # components: (network, compiled steps, probe) already built and re-initialised for this seed
        # (the sweep's fast path for runs at initialisation); otherwise built here.
        self.network, self.steps, self.probe = components or build_components(config, features, dataset.num_classes)
        self.probe_inputs = dataset.x_train[probe_index]
        self.probe_labels = dataset.y_train[probe_index]
        self.steps_per_epoch = steps_per_epoch(config)
        self.total_steps = config.training.epochs * self.steps_per_epoch
        self.threads = thread_settings()
        self.step = 0
        self.layer_rows: list[dict] = []
        self.histogram_chunks: list[dict] = []
        self.timestep_chunks: list[dict] = []  # model.kind rnn only (timesteps.csv)
        # A callback that declares a timesteps keyword also gets the timesteps frame so far (a recurrent run's records,
        # so a stopped run keeps its time profile); the four-argument callbacks of the run contract are called as before.
        self.progress_wants_timesteps = accepts_keyword(on_progress, "timesteps")
        self.recurrence_rows: list[dict] = []  # model.kind rnn only (summary.json's "recurrence", theory's inputs)
        self.history_rows: list[dict] = []
        self.previous_kernels = None
        self.last_recorded_step = -1
        self.progress_frames: dict = {}  # frame name -> (rows converted, frame of them), see progress_frame
        # probe.propagation: measured at step 0 and at the last record (the end of training), see propagation_frames.
        self.slopes = make_slopes(self.network.hidden_activation[0]) if config.probe.propagation else None
        self.propagation_chunks: list[tuple[dict, dict]] = []
        self.last_reading = None

    def record(self) -> None:
        """Measure the network on the probe batch at the current step and append the rows."""
        reading = self.probe(self.probe_inputs, self.probe_labels)
        context = {"run_id": self.run_id, "step": self.step, "epoch": self.step // self.steps_per_epoch}
        model = self.config.model
        self.layer_rows += layer_rows(reading, self.previous_kernels, model.activation, model.leaky_alpha, context)
        self.histogram_chunks.append(histogram_columns(reading, context))
        if reading.timesteps is not None:
            self.timestep_chunks.append(timestep_columns(reading.timesteps, context))
            self.recurrence_rows += recurrence_rows(reading, model.cell, model.activation, model.leaky_alpha, self.step)
        self.previous_kernels = reading.kernels
        self.last_recorded_step = self.step
        if self.slopes is not None:
            self.last_reading = reading
            if self.step == 0:
                self.measure_propagation(reading)
        if self.on_progress is not None:
            layers, history = self.progress_frame("layers", self.layer_rows), self.progress_frame("history", self.history_rows)
            extra = {"timesteps": self.timesteps_frame()} if self.timestep_chunks and self.progress_wants_timesteps else {}
            self.on_progress(self.step, self.total_steps, layers, history, **extra)

    def measure_propagation(self, reading) -> None:
        """Append the propagation and spectrum columns of one reading (at the step it was recorded)."""
        context = {"run_id": self.run_id, "step": self.last_recorded_step}
        self.propagation_chunks.append(propagation_columns(
            reading, self.slopes, skip_sources(self.network.blocks), self.config.probe.jacobian_samples, context))

    def propagation_frames(self) -> tuple:
        """The propagation and spectrum frames: step 0 and the last record (empty without probe.propagation)."""
        if self.last_reading is not None and self.last_recorded_step != 0:
            self.measure_propagation(self.last_reading)
            self.last_reading = None
        return frames_of(self.propagation_chunks)

    def progress_frame(self, name: str, rows: list[dict]):
        """frame(name, rows) for on_progress, converting only the rows added since the last record.

        Rebuilding the whole frame from row dicts at every record made a run with record_every 1
        quadratic in its number of records. The callback gets its own copy.
        """
        done, previous = self.progress_frames.get(name, (0, None))
        if not done:  # built whole: an empty frame's text columns have another dtype than a filled one's
            current = frame(name, rows)
        elif done == len(rows):
            current = previous
        else:
            current = pd.concat([previous, frame(name, rows[done:])], ignore_index=True)
        self.progress_frames[name] = (len(rows), current)
        return current.copy()

    def histograms_frame(self):
        """The histograms frame of every record so far."""
        return self.frame_of_chunks("histograms", self.histogram_chunks)

    def timesteps_frame(self):
        """The timesteps frame of every record so far (empty, with its columns, for an MLP)."""
        return self.frame_of_chunks("timesteps", self.timestep_chunks)

    @staticmethod
    def frame_of_chunks(name: str, chunks: list[dict]):
        """A frame of the contract from per-record column chunks."""
        if not chunks:
            return frame(name)
        columns = {column: np.concatenate([chunk[column] for chunk in chunks]) for column in chunks[0]}
        return frame_from_columns(name, columns)

    def train(self) -> tuple[str, str]:
        """Record at step 0, train epoch by epoch, record on schedule and at the end; (status, message)."""
        tf = import_tensorflow()
        every = self.config.training.record_every
        self.record()
        count, batch_size = len(self.dataset.x_train), self.config.training.batch_size
        # Converted once: each compiled call gathers its batches from these by index.
        x_train, y_train = tf.constant(self.dataset.x_train), tf.constant(self.dataset.y_train)
        rng = np.random.default_rng([self.config.seed, SHUFFLE_STREAM])
        for epoch in range(1, self.config.training.epochs + 1):
            order = rng.permutation(count).astype(np.int32)
            loss_sum, correct = 0.0, 0.0
            for start, stop in self.chunks(count):
                # One compiled call runs the updates up to the next record or the epoch's end (or one update).
                losses, corrects = self.steps.train_step(x_train, y_train, order[start:stop], batch_size)
                for batch_loss, batch_correct in zip(losses.numpy().tolist(), corrects.numpy().tolist()):
                    if not math.isfinite(batch_loss):
                        # The update that produced a NaN/inf loss was computed from finite weights; the
                        # loss is measured before the update, so the weights of this step are already bad.
                        return "diverged", (
                            f"loss became {batch_loss} at step {self.step + 1} (epoch {epoch}); every record up to "
                            f"step {self.last_recorded_step} is kept. Lower training.learning_rate "
                            f"(now {self.config.training.learning_rate})"
                        )
                    self.step += 1
                    loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
                if every != "epoch" and self.step % every == 0:
                    self.record()
            self.history_rows.append(self.history_row(epoch, loss_sum, correct))
            if every == "epoch":
                self.record()
        if self.last_recorded_step != self.step:
            self.record()  # the end of training is always recorded
        return "ok", f"trained {self.step} steps in {self.config.training.epochs} epochs"

    def chunks(self, count: int):
        """(start, stop) slices of one epoch's order, each ending at a scheduled record or the epoch's end."""
        every, batch_size = self.config.training.record_every, self.config.training.batch_size
        start, step = 0, self.step
        while start < count:
            steps = math.ceil((count - start) / batch_size)
            if every != "epoch":
                steps = min(steps, every - step % every)
            steps = min(steps, self.steps.steps_per_call or steps)
            stop = min(count, start + steps * batch_size)
            yield start, stop
            start, step = stop, step + steps

    def history_row(self, epoch: int, loss_sum: float, correct: float) -> dict:
        """Mean training loss/accuracy over the epoch's batches, and the validation figures after it."""
        count = len(self.dataset.x_train)
        val_loss = val_accuracy = float("nan")
        if len(self.dataset.x_val):
            val_sum, val_correct = self.steps.evaluate(self.dataset.x_val, self.dataset.y_val)
            val_loss, val_accuracy = float(val_sum) / len(self.dataset.x_val), float(val_correct) / len(self.dataset.x_val)
        return {
            "run_id": self.run_id, "epoch": epoch, "loss": loss_sum / count, "accuracy": correct / count,
            "val_loss": val_loss, "val_accuracy": val_accuracy,
        }

    def boundary_frame(self):
        """Predicted class and its probability on a 100 x 100 grid over the first two features."""
        first, second = grid_for_boundary(self.dataset, resolution=100)
        x1, x2 = np.meshgrid(first, second, indexing="xy")
        inputs = np.zeros((x1.size, self.dataset.x_train.shape[1]), dtype=np.float32)
        inputs[:, 0], inputs[:, 1] = x1.ravel(), x2.ravel()  # noise features held at their mean, 0
        probabilities = self.steps.probabilities(inputs).numpy()
        predicted = probabilities.argmax(axis=1)
        return frame_from_columns("boundary", {
            "run_id": np.repeat(np.asarray([self.run_id]), len(predicted)), "x1": inputs[:, 0].astype(np.float64),
            "x2": inputs[:, 1].astype(np.float64), "predicted_class": predicted,
            "probability": probabilities[np.arange(len(predicted)), predicted].astype(np.float64),
        })
