"""Tiny experiment configs that run in well under a second once TensorFlow is loaded."""
from lab import load_config


def tiny_config(**overrides):
    """A small, fast experiment; overrides are dotted keys, e.g. tiny_config(**{"model.depth": 3})."""
    base = {
        "name": "tiny",
        "data": {"dataset": "moons", "num_samples": 128, "noise": 0.2},
        "model": {"depth": 3, "width": 6, "activation": "tanh"},
        "training": {"epochs": 2, "batch_size": 32, "learning_rate": 0.1},
        "probe": {"num_samples": 32},
    }
    return load_config(base, overrides=overrides)
