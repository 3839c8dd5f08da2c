"""The baseline for seeds per second at initialisation: the same forward and backward pass in plain numpy.

A depth-20, width-8 ReLU net on the probe batch (256 samples, 10 gaussian features, Glorot-uniform weights
(the MLP's default initializer), zero biases, binary cross-entropy from logits). Per seed it records what the
lab's probe records at step 0: per layer the kernel- and bias-gradient norms, the back-propagated signal's RMS, the
weight norm, the dead fraction, the activation mean and std, and the 64-bin pre-activation histogram;
and the loss. One seed at a time (in memory, or writing layers.csv, histograms.csv and summary.json per seed),
and vectorised over seeds (stacked weight tensors through batched matmul).
`check_against_lab` runs the same function on a lab run's own probe batch and initial weights and
compares the figures, so the baseline is known to do the lab's work, not less.
"""
from __future__ import annotations

import json
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

DEPTH, WIDTH, FEATURES, SAMPLES = 20, 8, 10, 256
EDGES = np.linspace(-8.0, 8.0, 65)  # the lab's histogram bins; outliers go to the edge bins, as there


def weights_for(seed: int) -> list[np.ndarray]:
    """[kernel 1, bias 1, ..., output kernel, output bias] for one seed: Glorot uniform, the MLP's default initializer."""
    rng = np.random.default_rng(seed)
    sizes = [FEATURES] + [WIDTH] * DEPTH + [1]
    weights = []
    for fan_in, fan_out in pairwise(sizes):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, np.float32))
    return weights


def histogram(values: np.ndarray) -> np.ndarray:
    """Counts in EDGES with values beyond the range in the outermost bins."""
    return np.histogram(np.clip(values, EDGES[0], EDGES[-1]), bins=EDGES)[0]


def one_seed(inputs: np.ndarray, labels: np.ndarray, weights: list[np.ndarray]) -> dict:
    """Forward, backward and every per-layer figure of the probe for one network (float32, as the lab)."""
    kernels, biases = weights[0::2], weights[1::2]
    activations, preacts = [inputs], []
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        preacts.append(activations[-1] @ kernel + bias)
        activations.append(np.maximum(preacts[-1], 0.0))
    logits = activations[-1] @ kernels[-1] + biases[-1]
    preacts.append(logits)
    target = labels[:, None]
    # Binary cross-entropy from logits, the numerically stable form; its gradient is sigmoid - target.
    loss = float(np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))))
    delta = 1.0 / (1.0 + np.exp(-logits)) - target  # d loss_i / d z at the logits, per sample
    count = len(inputs)
    grad_norms, bias_norms, signals = [0.0] * len(kernels), [0.0] * len(kernels), [0.0] * len(kernels)
    for index in range(len(kernels) - 1, -1, -1):
        grad_norms[index] = float(np.linalg.norm(activations[index].T @ delta / count))
        bias_norms[index] = float(np.linalg.norm(delta.sum(axis=0) / count))
        signals[index] = float(np.sqrt(np.mean(np.sum(delta ** 2, axis=1))))
        if index:
            delta = (delta @ kernels[index].T) * (preacts[index - 1] > 0)
    hidden = activations[1:]
    return {
        "loss": loss,
        "grad_norm": grad_norms,
        "bias_grad_norm": bias_norms,
        "preact_grad_rms": signals,
        "weight_norm": [float(np.linalg.norm(kernel)) for kernel in kernels],
        "dead_fraction": [float(np.mean(np.all(a == 0, axis=0))) for a in hidden],
        "activation_mean": [float(np.mean(a)) for a in hidden] + [float(np.mean(logits))],
        "activation_std": [float(np.std(a)) for a in hidden] + [float(np.std(logits))],
        "histograms": [histogram(z) for z in preacts],  # the logits too, as the lab
    }


def vectorised(inputs: np.ndarray, labels: np.ndarray, stacked: list[np.ndarray]) -> dict:
    """The same figures for S networks at once: kernels stacked as (S, fan_in, fan_out), biases (S, fan_out)."""
    kernels, biases = stacked[0::2], stacked[1::2]
    seeds = kernels[0].shape[0]
    activations, preacts = [np.broadcast_to(inputs, (seeds, *inputs.shape))], []
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        preacts.append(activations[-1] @ kernel + bias[:, None, :])
        activations.append(np.maximum(preacts[-1], 0.0))
    logits = activations[-1] @ kernels[-1] + biases[-1][:, None, :]
    target = labels[None, :, None]
    loss = np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))), axis=(1, 2))
    delta = 1.0 / (1.0 + np.exp(-logits)) - target
    count = inputs.shape[0]
    grad_norms, bias_norms, signals = [], [], []
    for index in range(len(kernels) - 1, -1, -1):
        grad_norms.append(np.linalg.norm(activations[index].transpose(0, 2, 1) @ delta / count, axis=(1, 2)))
        bias_norms.append(np.linalg.norm(delta.sum(axis=1) / count, axis=1))
        signals.append(np.sqrt(np.mean(np.sum(delta ** 2, axis=2), axis=1)))
        if index:
            delta = (delta @ kernels[index].transpose(0, 2, 1)) * (preacts[index - 1] > 0)
    hidden = activations[1:]
    # Histograms: per layer (logits included) one bincount over every seed, bin indices offset by seed.
    counts = np.stack([
        np.bincount((np.clip(np.searchsorted(EDGES, values, side="right") - 1, 0, len(EDGES) - 2)
                     + np.arange(seeds)[:, None] * (len(EDGES) - 1)).ravel(), minlength=seeds * (len(EDGES) - 1))
        for values in (*(p.reshape(seeds, -1) for p in preacts), logits.reshape(seeds, -1))
    ])
    return {
        "loss": loss,
        "grad_norm": grad_norms[::-1],
        "bias_grad_norm": bias_norms[::-1],
        "preact_grad_rms": signals[::-1],
        "weight_norm": [np.linalg.norm(kernel, axis=(1, 2)) for kernel in kernels],
        "dead_fraction": [np.mean(np.all(a == 0, axis=1), axis=1) for a in hidden],
        "activation_mean": [np.mean(a, axis=(1, 2)) for a in hidden],
        "activation_std": [np.std(a, axis=(1, 2)) for a in hidden],
        "histograms": counts.reshape(DEPTH + 1, seeds, -1).transpose(1, 0, 2),
    }


