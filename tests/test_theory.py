"""lab.science.theory against closed forms, numpy, Keras' own initializers and measured runs at step 0.

Measured runs use the gaussian data set (32 standardised features), width 64 (wider is closer to
the mean-field assumptions), a 256-sample probe and `training.epochs: 0`, so every number is the
network at initialisation. Tolerances were set after measuring seeds 0-9 and, separately, seeds
100-159 (docs/theory.md lists the numbers): each is stated, with its reason, where it is used.
"""
import functools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from lab import load_config, run
from lab.science import theory
from lab.science.initializers import KERNEL_INITIALIZERS, initial_values

SEEDS = range(10)
WIDTH, NUM_FEATURES = 64, 32
SIGNAL_CASES = [
    ("tanh", "glorot_uniform", 10), ("relu", "he_normal", 10), ("relu", "glorot_uniform", 10), ("sigmoid", "glorot_uniform", 6),
]


# --- pure numpy ----------------------------------------------------------------------------------

def keras_kernel(initializer, shape):
    """A kernel drawn by Keras' own initializer of that name (classic: VarianceScaling(1/3, fan_in, uniform))."""
    from lab.training.runtime import import_tensorflow

    import_tensorflow()
    import keras

    if initializer == "classic":
        drawn = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=0)
    else:
        drawn = keras.initializers.get({"class_name": initializer, "config": {"seed": 0}})
    return np.asarray(drawn(shape=shape), dtype=np.float64)


@pytest.mark.parametrize("initializer", KERNEL_INITIALIZERS)
def test_weight_variance_matches_keras_and_lab_samples(initializer):
    """Sample variances of a 400 x 300 kernel (120 000 entries) are within 2% of the formula.

    Both Keras' initializer (the convention) and lab.science.initializers (what runs draw, with numpy) are
    checked. The relative standard error of a variance from 120 000 draws is about 0.4%: 2% is 5 of them.
    """
    shape = (400, 300)  # Keras kernels are (fan_in, fan_out)
    expected = theory.weight_variance(initializer, 400, 300)
    lab_kernel = initial_values(initializer, shape, np.random.default_rng(0)).astype(np.float64)
    for kernel in (keras_kernel(initializer, shape), lab_kernel):
        assert np.var(kernel) == pytest.approx(expected, rel=0.02)
        assert abs(np.mean(kernel)) < 0.01 * np.std(kernel)  # zero-mean, as every formula assumes


def test_weight_variance_rejects_bad_arguments():
    for arguments in [("orthogonal", 3, 3), ("he_normal", 0, 3), ("he_normal", 3, 2.5), ("he_normal", True, 3)]:
        with pytest.raises(ValueError):
            theory.weight_variance(*arguments)


def test_gaussian_expectation_matches_closed_forms():
    q = 1.7
    assert theory.gaussian_expectation(np.square, 0.0, q) == pytest.approx(q, rel=1e-12)
    assert theory.gaussian_expectation(np.square, 0.5, q) == pytest.approx(q + 0.25, rel=1e-12)
    assert theory.gaussian_expectation(lambda z: np.maximum(z, 0.0) ** 2, 0.0, q) == pytest.approx(q / 2, rel=1e-12)
    assert theory.gaussian_expectation(np.tanh, 0.0, q) == pytest.approx(0.0, abs=1e-14)  # odd function

    def step_slope(z):
        return np.zeros_like(z) ** 2

    assert theory.gaussian_expectation(step_slope, 0.3, q) == 0.0
    assert theory.gaussian_expectation(np.square, 2.0, 0.0) == 4.0


