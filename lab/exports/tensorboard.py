"""A run's frames as TensorBoard event files: per-layer scalars, loss and accuracy, the stored pre-activation histograms.

Tags (NN = the layers.csv layer number, at least two digits: 01 the first hidden layer, depth + 1 the output layer):
  layer_NN/<measure>       every measure of layers.csv (MEASURES), step = the record's training step
  layer_NN/preactivation   histograms.csv's 64 stored bins, step = the record's training step
  layer_NN/state_grad_first_over_last   recurrent runs: timesteps.csv's state_grad_rms at t = 1 over t = T
  epoch/<column>           history.csv's loss, accuracy, val_loss, val_accuracy, step = the epoch number (1 = first)
NaN values (a measure that does not apply, such as update_ratio at step 0 or dead_fraction of the output layer)
are left out, not written.

Histograms are written as the histogram plugin's own [k, 3] tensors (left edge, right edge, count) with
tf.summary.write: tf.summary.histogram would re-bin raw values, and a run folder keeps only the bins. The
plugins' metadata is built from TensorFlow's own protos, so writing needs no `tensorboard` package (viewing does).
TensorFlow is imported inside the functions only (`import lab` stays free of it), and its process-wide settings are
left alone (see EventWriter).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from lab.contract.config_io import ConfigError
from lab.contract.result import RunResult
from lab.readings.time_reading import first_to_last
from lab.runs import store

# layers.csv's measure columns, each one scalar tag per layer.
MEASURES = (
    "grad_norm", "preact_grad_rms", "bias_grad_norm", "weight_norm", "update_ratio", "dead_fraction",
    "saturated_fraction", "activation_mean", "activation_std",
)
# history.csv's columns written under epoch/.
HISTORY_MEASURES = ("loss", "accuracy", "val_loss", "val_accuracy")
HISTOGRAM_TAG = "preactivation"
# One summary scalar per record and recurrent layer: the rms gradient reaching t = 1 over the one at t = T (the
# ratio `run` and `show` print); one tag per time step would be hundreds of tags.
TIME_RATIO_TAG = "state_grad_first_over_last"
# The plugin names TensorBoard's scalar and histogram dashboards look for (tensorboard.plugins.*.metadata.PLUGIN_NAME).
SCALAR_PLUGIN, HISTOGRAM_PLUGIN = "scalars", "histograms"
# TensorFlow's summary writer names every file it creates this way (what a re-export replaces).
EVENT_FILE_PATTERN = "events.out.tfevents.*"


def layer_tag(layer: int, name: str) -> str:
    """layer_03/grad_norm: two digits at least, so TensorBoard lists layers 01..99 in order."""
    return f"layer_{int(layer):02d}/{name}"


def history_tag(column: str) -> str:
    """epoch/loss: history.csv is per epoch, its step is the epoch number."""
    return f"epoch/{column}"


def plugin_metadata(plugin_name: str):
    """A SummaryMetadata for a TensorBoard plugin, from TensorFlow's protos.

    The plugins' own data protos (ScalarPluginData, HistogramPluginData) hold only a version, 0, which serialises to
    empty content; data_class says how TensorBoard stores the series (scalars as scalars, histograms as tensors).
    """
    from tensorflow.core.framework import summary_pb2  # after `import lab` set TensorFlow's environment

    data_class = summary_pb2.DATA_CLASS_SCALAR if plugin_name == SCALAR_PLUGIN else summary_pb2.DATA_CLASS_TENSOR
    return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
                                       data_class=data_class)


def histogram_tensor(bins: pd.DataFrame) -> np.ndarray:
    """The stored bins of one (step, layer) as the histogram plugin's [k, 3] float64 tensor: left, right, count."""
    ordered = bins.sort_values("bin_left")
    return np.stack([ordered[column].to_numpy(dtype=np.float64) for column in ("bin_left", "bin_right", "count")], axis=1)


