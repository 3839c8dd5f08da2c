"""Seeded classification data sets, split (and the vector sets standardised) for the experiments.

All are synthetic but digits: scikit-learn's bundled 8×8 handwritten digits (load_digits, no download).
The sequence tasks (lab.science.sequences, for recurrent networks) give (N, T, channels) inputs and are not
standardised: their encodings (±1 bits, U(0, 1) values with 0/1 markers, one-hot symbols) are the task's definition.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from lab.science.sequences import CHANNELS, CLASSES, SEQUENCE_TASKS, make_sequences

# The vector data sets (an MLP's; the app's form lists these); data.dataset also takes SEQUENCE_TASKS.
DATASETS = ("moons", "circles", "xor", "spirals", "blobs", "gaussian", "digits")
ALL_DATASETS = DATASETS + SEQUENCE_TASKS
DEFAULT_SEQUENCE_LENGTH = 50
TWO_DIMENSIONAL = frozenset({"moons", "circles", "xor", "spirals", "blobs"})
BINARY_ONLY = frozenset({"moons", "circles", "xor"})

CIRCLES_FACTOR = 0.5  # inner circle radius relative to the outer one
BLOBS_BASE_STD = 1.0  # blobs use cluster_std = BLOBS_BASE_STD + noise around sklearn's random centres
SPIRAL_TURNS = 1.0  # full turns each spiral arm makes while its radius grows from 0 to 1
TEACHER_HIDDEN_UNITS = 16
# sklearn.datasets.load_digits: 1797 images of 8×8 pixels (values 0..16), 10 classes; real data, so no noise.
DIGITS_SAMPLES, DIGITS_FEATURES, DIGITS_CLASSES = 1797, 64, 10


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/validation splits (x float32, y int32) plus the train statistics used to standardise.

    x is (N, features) for the vector sets and (N, T, channels) for a sequence task (then feature_mean is 0
    and feature_std 1 per channel: sequences are not standardised).
    """

    # eq=False: the generated __eq__/__hash__ would compare numpy arrays, which raises.
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    feature_mean: np.ndarray
    feature_std: np.ndarray

    @property
    def num_features(self):
        """Return the number of input features (a sequence task's channels)."""
        return self.x_train.shape[-1]


