"""The baseline for seeds per second at initialisation: the same forward and backward pass in plain numpy.

A depth-20, width-8 ReLU net on the probe batch (256 samples, 10 gaussian features, He-normal-like
weights, binary cross-entropy from logits): per layer the kernel-gradient norm, the back-propagated
signal's RMS and the dead fraction — what the lab's probe measures, without its other columns, files or
histograms. One seed at a time, and vectorised over seeds (a batch of weight tensors through einsum).
"""
from __future__ import annotations

import time

import numpy as np

DEPTH, WIDTH, FEATURES, SAMPLES = 20, 8, 10, 256


def weights_for(seed: int) -> list[np.ndarray]:
    """Kernels for one seed (the distribution matters little for the timing; the shapes do)."""
    rng = np.random.default_rng(seed)
    sizes = [FEATURES] + [WIDTH] * DEPTH + [1]
    return [rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)).astype(np.float32) for fan_in, fan_out in zip(sizes, sizes[1:])]


def one_seed(inputs: np.ndarray, labels: np.ndarray, kernels: list[np.ndarray]) -> tuple:
    """Forward, backward and the per-layer figures for one network."""
    activations, preacts = [inputs], []
    for kernel in kernels[:-1]:
        preacts.append(activations[-1] @ kernel)
        activations.append(np.maximum(preacts[-1], 0.0))
    logits = activations[-1] @ kernels[-1]
    delta = 1.0 / (1.0 + np.exp(-logits)) - labels[:, None]
    grad_norms, signals = [], []
    for index in range(len(kernels) - 1, -1, -1):
        grad_norms.append(np.linalg.norm(activations[index].T @ delta / len(inputs)))
        signals.append(np.sqrt(np.mean(np.sum(delta ** 2, axis=1))))
        if index:
            delta = (delta @ kernels[index].T) * (preacts[index - 1] > 0)
    dead = [float(np.mean(np.all(a == 0, axis=0))) for a in activations[1:]]
    return grad_norms, signals, dead


def vectorised(inputs: np.ndarray, labels: np.ndarray, stacked: list[np.ndarray]) -> tuple:
    """The same for S networks at once: kernels stacked as (S, fan_in, fan_out)."""
    activation = np.broadcast_to(inputs, (stacked[0].shape[0], *inputs.shape))
    activations, preacts = [activation], []
    for kernel in stacked[:-1]:
        preacts.append(np.einsum("snf,sfo->sno", activations[-1], kernel))
        activations.append(np.maximum(preacts[-1], 0.0))
    logits = np.einsum("snf,sfo->sno", activations[-1], stacked[-1])
    delta = 1.0 / (1.0 + np.exp(-logits)) - labels[None, :, None]
    grad_norms = []
    for index in range(len(stacked) - 1, -1, -1):
        grad_norms.append(np.linalg.norm(np.einsum("snf,sno->sfo", activations[index], delta) / inputs.shape[0], axis=(1, 2)))
        if index:
            delta = np.einsum("sno,sfo->snf", delta, stacked[index]) * (preacts[index - 1] > 0)
    dead = [np.mean(np.all(a == 0, axis=1), axis=1) for a in activations[1:]]
    return grad_norms, dead


def seeds_per_second(seeds: int = 300) -> dict:
    """Both baselines' rates, weights drawn per seed inside the timing (as the lab must)."""
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32)
    labels = (rng.random(SAMPLES) > 0.5).astype(np.float32)
    started = time.perf_counter()
    for seed in range(seeds):
        one_seed(inputs, labels, weights_for(seed))
    one = seeds / (time.perf_counter() - started)
    started = time.perf_counter()
    per_seed = [weights_for(seed) for seed in range(seeds)]
    vectorised(inputs, labels, [np.stack([weights[layer] for weights in per_seed]) for layer in range(DEPTH + 1)])
    many = seeds / (time.perf_counter() - started)
    return {"numpy_one_seed_at_a_time": one, "numpy_vectorised_over_seeds": many}


if __name__ == "__main__":
    print(seeds_per_second())