def test_gaussian_expectation_resolves_kinks_and_saturation():
    """A jump or kink off the mean, and a sharp tanh'(z)² at variance 10, are integrated to 1e-9."""
    mean, variance = 0.3, 1.0
    spread = math.sqrt(variance)
    positive = theory.gaussian_expectation(lambda z: (z > 0).astype(float), mean, variance, breakpoints=(0.0,))
    assert positive == pytest.approx(stats.norm.cdf(mean / spread), abs=1e-9)
    t = mean / spread
    relu_square = (mean**2 + variance) * stats.norm.cdf(t) + mean * spread * stats.norm.pdf(t)
    relu_estimate = theory.gaussian_expectation(lambda z: np.maximum(z, 0.0) ** 2, mean, variance, breakpoints=(0.0,))
    assert relu_estimate == pytest.approx(relu_square, abs=1e-9)

    def slope_square(z):
        return (1.0 - np.tanh(z) ** 2) ** 2

    reference = integrate.quad(lambda x: slope_square(math.sqrt(10.0) * x) * stats.norm.pdf(x), -30, 30, limit=500)[0]
    assert theory.gaussian_expectation(slope_square, 0.0, 10.0) == pytest.approx(reference, abs=1e-9)
    with pytest.raises(ValueError):
        theory.gaussian_expectation(np.square, 0.0, -1.0)


def test_profile_reproduces_the_relu_closed_forms():
    """ReLU: E[relu(z)²] = q/2 and E[relu'(z)²] = 1/2, so He keeps q = 2 and χ = 1; Glorot halves both."""
    he = theory.predicted_profile("relu", "he_normal", 10, WIDTH, NUM_FEATURES)
    assert list(he["layer"]) == list(range(1, 11))
    assert np.allclose(he["preact_variance"], 2.0) and np.allclose(he["signal_factor"][:-1], 1.0)
    assert np.allclose(he["log10_signal_relative"], 0.0, atol=1e-12)
    glorot = theory.predicted_ratios("relu", "glorot_uniform", 10, WIDTH, NUM_FEATURES)
    assert glorot["log10_signal_ratio"] == pytest.approx(0.5 * 9 * math.log10(0.5), rel=1e-9)
    # Forward halving and backward halving cancel in ||a_{l-1}||² · ||δ_l||² except at the input layer.
    profile = theory.predicted_profile("relu", "glorot_uniform", 10, WIDTH, NUM_FEATURES)
    assert np.allclose(profile["log10_grad_relative"][1:], 0.0, atol=1e-12)


def test_profile_handles_the_step_and_rejects_bad_arguments():
    step = theory.predicted_profile("step", "he_normal", 4, 8, 3)
    assert np.isneginf(step["log10_signal_relative"][:-1]).all() and step["log10_signal_relative"].iloc[-1] == 0.0
    for overrides in [{"activation": "softmax"}, {"depth": 0}, {"width": 2.0}, {"bias": math.nan}, {"leaky_alpha": -1.0}]:
        arguments = {"activation": "relu", "initializer": "he_normal", "depth": 3, "width": 8, "num_features": 2, **overrides}
        with pytest.raises(ValueError):
            theory.predicted_profile(**arguments)


def test_sigmoid_bound_lies_above_every_sigmoid_prediction():
    for initializer in KERNEL_INITIALIZERS:
        for depth, width, bias in [(2, 4, 0.0), (6, 64, 0.0), (20, 256, -2.0), (10, 16, 1.0)]:
            predicted = theory.predicted_ratios("sigmoid", initializer, depth, width, 5, bias=bias)["log10_signal_ratio"]
            assert predicted <= theory.sigmoid_signal_bound(depth, width, initializer, 5) + 1e-12


def test_born_dead_bound_values_and_monotonicity():
    assert theory.born_dead_bound(1, 1) == 0.5
    assert theory.born_dead_bound(2, 8) == pytest.approx(1 - 0.75**8, rel=1e-12)
    by_depth = [theory.born_dead_bound(3, depth) for depth in range(1, 30)]
    by_width = [theory.born_dead_bound(width, 10) for width in range(1, 30)]
    assert np.all(np.diff(by_depth) > 0) and np.all(np.diff(by_width) < 0)
    assert 0.0 < theory.born_dead_bound(200, 100) < 1e-50  # no cancellation to 0 for wide layers
    curve = theory.born_dead_curve([2, 4], [1, 5, 10])
    assert list(curve.columns) == ["width", "depth", "bound"] and len(curve) == 6
    assert curve["bound"].iloc[2] == theory.born_dead_bound(2, 10)
    with pytest.raises(ValueError):
        theory.born_dead_bound(0, 3)


