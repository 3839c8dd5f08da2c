"""Numbers read straight from a run's frames, independently of lab.readings, to check what the lab reports."""
import numpy as np


def start_ratio(layers, column: str, step=None) -> float:
    """Layer 1 over the last hidden layer at a step (default the first), read straight from the frame."""
    step = layers["step"].min() if step is None else step
    hidden = layers.query("layer_kind == 'hidden' and step == @step")
    first = hidden.loc[hidden["layer"].idxmin(), column]
    last = hidden.loc[hidden["layer"].idxmax(), column]
    return float(np.float64(first) / np.float64(last))
