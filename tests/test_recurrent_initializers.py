"""Seeded recurrent initial weights (lab.science.recurrent_initializers) against exact properties and closed-form laws:
shapes and order as Keras' own cells hold them, orthogonality of the whole (units, G·units) recurrent kernel, the
requested spectral radius by float64 eigenvalues of what is returned, identity, LSTM's forget-gate bias of 1, and
distributions by Kolmogorov-Smirnov tests against scipy's laws (never against the module's own draws)."""
import numpy as np
import pytest
from scipy import stats

from lab.science.recurrent_initializers import GATES, recurrent_weights

KS_LEVEL = 1e-3  # a correct sampler fails one KS test in a thousand; the seeds are fixed, so a pass stays a pass


def weights(cell="simple", depth=1, units=16, features=3, outputs=1, kernel="glorot_uniform", recurrent="orthogonal",
            radius=None, bias="zeros", seed=0, sigma_w=1.0, sigma_b=0.0):
    return recurrent_weights(cell, depth, units, features, outputs, kernel, recurrent, radius, bias, seed, sigma_w, sigma_b)


def as64(array):
    return np.asarray(array, dtype=np.float64)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
@pytest.mark.parametrize("depth", [1, 3])
def test_shapes_order_and_dtype(cell, depth):
    gates, units, features, outputs = GATES[cell], 8, 5, 4
    found = weights(cell, depth, units, features, outputs)
    bias_shape = (2, 3 * units) if cell == "gru" else (gates * units,)
    expected = []
    for layer in range(depth):
        expected += [(features if layer == 0 else units, gates * units), (units, gates * units), bias_shape]
    expected += [(units, outputs), (outputs,)]
    assert [array.shape for array in found] == expected
    assert all(array.dtype == np.float32 for array in found)
    assert not found[-1].any()  # the output bias is zero, as the MLP's


def test_gates_are_keras_cell_blocks():
    assert GATES == {"simple": 1, "lstm": 4, "gru": 3}


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
@pytest.mark.parametrize("units", [1, 7, 32])
def test_orthogonal_recurrent_kernel_has_orthonormal_rows_over_the_whole_matrix(cell, units):
    kernel = as64(weights(cell, 2, units)[4])  # the second layer's: its own stream
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(units), atol=2e-6)
    if cell == "simple":  # square: orthogonal both ways, every singular value 1
        np.testing.assert_allclose(kernel.T @ kernel, np.eye(units), atol=2e-6)


@pytest.mark.parametrize("cell, units", [("simple", 16), ("lstm", 8)])
def test_orthogonal_rows_are_uniform_on_the_sphere(cell, units):
    """A Haar row of length n = G·units: its first entry squared is Beta(1/2, (n - 1)/2) exactly (over seeds)."""
    n = GATES[cell] * units
    first = np.array([as64(weights(cell, 1, units, seed=seed)[1])[0, 0] for seed in range(400)])
    assert stats.kstest(first ** 2, stats.beta(0.5, (n - 1) / 2).cdf).pvalue > KS_LEVEL
    assert abs((first > 0).mean() - 0.5) < 4 * np.sqrt(0.25 / len(first))  # symmetric: as often positive as negative


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_gaussian_recurrent_kernel_is_normal_with_variance_one_over_units(cell):
    units = 64
    kernel = as64(weights(cell, 1, units, recurrent="gaussian")[1]).ravel()
    assert stats.kstest(kernel, stats.norm(0.0, 1.0 / np.sqrt(units)).cdf).pvalue > KS_LEVEL


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_glorot_uniform_recurrent_kernel_uses_the_whole_shapes_fans(cell):
    units, gates = 32, GATES[cell]
    limit = np.sqrt(6.0 / (units + gates * units))  # Keras' fan_avg of (units, G·units)
    kernel = as64(weights(cell, 1, units, recurrent="glorot_uniform")[1]).ravel()
    assert np.abs(kernel).max() <= limit * (1 + 1e-6)
    assert stats.kstest(kernel, stats.uniform(-limit, 2 * limit).cdf).pvalue > KS_LEVEL


def test_identity_is_the_identity():
    assert np.array_equal(weights(units=12, recurrent="identity")[1], np.eye(12, dtype=np.float32))


@pytest.mark.parametrize("recurrent", ["orthogonal", "glorot_uniform", "gaussian", "identity"])
@pytest.mark.parametrize("radius", [0.3, 1.0, 1.7, 10.0])
def test_spectral_radius_is_the_one_asked_for(recurrent, radius):
    kernel = as64(weights(units=24, recurrent=recurrent, radius=radius, seed=5)[1])
    measured = np.max(np.abs(np.linalg.eigvals(kernel)))
    assert measured == pytest.approx(radius, rel=2e-6)  # the float32 cast moves it by rounding only
    if recurrent in ("orthogonal", "identity"):  # a scaled orthogonal matrix: every singular value is the radius
        np.testing.assert_allclose(np.linalg.svd(kernel, compute_uv=False), radius, rtol=2e-6)
    unscaled = as64(weights(units=24, recurrent=recurrent, seed=5)[1])
    np.testing.assert_allclose(kernel * (np.max(np.abs(np.linalg.eigvals(unscaled))) / radius), unscaled, rtol=1e-5, atol=1e-6)


