"""Numpy initial weights against Keras' own initializers (the convention they follow) and the theory."""
import numpy as np
import pytest
from scipy import stats

from lab.science.initializers import VARIANCE_SCALING, initial_values, network_weights

SHAPE = (300, 200)


def keras_sample(name: str, shape: tuple) -> np.ndarray:
    """A draw from Keras' initializer of that name (classic: VarianceScaling(1/3, fan_in, uniform))."""
    from lab.training.runtime import import_tensorflow

    import_tensorflow()
    import keras

    if name == "classic":
        initializer = keras.initializers.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform", seed=7)
    else:
        initializer = keras.initializers.get({"class_name": name, "config": {"seed": 7}})
    return np.asarray(initializer(shape)).ravel()


@pytest.mark.parametrize("name", sorted(VARIANCE_SCALING) + ["random_normal", "random_uniform"])
def test_same_distribution_as_keras(name):
    ours = initial_values(name, SHAPE, np.random.default_rng(0)).ravel()
    theirs = keras_sample(name, SHAPE)
    # Two samples of 60 000 from one distribution: a KS p-value below 1e-4 would mean a real difference.
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-4
    np.testing.assert_allclose(ours.var(), theirs.var(), rtol=0.03)


@pytest.mark.parametrize("name, variance", [
    ("glorot_uniform", 2 / 500), ("glorot_normal", 2 / 500), ("he_normal", 2 / 300), ("he_uniform", 2 / 300),
    ("lecun_normal", 1 / 300), ("classic", 1 / 900),
])
def test_variance_follows_the_fans(name, variance):
    values = initial_values(name, SHAPE, np.random.default_rng(1))
    np.testing.assert_allclose(values.var(), variance, rtol=0.03)
    assert values.dtype == np.float32


def test_truncated_normals_stay_within_two_standard_deviations():
    values = initial_values("he_normal", SHAPE, np.random.default_rng(2))
    stddev = np.sqrt(2 / 300) / 0.87962566103423978
    assert np.abs(values).max() <= 2 * stddev + 1e-6


def test_classic_is_uniform_within_one_over_sqrt_fan_in():
    values = initial_values("classic", SHAPE, np.random.default_rng(3))
    assert np.abs(values).max() <= 1 / np.sqrt(300) + 1e-7 and np.abs(values).max() > 0.99 / np.sqrt(300)


def test_constants_and_names():
    assert (initial_values(-1.0, (4,), np.random.default_rng(0)) == -1).all()
    assert (initial_values("zeros", (4,), np.random.default_rng(0)) == 0).all()
    with pytest.raises(ValueError, match="unknown initializer"):
        initial_values("xavier", (4,), np.random.default_rng(0))


def test_network_weights_are_seeded_per_tensor_and_the_output_bias_is_zero():
    shapes = [((2, 4), (4,)), ((4, 4), (4,)), ((4, 1), (1,))]
    first = network_weights(shapes, "he_normal", "random_normal", seed=3)
    again = network_weights(shapes, "he_normal", "random_normal", seed=3)
    other = network_weights(shapes, "he_normal", "random_normal", seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert (first[-1] == 0).all() and (first[1] != 0).any()
    deeper = network_weights(shapes[:2] + shapes[1:], "he_normal", "random_normal", seed=3)
    assert np.array_equal(deeper[0], first[0])  # adding a layer leaves the first layer's weights alone
