"""Mean-field signal propagation: the length and correlation maps, their fixed points and depth scales.

A deep random network with weights N(0, σw²/fan_in) and biases N(0, σb²), in the infinite-width limit
(Poole et al. 2016; Schoenholz et al. 2017; Pennington, Schoenholz & Ganguli 2017):

- length map: q_{l+1} = σw² E[φ(√q_l z)²] + σb², z ~ N(0, 1); q_star is the fixed point reached from q = 1;
- chi_1 = σw² E[φ′(√q* z)²]: the factor by which a squared gradient changes per layer;
- correlation map: c_{l+1} = (σw² E[φ(u₁)φ(u₂)] + σb²) / q*, u₁ = √q* z₁, u₂ = √q* (c z₁ + √(1−c²) z₂);
  c_star is the fixed point reached from c = C_START; chi_c = σw² E[φ′(u₁)φ′(u₂)] at c*;
- xi_c = −1/ln chi_c and xi_grad = 1/|ln chi_1|: the depth scales (inf where the chi is 1).

Expectations use composite Gauss–Legendre panels (docs/theory.md, "Signal propagation: mean field").
numpy and scipy only.
"""
from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from lab.science import activations

# Activations another part of the lab may not define yet: their φ and φ′ are written here.
EXTRA_ACTIVATIONS = ("linear", "hard_tanh", "softsign")
# Where φ or φ′ jumps or kinks (in x = pre-activation): panel edges there keep the rule exact.
BREAKPOINTS = {
    "step": (0.0,), "relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,), "selu": (0.0,),
    "hard_tanh": (-1.0, 1.0), "softsign": (0.0,),
}
C_START = 0.5  # the correlation the correlation map is iterated from (c = 1 is always a fixed point)
Z_LIMIT = 10.0  # standard deviations integrated on each side (the mass outside is below 2e-23)
PANEL = 2.0  # the widest panel, both in z and in x (features of φ such as saturation have width ~1 in x)
X_LIMIT = 10.0  # beyond |x| = 10 every activation is linear or constant to double precision
NODES = 12  # Gauss-Legendre nodes per panel
Q_MAX = 1e12  # a length map still growing here diverges
Q_MIN = 1e-300  # a length map still shrinking here goes to 0
_TOLERANCE = 1e-12  # relative: a length map this close to the identity at q = 1 leaves q = 1 fixed
C_TOLERANCE = 1e-13  # absolute, on c* (without it Brent chases the root c* = 0 of an odd φ down to 1e-300)


@dataclass(frozen=True)
class MeanField(Mapping):
    """The mean-field fixed points and depth scales of one (activation, σw, σb); also a read-only dict."""

    activation: str
    sigma_w: float
    sigma_b: float
    leaky_alpha: float
    q_star: float
    chi_1: float
    c_star: float
    chi_c: float
    xi_c: float
    xi_grad: float

    def __getitem__(self, key):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    @classmethod
    def _names(cls):
        return tuple(field.name for field in fields(cls))


def supported_activations():
    """The activation names mean_field accepts: the lab's hidden activations and EXTRA_ACTIVATIONS."""
    known = tuple(activations.HIDDEN_ACTIVATIONS)
    return known + tuple(name for name in EXTRA_ACTIVATIONS if name not in known)