class EventWriter:
    """Event files for one run in logdir, fed frame by frame (the Keras callback passes each record's new rows).

    Every method takes a frame with the run contract's columns (lab.contract.result.FRAME_COLUMNS), of any
    number of rows; use it as a context manager or call close().
    """

    def __init__(self, logdir):
        # TensorFlow as it is, not lab.training.runtime.import_tensorflow: that turns on op determinism for the whole
        # process, after which a user's unseeded model.fit fails ("Random ops require a seed"; measured) when the
        # Keras callback writes event files. Writing summaries needs none of its settings; `import lab` has already
        # set the environment TensorFlow reads at import (lab.training.runtime.configure_environment).
        import tensorflow as tf

        self._tf = tf
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._writer = self._tf.summary.create_file_writer(str(self.logdir))
        self._scalar_metadata = plugin_metadata(SCALAR_PLUGIN)
        self._histogram_metadata = plugin_metadata(HISTOGRAM_PLUGIN)

    def _scalar(self, tag: str, value, step) -> None:
        """One float32 scalar (what tf.summary.scalar stores), unless it is NaN."""
        if np.isnan(value):
            return
        self._tf.summary.write(tag, self._tf.constant(value, dtype=self._tf.float32), step=int(step),
                               metadata=self._scalar_metadata)

    def write_layers(self, layers: pd.DataFrame) -> None:
        """layers.csv rows: one scalar per (row, measure), tag layer_NN/<measure>, step = the row's step."""
        with self._writer.as_default():
            for row in layers.itertuples(index=False):
                for measure in MEASURES:
                    self._scalar(layer_tag(row.layer, measure), float(getattr(row, measure)), row.step)

    def write_history(self, history: pd.DataFrame) -> None:
        """history.csv rows: tag epoch/<column>, step = the epoch number."""
        with self._writer.as_default():
            for row in history.itertuples(index=False):
                for column in HISTORY_MEASURES:
                    self._scalar(history_tag(column), float(getattr(row, column)), row.epoch)

    def write_histograms(self, histograms: pd.DataFrame) -> None:
        """histograms.csv rows: one [64, 3] histogram tensor per (step, layer), tag layer_NN/preactivation."""
        with self._writer.as_default():
            for (step, layer), bins in histograms.groupby(["step", "layer"], sort=True):
                self._tf.summary.write(layer_tag(layer, HISTOGRAM_TAG), histogram_tensor(bins), step=int(step),
                                       metadata=self._histogram_metadata)

    def write_timesteps(self, timesteps: pd.DataFrame) -> None:
        """timesteps.csv rows (whole records: every t of a (step, layer)): state_grad_rms at t = 1 over at t = T."""
        with self._writer.as_default():
            for (step, layer), _ in timesteps.groupby(["step", "layer"], sort=True):
                self._scalar(layer_tag(layer, TIME_RATIO_TAG), first_to_last(timesteps, int(layer), int(step)), step)

    def flush(self) -> None:
        """Make what was written so far visible to a running TensorBoard."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def write_run(result: RunResult, logdir) -> Path:
    """Write one run's frames as event files into logdir (the run's own folder under TensorBoard's --logdir).

    Reads the frames only (never result.config: a Keras callback's run has none). Event files already
    in logdir are replaced, so exporting a run again does not show every point twice.
    """
    logdir = Path(logdir)
    for old in logdir.glob(EVENT_FILE_PATTERN) if logdir.is_dir() else ():
        old.unlink()
    with EventWriter(logdir) as writer:
        writer.write_layers(result.layers)
        writer.write_history(result.history)
        writer.write_histograms(result.histograms)
        writer.write_timesteps(result.timesteps)
    return logdir


def check_logdir(logdir) -> None:
    """Refuse a --logdir that cannot become a folder (it, or a folder above it, is a file) before anything is written."""
    path = Path(logdir)
    if "\x00" in str(logdir):
        raise ConfigError(f"--logdir {str(logdir)!r}: not a valid folder name (it contains a NUL byte)")
    existing = next((ancestor for ancestor in (path, *path.parents) if ancestor.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"--logdir {logdir}: {existing} is a file; --logdir must be a folder (created if missing)")
    if existing is not None and not os.access(existing, os.W_OK):
        raise ConfigError(f"--logdir {logdir}: {existing} is not writable; choose a folder you can write to")


def check_is_run_folder(folder: Path) -> None:
    """A folder of run folders (runs/, what `tensorboard --logdir` takes) is not one run: say which to pass instead."""
    if not folder.is_dir() or store.is_complete(folder):
        return
    if any(store.is_complete(child) for child in folder.iterdir() if child.is_dir()):
        raise ConfigError(f"{folder}: a folder of run folders, not a run; pass the runs themselves, e.g. {folder / '*'}")


def export_runs(run_dirs, logdir) -> list[Path]:
    """Every run folder as logdir/<run folder's name>/; each folder is loaded and checked before any is written."""
    check_logdir(logdir)
    folders = [Path(run_dir) for run_dir in run_dirs]
    names = [folder.resolve().name for folder in folders]
    for folder in folders:
        check_is_run_folder(folder)
    results = [store.load(folder, frames=("layers", "history", "histograms", "timesteps")) for folder in folders]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"run folders: two are named {repeated[0]}; each becomes logdir/<its name>, so names must differ")
    return [write_run(result, Path(logdir) / name) for result, name in zip(results, names)]
