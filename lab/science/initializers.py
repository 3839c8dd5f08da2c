"""Initial weights drawn with numpy from explicit seeds, following Keras' initializer conventions.

Why not Keras' own initializers: a sweep at initialisation re-initialises one built model for thousands
of seeds, and drawing 40 tensors through eager TensorFlow ops cost ~25 ms a seed, more than measuring
the network. Numpy draws the same distributions in microseconds, from a numpy Generator seeded per
run, layer and tensor, so the weights depend on nothing but the config. The distributions follow Keras'
definitions (VarianceScaling): uniform limits sqrt(3·scale/n); normal variants are truncated at two
standard deviations and rescaled by 0.8796 so their variance is scale/n.

rai is the randomized asymmetric initialisation of Lu, Shin, Su & Karniadakis (2019, "Dying ReLU and
Initialization: Theory and Numerical Examples", arXiv:1903.06733), see rai_layer.

gaussian and orthogonal (issue #13, signal propagation) are the mean-field papers' initialisations, scaled by
model.sigma_w: N(0, σw²/fan_in) (Poole et al. 2016; Schoenholz et al. 2017), and σw times a Haar-random
(semi-)orthogonal matrix (Saxe et al. 2014; Pennington et al. 2017), see orthogonal. The bias initializer
gaussian draws N(0, σb²) (model.sigma_b).
"""
from __future__ import annotations

import numpy as np

# Zero-mean initializers that scale a variance (the ones lab.science.theory's mean-field predictions cover).
KERNEL_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "classic")
# rai (Lu et al. 2019) is asymmetric: one positive-mean weight per unit (see lab.science.initializers.rai_layer).
ASYMMETRIC_INITIALIZERS = ("rai",)
# Scaled by model.sigma_w (the only kernel initializers that read it): N(0, σw²/fan_in), and orthogonal.
SIGMA_W_INITIALIZERS = ("gaussian", "orthogonal")
# What model.kernel_initializer accepts; new names go at the end (the form and docs list them in this order).
KERNEL_INITIALIZER_NAMES = KERNEL_INITIALIZERS + ASYMMETRIC_INITIALIZERS + SIGMA_W_INITIALIZERS
BIAS_INITIALIZER_NAMES = (
    "zeros", "ones", "random_normal", "random_uniform",
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
    "gaussian",  # N(0, σb²), scaled by model.sigma_b
)
DEFAULT_SIGMA_W = 1.0
DEFAULT_SIGMA_B = 0.0

# Keras' VarianceScaling: (scale, mode, distribution) per kernel initializer name.
VARIANCE_SCALING = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    # U(±1/sqrt(fan_in)): the "standard" initialisation of Glorot & Bengio (2010), eq. 1.
    "classic": (1.0 / 3.0, "fan_in", "uniform"),
}
TRUNCATED_NORMAL_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]
SMALL_RANDOM_SCALE = 0.05  # Keras' RandomNormal stddev and RandomUniform limit

# RAI (Lu et al. 2019): the symmetric entries are N(0, RAI_SIGMA² / fan_in); one entry per unit is drawn
# from Beta(RAI_BETA) instead, whose mean 2/3 is what keeps the unit from being born dead. 0.6007 and
# Beta(2, 1) are the values two independent public reimplementations of the paper use (one cites
# arXiv:1903.06733 for them); the paper's own text could not be consulted when this was written.
RAI_SIGMA = 0.6007
RAI_BETA = (2.0, 1.0)
# Stream tensor keys: 0 kernel (or RAI's joint kernel and bias), 1 bias, 2 a skip connection's projection,
# 3 a recurrent layer's recurrent kernel (lab.science.recurrent_initializers).
KERNEL_STREAM, BIAS_STREAM, PROJECTION_STREAM, RECURRENT_STREAM = 0, 1, 2, 3


