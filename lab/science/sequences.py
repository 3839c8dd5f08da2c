"""Seeded sequence tasks for recurrent networks: long time lags that a gradient has to cross.

Each task returns float64 inputs of shape (N, T, channels) and integer labels; the label depends on
inputs far back in time, so a network learns it only if the error signal reaches those early steps.

- bit_memory (binary, 1 channel): T noisy ±1 bits; the label is the first bit (is it +1). A simple RNN
  can hold one bit in a saturated unit (a latch), so it learns this despite a tiny initial gradient.
- adding (binary, 2 channels): values U(0, 1) and a marker that is 1 at two positions, one in each half;
  the label is whether the two marked values sum to more than 1 (Hochreiter & Schmidhuber 1997's adding
  problem as a classification; P(sum > 1) = 1/2, and knowing only the second value already gives 0.75).
- temporal_order (4 classes, 6 channels: one-hot a, b, c, d, X, Y): random distractors a-d, with X or Y
  at t1 in [0.1T, 0.2T] and at t2 in [0.5T, 0.6T]; the class is their order XX, XY, YX, YY
  (Hochreiter & Schmidhuber 1997, experiment 6a, its positions scaled to T).
"""
from __future__ import annotations

import math

import numpy as np

SEQUENCE_TASKS = ("bit_memory", "adding", "temporal_order")
# Input channels and classes of each task: the config resolves num_features and num_classes to these.
CHANNELS = {"bit_memory": 1, "adding": 2, "temporal_order": 6}
CLASSES = {"bit_memory": 2, "adding": 2, "temporal_order": 4}
TEMPORAL_ORDER_SYMBOLS = ("a", "b", "c", "d", "X", "Y")  # channel order of temporal_order's one-hot inputs
DISTRACTORS = 4  # a-d: the first four symbols
MARKER_X, MARKER_Y = 4, 5
MIN_LENGTH = 2  # adding needs a position in each half; temporal_order two distinct marker positions


def _check(task: str, num_samples: int, sequence_length: int, noise: float) -> None:
    """ValueError naming the first invalid argument."""
    if task not in SEQUENCE_TASKS:
        raise ValueError(f"task must be one of {', '.join(SEQUENCE_TASKS)}; got {task!r}")
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f"num_samples must be an integer >= 1; got {num_samples!r}")
    if int(sequence_length) != sequence_length or sequence_length < MIN_LENGTH:
        raise ValueError(f"sequence_length must be an integer >= {MIN_LENGTH}; got {sequence_length!r}")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")


def bit_memory(rng: np.random.Generator, num_samples: int, sequence_length: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """T bits of ±1 plus N(0, noise²); the label is 1 when the first (clean) bit is +1."""
    bits = rng.choice(np.array([-1.0, 1.0]), size=(num_samples, sequence_length))
    labels = (bits[:, 0] > 0).astype(np.int64)
    # As for the 2-D sets, the label comes from the clean bit and the noise blurs what the network sees.
    inputs = bits + rng.normal(0.0, noise, size=bits.shape)
    return inputs[:, :, None], labels


def marker_positions(rng: np.random.Generator, num_samples: int, sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """adding's two marked steps (0-based): one uniform in the first half [0, T//2), one in the second [T//2, T)."""
    half = sequence_length // 2
    first = rng.integers(0, half, size=num_samples)
    second = rng.integers(half, sequence_length, size=num_samples)
    return first, second


def adding(rng: np.random.Generator, num_samples: int, sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Channel 0: U(0, 1) values; channel 1: the two markers; label: the marked values sum to more than 1."""
    values = rng.uniform(0.0, 1.0, size=(num_samples, sequence_length))
    first, second = marker_positions(rng, num_samples, sequence_length)
    rows = np.arange(num_samples)
    markers = np.zeros_like(values)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    labels = (values[rows, first] + values[rows, second] > 1.0).astype(np.int64)
    return np.stack([values, markers], axis=-1), labels


def order_windows(sequence_length: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """temporal_order's marker windows (0-based, inclusive): [0.1T, 0.2T] and [0.5T, 0.6T], rounded down.

    Rounding down keeps the windows apart at every T >= 2 (floor(0.5T) > floor(0.2T)), so X/Y never overlap.
    """
    first = (math.floor(0.1 * sequence_length), math.floor(0.2 * sequence_length))
    second = (math.floor(0.5 * sequence_length), min(math.floor(0.6 * sequence_length), sequence_length - 1))
    return first, second


def temporal_order(rng: np.random.Generator, num_samples: int, sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot distractors a-d with X/Y at t1 and t2; class = 2·[first is Y] + [second is Y] (XX, XY, YX, YY)."""
    (low1, high1), (low2, high2) = order_windows(sequence_length)
    symbols = rng.integers(0, DISTRACTORS, size=(num_samples, sequence_length))
    first = rng.integers(low1, high1 + 1, size=num_samples)
    second = rng.integers(low2, high2 + 1, size=num_samples)
    first_is_y = rng.integers(0, 2, size=num_samples)
    second_is_y = rng.integers(0, 2, size=num_samples)
    rows = np.arange(num_samples)
    symbols[rows, first] = MARKER_X + first_is_y
    symbols[rows, second] = MARKER_X + second_is_y
    inputs = np.eye(len(TEMPORAL_ORDER_SYMBOLS))[symbols]
    return inputs, (2 * first_is_y + second_is_y).astype(np.int64)


def make_sequences(task: str, rng: np.random.Generator, num_samples: int, sequence_length: int,
                   noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (N, T, channels) float64, labels (N,) int64) of one task; noise is used by bit_memory only."""
    _check(task, num_samples, sequence_length, float(noise))
    if task == "bit_memory":
        return bit_memory(rng, num_samples, sequence_length, float(noise))
    if task == "adding":
        return adding(rng, num_samples, sequence_length)
    return temporal_order(rng, num_samples, sequence_length)