def test_born_dead_bound_is_exact_at_one_input_by_monte_carlo():
    """20 000 numpy ReLU nets (width 2, depth 5, N(0, 2/fan_in) weights, zero bias) at one fixed x.

    The share with some layer all-zero at x must be within 4 binomial standard errors (4 × 0.003)
    of 1 - (1 - 2^-2)^5: the derivation says the formula is exact there, not just a bound.
    """
    rng = np.random.default_rng(0)
    draws, width, depth = 20_000, 2, 5
    activations = np.broadcast_to(rng.standard_normal(3), (draws, 3))
    dead = np.zeros(draws, dtype=bool)
    for _ in range(depth):
        fan_in = activations.shape[1]
        weights = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(draws, width, fan_in))
        activations = np.maximum(np.einsum("dwi,di->dw", weights, activations), 0.0)
        dead |= np.all(activations == 0.0, axis=1)
    expected = theory.born_dead_bound(width, depth)
    standard_error = math.sqrt(expected * (1 - expected) / draws)
    assert abs(dead.mean() - expected) <= 4 * standard_error


# --- against measured runs -----------------------------------------------------------------------

@functools.cache
def measured_log10_ratios(activation, initializer, depth):
    """Per-seed log10 of layer 1 over layer depth at step 0: (preact_grad_rms ratios, grad_norm ratios)."""
    signal, grad = [], []
    for seed in SEEDS:
        config = load_config({
            "name": "theory", "seed": seed,
            "data": {"dataset": "gaussian", "num_features": NUM_FEATURES},
            "model": {"depth": depth, "width": WIDTH, "activation": activation, "kernel_initializer": initializer},
            "training": {"epochs": 0}, "probe": {"num_samples": 256},
        })
        layers = run(config).layers.query("step == 0").set_index("layer")
        signal.append(math.log10(layers.at[1, "preact_grad_rms"] / layers.at[depth, "preact_grad_rms"]))
        grad.append(math.log10(layers.at[1, "grad_norm"] / layers.at[depth, "grad_norm"]))
    return np.array(signal), np.array(grad)


@pytest.mark.parametrize("activation, initializer, depth", SIGNAL_CASES)
def test_signal_ratio_matches_mean_field(activation, initializer, depth):
    """The median over 10 seeds of the measured signal ratio is within 0.2 decades of the prediction.

    Measured (seeds 0-9): tanh -0.42 vs -0.49, relu+he -0.01 vs 0.00, relu+glorot -1.35 vs -1.35,
    sigmoid -3.23 vs -3.16. Single seeds scatter by about 0.08-0.1 decades (sd), so a 10-seed median
    moves by about ±0.07 (1st-99th percentile over resamples of 60 other seeds), and width 64 leaves a
    finite-width offset of up to 0.05 (60-seed medians). 0.2 covers both, yet fails if every χ at
    depth 10 were off by 15% (0.5 · 9 · log10 1.15 = 0.27) or if ReLU+Glorot were confused with He.
    """
    signal, _ = measured_log10_ratios(activation, initializer, depth)
    predicted = theory.predicted_ratios(activation, initializer, depth, WIDTH, NUM_FEATURES)["log10_signal_ratio"]
    assert abs(np.median(signal) - predicted) <= 0.2


