"""lab.keras: the lab's per-layer probe for anyone's Keras 3 model, as a callback for model.fit.

    import keras
    from lab.keras import GradientFlow
    model.fit(x, y, epochs=5, callbacks=[GradientFlow(probe=(x[:256], y[:256]), folder="runs/mine")])

Importing this package imports Keras and TensorFlow (`import lab` alone never does), and gives TensorFlow back its
own thread pools: `import lab` caps them at the lab's one thread for its bit-identical runs, which a user's fit must
not inherit (unless the lab's own runs have already begun in this process). Layer: on top of lab/ (it uses training's
measures and runs' folders); nothing in lab imports it.
"""
from lab.training.runtime import release_thread_defaults

release_thread_defaults()  # before Keras' import below can run TensorFlow's first op

from lab.keras.callback import GradientFlow  # noqa: E402
from lab.keras.model_rows import UnsupportedModel  # noqa: E402

__all__ = ["GradientFlow", "UnsupportedModel"]
