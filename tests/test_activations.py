"""Tests for lab.science.activations against finite differences, TensorFlow tapes and closed forms."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab.science import activations
from lab.science.activations import (
    DEFAULT_LEAKY_ALPHA,
    HIDDEN_ACTIVATIONS,
    SATURATING,
    derivative,
    max_derivative,
    saturated_mask,
    softmax,
    value,
)
from lab.training.keras_activations import keras_activation

KINKED = {"step", "relu", "leaky_relu", "elu", "selu"}
# Kinks away from 0: central differences straddling them are wrong too.
OTHER_KINKS = {"hard_tanh": (-1.0, 1.0)}
# (name, alpha) pairs: leaky_relu is also checked with a non-default slope so alpha is really used.
CASES = [(name, DEFAULT_LEAKY_ALPHA) for name in HIDDEN_ACTIVATIONS] + [("leaky_relu", 0.2)]
# Exact multiples of 1/64 from -8 to 8, so 0 and the kinks are on the grid and float32-exact.
GRID = np.arange(-512, 513, dtype=np.float64) / 64.0


@pytest.fixture(scope="module")
def tf():
    """Import TensorFlow once, configured exactly as the lab configures it."""
    # Whichever test imports TensorFlow first fixes oneDNN and threading for the whole pytest
    # process; going through lab.training.runtime keeps later tests (e.g. CLI vs API equality) valid.
    from lab.training.runtime import import_tensorflow

    return import_tensorflow()


def tape_derivative(tf, function, x):
    """Return d function(x) / dx elementwise, as a plain GradientTape computes it."""
    tensor = tf.constant(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        output = function(tensor)
    return tape.gradient(output, tensor)


@pytest.mark.parametrize("name, alpha", CASES)
def test_derivative_matches_central_differences(name, alpha):
    x = GRID[np.abs(GRID) > 1e-3] if name in KINKED else GRID  # differences straddling a kink are wrong
    for kink in OTHER_KINKS.get(name, ()):
        x = x[np.abs(x - kink) > 1e-3]
    step = 1e-6
    numeric = (value(name, x + step, alpha) - value(name, x - step, alpha)) / (2 * step)
    np.testing.assert_allclose(derivative(name, x, alpha), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, alpha", CASES)
def test_derivative_matches_tensorflow_tape_including_kinks(tf, name, alpha):
    x32 = GRID.astype(np.float32)
    gradient = tape_derivative(tf, keras_activation(name, alpha), x32)
    assert gradient is not None
    # float32 tape versus float64 numpy on the same (float32-representable) points.
    np.testing.assert_allclose(derivative(name, x32.astype(np.float64), alpha), gradient.numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(
    "name, expected",
    [("relu", 0.0), ("leaky_relu", DEFAULT_LEAKY_ALPHA), ("elu", 1.0), ("selu", activations.SELU_SCALE), ("step", 0.0)],
)
def test_kink_derivative_at_zero_is_what_tensorflow_returns(tf, name, expected):
    gradient = tape_derivative(tf, keras_activation(name), np.zeros(1, dtype=np.float32)).numpy()[0]
    assert derivative(name, 0.0) == pytest.approx(expected, rel=1e-12)
    assert gradient == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name, alpha", CASES)
def test_value_matches_keras_activation(tf, name, alpha):
    x32 = GRID.astype(np.float32)
    tensor_values = keras_activation(name, alpha)(tf.constant(x32)).numpy()
    np.testing.assert_allclose(value(name, x32.astype(np.float64), alpha), tensor_values, rtol=2e-6, atol=2e-6)


def test_value_returns_float64_with_input_shape():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    for name in HIDDEN_ACTIVATIONS:
        assert value(name, x).dtype == np.float64 and value(name, x).shape == (2, 3)
        assert derivative(name, x).dtype == np.float64 and derivative(name, x).shape == (2, 3)


def test_closed_forms_at_known_points():
    assert value("step", [-1.0, 0.0, 0.5]).tolist() == [0.0, 0.0, 1.0]
    assert value("leaky_relu", [-1.0, 2.0]).tolist() == [-0.01, 2.0]  # the lab's 0.01, not Keras' 0.2/0.3
    assert value("gelu", 1.0) == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-14)
    assert value("swish", 2.0) == pytest.approx(2.0 / (1 + math.exp(-2.0)), rel=1e-14)
    assert value("selu", -1.0) == pytest.approx(1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1))


def test_gelu_is_exact_like_keras_not_the_tanh_approximation(tf):
    import keras

    x32 = GRID.astype(np.float32)
    exact = keras.activations.gelu(tf.constant(x32), approximate=False).numpy()
    approximate = keras.activations.gelu(tf.constant(x32), approximate=True).numpy()
    np.testing.assert_allclose(value("gelu", x32.astype(np.float64)), exact, rtol=2e-6, atol=2e-6)
    assert np.max(np.abs(value("gelu", x32.astype(np.float64)) - approximate)) > 1e-4


def test_step_tape_gradient_is_a_zero_tensor_not_none(tf):
    gradient = tape_derivative(tf, keras_activation("step"), GRID.astype(np.float32))
    assert gradient is not None
    assert gradient.shape == GRID.shape and not np.any(gradient.numpy())


def test_dense_kernel_below_a_step_layer_gets_all_zero_gradient(tf):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(3,)),
        keras.layers.Dense(4),
        keras.layers.Activation(keras_activation("step")),
        keras.layers.Dense(1),
    ])
    inputs = tf.constant(np.random.default_rng(0).normal(size=(8, 3)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(inputs) ** 2)
    first_kernel, top_kernel = model.layers[0].kernel, model.layers[2].kernel
    first_gradient, top_gradient = tape.gradient(loss, [first_kernel, top_kernel])
    assert first_gradient is not None and first_gradient.shape == (3, 4)
    assert not np.any(first_gradient.numpy())
    assert np.any(top_gradient.numpy())  # the layer above the step still learns


def test_keras_activation_works_inside_a_model_including_softmax(tf):
    import keras

    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    for name in HIDDEN_ACTIVATIONS + ("softmax",):
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Activation(keras_activation(name))])
        expected = softmax(x) if name == "softmax" else value(name, x)
        np.testing.assert_allclose(model(x).numpy(), expected, rtol=2e-6, atol=2e-6)


def test_no_overflow_or_invalid_warnings_for_huge_inputs():
    x = np.array([-1e300, -1000.0, -50.0, 50.0, 1000.0, 1e300])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in HIDDEN_ACTIVATIONS:
            assert np.all(np.isfinite(value(name, x))) and np.all(np.isfinite(derivative(name, x)))
        assert value("sigmoid", [-1000.0, 1000.0]).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name, alpha", CASES + [("leaky_relu", 1.5)])
def test_max_derivative_is_the_supremum_over_a_fine_grid(name, alpha):
    grid = np.linspace(-10, 10, 200_001)  # spacing 1e-4, and contains 0 and +-sqrt(2)-ish points
    grid_max = np.max(np.abs(derivative(name, grid, alpha)))
    assert grid_max <= max_derivative(name, alpha) + 1e-12
    # selu's supremum is a left limit at 0, so the grid only gets within exp(-1e-4) of it.
    assert grid_max == pytest.approx(max_derivative(name, alpha), rel=2e-4, abs=1e-12)


def test_max_derivative_known_values():
    assert max_derivative("sigmoid") == 0.25 and max_derivative("step") == 0.0
    assert max_derivative("leaky_relu", alpha=0.01) == 1.0 and max_derivative("leaky_relu", alpha=3.0) == 3.0
    assert max_derivative("selu") == pytest.approx(1.7581, abs=1e-4)
    assert max_derivative("gelu") == pytest.approx(1.1289, abs=1e-4)
    assert max_derivative("swish") == pytest.approx(1.0998, abs=1e-4)


@pytest.mark.parametrize("name", sorted(SATURATING))
def test_saturated_mask_applies_the_threshold(name):
    z = np.linspace(-12, 12, 2401)
    for threshold in (0.05, 0.3):
        expected = np.abs(derivative(name, z)) < threshold * max_derivative(name)
        mask = saturated_mask(name, z, threshold=threshold)
        assert mask.dtype == np.bool_ and np.array_equal(mask, expected)
    assert not saturated_mask(name, 0.5) and saturated_mask(name, -12.0)


def test_saturated_mask_matches_analytic_boundaries_for_sigmoid_and_tanh():
    # sigmoid' = s(1-s) < 0.05 * 0.25 exactly when |z| > logit(s*), s* the smaller root.
    bound = 0.05 * 0.25
    small_root = (1 - math.sqrt(1 - 4 * bound)) / 2
    sigmoid_edge = -math.log(small_root / (1 - small_root))
    tanh_edge = math.atanh(math.sqrt(1 - 0.05))  # 1 - tanh^2 < 0.05
    for name, edge in (("sigmoid", sigmoid_edge), ("tanh", tanh_edge)):
        z = np.array([-edge - 1e-6, -edge + 1e-6, 0.0, edge - 1e-6, edge + 1e-6])
        assert saturated_mask(name, z).tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "step", "softmax", "nope"])
def test_saturated_mask_rejects_non_saturating_activations(name):
    with pytest.raises(ValueError, match="saturating"):
        saturated_mask(name, np.zeros(3))


def test_invalid_threshold_and_alpha_raise():
    for threshold in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            saturated_mask("tanh", np.zeros(3), threshold=threshold)
    for alpha in (-0.1, float("inf"), "0.1"):
        with pytest.raises(ValueError, match="alpha"):
            value("leaky_relu", np.zeros(3), alpha=alpha)


def test_unknown_names_raise_with_the_allowed_values():
    for function in (value, derivative):
        with pytest.raises(ValueError, match="sigmoid, tanh, relu"):
            function("softplus", np.zeros(2))
    with pytest.raises(ValueError, match="swish"):
        max_derivative("softplus")
    with pytest.raises(ValueError, match="softmax"):
        keras_activation("softplus")


def test_softmax_sums_to_one_and_matches_direct_formula():
    logits = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, -2.0]])
    probabilities = softmax(logits)
    direct = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, direct, rtol=1e-14)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(softmax(logits, axis=0).sum(axis=0), 1.0, rtol=1e-14)


def test_softmax_is_stable_and_temperature_scales_the_logits():
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(softmax([1000.0, 1001.0]), softmax([0.0, 1.0]), rtol=1e-14)
    logits = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(softmax(logits, temperature=2.0), softmax(logits / 2.0), rtol=1e-14)
    assert np.ptp(softmax(logits, temperature=1e4)) < 1e-3  # hot: nearly uniform
    assert softmax(logits, temperature=1e-3)[2] == pytest.approx(1.0)  # cold: nearly one-hot
    for temperature in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            softmax(logits, temperature=temperature)


def test_modules_do_not_import_heavy_libraries_at_top_level():
    # Loaded by file path so the check does not depend on lab/__init__.py's own imports.
    lab_folder = Path(activations.__file__).parent
    code = (
        "import importlib.util, sys\n"
        f"for name in ('activations', 'data'):\n"
        f"    spec = importlib.util.spec_from_file_location(name, {str(lab_folder)!r} + '/' + name + '.py')\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'streamlit', 'sklearn', 'scipy') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# Issue #13's activations: linear (deep linear networks), hard_tanh and softsign.


def test_new_activations_closed_forms():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    assert value("linear", x).tolist() == x.tolist() and derivative("linear", x).tolist() == [1.0] * 7
    assert value("hard_tanh", x).tolist() == [-1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0]
    assert derivative("hard_tanh", x).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # 1 on the closed interval, as TF
    np.testing.assert_allclose(value("softsign", x), x / (1 + np.abs(x)), rtol=1e-15)
    np.testing.assert_allclose(derivative("softsign", x), 1 / (1 + np.abs(x)) ** 2, rtol=1e-15)
    assert all(max_derivative(name) == 1.0 for name in ("linear", "hard_tanh", "softsign"))


def test_hard_tanh_tape_gradient_at_the_kinks_is_the_numpy_derivative(tf):
    points = np.array([-1.0, 1.0, -1.0001, 1.0001], dtype=np.float32)
    gradient = tape_derivative(tf, keras_activation("hard_tanh"), points).numpy()
    assert gradient.tolist() == derivative("hard_tanh", points.astype(np.float64)).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_saturation_of_the_new_activations():
    assert {"hard_tanh", "softsign"} <= SATURATING and "linear" not in SATURATING
    with pytest.raises(ValueError, match="saturating"):
        saturated_mask("linear", np.zeros(3))  # no saturating regime: the measures give NaN, as for relu
    assert saturated_mask("hard_tanh", np.array([-1.5, -1.0, 0.0, 1.0, 1.5])).tolist() == [True, False, False, False, True]
    edge = math.sqrt(1 / 0.05) - 1  # softsign' = 1/(1+|z|)² < 0.05 exactly when |z| > sqrt(20) - 1
    assert saturated_mask("softsign", np.array([-edge - 1e-6, -edge + 1e-6, edge - 1e-6, edge + 1e-6])).tolist() == [
        True, False, False, True]