def test_sigmoid_signal_stays_below_its_bound():
    """Measured sigmoid decay is at least the 1/4-derivative floor (median; every seed is too, here)."""
    signal, _ = measured_log10_ratios("sigmoid", "glorot_uniform", 6)
    bound = theory.sigmoid_signal_bound(6, WIDTH, "glorot_uniform", NUM_FEATURES)
    assert np.median(signal) <= bound  # measured -3.23 vs bound -3.01
    assert np.all(signal <= bound)  # the bound is on the expectation; per seed it held with 0.09 to spare


@pytest.mark.parametrize("activation, margin", [("relu", 0.5), ("tanh", 0.2)])
def test_weight_gradients_look_flat_while_the_signal_decays(activation, margin):
    """Glorot & Bengio 2010's flat weight gradients: |log10 grad ratio| < |log10 signal ratio| - margin."""
    signal, grad = measured_log10_ratios(activation, "glorot_uniform", 10)
    # Measured: relu 0.10 vs -1.35, tanh -0.05 vs -0.42 (the theory predicts -0.06 and -0.01).
    assert abs(np.median(grad)) < abs(np.median(signal)) - margin


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_grad_ratio_prediction_holds_where_it_is_flat(activation):
    """For tanh and ReLU with Glorot the grad_norm prediction is within 0.3 decades of the median.

    Measured (seeds 0-9): tanh -0.05 vs -0.01, relu 0.10 vs -0.06 (60 other seeds: 0.07 and 0.15
    off). Not tested where it fails: ReLU + He is measured at -0.81 against -0.15, because the
    prediction ignores how averaging over the probe batch shrinks each layer's gradient differently.
    """
    _, grad = measured_log10_ratios(activation, "glorot_uniform", 10)
    predicted = theory.predicted_ratios(activation, "glorot_uniform", 10, WIDTH, NUM_FEATURES)["log10_grad_ratio"]
    assert abs(np.median(grad) - predicted) <= 0.3


def born_dead_share(width, depth, probe_samples, seeds):
    """Share of seeds whose ReLU + He net (zero bias) has some hidden layer with dead_fraction 1.0 at step 0."""
    dead = []
    for seed in seeds:
        config = load_config({
            "name": "born-dead", "seed": seed,
            "data": {"dataset": "gaussian", "num_features": 8, "num_samples": 64},
            "model": {
                "depth": depth, "width": width, "activation": "relu", "kernel_initializer": "he_normal", "bias_initializer": 0.0,
            },
            "training": {"epochs": 0, "batch_size": 16}, "probe": {"num_samples": probe_samples},
        })
        layers = run(config).layers.query("step == 0 and layer_kind == 'hidden'")
        dead.append(bool((layers["dead_fraction"] == 1.0).any()))
    return float(np.mean(dead))


@pytest.mark.slow
def test_born_dead_share_on_a_probe_is_below_the_bound():
    """Width 3, depth 8, 32-sample probe, 60 seeds: measured share <= bound + 3 standard errors.

    Width 3, not 2: at width 2 the bound (0.90) plus 3 standard errors exceeds 1, so that test could
    never fail. Measured 0.40 against a bound of 0.66 (threshold 0.84): dead on a 32-sample probe is
    rarer than all-zero at one input, as the derivation says.
    """
    bound = theory.born_dead_bound(3, 8)
    standard_error = math.sqrt(bound * (1 - bound) / 60)
    assert born_dead_share(3, 8, 32, range(60)) <= bound + 3 * standard_error


@pytest.mark.slow
def test_born_dead_bound_is_exact_for_a_one_sample_probe():
    """With a 1-sample probe, dead on the probe = all-zero at x: the share must be the bound ± 3 SE.

    Checks that Keras' he_normal is symmetric and continuous and that dead_fraction counts exactly
    what the derivation counts. Measured 0.67 against 0.66 (standard error 0.06).
    """
    bound = theory.born_dead_bound(3, 8)
    standard_error = math.sqrt(bound * (1 - bound) / 60)
    assert abs(born_dead_share(3, 8, 1, range(60)) - bound) <= 3 * standard_error
