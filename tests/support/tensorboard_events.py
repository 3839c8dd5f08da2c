"""Reading TensorBoard event files back with TensorBoard's own EventAccumulator (tests of lab.exports.tensorboard and
of lab.keras.GradientFlow's tensorboard= option)."""
import math
from pathlib import Path

import numpy as np
import pandas as pd

LAYER_MEASURES = ("grad_norm", "preact_grad_rms", "bias_grad_norm", "weight_norm", "update_ratio", "dead_fraction",
                  "saturated_fraction", "activation_mean", "activation_std")
HISTORY_MEASURES = ("loss", "accuracy", "val_loss", "val_accuracy")


def read_events(folder: Path) -> dict:
    """{tag: {step: ndarray}} and {tag: plugin name} of every tensor event TensorBoard finds in folder."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    values, plugins = {}, {}
    for tag in accumulator.Tags()["tensors"]:
        events = accumulator.Tensors(tag)
        steps = [event.step for event in events]
        assert len(steps) == len(set(steps)), f"{tag}: a step written twice {steps}"
        values[tag] = {event.step: tensor_util.make_ndarray(event.tensor_proto) for event in events}
        plugins[tag] = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
    return values, plugins


def tag_of(layer: int, name: str) -> str:
    return f"layer_{layer:02d}/{name}"


def assert_layer_scalars_equal_layers_csv(run_folder: Path, event_folder: Path) -> None:
    """Every non-NaN value of layers.csv is its tag's scalar at its step (float32), and nothing else is written."""
    layers = pd.read_csv(run_folder / "layers.csv")
    values, plugins = read_events(event_folder)
    checked = 0
    for row in layers.itertuples(index=False):
        for measure in LAYER_MEASURES:
            tag, expected = tag_of(row.layer, measure), getattr(row, measure)
            series = values.get(tag, {})
            if math.isnan(expected):
                assert row.step not in series, f"{tag} at step {row.step}: NaN in layers.csv must not be written"
                continue
            assert plugins[tag] == "scalars"
            assert series[row.step].shape == ()
            assert series[row.step] == np.float32(expected), f"{tag} at step {row.step}"
            checked += 1
    # The NaN rule must leave something to compare: update_ratio is NaN at step 0, most values are not.
    assert checked > 0.7 * len(layers) * len(LAYER_MEASURES)
    written = sum(len(series) for tag, series in values.items() if tag.split("/")[1] in LAYER_MEASURES)
    assert written == checked, "scalars in the event file that layers.csv does not have"
