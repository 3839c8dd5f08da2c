"""lab.science.theory with σw and a random bias (issue #13): the predicted profile adds σb² to q, covers gaussian
and orthogonal kernels, and matches a float64 numpy network averaged over seeds, a lab run's measured q, the mean
field's fixed point and the overlay beside a run."""
import functools
import math

import numpy as np
import pytest

from lab import load_config
from lab.science import mean_field, theory
from lab.science.activations import derivative, value

SEEDS = range(20)
WIDTH, NUM_FEATURES, DEPTH, SAMPLES = 128, 32, 10, 128
# (activation, σw, σb): the tanh case, a chaotic one and one at σb = 0 (the profile as before issue #13).
CASES = [("tanh", 1.5, 0.3), ("tanh", 2.5, 0.5), ("relu", math.sqrt(2.0), 0.2), ("tanh", 1.0, 0.0)]


@functools.cache
def numpy_network(activation, sigma_w, sigma_b, orthogonal=False):
    """Per seed: log10 q_l (layers 1..DEPTH) and log10 of layer l's back-propagated signal over layer DEPTH's.

    A float64 network as lab.training.models builds it: z_l = a_{l-1} W_l + b_l with W ~ N(0, σw²/fan_in)
    (or σw·√max(1, fan_out/fan_in) times a Haar-random semi-orthogonal matrix), b ~ N(0, σb²), inputs N(0, 1);
    a logits layer of one unit and a unit gradient at each logit, as preact_grad_rms reads it.
    """
    log_q, log_signal = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        fans = [NUM_FEATURES] + [WIDTH] * DEPTH + [1]

        def kernel(fan_in, fan_out):
            if not orthogonal:
                return rng.normal(0.0, sigma_w / math.sqrt(fan_in), (fan_in, fan_out))
            matrix, upper = np.linalg.qr(rng.normal(size=(max(fan_in, fan_out), min(fan_in, fan_out))))
            matrix = matrix * np.sign(np.diag(upper))  # Haar measure
            matrix = matrix if fan_in >= fan_out else matrix.T
            return sigma_w * math.sqrt(max(1.0, fan_out / fan_in)) * matrix

        kernels = [kernel(fans[i], fans[i + 1]) for i in range(DEPTH + 1)]
        biases = [rng.normal(0.0, sigma_b, fans[i + 1]) if sigma_b else np.zeros(fans[i + 1]) for i in range(DEPTH)]
        a, zs = rng.normal(size=(SAMPLES, NUM_FEATURES)), []
        for layer in range(DEPTH):
            zs.append(a @ kernels[layer] + biases[layer])
            a = value(activation, zs[-1])
        delta = derivative(activation, zs[-1]) * (np.ones((SAMPLES, 1)) @ kernels[DEPTH].T)
        rms = [math.sqrt(np.mean(np.sum(delta**2, axis=1)))]
        for layer in range(DEPTH - 2, -1, -1):
            delta = derivative(activation, zs[layer]) * (delta @ kernels[layer + 1].T)
            rms.insert(0, math.sqrt(np.mean(np.sum(delta**2, axis=1))))
        log_q.append(np.log10([np.mean(z**2) for z in zs]))
        log_signal.append(np.log10(np.array(rms) / rms[-1]))
    return np.array(log_q), np.array(log_signal)


def predicted(activation, sigma_w, sigma_b, initializer="gaussian"):
    return theory.predicted_profile(activation, initializer, DEPTH, WIDTH, NUM_FEATURES, sigma_w=sigma_w, sigma_b=sigma_b)


@pytest.mark.parametrize("activation, sigma_w, sigma_b", CASES)
def test_profile_with_sigma_b_matches_a_numpy_network_over_seeds(activation, sigma_w, sigma_b):
    """Mean over 20 seeds of log10 q_l within 0.05 decades (12 %) at every layer; of the signal ratio, within 0.2.

    0.2 decades is tests/test_theory.py's tolerance for the signal ratio. Leaving σb² out of q moves the tanh
    σw = 1.5, σb = 0.3 ratio by more than it (checked below), and q by 0.04 decades at layer 1 and more above.
    """
    log_q, log_signal = numpy_network(activation, sigma_w, sigma_b)
    profile = predicted(activation, sigma_w, sigma_b)
    np.testing.assert_allclose(log_q.mean(axis=0), np.log10(profile["preact_variance"]), atol=0.05)
    assert abs(log_signal.mean(axis=0)[0] - profile["log10_signal_relative"].iloc[0]) <= 0.2
    np.testing.assert_allclose(log_signal.mean(axis=0), profile["log10_signal_relative"], atol=0.2)


def test_leaving_sigma_b_out_is_measurably_wrong():
    """The issue's case: without σb² the prediction misses the measured q and signal ratio by more than the tolerances."""
    log_q, log_signal = numpy_network("tanh", 1.5, 0.3)
    without = predicted("tanh", 1.5, 0.0)
    assert np.max(np.abs(log_q.mean(axis=0) - np.log10(without["preact_variance"]))) > 0.05
    with_b = predicted("tanh", 1.5, 0.3)["log10_signal_relative"].iloc[0]
    assert abs(log_signal.mean(axis=0)[0] - with_b) < abs(log_signal.mean(axis=0)[0] - without["log10_signal_relative"].iloc[0])