def test_lstm_forget_gate_bias_is_one_and_the_other_blocks_follow_the_bias_initializer():
    units = 16
    bias = weights("lstm", 1, units, bias="zeros")[2]
    assert np.array_equal(bias[units:2 * units], np.ones(units)) and not bias[:units].any() and not bias[2 * units:].any()
    constant = weights("lstm", 1, units, bias=-0.5)[2]
    assert np.array_equal(constant, np.concatenate([np.full(units, -0.5), np.ones(units), np.full(2 * units, -0.5)]))
    wide = 256
    gaussian = as64(weights("lstm", 1, wide, bias="gaussian", sigma_b=0.3)[2])
    assert np.array_equal(gaussian[wide:2 * wide], np.ones(wide))
    others = np.concatenate([gaussian[:wide], gaussian[2 * wide:]])
    assert stats.kstest(others, stats.norm(0.0, 0.3).cdf).pvalue > KS_LEVEL


def test_gru_bias_is_keras_reset_after_pair_and_gaussian_is_per_entry():
    bias = as64(weights("gru", 1, 128, bias="gaussian", sigma_b=0.5)[2])
    assert bias.shape == (2, 384)
    assert stats.kstest(bias.ravel(), stats.norm(0.0, 0.5).cdf).pvalue > KS_LEVEL
    assert np.array_equal(weights("gru", 1, 4, bias=0.25)[2], np.full((2, 12), 0.25, np.float32))


def test_input_and_output_kernels_follow_the_kernel_initializer_with_sigma_w():
    units, features, sigma = 64, 40, 1.5
    found = weights("lstm", 1, units, features, 10, kernel="gaussian", sigma_w=sigma)
    kernel, output = as64(found[0]), as64(found[3])
    assert stats.kstest(kernel.ravel(), stats.norm(0.0, sigma / np.sqrt(features)).cdf).pvalue > KS_LEVEL
    assert stats.kstest(output.ravel(), stats.norm(0.0, sigma / np.sqrt(units)).cdf).pvalue > KS_LEVEL
    limit = np.sqrt(6.0 / (features + 4 * units))  # glorot_uniform over the whole (features, 4·units) kernel, as Keras
    glorot = as64(weights("lstm", 1, units, features, kernel="glorot_uniform")[0]).ravel()
    assert stats.kstest(glorot, stats.uniform(-limit, 2 * limit).cdf).pvalue > KS_LEVEL


def test_each_tensor_has_its_own_seeded_stream():
    base = weights("lstm", 2, 8, 3, 2, seed=7, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    again = weights("lstm", 2, 8, 3, 2, seed=7, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    assert all(np.array_equal(first, second) for first, second in zip(base, again))
    other = weights("lstm", 2, 8, 3, 2, seed=8, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    assert not any(np.array_equal(first, second) for first, second in zip(base[:-1], other[:-1]))
    # A third layer, more input channels, more outputs: the tensors whose shapes did not change keep their values.
    deeper = weights("lstm", 3, 8, 3, 2, seed=7, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    assert all(np.array_equal(first, second) for first, second in zip(base[:6], deeper[:6]))
    wider_input = weights("lstm", 2, 8, 5, 2, seed=7, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    assert all(np.array_equal(base[index], wider_input[index]) for index in (1, 2, 3, 4, 5))
    more_outputs = weights("lstm", 2, 8, 3, 4, seed=7, recurrent="gaussian", bias="gaussian", sigma_b=0.1)
    assert all(np.array_equal(first, second) for first, second in zip(base[:6], more_outputs[:6]))


@pytest.mark.parametrize("arguments, message", [
    (dict(cell="lstm", recurrent="identity"), "not one for the lstm cell"),
    (dict(cell="gru", radius=0.9), "simple cell only"),
    (dict(kernel="rai"), "not for recurrent cells"),
    (dict(cell="conv"), "cell must be one of simple, lstm, gru"),
    (dict(radius=0.0), "spectral_radius must be > 0"),
])
def test_refusals_name_the_argument(arguments, message):
    with pytest.raises(ValueError, match=message):
        weights(**arguments)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_keras_cells_take_the_list_and_keras_lstm_has_the_same_forget_bias(cell):
    """Independent of this module: Keras' own layers built with these sizes hold the same shapes in the same order,
    and Keras' LSTM with zeros biases starts with exactly the bias drawn here (unit_forget_bias)."""
    keras = pytest.importorskip("keras")
    layer = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inputs = keras.Input((6, 3))
    hidden = layer(5, return_sequences=True)(inputs)
    outputs = keras.layers.Dense(2)(layer(5)(hidden))
    model = keras.Model(inputs, outputs)
    ours = weights(cell, 2, 5, 3, 2)
    assert [tuple(array.shape) for array in model.get_weights()] == [array.shape for array in ours]
    if cell == "lstm":
        assert np.array_equal(model.get_weights()[2], ours[2])
    model.set_weights(ours)
    assert all(np.array_equal(set_value, array) for set_value, array in zip(model.get_weights(), ours))