def truncated_normal(rng: np.random.Generator, shape: tuple, stddev: float) -> np.ndarray:
    """Normal draws with |x| <= 2·stddev (redrawn until inside), as Keras' truncated normal."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev


def variance_scaling(rng: np.random.Generator, shape: tuple, scale: float, mode: str, distribution: str) -> np.ndarray:
    """Keras' VarianceScaling for a (fan_in, fan_out) kernel or a 1-D bias (fan = its length)."""
    fan_in, fan_out = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], shape[0])
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, fan)
    if distribution == "uniform":
        limit = np.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, size=shape)
    return truncated_normal(rng, shape, np.sqrt(variance) / TRUNCATED_NORMAL_STD)


def gaussian(rng: np.random.Generator, shape: tuple, sigma: float) -> np.ndarray:
    """N(0, σ²/fan_in) for a (fan_in, fan_out) kernel; N(0, σ²) for a 1-D bias (float64)."""
    fan_in = shape[0] if len(shape) == 2 else 1
    # + 0.0 turns the -0.0 that σ = 0 gives a negative draw into 0.0.
    return rng.standard_normal(shape) * (sigma / np.sqrt(fan_in)) + 0.0


def orthogonal(rng: np.random.Generator, shape: tuple, sigma: float) -> np.ndarray:
    """σ·sqrt(max(1, fan_out/fan_in)) times a Haar-random (semi-)orthogonal (fan_in, fan_out) kernel (float64).

    As Keras' Orthogonal: the QR decomposition of a Gaussian (max, min) matrix, Q's columns multiplied by
    sign(diag(R)) (which makes Q Haar-distributed), transposed when the layer widens. Orthonormal columns
    (fan_out <= fan_in) give E[z_i²] = ||x||²/fan_in; orthonormal rows (widening) only ||x||²/fan_out, so
    the factor sqrt(fan_out/fan_in) restores E[z_i²] = σ²||x||²/fan_in, the same as gaussian's (Keras'
    Orthogonal(gain) alone would leave a widening first layer's pre-activations fan_in/fan_out too small).
    """
    fan_in, fan_out = shape
    return haar_orthogonal(rng, shape) * (sigma * np.sqrt(max(1.0, fan_out / fan_in)))