def test_orthogonal_kernels_have_the_mean_field_profile():
    """Orthogonal weights have gaussian's variance σw²/fan_in: the same mean-field q and signal, within the same tolerances."""
    log_q, log_signal = numpy_network("tanh", 1.5, 0.3, orthogonal=True)
    profile = predicted("tanh", 1.5, 0.3, initializer="orthogonal")
    np.testing.assert_allclose(log_q.mean(axis=0), np.log10(profile["preact_variance"]), atol=0.05)
    np.testing.assert_allclose(log_signal.mean(axis=0), profile["log10_signal_relative"], atol=0.2)
    assert profile.equals(predicted("tanh", 1.5, 0.3))


@pytest.mark.parametrize("activation, sigma_w, sigma_b", CASES[:2])
def test_deep_profile_reaches_the_mean_field_fixed_point(activation, sigma_w, sigma_b):
    """Iterated deep enough, the profile's q is lab.science.mean_field's q* (the same length map, two codes).

    The two tanh cases with σb > 0 have a finite q* > 0 that the map approaches geometrically; at σb = 0, σw = 1
    q creeps to 0 as a power law, and ReLU at σw² = 2 with σb > 0 grows without bound: no depth reaches those.
    """
    deep = theory.predicted_profile(activation, "gaussian", 60, WIDTH, NUM_FEATURES, sigma_w=sigma_w, sigma_b=sigma_b)
    assert deep["preact_variance"].iloc[-1] == pytest.approx(mean_field.q_star(activation, sigma_w, sigma_b), rel=1e-6)


def test_sigma_w_and_sigma_b_are_checked_and_default_to_the_old_profile():
    before = theory.predicted_profile("tanh", "glorot_uniform", 5, 64, 8)
    assert before.equals(theory.predicted_profile("tanh", "glorot_uniform", 5, 64, 8, sigma_w=1.0, sigma_b=0.0))
    assert theory.kernel_variance("gaussian", 50, 10, 2.0) == theory.kernel_variance("orthogonal", 50, 10, 2.0) == 4.0 / 50
    assert theory.kernel_variance("he_normal", 50, 10, 2.0) == theory.weight_variance("he_normal", 50, 10)
    for bad in ({"sigma_b": -0.1}, {"sigma_b": math.nan}, {"sigma_w": -1.0}):
        with pytest.raises(ValueError):
            theory.predicted_profile("tanh", "gaussian", 3, 8, 2, **bad)


def config(**model):
    return load_config({"name": "t", "data": {"dataset": "gaussian", "num_features": NUM_FEATURES},
                        "model": {"depth": 6, "width": 64, "activation": "tanh", **model},
                        "training": {"epochs": 0}, "probe": {"num_samples": 256, "propagation": True}})


def test_covers_gaussian_and_orthogonal_kernels_and_gaussian_biases_for_a_caller_that_passes_sigma():
    sigma_models = ({"kernel_initializer": "gaussian", "sigma_w": 1.5, "bias_initializer": "gaussian", "sigma_b": 0.3},
                    {"kernel_initializer": "orthogonal"}, {"bias_initializer": "gaussian", "sigma_b": 0.3})
    for model in sigma_models:
        assert theory.covers(config(**model).model, with_sigma=True), model
        assert not theory.covers(config(**model).model), model  # a caller that does not pass σw, σb: as before
    assert theory.covers(config(kernel_initializer="glorot_uniform").model, with_sigma=True)
    for model in ({"kernel_initializer": "rai", "activation": "relu"}, {"normalization": "batch"}, {"residual_every": 2}):
        assert not theory.covers(load_config({"model": model}).model, with_sigma=True), model


def test_a_lab_run_measures_the_predicted_q_and_the_overlay_follows_it():
    """A real run (Keras, float32, 256 probe samples) at σw = 1.5, σb = 0.3: q within 0.1 decades of the prediction
    at every layer on seeds 0-3 (one width-64 net's q scatters by its own draw of biases), and the overlay is the
    σb-aware profile."""
    from lab import run
    from lab.readings.theory_overlay import theory_profile

    model = {"kernel_initializer": "gaussian", "sigma_w": 1.5, "bias_initializer": "gaussian", "sigma_b": 0.3}
    profile = theory.predicted_profile("tanh", "gaussian", 6, 64, NUM_FEATURES, 1, sigma_w=1.5, sigma_b=0.3)
    measured = []
    for seed in range(4):
        result = run(load_config(config(**model), overrides={"seed": seed}))
        measured.append(np.log10(result.propagation.query("step == 0").sort_values("layer")["q"].to_numpy()))
    np.testing.assert_allclose(np.mean(measured, axis=0), np.log10(profile["preact_variance"]), atol=0.1)
    overlay = theory_profile(result.layers, result.config, "preact_grad_rms")
    anchor = result.layers.query("step == 0 and layer == 6")["preact_grad_rms"].iloc[0]
    np.testing.assert_allclose(np.log10(overlay["plotted"] / anchor), profile["log10_signal_relative"], rtol=1e-9)