def _is_int(value):
    """Return True for Python or numpy integers, but not for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _validate(dataset, num_samples, noise, num_features, num_classes, validation_split):
    """Raise ValueError naming the first invalid make_dataset argument."""
    if dataset not in ALL_DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(ALL_DATASETS)}; got {dataset!r}")
    if not _is_int(num_samples) or num_samples < 2:
        raise ValueError(f"num_samples must be an integer >= 2; got {num_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    if not _is_int(num_features) or num_features < 1:
        raise ValueError(f"num_features must be an integer >= 1; got {num_features!r}")
    if dataset in TWO_DIMENSIONAL and num_features < 2:
        raise ValueError(f"num_features must be >= 2 for the 2-D dataset {dataset!r}; got {num_features}")
    if not _is_int(num_classes) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}")
    if dataset == "digits" and (num_samples > DIGITS_SAMPLES or num_features != DIGITS_FEATURES
                                or num_classes != DIGITS_CLASSES):
        raise ValueError(f"digits has {DIGITS_SAMPLES} images of {DIGITS_FEATURES} features in {DIGITS_CLASSES} classes; "
                         f"got num_samples {num_samples}, num_features {num_features}, num_classes {num_classes}")
    if dataset in SEQUENCE_TASKS and (num_features != CHANNELS[dataset] or num_classes != CLASSES[dataset]):
        raise ValueError(f"{dataset} has {CHANNELS[dataset]} channels (num_features) and {CLASSES[dataset]} classes; "
                         f"got num_features {num_features}, num_classes {num_classes}")
    if dataset in BINARY_ONLY and num_classes != 2:
        raise ValueError(
            f"num_classes must be 2 for the binary dataset {dataset!r} (got {num_classes}); "
            "use spirals, blobs or gaussian for more classes"
        )
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, numbers.Real)
        or not 0 <= validation_split < 1
    ):
        raise ValueError(f"validation_split must be a number in [0, 1); got {validation_split!r}")
    if num_samples - round(num_samples * validation_split) < 1:
        raise ValueError(
            f"validation_split {validation_split} leaves no training sample out of num_samples {num_samples}"
        )


def _sklearn_seed(rng):
    """Draw an integer seed for sklearn from the local generator, so no global state is used."""
    return int(rng.integers(0, 2**31 - 1))


def _xor(rng, num_samples, noise):
    """Return uniform points of [-1, 1]^2 labelled by whether x1 and x2 share a sign, then jittered."""
    points = rng.uniform(-1.0, 1.0, size=(num_samples, 2))
    # Labels come from the clean points, so noise blurs the boundary as in make_moons.
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)
    return points + rng.normal(0.0, noise, size=points.shape), labels


def _spirals(rng, num_samples, noise, num_classes):
    """Return num_classes interleaved spiral arms, each rotated by 2*pi/num_classes."""
    # Spread the samples as evenly as possible: the first num_samples % k arms get one extra.
    labels = np.repeat(np.arange(num_classes), [
        num_samples // num_classes + (arm < num_samples % num_classes) for arm in range(num_classes)
    ])
    progress = rng.uniform(0.0, 1.0, size=num_samples)  # 0 at the centre, 1 at the arm's end
    radius = progress
    angle = 2.0 * np.pi * (SPIRAL_TURNS * progress + labels / num_classes)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return points + rng.normal(0.0, noise, size=points.shape), labels


def _balanced_argmax(logits, max_iterations=200, tolerance=1e-4, fit_samples=5000):
    """Return argmax(logits - median + offsets) with per-class offsets that balance the classes."""
    num_classes = logits.shape[1]
    # A random teacher's logit columns differ in location and scale, so a plain argmax lets one
    # class win almost everywhere. Subtracting each column's median removes the location part;
    # with few features that still left some classes under 1% of samples, so Sinkhorn-style
    # offset updates on a softened argmax (annealed twice) then equalise the class shares. The
    # offsets are constants afterwards, so labels stay a deterministic, learnable function of x.
    centred = logits - np.median(logits, axis=0)
    fit_rows = centred[:fit_samples]  # rows are i.i.d., so a subsample fixes the offsets cheaply
    spread = float(np.std(centred)) + 1e-12
    offsets = np.zeros(num_classes)
    for relative_temperature in (0.05, 0.01):
        temperature = relative_temperature * spread
        for _ in range(max_iterations):
            scaled = (fit_rows + offsets) / temperature
            scaled -= scaled.max(axis=1, keepdims=True)
            probabilities = np.exp(scaled)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            shares = probabilities.mean(axis=0)
            if np.max(np.abs(shares - 1.0 / num_classes)) < tolerance:
                break
            offsets += temperature * (np.log(1.0 / num_classes) - np.log(shares + 1e-300))
    return np.argmax(centred + offsets, axis=1)


def _gaussian(rng, num_samples, noise, num_features, num_classes):
    """Return N(0, 1) inputs labelled by a random one-hidden-layer tanh teacher network."""
    clean = rng.standard_normal((num_samples, num_features))
    # N(0, 1/fan_in) weights keep pre-activations O(1): tanh is neither linear nor saturated.
    hidden_weights = rng.normal(0.0, math.sqrt(1.0 / num_features), size=(num_features, TEACHER_HIDDEN_UNITS))
    num_outputs = 1 if num_classes == 2 else num_classes
    output_weights = rng.normal(0.0, math.sqrt(1.0 / TEACHER_HIDDEN_UNITS), size=(TEACHER_HIDDEN_UNITS, num_outputs))
    teacher_output = np.tanh(clean @ hidden_weights) @ output_weights
    if num_classes == 2:
        # Thresholding at the median makes the two classes equally frequent.
        labels = (teacher_output[:, 0] > np.median(teacher_output[:, 0])).astype(np.int64)
    else:
        labels = _balanced_argmax(teacher_output)
    # As for xor, labels come from the clean inputs and noise blurs what the student sees.
    return clean + rng.normal(0.0, noise, size=clean.shape), labels


def _digits(rng, num_samples):
    """Return num_samples of sklearn's 1797 8×8 digit images (pixels as 64 features), a seeded subset without repeats."""
    from sklearn.datasets import load_digits

    images = load_digits()
    # Every image when num_samples is 1797 (then only make_dataset's shuffle orders them), else a seeded subset.
    chosen = np.sort(rng.choice(DIGITS_SAMPLES, size=num_samples, replace=False))
    return images.data[chosen].astype(np.float64), images.target[chosen].astype(np.int64)