def haar_orthogonal(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """A Haar-random (fan_in, fan_out) matrix with orthonormal columns, or rows when it widens (float64, gain 1).

    Keras' Orthogonal with gain 1 (also the recurrent kernels' default, lab.science.recurrent_initializers).
    """
    fan_in, fan_out = shape
    matrix = rng.standard_normal((max(fan_in, fan_out), min(fan_in, fan_out)))
    q, r = np.linalg.qr(matrix)
    q = q * np.sign(np.diag(r))
    return q.T if fan_in < fan_out else q


def initial_values(name, shape: tuple, rng: np.random.Generator | None, sigma: float = 1.0) -> np.ndarray:
    """float32 initial values for a kernel or bias initializer name (or a constant number).

    sigma scales gaussian and orthogonal only (model.sigma_w for a kernel, model.sigma_b for a bias).
    """
    if isinstance(name, float):
        values = np.full(shape, name)
    elif name in ("zeros", "ones"):
        values = np.full(shape, 0.0 if name == "zeros" else 1.0)
    elif name == "random_normal":
        values = rng.normal(0.0, SMALL_RANDOM_SCALE, size=shape)
    elif name == "random_uniform":
        values = rng.uniform(-SMALL_RANDOM_SCALE, SMALL_RANDOM_SCALE, size=shape)
    elif name in VARIANCE_SCALING:
        values = variance_scaling(rng, shape, *VARIANCE_SCALING[name])
    elif name == "gaussian":
        values = gaussian(rng, shape, sigma)
    elif name == "orthogonal" and len(shape) == 2:
        values = orthogonal(rng, shape, sigma)
    elif name == "rai":
        raise ValueError("rai draws a layer's kernel and bias together: use rai_layer (network_weights does)")
    else:
        raise ValueError(f"unknown initializer {name!r}; allowed: zeros, ones, a number, random_normal, "
                         f"random_uniform, {', '.join(VARIANCE_SCALING)}, gaussian, orthogonal (kernels only)")
    return values.astype(np.float32)


def rai_symmetric(rng: np.random.Generator, shape: tuple, fan_in: int) -> np.ndarray:
    """RAI's symmetric part: N(0, RAI_SIGMA² / fan_in) draws (float64)."""
    return rng.standard_normal(shape) * (RAI_SIGMA / np.sqrt(fan_in))


def rai_layer(rng: np.random.Generator, kernel_shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of one Dense layer by randomized asymmetric initialisation (Lu et al. 2019).

    Each unit's incoming parameters, its fan_in weights and its bias, form one vector of fan_in + 1
    entries drawn N(0, RAI_SIGMA² / fan_in); then one entry, chosen uniformly (the bias included), is
    replaced by a Beta(2, 1) draw. That positive-mean entry makes the unit's pre-activation positive
    for many inputs, where a symmetric draw leaves a narrow deep ReLU net likely to have units, or whole
    layers, that output 0 for every input (dead at birth).
    """
    fan_in, units = kernel_shape
    joint = rai_symmetric(rng, (fan_in + 1, units), fan_in)
    chosen = rng.integers(0, fan_in + 1, size=units)
    joint[chosen, np.arange(units)] = rng.beta(*RAI_BETA, size=units)
    return joint[:-1].astype(np.float32), joint[-1].astype(np.float32)


def network_weights(shapes: list[tuple[tuple, tuple]], kernel_initializer: str, bias_initializer, seed: int,
                    sigma_w: float = DEFAULT_SIGMA_W, sigma_b: float = DEFAULT_SIGMA_B) -> list[np.ndarray]:
    """[kernel 1, bias 1, ..., output kernel, output bias] for Dense layers of the given (kernel, bias) shapes.

    Each tensor has its own Generator stream, keyed by (seed, layer, kernel|bias): changing the depth
    leaves the first layers' weights unchanged. The output bias is always zero (see lab.training.models).
    With rai the hidden layers draw kernel and bias together (rai_layer) from the kernel's stream; the
    output layer, which feeds no ReLU and keeps its zero bias, gets RAI's symmetric part only.
    The output kernel follows the hidden layers' rule, as for every other initializer: with gaussian or
    orthogonal it is scaled by sigma_w too, so the logits' variance is σw² times the last layer's mean
    squared output, the mean-field papers' readout (and orthogonal's narrowing output kernel has
    orthonormal columns times σw). sigma_w and sigma_b scale only gaussian and orthogonal.
    """
    weights = []
    last = len(shapes) - 1
    for index, (kernel_shape, bias_shape) in enumerate(shapes):
        rng = stream(kernel_initializer, seed, index, KERNEL_STREAM)
        if kernel_initializer == "rai" and index < last:
            weights += rai_layer(rng, kernel_shape)
            continue
        if kernel_initializer == "rai":
            weights.append(rai_symmetric(rng, kernel_shape, kernel_shape[0]).astype(np.float32))
        else:
            weights.append(initial_values(kernel_initializer, kernel_shape, rng, sigma_w))
        bias = 0.0 if index == last else bias_initializer
        weights.append(initial_values(bias, bias_shape, stream(bias, seed, index, BIAS_STREAM), sigma_b))
    return weights


def projection_kernel(shape: tuple, seed: int, layer: int) -> np.ndarray:
    """The kernel of a skip connection's linear projection into layer's block (0-based), lecun_normal.

    Variance 1/fan_in keeps the projected input's second moment that of the input, as an identity
    skip would; its stream (seed, layer, PROJECTION_STREAM) leaves every Dense layer's weights unchanged.
    """
    return initial_values("lecun_normal", shape, stream("lecun_normal", seed, layer, PROJECTION_STREAM))


def stream(name, seed: int, layer: int, tensor: int) -> np.random.Generator | None:
    """The tensor's own Generator; None for constants, which draw nothing (a Generator costs ~20 us)."""
    if isinstance(name, float) or name in ("zeros", "ones"):
        return None
    return np.random.default_rng([seed, layer, tensor])
