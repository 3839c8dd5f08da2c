"""lab.keras: the lab's per-layer probe for anyone's Keras 3 model, as a callback for model.fit.

    import keras                       # first: lab then leaves TensorFlow's thread pools as you set them
    from lab.keras import GradientFlow
    model.fit(x, y, epochs=5, callbacks=[GradientFlow(probe=(x[:256], y[:256]), folder="runs/mine")])

Importing this package imports Keras and TensorFlow (`import lab` alone never does). Layer: on top of lab/ (it uses
training's measures and runs' folders); nothing in lab imports it.
"""
from lab.keras.callback import GradientFlow
from lab.keras.model_rows import UnsupportedModel

__all__ = ["GradientFlow", "UnsupportedModel"]
