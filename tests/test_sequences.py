"""The sequence tasks: shapes, labels re-derived from the inputs alone, balance, and the task's stated facts."""
import math

import numpy as np
import pytest

from lab.science.sequences import CHANNELS, CLASSES, SEQUENCE_TASKS, make_sequences, order_windows


def generate(task, num_samples=4000, length=50, noise=0.0, seed=0):
    return make_sequences(task, np.random.default_rng(seed), num_samples, length, noise)


@pytest.mark.parametrize("task", SEQUENCE_TASKS)
@pytest.mark.parametrize("length", [2, 3, 7, 50, 1000])
def test_shapes_and_classes(task, length):
    inputs, labels = generate(task, num_samples=64, length=length)
    assert inputs.shape == (64, length, CHANNELS[task]) and inputs.dtype == np.float64
    assert labels.shape == (64,) and set(np.unique(labels)) <= set(range(CLASSES[task]))


@pytest.mark.parametrize("task", SEQUENCE_TASKS)
def test_seeded(task):
    first, second = generate(task, seed=3), generate(task, seed=3)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert not np.array_equal(first[0], generate(task, seed=4)[0])


def test_bit_memory_label_is_the_first_bit():
    clean, labels = generate("bit_memory")
    assert set(np.unique(clean)) == {-1.0, 1.0}
    assert np.array_equal(labels, (clean[:, 0, 0] > 0).astype(int))
    noisy, noisy_labels = generate("bit_memory", noise=0.5)
    # The same seed draws the same bits; the noise is added on top with the stated standard deviation.
    assert np.array_equal(noisy_labels, labels)
    assert abs(np.std(noisy - clean) - 0.5) < 0.01
    # No other step carries the label: the correlation of a later bit with it is at chance.
    assert abs(np.corrcoef(clean[:, 1, 0], labels)[0, 1]) < 0.05


def test_adding_markers_and_label():
    inputs, labels = generate("adding", num_samples=20000, length=50)
    values, markers = inputs[:, :, 0], inputs[:, :, 1]
    assert ((values >= 0) & (values < 1)).all()
    marked = [np.flatnonzero(row) for row in markers]
    assert all(len(positions) == 2 and positions[0] < 25 <= positions[1] for positions in marked)
    sums = np.array([values[i, positions].sum() for i, positions in enumerate(marked)])
    assert np.array_equal(labels, (sums > 1).astype(int))
    # P(U1 + U2 > 1) = 1/2: balanced within 4 standard errors.
    assert abs(labels.mean() - 0.5) < 4 * math.sqrt(0.25 / len(labels))
    # Knowing only the second value and guessing "label 1 when it is above 1/2" is right 3/4 of the time.
    second = np.array([values[i, positions[1]] for i, positions in enumerate(marked)])
    assert abs(((second > 0.5) == labels).mean() - 0.75) < 4 * math.sqrt(0.75 * 0.25 / len(labels))


@pytest.mark.parametrize("length", [2, 3, 5, 10, 50, 101])
def test_temporal_order_markers_in_their_windows(length):
    inputs, labels = generate("temporal_order", num_samples=3000, length=length)
    assert np.array_equal(inputs.sum(axis=-1), np.ones(inputs.shape[:2]))  # one-hot at every step
    symbols = inputs.argmax(axis=-1)
    (low1, high1), (low2, high2) = order_windows(length)
    assert low1 <= high1 < low2 <= high2 < length
    for row, label in zip(symbols, labels):
        positions = np.flatnonzero(row >= 4)  # X is channel 4, Y channel 5
        assert len(positions) == 2
        assert low1 <= positions[0] <= high1 and low2 <= positions[1] <= high2
        first_is_y, second_is_y = row[positions] == 5
        assert label == 2 * first_is_y + second_is_y
    assert np.bincount(labels, minlength=4).min() > 3000 / 4 - 4 * math.sqrt(3000 * 3 / 16)


def test_temporal_order_windows_scale_with_length():
    assert order_windows(100) == ((10, 20), (50, 60))
    assert order_windows(1000) == ((100, 200), (500, 600))


@pytest.mark.parametrize("bad, message", [
    (dict(task="copying"), "task must be one of bit_memory, adding, temporal_order"),
    (dict(sequence_length=1), "sequence_length must be an integer >= 2"),
    (dict(num_samples=0), "num_samples must be an integer >= 1"),
    (dict(noise=-1.0), "noise must be a finite number >= 0"),
])
def test_bad_arguments_name_the_field(bad, message):
    arguments = dict(task="adding", num_samples=10, sequence_length=10, noise=0.0, **{})
    arguments.update(bad)
    with pytest.raises(ValueError, match=message):
        make_sequences(arguments["task"], np.random.default_rng(0), arguments["num_samples"],
                       arguments["sequence_length"], arguments["noise"])
