"""lab.science.mean_field against closed forms, scipy quadrature, Monte Carlo and a wide random network.

Every reference is computed here, independently of the module: closed forms (linear, ReLU and leaky
ReLU with the arccos kernel of Cho & Saul 2009, the step's orthant probability), scipy.integrate.quad,
a 200 x 200 tensor Gauss-Hermite rule, seeded Monte Carlo of the maps themselves (10^6 samples in 8
batches: the batches' spread gives the standard error), and a width-2000 tanh network in float64.
"""
import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from lab.science import activations
from lab.science import mean_field as mf

SAMPLES, BATCHES = 1_000_000, 8


def arccos_kernel(q, c):
    """E[relu(u1) relu(u2)] for a pair of N(0, q) variables with correlation c (Cho & Saul 2009)."""
    return q / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)


def explicit_phi(name, x):
    """The three activations another part of the lab is adding, written out here."""
    return {"linear": x, "hard_tanh": np.clip(x, -1, 1), "softsign": x / (1 + np.abs(x))}[name]


# --- closed forms --------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma_w", [0.5, 0.9])
@pytest.mark.parametrize("sigma_b", [0.0, 0.3])
def test_linear_below_one_matches_the_closed_form(sigma_w, sigma_b):
    result = mf.mean_field("linear", sigma_w, sigma_b)
    assert result.q_star == pytest.approx(sigma_b**2 / (1 - sigma_w**2), rel=1e-10, abs=1e-300)
    assert result.chi_1 == pytest.approx(sigma_w**2, rel=1e-12)
    assert result.xi_grad == pytest.approx(1 / abs(math.log(sigma_w**2)), rel=1e-12)
    if sigma_b > 0:  # c_{l+1} = σw² c + (1 − σw²): c* = 1 with slope σw²
        assert result.c_star == 1.0
        assert result.chi_c == pytest.approx(sigma_w**2, rel=1e-12)
        assert result.xi_c == pytest.approx(-1 / math.log(sigma_w**2), rel=1e-12)
    else:  # q* = 0: no length for the correlation map
        assert math.isnan(result.c_star) and math.isnan(result.xi_c)


def test_linear_at_and_above_one():
    assert mf.mean_field("linear", 1.0, 0.3).q_star == math.inf
    assert mf.mean_field("linear", 1.2, 0.0).q_star == math.inf
    at_one = mf.mean_field("linear", 1.0, 0.0)  # the identity map: q stays where it starts
    assert at_one.q_star == 1.0 and at_one.chi_1 == 1.0 and at_one.xi_grad == math.inf


@pytest.mark.parametrize("sigma_w_squared", [1.0, 1.5, 1.9])
@pytest.mark.parametrize("sigma_b_squared", [0.1, 0.5])
def test_relu_matches_the_closed_form(sigma_w_squared, sigma_b_squared):
    result = mf.mean_field("relu", math.sqrt(sigma_w_squared), math.sqrt(sigma_b_squared))
    q = sigma_b_squared / (1 - sigma_w_squared / 2)
    assert result.q_star == pytest.approx(q, rel=1e-10)
    assert result.chi_1 == pytest.approx(sigma_w_squared / 2, rel=1e-12)
    # The closed-form correlation map iterated from 0.5 creeps up to 1 (slope σw²/2 < 1 there).
    c = 0.5
    for _ in range(3000):
        c = (sigma_w_squared * arccos_kernel(q, c) + sigma_b_squared) / q
    assert c > 1 - 1e-6
    assert result.c_star == 1.0
    assert result.chi_c == pytest.approx(sigma_w_squared / 2, rel=1e-9)


def test_relu_without_bias_goes_to_zero_below_two_with_its_slope_kept():
    result = mf.mean_field("relu", 1.0, 0.0)
    assert result.q_star == 0.0 and result.chi_1 == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("sigma_w_squared", [2.0, 2.5])
