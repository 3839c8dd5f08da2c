"""Tests for lab.science.data: shapes, seeding, splitting, standardisation, geometry and validation."""

import dataclasses
import math

import numpy as np
import pytest

from lab.science.data import BINARY_ONLY, DATASETS, TWO_DIMENSIONAL, Dataset, grid_for_boundary, make_dataset


def build(dataset="moons", num_samples=400, noise=0.1, num_features=2, num_classes=2, validation_split=0.25, seed=0):
    """Return make_dataset with test defaults, overriding only what a test cares about."""
    return make_dataset(dataset, num_samples, noise, num_features, num_classes, validation_split, seed)


def classes_for(dataset):
    """Return a class count each data set accepts: 2 for binary-only sets, 3 otherwise."""
    return 2 if dataset in BINARY_ONLY else 3


def raw_inputs(dataset):
    """Return the training inputs mapped back to their unstandardised coordinates."""
    return dataset.x_train.astype(np.float64) * dataset.feature_std + dataset.feature_mean


# digits has fixed sizes (64 features, 10 classes) and constant pixels: tests/test_digits.py checks it.
SYNTHETIC = [name for name in DATASETS if name != "digits"]


def test_constants():
    assert TWO_DIMENSIONAL == set(DATASETS) - {"gaussian", "digits"}
    assert BINARY_ONLY == {"moons", "circles", "xor"}


@pytest.mark.parametrize("name", SYNTHETIC)
def test_shapes_dtypes_and_label_range(name):
    num_classes = classes_for(name)
    dataset = build(name, num_samples=301, num_features=4, num_classes=num_classes, validation_split=0.2)
    num_val = round(301 * 0.2)
    assert isinstance(dataset, Dataset) and dataset.num_classes == num_classes
    assert dataset.x_train.shape == (301 - num_val, 4) and dataset.x_val.shape == (num_val, 4)
    assert dataset.y_train.shape == (301 - num_val,) and dataset.y_val.shape == (num_val,)
    assert dataset.x_train.dtype == np.float32 and dataset.x_val.dtype == np.float32
    assert dataset.y_train.dtype == np.int32 and dataset.y_val.dtype == np.int32
    assert dataset.feature_mean.dtype == np.float64 and dataset.feature_std.shape == (4,)
    labels = np.concatenate([dataset.y_train, dataset.y_val])
    assert set(np.unique(labels)) == set(range(num_classes))
    assert dataset.num_features == 4