LAYER_COLUMNS = ("grad_norm", "bias_grad_norm", "preact_grad_rms", "weight_norm", "dead_fraction", "activation_mean",
                 "activation_std")


def write_seed(folder: Path, seed: int, figures: dict) -> None:
    """What the lab writes of these figures, the numpy way: layers.csv, histograms.csv, summary.json in folder/seed-<n>/.

    Full float64 precision (17 digits, as pandas writes the lab's columns); the output row's dead fraction
    is NaN, as in the lab.
    """
    run = Path(folder) / f"seed-{seed}"
    run.mkdir(parents=True, exist_ok=True)
    layers = len(figures["grad_norm"])
    columns = [np.arange(1, layers + 1)] + [np.resize(np.asarray(figures[name], np.float64), layers) for name in LAYER_COLUMNS]
    columns[LAYER_COLUMNS.index("dead_fraction") + 1][-1] = np.nan
    np.savetxt(run / "layers.csv", np.column_stack(columns), fmt=["%d"] + ["%.17g"] * len(LAYER_COLUMNS), delimiter=",",
               header=",".join(("layer", *LAYER_COLUMNS)), comments="")
    bins = len(EDGES) - 1  # every layer's histogram, the logits' included: one per row of layers.csv
    histograms = np.column_stack([np.repeat(np.arange(1, layers + 1), bins), np.tile(EDGES[:-1], layers),
                                  np.tile(EDGES[1:], layers), np.asarray(figures["histograms"]).reshape(-1)])
    np.savetxt(run / "histograms.csv", histograms, fmt=["%d", "%.17g", "%.17g", "%d"], delimiter=",",
               header="layer,bin_left,bin_right,count", comments="")
    (run / "summary.json").write_text(json.dumps({"seed": seed, "loss": figures["loss"]}, indent=2))


def one_seed_at_a_time(seeds, folder: Path | None = None) -> float:
    """Seeds per second of one_seed, weights drawn per seed inside the timing (as the lab must); writing when folder."""
    inputs, labels = probe_batch()
    started = time.perf_counter()
    for seed in seeds:
        figures = one_seed(inputs, labels, weights_for(seed))
        if folder is not None:
            write_seed(folder, seed, figures)
    return len(seeds) / (time.perf_counter() - started)


def probe_batch() -> tuple[np.ndarray, np.ndarray]:
    """A fixed gaussian probe batch and binary labels."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32), (rng.random(SAMPLES) > 0.5).astype(np.float32)


def seeds_per_second(seeds: int = 300) -> dict:
    """Both baselines' rates in memory, weights drawn per seed inside the timing (as the lab must)."""
    one = one_seed_at_a_time(range(seeds))
    inputs, labels = probe_batch()
    started = time.perf_counter()
    per_seed = [weights_for(seed) for seed in range(seeds)]
    vectorised(inputs, labels, [np.stack([weights[index] for weights in per_seed]) for index in range(2 * (DEPTH + 1))])
    many = seeds / (time.perf_counter() - started)
    return {"numpy_one_seed_at_a_time": one, "numpy_vectorised_over_seeds": many}


def check_against_lab(config, result) -> float:
    """Largest relative difference between this baseline's figures and a lab run's layers at step 0.

    The baseline is given the lab run's own probe batch and initial weights, so any difference is the
    arithmetic (float32 in a different order), not the work.
    """
    from lab.contract.run_data import prepare_data
    from lab.science.initializers import network_weights

    dataset, probe_index = prepare_data(config)
    sizes = [dataset.x_train.shape[1]] + [config.model.width] * config.model.depth + [1]
    shapes = [((fan_in, fan_out), (fan_out,)) for fan_in, fan_out in pairwise(sizes)]
    weights = network_weights(shapes, config.model.kernel_initializer, config.model.bias_initializer, config.seed)
    figures = one_seed(dataset.x_train[probe_index], dataset.y_train[probe_index].astype(np.float32), weights)
    layers = result.layers[result.layers["step"] == 0].sort_values("layer")
    worst = 0.0
    for column in ("grad_norm", "bias_grad_norm", "preact_grad_rms", "weight_norm", "activation_mean", "activation_std"):
        lab_values, ours = layers[column].to_numpy(), np.asarray(figures[column], dtype=np.float64)
        scale = np.maximum(np.abs(lab_values), 1e-12)
        worst = max(worst, float(np.max(np.abs(lab_values - ours) / scale)))
    dead = layers["dead_fraction"].to_numpy()[:-1]
    if not np.array_equal(dead, np.asarray(figures["dead_fraction"])):
        raise AssertionError("dead fractions differ between the numpy baseline and the lab")
    counts = result.histograms[result.histograms["step"] == 0].sort_values(["layer", "bin_left"])["count"].to_numpy()
    if not np.array_equal(counts, np.concatenate(figures["histograms"])):
        raise AssertionError("histogram counts differ between the numpy baseline and the lab")
    return worst


if __name__ == "__main__":
    print(seeds_per_second())
