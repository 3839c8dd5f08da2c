"""Activation functions, their derivatives and Keras equivalents for gradient analysis."""

import math
import numbers

import numpy as np

# linear (identity: a deep linear network), hard_tanh and softsign came with issue #13 (signal propagation).
HIDDEN_ACTIVATIONS = (
    "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "linear", "hard_tanh", "softsign",
)
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")
# Keras' own leaky-ReLU defaults differ (keras.activations.leaky_relu and keras.ops use
# negative_slope=0.2, keras.layers.LeakyReLU uses 0.3); this lab uses the classic 0.01.
DEFAULT_LEAKY_ALPHA = 0.01

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772

# Activations whose derivative tends to 0 in some region of the input. relu's zero region is
# "dead" rather than saturated, and step's derivative is zero everywhere, so both are excluded; linear's
# derivative is 1 everywhere. hard_tanh's is exactly 0 beyond |x| = 1, softsign's 1/(1+|x|)² decays slowly.
SATURATING = frozenset({"sigmoid", "tanh", "elu", "selu", "gelu", "swish", "hard_tanh", "softsign"})

# Names keras_activation accepts: every hidden activation plus the output-only softmax.
KERAS_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)


def check_name(name, allowed):
    """Raise ValueError unless name is one of the allowed activation names."""
    if name not in allowed:
        raise ValueError(f"activation must be one of {', '.join(allowed)}; got {name!r}")