@pytest.mark.parametrize("name", SYNTHETIC)
def test_same_seed_is_identical_and_other_seed_differs(name):
    first, again, other = (build(name, num_features=3, num_classes=classes_for(name), seed=s) for s in (7, 7, 8))
    for field in ("x_train", "y_train", "x_val", "y_val", "feature_mean", "feature_std"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    assert not np.array_equal(first.x_train, other.x_train)


def test_samples_are_shuffled_with_their_labels():
    # Spiral arms are generated one after another, so an unshuffled set would have ~2 label runs.
    dataset = build("spirals", num_samples=600, noise=0.0, num_classes=3, validation_split=0.0)
    label_changes = np.count_nonzero(np.diff(dataset.y_train))
    assert label_changes > 300  # about 2/3 of neighbours differ when shuffled
    assert set(np.unique(build("spirals", num_classes=3).y_val)) == {0, 1, 2}


def test_global_numpy_random_state_is_neither_used_nor_advanced():
    np.random.seed(1)
    state_before = np.random.get_state()[1].copy()
    first = build("blobs", num_classes=3)
    assert np.array_equal(np.random.get_state()[1], state_before)
    np.random.seed(2)
    assert np.array_equal(build("blobs", num_classes=3).x_train, first.x_train)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_train_split_is_standardised_with_its_own_statistics(name):
    dataset = build(name, num_features=3, num_classes=classes_for(name))
    np.testing.assert_allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(dataset.x_train.std(axis=0), 1.0, atol=1e-4)


def test_validation_split_uses_train_statistics_only():
    # Same seed with no validation split gives the same shuffled samples, so the raw data is known.
    whole = build("gaussian", num_features=3, validation_split=0.0)
    split = build("gaussian", num_features=3, validation_split=0.25)
    raw = whole.x_train.astype(np.float64) * whole.feature_std + whole.feature_mean
    num_train = 400 - 100
    np.testing.assert_allclose(split.feature_mean, raw[:num_train].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(split.feature_std, raw[:num_train].std(axis=0), rtol=1e-6)
    np.testing.assert_allclose(split.x_val, (raw[num_train:] - split.feature_mean) / split.feature_std, atol=1e-5)
    assert np.array_equal(split.y_val, whole.y_train[num_train:])


@pytest.mark.parametrize("num_samples, validation_split", [(400, 0.25), (101, 0.1), (10, 0.15), (400, 0.0)])
def test_validation_split_size(num_samples, validation_split):
    dataset = build("xor", num_samples=num_samples, num_features=3, validation_split=validation_split)
    num_val = round(num_samples * validation_split)
    assert len(dataset.y_val) == num_val and len(dataset.y_train) == num_samples - num_val
    assert dataset.x_val.shape == (num_val, 3) and dataset.x_val.dtype == np.float32


def test_empty_validation_split_has_the_right_shape():
    dataset = build("spirals", num_features=5, num_classes=3, validation_split=0.0)
    assert dataset.x_val.shape == (0, 5) and dataset.y_val.shape == (0,)
    assert dataset.x_val.dtype == np.float32 and dataset.y_val.dtype == np.int32


def test_noise_features_are_appended_and_carry_no_label_information():
    base = build("moons", num_samples=2000, num_features=2)
    wide = build("moons", num_samples=2000, num_features=6)
    assert wide.x_train.shape[1] == 6
    np.testing.assert_array_equal(wide.x_train[:, :2], base.x_train)  # the 2-D problem is unchanged
    np.testing.assert_array_equal(wide.y_train, base.y_train)
    for column in range(2, 6):
        assert abs(np.corrcoef(wide.x_train[:, column], wide.y_train)[0, 1]) < 0.1
        assert abs(np.corrcoef(wide.x_train[:, column], wide.x_train[:, 0])[0, 1]) < 0.1


def test_xor_labels_follow_the_sign_of_the_coordinate_product():
    dataset = build("xor", num_samples=1000, noise=0.0)
    points = raw_inputs(dataset)
    assert np.all(np.abs(points) <= 1.0 + 1e-5)
    assert np.array_equal(dataset.y_train, (points[:, 0] * points[:, 1] > 0).astype(np.int32))


def test_circles_have_radius_one_and_one_half():
    dataset = build("circles", num_samples=500, noise=0.0)
    radius = np.hypot(*raw_inputs(dataset).T)
    assert np.all(np.isclose(radius, 1.0, atol=1e-5) | np.isclose(radius, 0.5, atol=1e-5))
    assert len(set(np.round(radius[dataset.y_train == 0], 4))) == 1  # each class is one circle


@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_spiral_arms_are_rotated_copies(num_classes):
    dataset = build("spirals", num_samples=600, noise=0.0, num_classes=num_classes, validation_split=0.0)
    points = raw_inputs(dataset)
    radius = np.hypot(*points.T)
    assert np.all(radius <= 1.0 + 1e-5)
    # Undo the growth of the angle with the radius: what is left is the arm's rotation 2*pi*c/k.
    rotation = (np.arctan2(points[:, 1], points[:, 0]) - 2 * np.pi * radius) / (2 * np.pi / num_classes)
    offset = (rotation - dataset.y_train) % num_classes
    distance_to_whole = np.minimum(offset, num_classes - offset)
    assert np.all(distance_to_whole[radius > 0.05] < 1e-3)
    assert np.ptp(np.bincount(dataset.y_train)) <= 1  # arms share the samples evenly


@pytest.mark.parametrize("num_classes", [2, 3, 4])
@pytest.mark.parametrize("num_features", [1, 2, 10])
def test_gaussian_teacher_labels_are_roughly_balanced(num_classes, num_features):
    for seed in range(3):
        dataset = build("gaussian", num_samples=1000, num_features=num_features, num_classes=num_classes, seed=seed)
        labels = np.concatenate([dataset.y_train, dataset.y_val])
        shares = np.bincount(labels, minlength=num_classes) / len(labels)
        assert shares.min() >= 0.10, (seed, shares)


def test_gaussian_teacher_labels_are_a_learnable_function_of_the_inputs():
    from sklearn.neighbors import KNeighborsClassifier

    dataset = build("gaussian", num_samples=2000, noise=0.0, num_features=3, num_classes=3, seed=1)
    accuracy = KNeighborsClassifier(5).fit(dataset.x_train, dataset.y_train).score(dataset.x_val, dataset.y_val)
    assert accuracy > 0.8  # chance is about 1/3


def test_blobs_use_one_centre_per_class():
    dataset = build("blobs", num_samples=1000, noise=0.0, num_classes=5)
    assert set(np.unique(dataset.y_train)) == set(range(5))


def test_dataset_is_frozen():
    dataset = build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.num_classes = 3


@pytest.mark.parametrize("name", sorted(BINARY_ONLY))
@pytest.mark.parametrize("num_classes", [3, 4])
def test_binary_only_sets_refuse_more_classes(name, num_classes):
    with pytest.raises(ValueError, match=f"num_classes.*{name}"):
        build(name, num_classes=num_classes)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"dataset": "iris"}, "dataset must be one of moons, circles, xor, spirals, blobs, gaussian"),
        ({"num_features": 1}, "num_features must be >= 2"),
        ({"dataset": "spirals", "num_features": 1, "num_classes": 3}, "num_features must be >= 2"),
        ({"dataset": "gaussian", "num_features": 0}, "num_features must be an integer >= 1"),
        ({"num_samples": 1}, "num_samples must be an integer >= 2"),
        ({"num_samples": 10.0}, "num_samples"),
        ({"noise": -0.1}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"dataset": "blobs", "num_classes": 1}, "num_classes must be an integer >= 2"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"validation_split": -0.1}, "validation_split"),
        ({"num_samples": 2, "validation_split": 0.9}, "validation_split"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(overrides, message):
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_gaussian_accepts_a_single_feature():
    assert build("gaussian", num_features=1).x_train.shape[1] == 1


def test_grid_for_boundary_spans_the_training_features_with_margin():
    dataset = build("moons", num_features=4)
    x1_values, x2_values = grid_for_boundary(dataset, resolution=50, margin=0.5)
    assert x1_values.shape == (50,) and x2_values.shape == (50,)
    assert x1_values[0] == pytest.approx(dataset.x_train[:, 0].min() - 0.5, abs=1e-6)
    assert x1_values[-1] == pytest.approx(dataset.x_train[:, 0].max() + 0.5, abs=1e-6)
    assert x2_values[0] == pytest.approx(dataset.x_train[:, 1].min() - 0.5, abs=1e-6)
    assert x2_values[-1] == pytest.approx(dataset.x_train[:, 1].max() + 0.5, abs=1e-6)
    assert np.all(np.diff(x1_values) > 0) and np.all(np.diff(x2_values) > 0)
    assert len(grid_for_boundary(dataset)[0]) == 100


def test_grid_for_boundary_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least 2 features"):
        grid_for_boundary(build("gaussian", num_features=1))
    with pytest.raises(ValueError, match="resolution"):
        grid_for_boundary(build(), resolution=1)
    with pytest.raises(ValueError, match="margin"):
        grid_for_boundary(build(), margin=-1.0)
