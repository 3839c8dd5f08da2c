"""Seeded initial weights of a stacked recurrent network (Keras SimpleRNN, LSTM or GRU cells, then a Dense head), numpy.

As lab.science.initializers does for the MLP, and for the same reasons (explicit seeds, no TensorFlow, microseconds):
each tensor is drawn from its own Generator keyed by (seed, layer, tensor), so changing one layer's shape leaves
every other tensor's values unchanged. The shapes and the order follow Keras 3's cells, so the list can be given
to the built model's set_weights: per recurrent layer kernel (in, G·units), recurrent_kernel (units, G·units) and
bias, then the output Dense's kernel (units, output_units) and bias; G = 1 simple, 4 lstm (gates i, f, c, o),
3 gru (z, r, h).

- Input and output kernels: model.kernel_initializer (sigma_w for gaussian and orthogonal), as for Dense layers.
- Recurrent kernels: orthogonal (Keras' default: a Haar (semi-)orthogonal matrix of the whole (units, G·units)
  shape, gain 1, so its rows are orthonormal), glorot_uniform (Keras' VarianceScaling of that shape),
  identity (simple cell only: I, Le et al. 2015's IRNN with relu), gaussian (N(0, 1/units) per entry, whose
  spectral radius tends to 1 as units grows: the circular law). spectral_radius (simple cell only) then
  rescales U to that largest |eigenvalue| (eigenvalues in float64, before the float32 cast).
- Biases: the bias initializer (sigma_b for gaussian) in Keras 3's shapes: simple (units,); lstm (4·units,)
  with Keras' unit_forget_bias (the forget block [units, 2·units) is 1; the input block is drawn as (units,),
  then the candidate and output blocks as (2·units,), as Keras concatenates them); gru (2, 3·units), the input
  and the recurrent bias of reset_after=True (gaussian draws N(0, σb²) per entry; Keras' fan-based
  initializers see the (2, 3·units) shape, as Keras does). The output bias is zero, as the MLP's.
"""
from __future__ import annotations

import numpy as np

from lab.science.initializers import (
    BIAS_STREAM,
    KERNEL_STREAM,
    RECURRENT_STREAM,
    VARIANCE_SCALING,
    gaussian,
    haar_orthogonal,
    initial_values,
    stream,
    variance_scaling,
)

CELLS = ("simple", "lstm", "gru")
GATES = {"simple": 1, "lstm": 4, "gru": 3}  # blocks of units in a cell's kernels: G
RECURRENT_INITIALIZERS = ("orthogonal", "glorot_uniform", "identity", "gaussian")
SIMPLE_ONLY_RECURRENT_INITIALIZERS = ("identity",)  # a gated cell's (units, G·units) kernel has no identity
MAX_SPECTRAL_RADIUS = 10.0


def recurrent_kernel(rng: np.random.Generator | None, cell: str, units: int, initializer: str,
                     spectral_radius: float | None) -> np.ndarray:
    """The (units, G·units) recurrent kernel U in float64, rescaled to spectral_radius when it is given (simple cell)."""
    shape = (units, GATES[cell] * units)
    if initializer == "orthogonal":
        values = haar_orthogonal(rng, shape)
    elif initializer == "glorot_uniform":
        values = variance_scaling(rng, shape, *VARIANCE_SCALING["glorot_uniform"])
    elif initializer == "gaussian":
        values = gaussian(rng, shape, 1.0)  # fan_in = units: N(0, 1/units)
    elif initializer == "identity" and cell == "simple":
        values = np.eye(units)
    else:
        raise ValueError(f"recurrent initializer {initializer!r} is not one for the {cell} cell; allowed: "
                         + ", ".join(name for name in RECURRENT_INITIALIZERS
                                     if cell == "simple" or name not in SIMPLE_ONLY_RECURRENT_INITIALIZERS))
    if spectral_radius is not None:
        values = rescaled_to_spectral_radius(values, spectral_radius)
    return values


def rescaled_to_spectral_radius(matrix: np.ndarray, spectral_radius: float) -> np.ndarray:
    """A square matrix times spectral_radius / max|eigenvalue| (float64): its largest |eigenvalue| becomes spectral_radius."""
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a spectral radius needs a square recurrent kernel (the simple cell's); got shape {matrix.shape}")
    if not 0 < spectral_radius <= MAX_SPECTRAL_RADIUS:
        raise ValueError(f"spectral_radius must be > 0 and at most {MAX_SPECTRAL_RADIUS:g}; got {spectral_radius!r}")
    current = float(np.max(np.abs(np.linalg.eigvals(matrix))))
    if current == 0.0:  # a nilpotent draw: no random initializer gives one, but a rescale must not divide by 0
        raise ValueError("the recurrent kernel has spectral radius 0, so it cannot be rescaled")
    return matrix * (spectral_radius / current)


def recurrent_bias(name, cell: str, units: int, rng: np.random.Generator | None, sigma_b: float) -> np.ndarray:
    """A recurrent layer's bias in Keras 3's shape (see the module's docstring), float32."""
    if cell == "simple":
        return initial_values(name, (units,), rng, sigma_b)
    if cell == "lstm":
        # Keras' unit_forget_bias: [bias_initializer((units,)), ones((units,)), bias_initializer((2·units,))].
        return np.concatenate([initial_values(name, (units,), rng, sigma_b), np.ones(units, np.float32),
                               initial_values(name, (2 * units,), rng, sigma_b)])
    if name == "gaussian":  # N(0, σb²) per entry: drawn flat, as gaussian reads a 2-D shape's first axis as fan_in
        return initial_values(name, (2 * 3 * units,), rng, sigma_b).reshape(2, 3 * units)
    return initial_values(name, (2, 3 * units), rng, sigma_b)


def recurrent_weights(cell: str, depth: int, units: int, num_features: int, output_units: int, kernel_initializer: str,
                      recurrent_initializer: str, spectral_radius: float | None, bias_initializer, seed: int,
                      sigma_w: float = 1.0, sigma_b: float = 0.0) -> list[np.ndarray]:
    """[kernel, recurrent_kernel, bias] per recurrent layer (depth of them), then the output kernel and bias; float32.

    Layer l (0-based) draws its kernel from stream (seed, l, KERNEL_STREAM), its recurrent kernel from
    (seed, l, RECURRENT_STREAM) and its bias from (seed, l, BIAS_STREAM); the output layer is l = depth.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    if spectral_radius is not None and cell != "simple":
        raise ValueError(f"spectral_radius is for the simple cell only (a {cell} cell's recurrent kernel is not square)")
    if kernel_initializer == "rai":
        raise ValueError("kernel initializer rai draws a Dense unit's weights and bias together; not for recurrent cells")
    gates = GATES[cell]
    weights = []
    for layer in range(depth):
        fan_in = num_features if layer == 0 else units
        weights.append(initial_values(kernel_initializer, (fan_in, gates * units),
                                      stream(kernel_initializer, seed, layer, KERNEL_STREAM), sigma_w))
        rng = None if recurrent_initializer == "identity" else np.random.default_rng([seed, layer, RECURRENT_STREAM])
        weights.append(recurrent_kernel(rng, cell, units, recurrent_initializer, spectral_radius).astype(np.float32))
        weights.append(recurrent_bias(bias_initializer, cell, units, stream(bias_initializer, seed, layer, BIAS_STREAM), sigma_b))
    weights.append(initial_values(kernel_initializer, (units, output_units),
                                  stream(kernel_initializer, seed, depth, KERNEL_STREAM), sigma_w))
    weights.append(np.zeros(output_units, np.float32))
    return weights