def check_alpha(alpha):
    """Raise ValueError unless alpha is a finite non-negative leaky-ReLU slope."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}")


def _sigmoid(x):
    """Return the logistic sigmoid, computed without overflow for large |x|."""
    # exp(-|x|) never overflows; the two branches are algebraically equal forms of 1/(1+exp(-x)).
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


def _normal_cdf(x):
    """Return the standard normal cumulative distribution function Phi(x)."""
    # Lazy import keeps `import lab` fast; erfc avoids the cancellation in 1 + erf(x) for x << 0.
    from scipy.special import erfc

    return 0.5 * erfc(-x / math.sqrt(2.0))


def _normal_pdf(x):
    """Return the standard normal density phi(x)."""
    # phi underflows to 0 well before |x| = 40; clipping stops x * x overflowing for huge |x|.
    clipped = np.clip(x, -40.0, 40.0)
    return np.exp(-0.5 * clipped * clipped) / math.sqrt(2.0 * math.pi)


def value(name, x, alpha=DEFAULT_LEAKY_ALPHA):
    """Return the activation `name` applied elementwise to x as a float64 array."""
    check_name(name, HIDDEN_ACTIVATIONS)
    check_alpha(alpha)
    x = np.asarray(x, dtype=np.float64)
    # np.minimum(x, 0) inside exp/expm1 stops the unused branch of np.where overflowing.
    if name == "step":
        return (x > 0).astype(np.float64)
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "gelu":
        return x * _normal_cdf(x)
    if name == "linear":
        return x.copy()
    if name == "hard_tanh":
        return np.clip(x, -1.0, 1.0)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    return x * _sigmoid(x)  # swish


def derivative(name, x, alpha=DEFAULT_LEAKY_ALPHA):
    """Return the derivative of activation `name` at x as a float64 array (TF's value at kinks)."""
    check_name(name, HIDDEN_ACTIVATIONS)
    check_alpha(alpha)
    x = np.asarray(x, dtype=np.float64)
    # At x == 0 we return what tf.GradientTape returns (relu 0, leaky alpha, elu 1, selu scale)
    # so that numpy-based and TensorFlow-based gradient measurements agree exactly.
    if name == "step":
        return np.zeros_like(x)
    if name == "sigmoid":
        # sigmoid(-x) == 1 - sigmoid(x) but keeps precision where sigmoid(x) is close to 1.
        return _sigmoid(x) * _sigmoid(-x)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, float(alpha))
    if name == "elu":
        return np.where(x >= 0, 1.0, np.exp(np.minimum(x, 0.0)))
    if name == "selu":
        return np.where(x >= 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if name == "gelu":
        return _normal_cdf(x) + x * _normal_pdf(x)
    if name == "linear":
        return np.ones_like(x)
    if name == "hard_tanh":
        # tf.clip_by_value passes the gradient on the closed interval: 1 at x = ±1 too.
        return (np.abs(x) <= 1.0).astype(np.float64)
    if name == "softsign":
        return (1.0 / (1.0 + np.abs(x))) ** 2  # squared after dividing: (1 + |x|)² overflows for huge x
    sigmoid_x = _sigmoid(x)  # swish: d/dx x*s(x) = s(x) + x*s(x)*(1 - s(x))
    return sigmoid_x + x * sigmoid_x * _sigmoid(-x)


def _swish_peak_location():
    """Return the x > 0 where swish' peaks, i.e. the root of x * tanh(x / 2) = 2."""
    # swish''(x) = s(1-s) * (2 + x(1 - 2s)) and 2s - 1 = tanh(x/2); Newton converges in a few steps.
    x = 2.4
    for _ in range(50):
        tanh_half = math.tanh(x / 2.0)
        step = (x * tanh_half - 2.0) / (tanh_half + 0.5 * x * (1.0 - tanh_half**2))
        x -= step
        if abs(step) < 1e-15:
            break
    return x


def max_derivative(name, alpha=DEFAULT_LEAKY_ALPHA):
    """Return the supremum over x of |f'(x)| for activation `name`."""
    check_name(name, HIDDEN_ACTIVATIONS)
    check_alpha(alpha)
    if name == "step":
        return 0.0
    if name == "sigmoid":
        return 0.25
    if name in ("tanh", "relu", "elu", "linear", "hard_tanh", "softsign"):
        return 1.0
    if name == "leaky_relu":
        return max(1.0, float(alpha))
    if name == "selu":
        # Not attained: the limit of scale*alpha*exp(x) as x -> 0 from the left (~1.7581).
        return SELU_SCALE * SELU_ALPHA
    if name == "gelu":
        # gelu''(x) = phi(x) * (2 - x^2) vanishes at x = sqrt(2), giving Phi(sqrt 2) + e^-1/sqrt(pi)
        # ~ 1.1289; the minimum, at -sqrt(2), is only ~ -0.129, so this is the supremum of |f'|.
        return 0.5 * (1.0 + math.erf(1.0)) + math.exp(-1.0) / math.sqrt(math.pi)
    # swish: maximum at the root x* ~ 2.3994 of x tanh(x/2) = 2 (~1.0998); the minimum at -x* is
    # 1 - swish'(x*) ~ -0.0998, so the positive peak is the supremum of |f'|.
    return float(derivative("swish", _swish_peak_location()))


def saturated_mask(name, z, alpha=DEFAULT_LEAKY_ALPHA, threshold=0.05):
    """Return a boolean array marking pre-activations z where |f'(z)| < threshold * max |f'|."""
    if name not in SATURATING:
        raise ValueError(
            f"saturated_mask needs a saturating activation, one of {', '.join(sorted(SATURATING))}; got {name!r}"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a number in (0, 1]; got {threshold!r}")
    return np.abs(derivative(name, z, alpha)) < threshold * max_derivative(name, alpha)


def softmax(logits, temperature=1.0, axis=-1):
    """Return softmax(logits / temperature) along axis as float64, stable for large logits."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not (
        math.isfinite(temperature) and temperature > 0
    ):
        raise ValueError(f"temperature must be a finite number > 0; got {temperature!r}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    # Subtracting the max leaves the result unchanged but keeps every exponent <= 0.
    exponentials = np.exp(scaled - np.max(scaled, axis=axis, keepdims=True))
    return exponentials / np.sum(exponentials, axis=axis, keepdims=True)