def test_relu_diverges_at_and_beyond_two(sigma_w_squared):
    result = mf.mean_field("relu", math.sqrt(sigma_w_squared), 0.1)
    assert result.q_star == math.inf
    assert result.chi_1 == pytest.approx(sigma_w_squared / 2)  # independent of q for ReLU
    assert math.isnan(result.c_star)


def test_relu_and_leaky_relu_correlations_match_the_arccos_kernel():
    alpha = 0.2
    for q in (0.01, 1.0, 3.0, 100.0):
        for c in (-0.999999, -0.5, 0.0, 0.3, 0.9, 0.999, 0.999999):
            relu = mf.correlation_map("relu", c, q, 1.0, 0.0) * q
            assert relu == pytest.approx(arccos_kernel(q, c), rel=1e-11, abs=1e-13 * q)
            leaky = mf.correlation_map("leaky_relu", c, q, 1.0, 0.0, alpha) * q
            reference = (1 + alpha**2) * arccos_kernel(q, c) - 2 * alpha * arccos_kernel(q, -c)
            assert leaky == pytest.approx(reference, rel=1e-11, abs=1e-13 * q)


def test_leaky_relu_fixed_point_and_chi():
    alpha, sigma_w_squared, sigma_b_squared = 0.3, 1.6, 0.2
    result = mf.mean_field("leaky_relu", math.sqrt(sigma_w_squared), math.sqrt(sigma_b_squared), alpha)
    slope = sigma_w_squared * (1 + alpha**2) / 2
    assert result.q_star == pytest.approx(sigma_b_squared / (1 - slope), rel=1e-10)
    assert result.chi_1 == pytest.approx(slope, rel=1e-12)


def test_step_matches_the_orthant_probability():
    sigma_w, sigma_b = 1.5, 0.3
    result = mf.mean_field("step", sigma_w, sigma_b)
    q = sigma_w**2 / 2 + sigma_b**2
    assert result.q_star == pytest.approx(q, rel=1e-12)
    assert (result.chi_1, result.xi_grad, result.chi_c, result.xi_c) == (0.0, 0.0, 0.0, 0.0)
    for c in (-0.99, 0.0, 0.5, 0.999999):
        expected = 0.25 + math.asin(c) / (2 * math.pi)
        assert mf.correlation_map("step", c, q, 1.0, 0.0) * q == pytest.approx(expected, abs=1e-12)

    def step_map(c):
        return (sigma_w**2 * (0.25 + math.asin(c) / (2 * math.pi)) + sigma_b**2) / q

    assert result.c_star == pytest.approx(optimize.brentq(lambda c: step_map(c) - c, 0.5, 0.999), abs=1e-10)