def phi(name, x, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """φ(x) as float64: lab.science.activations.value where it defines name, else this module's own."""
    if name in activations.HIDDEN_ACTIVATIONS:
        return activations.value(name, x, leaky_alpha)
    x = np.asarray(x, dtype=np.float64)
    if name == "linear":
        return x
    if name == "hard_tanh":
        return np.clip(x, -1.0, 1.0)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    raise ValueError(f"activation must be one of {', '.join(supported_activations())}; got {name!r}")


def phi_prime(name, x, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """φ′(x) as float64: lab.science.activations.derivative where it defines name, else this module's own."""
    if name in activations.HIDDEN_ACTIVATIONS:
        return activations.derivative(name, x, leaky_alpha)
    x = np.asarray(x, dtype=np.float64)
    if name == "linear":
        return np.ones_like(x)
    if name == "hard_tanh":
        return (np.abs(x) <= 1.0).astype(np.float64)  # TensorFlow's clip passes the gradient at ±1 too
    if name == "softsign":
        return (1.0 / (1.0 + np.abs(x))) ** 2  # squared after dividing: (1 + |x|)² overflows for huge x
    raise ValueError(f"activation must be one of {', '.join(supported_activations())}; got {name!r}")


@functools.lru_cache(maxsize=1)
def _legendre():
    """Gauss-Legendre nodes and weights on [-1, 1], computed once."""
    return np.polynomial.legendre.leggauss(NODES)


def _rule(edges):
    """Nodes and weights (last axis) of the composite rule on sorted panel edges (last axis), times N(0,1)."""
    nodes, weights = _legendre()
    left, right = edges[..., :-1, None], edges[..., 1:, None]
    z = 0.5 * (left + right) + 0.5 * (right - left) * nodes
    w = 0.5 * (right - left) * weights * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    shape = edges.shape[:-1] + (-1,)
    return z.reshape(shape), w.reshape(shape)


def _edges(mean, spread, breakpoints):
    """Panel edges in z for x = mean + spread·z (mean may be an array): the z grid, the x grid, the kinks."""
    mean = np.asarray(mean, dtype=np.float64)[..., None]
    z_grid = np.arange(-Z_LIMIT, Z_LIMIT + PANEL / 2, PANEL)
    z_grid = np.broadcast_to(z_grid, mean.shape[:-1] + z_grid.shape)
    x_points = np.concatenate([np.arange(-X_LIMIT, X_LIMIT + PANEL / 2, PANEL), np.asarray(breakpoints, float)])
    mapped = np.clip((x_points - mean) / spread, -Z_LIMIT, Z_LIMIT)
    return np.sort(np.concatenate([z_grid, mapped], axis=-1), axis=-1)


def expectation(function, q, breakpoints=()):
    """E[function(√q z)], z ~ N(0, 1), for a vectorised function; breakpoints (in x) get panel edges."""
    if q == 0.0:
        return float(np.asarray(function(np.zeros(1)))[0])
    spread = math.sqrt(q)
    z, w = _rule(_edges(0.0, spread, breakpoints))
    return float(np.dot(w, function(spread * z)))


def joint_expectation(function_1, function_2, q, c, breakpoints=()):
    """E[f₁(u₁) f₂(u₂)], u₁ = √q z₁, u₂ = √q (c z₁ + √(1−c²) z₂): the inner z₂ rule has edges at u₂'s kinks."""
    spread = math.sqrt(q)
    s = math.sqrt(max(0.0, 1.0 - c * c))
    if s == 0.0:  # c = ±1: u₂ = c·u₁
        return expectation(lambda x: function_1(x) * function_2(c * x), q, breakpoints)
    # Near c = ±1 the inner integral jumps from one side of a kink to the other within ~s/|c| in z₁:
    # outer edges there resolve it (without them a step's E[φφ] is off by 2e-4 at c = 0.999999).
    centres = np.asarray(breakpoints, dtype=np.float64) / (abs(c) * spread) if c != 0 else np.zeros(0)
    steps = (s / max(abs(c), 1e-300)) * np.array([-16.0, -6.0, -2.0, -0.5, 0.5, 2.0, 6.0, 16.0])
    extra = np.clip((np.sign(c) * centres[:, None] + steps).ravel(), -Z_LIMIT, Z_LIMIT) if s < 0.5 else ()
    z_1, w_1 = _rule(np.sort(np.concatenate([_edges(0.0, spread, breakpoints), extra])))
    u_1 = spread * z_1
    z_2, w_2 = _rule(_edges(c * u_1, spread * s, breakpoints))
    inner = np.sum(w_2 * function_2(c * u_1[:, None] + spread * s * z_2), axis=1)
    return float(np.dot(w_1, function_1(u_1) * inner))


def length_map(activation, q, sigma_w, sigma_b, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """q_{l+1} = σw² E[φ(√q z)²] + σb²."""
    breaks = BREAKPOINTS.get(activation, ())
    return sigma_w**2 * expectation(lambda x: phi(activation, x, leaky_alpha) ** 2, q, breaks) + sigma_b**2


def correlation_map(activation, c, q, sigma_w, sigma_b, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """c_{l+1} = (σw² E[φ(u₁)φ(u₂)] + σb²) / q, at the length q (the fixed point q* in the theory)."""
    function = functools.partial(phi, activation, leaky_alpha=leaky_alpha)
    product = joint_expectation(function, function, q, c, BREAKPOINTS.get(activation, ()))
    return (sigma_w**2 * product + sigma_b**2) / q


def _check(activation, sigma_w, sigma_b, leaky_alpha):
    """Raise ValueError naming the first invalid argument of mean_field."""
    if activation not in supported_activations():
        raise ValueError(f"activation must be one of {', '.join(supported_activations())}; got {activation!r}")
    for name, number in (("sigma_w", sigma_w), ("sigma_b", sigma_b)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number) or number < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {number!r}")
    activations.check_alpha(leaky_alpha)


def _root(function, low, high, absolute=1e-300):
    """The root of function between low and high (function(low), function(high) of opposite signs)."""
    from scipy.optimize import brentq

    return brentq(function, low, high, xtol=absolute, rtol=4 * np.finfo(float).eps, maxiter=200)


def q_star(activation, sigma_w, sigma_b, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """The fixed point of the length map reached by iterating from q = 1: 0, finite, or inf (divergence).

    The map is increasing in q for every activation here, so the iterates move monotonically to the
    nearest fixed point on the side the first step goes: found by doubling (or halving) q, then Brent.
    """
    _check(activation, sigma_w, sigma_b, leaky_alpha)

    def excess(q):
        return length_map(activation, q, sigma_w, sigma_b, leaky_alpha) - q

    start = excess(1.0)
    if abs(start) <= _TOLERANCE:
        return 1.0
    q, factor, limit = 1.0, (2.0 if start > 0 else 0.125), (Q_MAX if start > 0 else Q_MIN)
    while (q < limit) if start > 0 else (q > limit):
        previous, q = q, q * factor
        value = excess(q)
        if value == 0:
            return q
        if (value < 0) == (start > 0):
            return _root(excess, min(previous, q), max(previous, q))
    return math.inf if start > 0 else 0.0


def chi_1(activation, sigma_w, q, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """σw² E[φ′(√q z)²]; at q = 0 and q = inf its limits, σw² (φ′(a)² + φ′(−a)²) / 2 for a → 0+ or +∞."""
    if q == 0.0 or math.isinf(q):  # a one-sided limit: relu's χ1 is σw²/2 at every q, also as q → 0
        ends = phi_prime(activation, np.array([1e6, -1e6] if q else [1e-300, -1e-300]), leaky_alpha)
        return float(sigma_w**2 * np.mean(ends**2))
    breaks = BREAKPOINTS.get(activation, ())
    return sigma_w**2 * expectation(lambda x: phi_prime(activation, x, leaky_alpha) ** 2, q, breaks)


def c_star(activation, sigma_w, sigma_b, q, chi_one, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """The fixed point of the correlation map reached by iterating from C_START (nan unless 0 < q < inf).

    The map is increasing and convex on [0, 1] (a power series in c with non-negative coefficients), so
    above the start the iterates reach c = 1 when its slope there, chi_1 for a continuous φ, is <= 1, and
    the one fixed point below 1 otherwise (the step's slope at 1 is infinite: it always has one);
    below the start they reach the largest fixed point under it (the map at c = −1 is >= −1). This
    needs a fixed point with 0 < q < inf.
    """
    if not 0.0 < q < math.inf:
        return math.nan

    def excess(c):
        return correlation_map(activation, c, q, sigma_w, sigma_b, leaky_alpha) - c

    start = excess(C_START)
    if start == 0.0:
        return C_START
    if start < 0:
        return _largest_root_below(excess, C_START)
    if chi_one <= 1.0 and activation != "step":  # the map's slope at c = 1 is chi_1 where φ is continuous
        return 1.0
    for gap in 10.0 ** -np.arange(1, 9):  # a point below 1 where the map is under the diagonal
        if excess(1.0 - gap) < 0:
            return _root(excess, C_START, 1.0 - gap, C_TOLERANCE)
    return 1.0  # c* is within 1e-8 of 1: indistinguishable from the ordered phase here


def _largest_root_below(excess, start):
    """The largest c < start with excess(c) = 0, given excess(start) < 0 (and excess(-1) >= 0)."""
    previous = start
    for c in np.linspace(0.0, -1.0, 11):  # excess is convex on [0, 1]: at most one root in [0, start)
        value = excess(c)
        if value >= 0:
            return c if value == 0 else _root(excess, c, previous, C_TOLERANCE)
        previous = c
    return -1.0


def chi_c(activation, sigma_w, q, c, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """σw² E[φ′(u₁)φ′(u₂)] at length q and correlation c (nan where c is nan)."""
    if math.isnan(c) or not 0.0 < q < math.inf:
        return math.nan
    function = functools.partial(phi_prime, activation, leaky_alpha=leaky_alpha)
    return sigma_w**2 * joint_expectation(function, function, q, c, BREAKPOINTS.get(activation, ()))


def mean_field(activation, sigma_w, sigma_b, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA) -> MeanField:
    """q_star, chi_1, c_star, chi_c, xi_c and xi_grad of a deep random network (see the module docstring).

    Where q_star is 0 or inf the correlation map has no length to run at: c_star, chi_c, xi_c are nan
    there, and chi_1 is its limit (σw² (φ′(0+)² + φ′(0−)²)/2 at 0; σw² (φ′(+∞)² + φ′(−∞)²)/2 at inf).
    """
    _check(activation, sigma_w, sigma_b, leaky_alpha)
    sigma_w, sigma_b, leaky_alpha = float(sigma_w), float(sigma_b), float(leaky_alpha)
    q = q_star(activation, sigma_w, sigma_b, leaky_alpha)
    chi_one = chi_1(activation, sigma_w, q, leaky_alpha)
    c = c_star(activation, sigma_w, sigma_b, q, chi_one, leaky_alpha)
    chi_corr = chi_c(activation, sigma_w, q, c, leaky_alpha)
    return MeanField(
        activation=activation, sigma_w=sigma_w, sigma_b=sigma_b, leaky_alpha=leaky_alpha,
        q_star=q, chi_1=chi_one, c_star=c, chi_c=chi_corr, xi_c=_xi_c(chi_corr), xi_grad=_xi_grad(chi_one),
    )


def _xi_c(chi):
    """−1/ln chi: inf at chi >= 1 (a fixed point that is not attracting), 0 at chi = 0, nan at nan."""
    if math.isnan(chi):
        return math.nan
    if chi >= 1.0:
        return math.inf
    return 0.0 if chi <= 0.0 else -1.0 / math.log(chi)


def _xi_grad(chi):
    """1/|ln chi|: inf at chi = 1, 0 at chi = 0 (the step's gradient is gone after one layer)."""
    if chi == 1.0:
        return math.inf
    return 0.0 if chi <= 0.0 else 1.0 / abs(math.log(chi))


def phase_boundary(activation, sigma_b_squared_values, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """For each σb², the smallest σw² in [1e-2, 1e4] where chi_1 reaches 1 (nan if it never does)."""
    grid = np.geomspace(1e-2, 1e4, 49)
    boundary = []
    for sigma_b_squared in np.asarray(sigma_b_squared_values, dtype=np.float64).ravel():
        if not (math.isfinite(sigma_b_squared) and sigma_b_squared >= 0):
            raise ValueError(f"sigma_b_squared_values must be finite numbers >= 0; got {sigma_b_squared!r}")
        sigma_b = math.sqrt(sigma_b_squared)

        def excess(sigma_w_squared, sigma_b=sigma_b):
            sigma_w = math.sqrt(sigma_w_squared)
            return chi_1(activation, sigma_w, q_star(activation, sigma_w, sigma_b, leaky_alpha), leaky_alpha) - 1.0

        boundary.append(_first_crossing(excess, grid))
    return np.array(boundary)


def _first_crossing(function, grid):
    """The first root of function on the grid's points (Brent between the two around it), or nan."""
    previous_x, previous = grid[0], function(grid[0])
    if previous >= 0:
        return float(previous_x) if previous == 0 else math.nan
    for x in grid[1:]:
        value = function(x)
        if value >= 0:
            return float(x) if value == 0 else float(_root(function, previous_x, x))
        previous_x, previous = x, value
    return math.nan


def critical_sigma_w(activation, sigma_b, leaky_alpha=activations.DEFAULT_LEAKY_ALPHA):
    """The σw at which chi_1 = 1 for this σb: the edge of chaos (nan if chi_1 never reaches 1)."""
    _check(activation, 1.0, sigma_b, leaky_alpha)
    return float(math.sqrt(phase_boundary(activation, [float(sigma_b) ** 2], leaky_alpha)[0]))
