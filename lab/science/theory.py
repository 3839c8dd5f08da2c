"""What theory predicts at initialisation: mean-field variance propagation and the born-dead bound.

Every prediction here is for a freshly initialised MLP as lab.training.models builds it (depth hidden Dense
layers of width units, then a logits layer of num_outputs units) fed standardised inputs (each
feature mean 0, variance 1). The propagation formulas are those of Glorot & Bengio (2010), He et al.
(2015, "Delving deep into rectifiers") and the mean-field papers of Poole et al. (2016) and
Schoenholz et al. (2017, "Deep information propagation"), and share their assumptions:

- infinite width: sums over a layer's units are replaced by their expectations;
- weights independent across entries, zero-mean and symmetric, with the variance of weight_variance;
- pre-activations Gaussian (a central-limit argument, exact only as width -> infinity);
- the backward pass treated as independent of the forward pass (as Schoenholz et al. assume):
  the W^T that carries gradients down is treated as a fresh draw, independent of the W used forward.

Narrow layers, a probe batch of finite size and any training at all move real runs away from them;
tests/test_theory.py measures how far. Pure numpy: importing this module never imports TensorFlow.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import pandas as pd

from lab.science.activations import DEFAULT_LEAKY_ALPHA, HIDDEN_ACTIVATIONS, derivative, value
from lab.science.initializers import KERNEL_INITIALIZERS, SIGMA_W_INITIALIZERS

# Quadrature for Gaussian expectations (see gaussian_expectation for why these numbers).
TAIL = 10.0  # standard deviations integrated on each side of the mean
PANEL_WIDTH = 0.25
NODES_PER_PANEL = 8
MAX_PANELS = 20_000  # reached only beyond variance 62 500: keeps one call to a few ms
SIGMOID_MAX_DERIVATIVE = 0.25
# Where an activation's value or derivative has a kink or jump other than (only) at 0: a panel edge each.
KINKS = {"hard_tanh": (-1.0, 0.0, 1.0)}


def _check_positive_int(name, number):
    """Raise ValueError unless number is an integer >= 1 (bools refused)."""
    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {number!r}")


def _check_finite(name, number, minimum=None):
    """Raise ValueError unless number is a finite real, at least minimum when one is given."""
    if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number; got {number!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {number!r}")


def covers(model_config, with_sigma=False) -> bool:
    """Whether these predictions describe this model: plain blocks (no normalisation, no skips) and a
    zero-mean variance-scaling kernel initializer (not rai, whose one positive-mean weight per unit breaks
    the symmetric-weight assumption).

    with_sigma: the caller passes the model's sigma_w and sigma_b (the latter for a gaussian bias) to
    predicted_profile / predicted_ratios, as lab.readings.theory_overlay does. Then gaussian and orthogonal
    kernels and a gaussian bias are covered too: σw sets the weight variance σw²/fan_in (kernel_variance)
    and σb² adds to every pre-activation's variance. Without it they are not (a caller that leaves σw, σb
    out would draw the σw = 1, σb = 0 profile for them). orthogonal is covered as mean field: its entries
    have gaussian's variance and the prediction treats them as independent, which they are not (a deep
    linear orthogonal net keeps every singular value of its Jacobian at 1, a Gaussian one does not:
    experiments/deep_linear_*.yaml); the mean squared quantities predicted here agree, the spread about
    them does not. Every hidden activation is covered: the expectations are taken numerically (linear
    gives E[f'²] = 1, hard_tanh has its kinks at ±1 as panel edges). The overlays draw no theory line
    where this is False. A recurrent network (model.kind rnn) is never covered: these are depth predictions for
    an MLP's blocks, not for steps in time (lab.readings.time_reading holds the recurrent theory)."""
    if getattr(model_config, "kind", "mlp") != "mlp":
        return False
    plain = model_config.normalization == "none" and model_config.residual_every == 0
    if with_sigma:
        return plain and model_config.kernel_initializer in KERNEL_INITIALIZERS + SIGMA_W_INITIALIZERS
    return (plain and model_config.kernel_initializer in KERNEL_INITIALIZERS
            and not (model_config.bias_initializer == "gaussian" and model_config.sigma_b > 0))


def kernel_variance(initializer, fan_in, fan_out, sigma_w=1.0) -> float:
    """Variance of one kernel entry: weight_variance, or σw²/fan_in for gaussian and orthogonal.

    gaussian draws N(0, σw²/fan_in). orthogonal is σw·√max(1, fan_out/fan_in) times a (semi-)orthogonal
    matrix whose entries have variance 1/max(fan_in, fan_out), so also σw²/fan_in (lab.science.initializers).
    """
    if initializer in SIGMA_W_INITIALIZERS:
        _check_positive_int("fan_in", fan_in)
        _check_positive_int("fan_out", fan_out)
        _check_finite("sigma_w", sigma_w, minimum=0.0)
        return sigma_w**2 / fan_in
    return weight_variance(initializer, fan_in, fan_out)


def weight_variance(initializer, fan_in, fan_out) -> float:
    """Variance of one kernel entry for a Keras initializer name (Glorot & Bengio 2010; He et al. 2015).

    glorot_uniform / glorot_normal: 2 / (fan_in + fan_out) (Glorot & Bengio 2010, the "normalized"
    initialisation); he_normal / he_uniform: 2 / fan_in (He et al. 2015, sect. 2.2); lecun_normal:
    1 / fan_in; classic: U(±1/sqrt(fan_in)), variance 1 / (3 fan_in) (Glorot & Bengio 2010, eq. 1).
    Keras' *_normal initializers (and lab.science.initializers, which draws the same distributions with
    numpy) use a normal truncated at two standard deviations whose standard deviation was first
    divided by 0.8796 (that of a unit normal truncated to [-2, 2]), so their variance equals the
    nominal one above; the uniform ones draw U(±sqrt(3 · variance)).
    """
    if initializer not in KERNEL_INITIALIZERS:
        raise ValueError(f"initializer must be one of {', '.join(KERNEL_INITIALIZERS)}; got {initializer!r}")
    _check_positive_int("fan_in", fan_in)
    _check_positive_int("fan_out", fan_out)
    if initializer in ("glorot_uniform", "glorot_normal"):
        return 2.0 / (fan_in + fan_out)
    if initializer in ("he_normal", "he_uniform"):
        return 2.0 / fan_in
    if initializer == "lecun_normal":
        return 1.0 / fan_in
    return 1.0 / (3.0 * fan_in)  # classic


@functools.lru_cache(maxsize=1)
def _legendre_rule():
    """Gauss-Legendre nodes and weights on [-1, 1], computed once."""
    from numpy.polynomial.legendre import leggauss

    return leggauss(NODES_PER_PANEL)


def gaussian_expectation(function, mean, variance, breakpoints=()) -> float:
    """E[function(z)] for z ~ N(mean, variance), by composite Gauss-Legendre quadrature.

    Integrates function(mean + s·x)·φ(x) over x in [-TAIL, TAIL] (the mass outside is below 1e-22)
    in panels no wider than 0.25 in z and in x, with an edge at every breakpoint. One global
    Gauss-Hermite rule (hermegauss, 100 nodes) was measured first and is not good enough here: a
    kink or jump between two nodes costs up to 0.06 on P(z > 0) when mean != 0 (a bias), and a
    saturating derivative like tanh'(z)² is missed by 4e-3 at variance 10 because it varies faster
    than the nodes are spaced. With the panels both errors are below 1e-13. function must accept
    and return numpy arrays; at variance 0 the expectation is function(mean).
    """
    if not callable(function):
        raise ValueError(f"function must be callable; got {function!r}")
    _check_finite("mean", mean)
    _check_finite("variance", variance, minimum=0.0)
    for point in breakpoints:
        _check_finite("breakpoint", point)
    spread = math.sqrt(variance)
    if spread == 0.0:
        return float(np.asarray(function(np.array([float(mean)])), dtype=np.float64)[0])
    # Panels narrow as the spread grows so that features of width ~1 in z (saturation) stay resolved.
    panel_count = min(MAX_PANELS, math.ceil(2.0 * TAIL / min(PANEL_WIDTH, PANEL_WIDTH / spread)))
    inner = [(point - mean) / spread for point in breakpoints if -TAIL < (point - mean) / spread < TAIL]
    edges = np.unique(np.concatenate([np.linspace(-TAIL, TAIL, panel_count + 1), inner]))
    nodes, weights = _legendre_rule()
    left, right = edges[:-1, None], edges[1:, None]
    x = 0.5 * (left + right) + 0.5 * (right - left) * nodes
    x_weights = 0.5 * (right - left) * weights * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    values = np.asarray(function(mean + spread * x), dtype=np.float64)
    return float(np.sum(x_weights * values))


def _check_profile_arguments(activation, depth, width, num_features, num_outputs, bias, leaky_alpha, sigma_b=0.0):
    """Raise ValueError naming the first invalid predicted_profile argument."""
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}; got {activation!r}")
    for name, number in (("depth", depth), ("width", width), ("num_features", num_features), ("num_outputs", num_outputs)):
        _check_positive_int(name, number)
    _check_finite("bias", bias)
    _check_finite("leaky_alpha", leaky_alpha, minimum=0.0)
    _check_finite("sigma_b", sigma_b, minimum=0.0)


def predicted_profile(
    activation, initializer, depth, width, num_features, num_outputs=1, bias=0.0, leaky_alpha=DEFAULT_LEAKY_ALPHA,
    *, sigma_w=1.0, sigma_b=0.0,
) -> pd.DataFrame:
    """Mean-field per-layer prediction at initialisation, one row per hidden layer (1 = nearest the input).

    Forward (Poole et al. 2016's length map, with a constant bias as the mean, not a random one):
    z_l ~ N(bias, q_l) with q_1 = σ²_1 · num_features (inputs have E[x_i²] = 1) and
    q_{l+1} = σ²_{l+1} · width · E[f(z_l)²]. Only the second moment of the layer's input matters
    because the weights have zero mean, so a ReLU's positive mean is counted in E[f(z)²].
    A random bias N(0, σb²) per unit (bias_initializer gaussian, sigma_b) is independent of the weights, so
    its variance adds to every layer's (Poole et al. 2016): q_1 = σ²_1 · num_features + σb² and
    q_{l+1} = σ²_{l+1} · width · E[f(z_l)²] + σb²; the backward pass reads it only through q.
    sigma_w scales the gaussian and orthogonal kernels (kernel_variance); the other initializers ignore it.

    Backward (Glorot & Bengio 2010; He et al. 2015, sect. 2.2; Schoenholz et al. 2017's χ_1):
    δ_l = f'(z_l) ⊙ (W_{l+1}^T δ_{l+1}), so with W_{l+1} independent of δ_{l+1},
    E||δ_l||² = χ_l · E||δ_{l+1}||² with signal_factor χ_l = width · σ²_{l+1} · E[f'(z_l)²], where
    σ²_{l+1} is the variance of the kernel that maps layer l's outputs onward. For l = depth that
    kernel is the output layer's (fan_in width, fan_out num_outputs) and δ_{depth+1} is the
    gradient at the logits, so χ_depth is E||δ_depth||² over E||logit gradient||².

    Columns: layer, preact_variance (q_l), signal_factor (χ_l), input_norm_squared
    (E||a_{l-1}||²: num_features for layer 1, width · E[f(z_{l-1})²] above), log10_signal_relative
    (log10 of preact_grad_rms of layer l over that of layer depth = 0.5 · Σ_{k=l}^{depth-1} log10 χ_k)
    and log10_grad_relative (log10 of grad_norm of layer l over layer depth, from
    ||dLoss/dW_l||² ≈ E||a_{l-1}||² · E||δ_l||²). The latter treats the kernel gradient as one
    sample's outer product a_{l-1} δ_l^T: it ignores that averaging over the probe batch shrinks each
    layer's gradient by a different amount (inputs are nearly orthogonal across samples, deep
    activations are not), so it is an approximation, weaker than the signal prediction.
    A step activation has f' = 0: χ = 0 and the relative logs are -inf below the last layer.
    """
    _check_profile_arguments(activation, depth, width, num_features, num_outputs, bias, leaky_alpha, sigma_b)
    hidden_variance = kernel_variance(initializer, width, width, sigma_w)
    output_variance = kernel_variance(initializer, width, num_outputs, sigma_w)
    bias_variance = float(sigma_b) ** 2
    square = lambda z: value(activation, z, leaky_alpha) ** 2  # noqa: E731
    slope_square = lambda z: derivative(activation, z, leaky_alpha) ** 2  # noqa: E731
    # Every lab activation is smooth except at 0 (step, ReLU, leaky, ELU, SELU) and hard_tanh's ±1: panel edges there.
    kinks = KINKS.get(activation, (0.0,))
    expect = lambda function, q: gaussian_expectation(function, bias, q, breakpoints=kinks)  # noqa: E731

    preact_variance = [kernel_variance(initializer, num_features, width, sigma_w) * num_features + bias_variance]
    input_norm_squared = [float(num_features)]
    signal_factor = []
    for layer in range(1, depth + 1):
        q = preact_variance[-1]
        output_norm_squared = width * expect(square, q)
        next_variance = hidden_variance if layer < depth else output_variance
        signal_factor.append(width * next_variance * expect(slope_square, q))
        if layer < depth:
            preact_variance.append(hidden_variance * output_norm_squared + bias_variance)
            input_norm_squared.append(output_norm_squared)

    # log10(0) = -inf is the honest answer for the step's zero derivative, not a warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_factor = np.log10(np.asarray(signal_factor))
        log_input = np.log10(np.asarray(input_norm_squared))
        # Suffix sums of log10 χ_k for k = l .. depth-1; layer depth's own χ links it to the logits only.
        signal_relative = 0.5 * np.concatenate([np.cumsum(log_factor[:-1][::-1])[::-1], [0.0]])
        # NaN (-inf minus -inf) when the forward signal itself dies, e.g. ReLU with bias -1: undefined.
        grad_relative = signal_relative + 0.5 * (log_input - log_input[-1])
    return pd.DataFrame(
        {
            "layer": np.arange(1, depth + 1),
            "preact_variance": preact_variance,
            "signal_factor": signal_factor,
            "input_norm_squared": input_norm_squared,
            "log10_signal_relative": signal_relative,
            "log10_grad_relative": grad_relative,
        }
    )


def predicted_ratios(
    activation, initializer, depth, width, num_features, num_outputs=1, bias=0.0, leaky_alpha=DEFAULT_LEAKY_ALPHA,
    *, sigma_w=1.0, sigma_b=0.0,
) -> dict:
    """First hidden layer over last, in log10: back-propagated signal (preact_grad_rms) and grad_norm."""
    profile = predicted_profile(activation, initializer, depth, width, num_features, num_outputs, bias, leaky_alpha,
                                sigma_w=sigma_w, sigma_b=sigma_b)
    first = profile.iloc[0]
    return {
        "log10_signal_ratio": float(first["log10_signal_relative"]),
        "log10_grad_ratio": float(first["log10_grad_relative"]),
    }


def sigmoid_signal_bound(depth, width, initializer, num_features) -> float:
    """log10 of an upper bound on a sigmoid net's predicted signal ratio (layer 1 over layer depth).

    sigmoid'(z) <= 1/4 everywhere, so χ_l = width · σ² · E[sigmoid'(z)²] <= width · σ² / 16 whatever
    the pre-activations, and the ratio is at most (width · σ² / 16)^((depth - 1) / 2): a floor on the
    decay that no bias or input scaling can beat. It bounds E||δ_l||² under the assumption that
    the backward pass is independent of the forward pass, not each random draw: a single
    narrow net can exceed it by its own finite-width fluctuation. Only hidden-to-hidden kernels
    (width by width) enter the chain from layer depth down to layer 1, so num_features, accepted
    for symmetry with predicted_ratios, is validated but does not change the bound.
    """
    _check_positive_int("depth", depth)
    _check_positive_int("width", width)
    _check_positive_int("num_features", num_features)
    factor = width * weight_variance(initializer, width, width) * SIGMOID_MAX_DERIVATIVE**2
    return 0.5 * (depth - 1) * math.log10(factor)


def born_dead_bound(width, depth) -> float:
    """Upper bound on P(some hidden ReLU layer is entirely dead on the probe) at initialisation.

    Fix an input x != 0, zero biases, weights symmetric about 0 and continuous (every lab kernel
    initializer). A unit whose layer input a != 0 has z = w · a, which is symmetric and non-zero
    almost surely, so relu(z) = 0 with probability exactly 1/2, independently across the layer's
    units given a (their weight rows are independent): the layer is all-zero at x with probability
    exactly 2^-width. Once a layer is all-zero at x every layer above is too (zero input, zero
    bias), so P(some hidden layer is all-zero at x) = 1 - (1 - 2^-width)^depth exactly.
    The lab's dead_fraction is "dead on the probe" (output 0 for EVERY probe sample), and a layer
    dead on a probe containing x is all-zero at x, hence the bound; more probe samples can only
    make death rarer. Not covered: a non-zero constant bias (bias -1 makes death far likelier),
    random biases, asymmetric initialisations, leaky ReLU (never exactly zero), any training.
    Lu, Shin, Su & Karniadakis ("Dying ReLU and Initialization: Theory and Numerical Examples",
    Commun. Comput. Phys. 28(5), 2020; arXiv:1903.06733) prove that a deep ReLU network of fixed
    width dies in probability as depth -> infinity when initialised from symmetric distributions,
    and design a randomized asymmetric initialisation (RAI) that lowers that probability.
    """
    _check_positive_int("width", width)
    _check_positive_int("depth", depth)
    # -expm1(depth * log1p(-p)) keeps precision when 2^-width is tiny (wide layers).
    return float(-math.expm1(depth * math.log1p(-(2.0 ** -width))))


def born_dead_curve(widths, depths) -> pd.DataFrame:
    """born_dead_bound on the grid widths x depths, as a tidy frame (width, depth, bound) for plotting."""
    rows = [(width, depth, born_dead_bound(width, depth)) for width in widths for depth in depths]
    return pd.DataFrame(rows, columns=["width", "depth", "bound"])


def bias_value(value) -> float:
    """A constant bias as a number; named bias initializers are zero or small random: treated as 0."""
    return value if isinstance(value, float) else 1.0 if value == "ones" else 0.0