# --- quadrature ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", mf.supported_activations())
def test_one_dimensional_expectations_match_scipy_quad(name):
    breaks = mf.BREAKPOINTS.get(name, ())
    for q in (0.01, 1.0, 4.0, 25.0):
        spread = math.sqrt(q)
        edges = [-12.0] + sorted(b / spread for b in breaks) + [12.0]
        for function in (lambda x: mf.phi(name, x) ** 2, lambda x: mf.phi_prime(name, x) ** 2):
            reference = sum(
                integrate.quad(lambda z: float(function(spread * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                               low, high, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
                for low, high in zip(edges[:-1], edges[1:])
            )
            assert mf.expectation(function, q, breaks) == pytest.approx(reference, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "swish"])
def test_smooth_joint_expectations_match_tensor_gauss_hermite(name):
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / weights.sum()
    z_1, z_2 = np.meshgrid(nodes, nodes, indexing="ij")
    for q in (0.3, 1.0, 3.0):
        for c in (-0.7, 0.0, 0.5, 0.95):
            u_1, u_2 = math.sqrt(q) * z_1, math.sqrt(q) * (c * z_1 + math.sqrt(1 - c * c) * z_2)
            for function in (mf.phi, mf.phi_prime):
                reference = np.sum(np.outer(weights, weights) * function(name, u_1) * function(name, u_2))
                value = mf.joint_expectation(lambda x: function(name, x), lambda x: function(name, x), q, c)
                assert value == pytest.approx(reference, abs=1e-12)


def nested_quad(name, function, q, c):
    """E[f(u1) f(u2)] by scipy.integrate.quad inside quad, with the pieces split at the kinks."""
    spread, s = math.sqrt(q), math.sqrt(1 - c * c)
    kinks = mf.BREAKPOINTS.get(name, ())

    def pieces(integrand, points):
        edges = [-12.0] + sorted(p for p in points if -12 < p < 12) + [12.0]
        return sum(integrate.quad(integrand, low, high, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                   for low, high in zip(edges[:-1], edges[1:]))

    def inner(z_1):
        return pieces(lambda z_2: float(function(name, spread * (c * z_1 + s * z_2))) * math.exp(-z_2 * z_2 / 2),
                      [(k / spread - c * z_1) / s for k in kinks]) / math.sqrt(2 * math.pi)

    return pieces(lambda z_1: float(function(name, spread * z_1)) * inner(z_1) * math.exp(-z_1 * z_1 / 2),
                  [k / spread for k in kinks]) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize(("name", "q", "c"), [("tanh", 3.0, 0.95), ("softsign", 1.0, -0.7), ("hard_tanh", 3.0, 0.95),
                                              ("elu", 1.0, 0.5), ("selu", 0.3, -0.7)])
def test_joint_expectations_match_nested_scipy_quad(name, q, c):
    for function in (mf.phi, mf.phi_prime):
        value = mf.joint_expectation(lambda x: function(name, x), lambda x: function(name, x), q, c,
                                     mf.BREAKPOINTS.get(name, ()))
        assert value == pytest.approx(nested_quad(name, function, q, c), abs=1e-11)


def test_extra_activations_are_the_usual_formulas():
    x = np.linspace(-3, 3, 601)
    for name in mf.EXTRA_ACTIVATIONS:
        assert np.array_equal(mf.phi(name, x), explicit_phi(name, x))
        slope = np.gradient(explicit_phi(name, x), x)
        away = np.all(np.abs(x[:, None] - np.array([-1.0, 0.0, 1.0])) > 0.02, axis=1)
        np.testing.assert_allclose(mf.phi_prime(name, x)[away], slope[away], atol=2e-4)
    assert set(activations.HIDDEN_ACTIVATIONS) <= set(mf.supported_activations())


# --- Monte Carlo ---------------------------------------------------------------------------------

def iterate(step, start, tolerance=1e-7, limit=2000):
    """Iterate an array map from start until every change is below tolerance; Aitken on the tail."""
    previous_change, value = None, start
    for _ in range(limit):
        new = step(value)
        change = new - value
        value = new
        if np.max(np.abs(change)) < tolerance:
            if previous_change is not None:
                ratio = np.clip(change / np.where(previous_change == 0, 1, previous_change), 0, 0.999)
                value = value + change * ratio / (1 - ratio)
            return value
        previous_change = change
    raise AssertionError("the Monte Carlo map did not converge")


def monte_carlo(name, sigma_w_squared, sigma_b_squared, seed=0):
    """Per-batch Monte Carlo fixed points of the length and correlation maps, iterated from q = 1 and c = 0.5."""
    z_1, z_2 = np.random.default_rng(seed).standard_normal((2, BATCHES, SAMPLES // BATCHES))

    def phi(x):
        return mf.phi(name, x)

    q = iterate(lambda q: sigma_w_squared * np.mean(phi(np.sqrt(q) * z_1) ** 2, axis=1, keepdims=True)
                + sigma_b_squared, np.ones((BATCHES, 1)))
    u_1 = np.sqrt(q) * z_1
    phi_1, slope_1 = phi(u_1), mf.phi_prime(name, u_1)

    def u_2(c):
        return np.sqrt(q) * (c * z_1 + np.sqrt(np.maximum(1 - c * c, 0)) * z_2)

    c = iterate(lambda c: (sigma_w_squared * np.mean(phi_1 * phi(u_2(c)), axis=1, keepdims=True) + sigma_b_squared) / q,
                np.full((BATCHES, 1), 0.5))
    chi_1 = sigma_w_squared * np.mean(slope_1**2, axis=1)
    chi_c = sigma_w_squared * np.mean(slope_1 * mf.phi_prime(name, u_2(c)), axis=1)
    return {"q_star": q.ravel(), "chi_1": chi_1, "c_star": np.minimum(c.ravel(), 1.0), "chi_c": chi_c}


def assert_within_monte_carlo_error(value, batches, floor=1e-6):
    """value agrees with the batches' mean within 4 standard errors (floor: when every batch agrees)."""
    standard_error = np.std(batches, ddof=1) / math.sqrt(len(batches))
    assert abs(value - np.mean(batches)) <= 4 * standard_error + floor, (value, np.mean(batches), standard_error)


MONTE_CARLO_CASES = [
    ("tanh", 1.0, 0.05), ("tanh", 2.5, 0.05), ("tanh", 4.0, 0.05), ("sigmoid", 4.0, 0.05),
    ("gelu", 1.5, 0.1), ("swish", 2.0, 0.1), ("elu", 1.0, 0.1), ("hard_tanh", 2.0, 0.05),
    ("softsign", 1.5, 0.05), ("tanh", 2.0, 0.0),
]


@pytest.mark.parametrize(("name", "sigma_w_squared", "sigma_b_squared"), MONTE_CARLO_CASES)
def test_fixed_points_match_monte_carlo(name, sigma_w_squared, sigma_b_squared):
    result = mf.mean_field(name, math.sqrt(sigma_w_squared), math.sqrt(sigma_b_squared))
    simulated = monte_carlo(name, sigma_w_squared, sigma_b_squared)
    for key in ("q_star", "chi_1", "chi_c"):
        assert_within_monte_carlo_error(result[key], simulated[key])
    # Near c = 1 a sampled correlation map has its own fixed point about 1/N below 1 (its noise term grows
    # like √(1 − c²)'s derivative), so where c* = 1 the batches sit ~1e-5 low: a bias, not a spread.
    assert_within_monte_carlo_error(result["c_star"], simulated["c_star"], floor=10 * BATCHES / SAMPLES)


def test_tanh_without_bias_orders_below_one_and_is_chaotic_above():
    below = mf.mean_field("tanh", 0.8, 0.0)
    assert below.q_star == 0.0 and below.chi_1 == pytest.approx(0.64, rel=1e-12)
    assert math.isnan(below.c_star)
    z = np.random.default_rng(1).standard_normal(100_000)
    q = 1.0
    for _ in range(200):
        q = 0.64 * np.mean(np.tanh(math.sqrt(q) * z) ** 2)
    assert q < 1e-30
    above = mf.mean_field("tanh", math.sqrt(2.0), 0.0)  # Monte Carlo above: q* ~ 0.618, chi_1 ~ 1.106, c* = 0
    assert above.chi_1 > 1 and abs(above.c_star) < 1e-9 and above.chi_c < 1


# --- the edge of chaos ---------------------------------------------------------------------------

def test_tanh_boundary_at_bias_variance_0_05_matches_monte_carlo():
    boundary = mf.phase_boundary("tanh", [0.05])[0]
    z = np.random.default_rng(2).standard_normal((BATCHES, SAMPLES // BATCHES))
    roots = []
    for batch in z:
        def chi_minus_one(sigma_w_squared, batch=batch):
            q = optimize.brentq(lambda q: sigma_w_squared * np.mean(np.tanh(math.sqrt(q) * batch) ** 2) + 0.05 - q, 0.05, 10)
            return sigma_w_squared * np.mean((1 - np.tanh(math.sqrt(q) * batch) ** 2) ** 2) - 1

        roots.append(optimize.brentq(chi_minus_one, 1.5, 2.0, xtol=1e-8))
    assert_within_monte_carlo_error(boundary, roots)
    assert boundary == pytest.approx(1.76, abs=0.01)  # Schoenholz et al. 2017, Fig. 1
    assert mf.critical_sigma_w("tanh", math.sqrt(0.05)) == pytest.approx(math.sqrt(boundary), rel=1e-12)


def test_correlation_depth_diverges_at_the_boundary_from_both_sides():
    boundary = mf.phase_boundary("tanh", [0.05])[0]
    for side in (-1, 1):
        depths = [mf.mean_field("tanh", math.sqrt(boundary * (1 + side * gap)), math.sqrt(0.05)).xi_c
                  for gap in (0.2, 0.1, 0.03, 0.01)]
        assert all(later > 1.5 * earlier for earlier, later in zip(depths, depths[1:])), depths
        assert depths[-1] > 100


def test_rectifier_and_linear_boundaries():
    np.testing.assert_allclose(mf.phase_boundary("relu", [0.0, 0.1, 1.0]), 2.0, rtol=1e-10)
    np.testing.assert_allclose(mf.phase_boundary("leaky_relu", [0.1], 0.5), 2 / 1.25, rtol=1e-10)
    np.testing.assert_allclose(mf.phase_boundary("linear", [0.0, 0.5]), 1.0, rtol=1e-10)
    assert mf.critical_sigma_w("relu", 0.3) == pytest.approx(math.sqrt(2), rel=1e-10)
    assert math.isnan(mf.critical_sigma_w("step", 0.3))  # chi_1 = 0 everywhere


def test_wide_tanh_network_converges_to_the_fixed_points():
    sigma_w_squared, sigma_b_squared, width, depth = 2.5, 0.05, 2000, 20
    result = mf.mean_field("tanh", math.sqrt(sigma_w_squared), math.sqrt(sigma_b_squared))
    rng = np.random.default_rng(3)
    first = rng.standard_normal(width)
    second = 0.5 * first + math.sqrt(1 - 0.25) * rng.standard_normal(width)  # correlation 0.5 at layer 0
    h = np.stack([first, second], axis=1)
    lengths, correlations = [], []
    for _ in range(depth):
        weights = rng.normal(0.0, math.sqrt(sigma_w_squared / width), (width, width))
        h = weights @ np.tanh(h) + rng.normal(0.0, math.sqrt(sigma_b_squared), (width, 1))
        q = np.mean(h * h, axis=0)
        lengths.append(q.mean())
        correlations.append(np.mean(h[:, 0] * h[:, 1]) / math.sqrt(q[0] * q[1]))
    assert np.mean(lengths[-8:]) == pytest.approx(result.q_star, rel=0.05)
    # The mean-field map itself is still 0.01 above c* after 20 layers (xi_c ~ 12); width 2000 adds ~0.02.
    assert np.mean(correlations[-8:]) == pytest.approx(result.c_star, abs=0.04)


# --- the result ----------------------------------------------------------------------------------

def test_result_is_frozen_and_reads_as_a_dict():
    result = mf.mean_field("tanh", 1.5, 0.2)
    as_dict = dict(result)
    assert list(as_dict) == ["activation", "sigma_w", "sigma_b", "leaky_alpha", "q_star", "chi_1", "c_star", "chi_c",
                             "xi_c", "xi_grad"]
    assert as_dict["q_star"] == result.q_star == result["q_star"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.q_star = 1.0
    with pytest.raises(KeyError):
        result["nope"]


@pytest.mark.parametrize(
    "arguments", [("softmax", 1.0, 0.0), ("tanh", -1.0, 0.0), ("tanh", 1.0, math.nan), ("tanh", True, 0.0),
                  ("leaky_relu", 1.0, 0.0, -0.1)],
)
def test_bad_arguments_raise_value_error(arguments):
    with pytest.raises(ValueError):
        mf.mean_field(*arguments)