def _generate(dataset, rng, extra_rng, num_samples, noise, num_features, num_classes):
    """Return float64 inputs and integer labels for the requested data set, before splitting."""
    if dataset == "gaussian":
        return _gaussian(rng, num_samples, noise, num_features, num_classes)
    if dataset == "digits":
        return _digits(rng, num_samples)  # noise is not used: the images are real data
    # Lazy import: sklearn takes about a second to import and `import lab` must stay fast.
    from sklearn import datasets as sklearn_datasets

    if dataset == "moons":
        points, labels = sklearn_datasets.make_moons(num_samples, noise=noise, random_state=_sklearn_seed(rng))
    elif dataset == "circles":
        points, labels = sklearn_datasets.make_circles(
            num_samples, noise=noise, factor=CIRCLES_FACTOR, random_state=_sklearn_seed(rng)
        )
    elif dataset == "blobs":
        points, labels = sklearn_datasets.make_blobs(
            num_samples, n_features=2, centers=num_classes, cluster_std=BLOBS_BASE_STD + noise,
            random_state=_sklearn_seed(rng),
        )
    elif dataset == "xor":
        points, labels = _xor(rng, num_samples, noise)
    else:
        points, labels = _spirals(rng, num_samples, noise, num_classes)
    # Extra features carry no label information: they test whether the net learns to ignore them.
    extra = extra_rng.standard_normal((num_samples, num_features - 2))
    return np.hstack([points, extra]), labels


def make_dataset(dataset, num_samples, noise, num_features, num_classes, validation_split, seed,
                 sequence_length=DEFAULT_SEQUENCE_LENGTH):
    """Return a seeded, shuffled, split and train-standardised Dataset (digits: noise is ignored).

    A sequence task (SEQUENCE_TASKS) gives (N, sequence_length, channels) inputs, split but not standardised;
    sequence_length is read by those only.
    """
    _validate(dataset, num_samples, noise, num_features, num_classes, validation_split)
    # Independent child streams: the base points and the shuffle do not depend on num_features,
    # so appending noise features to a 2-D set leaves its first two columns unchanged.
    points_rng, extra_rng, shuffle_rng = np.random.default_rng(seed).spawn(3)
    if dataset in SEQUENCE_TASKS:
        return _sequence_dataset(dataset, points_rng, num_samples, sequence_length, float(noise), validation_split)
    inputs, labels = _generate(dataset, points_rng, extra_rng, num_samples, float(noise), num_features, num_classes)
    return split_and_standardise(inputs, labels, num_classes, validation_split, shuffle_rng)


def split_and_standardise(inputs, labels, num_classes, validation_split, shuffle_rng):
    """Return the Dataset of vector inputs: shuffled by shuffle_rng, split, standardised by the training split's statistics.

    Shared by the built-in vector sets and a user's csv (lab.science.csv_data), so both are prepared the same way.
    """
    num_samples = len(labels)
    # Generators emit samples grouped or in their own order; shuffle inputs and labels together.
    order = shuffle_rng.permutation(num_samples)
    inputs, labels = inputs[order].astype(np.float64), labels[order]
    num_train = num_samples - round(num_samples * validation_split)
    # Statistics come from the training split only, so validation data never leaks into them.
    feature_mean = inputs[:num_train].mean(axis=0)
    feature_std = inputs[:num_train].std(axis=0)
    feature_std = np.where(feature_std > 0, feature_std, 1.0)  # a constant feature stays at 0
    standardised = ((inputs - feature_mean) / feature_std).astype(np.float32)
    labels = labels.astype(np.int32)
    return Dataset(
        x_train=standardised[:num_train],
        y_train=labels[:num_train],
        x_val=standardised[num_train:],
        y_val=labels[num_train:],
        num_classes=int(num_classes),
        feature_mean=feature_mean,
        feature_std=feature_std,
    )


def _sequence_dataset(task, rng, num_samples, sequence_length, noise, validation_split):
    """A sequence task's Dataset: (N, T, channels) float32 splits, not standardised (mean 0, std 1 per channel).

    The samples are i.i.d. draws, so no shuffle is needed: the first ones train, the rest validate.
    """
    inputs, labels = make_sequences(task, rng, num_samples, sequence_length, noise)
    num_train = num_samples - round(num_samples * validation_split)
    inputs, labels = inputs.astype(np.float32), labels.astype(np.int32)
    channels = CHANNELS[task]
    return Dataset(
        x_train=inputs[:num_train], y_train=labels[:num_train], x_val=inputs[num_train:], y_val=labels[num_train:],
        num_classes=CLASSES[task], feature_mean=np.zeros(channels), feature_std=np.ones(channels),
    )


def grid_for_boundary(dataset, resolution=100, margin=0.5):
    """Return (x1_values, x2_values) spanning the first two standardised training features."""
    if not _is_int(resolution) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2; got {resolution!r}")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    if dataset.x_train.ndim != 2:
        raise ValueError("grid_for_boundary needs vector inputs; a sequence task's are (samples, steps, channels)")
    if dataset.x_train.shape[1] < 2:
        raise ValueError(f"grid_for_boundary needs at least 2 features; the dataset has {dataset.x_train.shape[1]}")
    first_two = dataset.x_train[:, :2].astype(np.float64)
    low = first_two.min(axis=0) - margin
    high = first_two.max(axis=0) + margin
    return np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
