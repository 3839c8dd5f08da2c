"""The hidden and output activations as TensorFlow callables for keras.layers.Activation.

Their numpy twins (values, derivatives, saturation) live in lab.science.activations; the tests hold
each against the other.
"""
from __future__ import annotations

from lab.science.activations import DEFAULT_LEAKY_ALPHA, KERAS_ACTIVATIONS, check_alpha, check_name
from lab.training.runtime import import_tensorflow


def keras_activation(name, alpha=DEFAULT_LEAKY_ALPHA):
    """Return a tensor -> tensor callable for keras.layers.Activation (TensorFlow backend)."""
    check_name(name, KERAS_ACTIVATIONS)
    check_alpha(alpha)
    tf = import_tensorflow()  # the one configured import: threads, oneDNN off, determinism

    def step(x):
        """Return 1 where x > 0 else 0, with an exactly-zero (never None) gradient."""
        # tf.cast(x > 0) alone is not differentiable, so a tape would return None for every
        # kernel below a step layer; x * 0 gives a real zero gradient path to x.
        return x * 0 + tf.stop_gradient(tf.cast(x > 0, x.dtype))

    def leaky_relu(x):
        """Return tf.nn.leaky_relu with the lab's alpha (not Keras' 0.2/0.3 defaults)."""
        return tf.nn.leaky_relu(x, alpha=alpha)

    def gelu(x):
        """Return the exact erf-based GELU."""
        return tf.nn.gelu(x, approximate=False)

    def hard_tanh(x):
        """Return clip(x, -1, 1); its gradient is 1 on the closed interval [-1, 1], 0 outside."""
        return tf.clip_by_value(x, -1.0, 1.0)

    functions = {
        "step": step,
        "sigmoid": tf.sigmoid,
        "tanh": tf.tanh,
        "relu": tf.nn.relu,
        "leaky_relu": leaky_relu,
        "elu": tf.nn.elu,
        "selu": tf.nn.selu,
        "gelu": gelu,
        "swish": tf.nn.silu,
        "linear": tf.identity,
        "hard_tanh": hard_tanh,
        "softsign": tf.nn.softsign,
        "softmax": tf.nn.softmax,
    }
    return functions[name]
