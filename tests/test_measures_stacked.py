"""The per-record numpy measures computed over stacked layers (lab.training.measures): the numbers of one layer at a time.

Independent references: np.histogram per layer, a direct float64 sigmoid/tanh/softsign derivative against the 5%
threshold, and np.all / np.mean per layer, on values that straddle every edge (bin edges, the saturation edge's float
neighbours, NaN, +-inf).
"""
from __future__ import annotations

import numpy as np
import pytest

from lab.training import measures

THRESHOLD = 0.05  # saturated: |f'(z)| < 5% of its maximum (lab.science.activations.saturated_mask's default)


def slope(name: str, z: np.ndarray) -> np.ndarray:
    """|f'(z)| / max |f'| from the textbook formulas, float64."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s) / 0.25
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    return 1.0 / (1.0 + np.abs(z)) ** 2  # softsign


@pytest.mark.parametrize("name", sorted(measures.EVEN_DECREASING_SLOPE))
def test_the_fast_saturation_mask_is_the_derivatives_mask_at_and_around_the_edge(name):
    from lab.science import activations

    edge = measures.saturation_edge(name, 0.01)
    with np.errstate(over="ignore"):
        assert slope(name, np.array([edge * (1 - 1e-9)]))[0] >= THRESHOLD > slope(name, np.array([edge * (1 + 1e-9)]))[0]
    rng = np.random.default_rng(3)
    edge32 = np.float32(edge)
    values = np.concatenate([
        [edge, np.nextafter(edge, 0.0), np.nextafter(edge, np.inf)],
        edge * (1 + rng.uniform(-3e-6, 3e-6, 20_000)),  # inside and just outside the band
        (edge32 + np.arange(-40, 40) * np.spacing(edge32)).astype(np.float64),  # float32 probe values at the edge
        rng.normal(0.0, 4.0, 50_000), [0.0, -0.0, 1e-300, 1e300, np.inf, -np.inf, np.nan],
    ])
    values = np.concatenate([values, -values])
    with np.errstate(over="ignore", invalid="ignore"):
        fast = measures.saturated_mask(name, values, 0.01)
        assert np.array_equal(fast, activations.saturated_mask(name, values, 0.01))
        finite = np.isfinite(values) & (np.abs(np.abs(values) - edge) > 1e-9 * edge)
        assert np.array_equal(fast[finite], slope(name, values[finite]) < THRESHOLD)
    assert not fast[np.isnan(values)].any() and fast[np.isinf(values)].all()


def layers_of(shape, count: int, seed: int) -> list[np.ndarray]:
    """float32 layers of several spreads, with NaN, +-inf, exact bin edges and a dead unit."""
    rng = np.random.default_rng(seed)
    layers = [rng.normal(0.0, spread, shape).astype(np.float32) for spread in np.resize([0.5, 3.0, 9.0, 30.0], count)]
    layers[0].flat[:7] = [-8.0, -7.75, 0.0, 7.75, 8.0, 1e-3, -1e-3]  # (a tiny negative like -1e-30 rounds into [0, 0.25))
    layers[1].flat[0], layers[2].flat[1], layers[2].flat[2] = np.nan, np.inf, -np.inf
    layers[3][:, 0] = 0.0
    return layers


@pytest.mark.parametrize("limit", [1, 3 * 16 * 8, 1 << 16])
def test_stacked_measures_equal_one_layer_at_a_time(monkeypatch, limit):
    monkeypatch.setattr(measures, "STACK_LIMIT", limit)  # groups of 1, of 3 layers, of every layer
    for shape in ((16, 8), (6, 5, 4)):  # an MLP layer (samples, units) and a recurrent one (samples, T, units)
        layers = layers_of(shape, 7, seed=len(shape))
        mixed = [*layers, np.arange(-20, 20, dtype=np.float32).reshape(-1, 1)]  # the logits: another shape
        edges = measures.HISTOGRAM_EDGES
        expected = np.concatenate([np.histogram(np.clip(values[~np.isnan(values)], edges[0], edges[-1]), edges)[0]
                                   for values in mixed])
        assert np.array_equal(measures.layer_bin_counts(mixed), expected)
        outputs = [np.maximum(values, 0.0) for values in layers]
        dead = [float(np.mean(np.all(np.reshape(output == 0.0, (shape[0], -1)), axis=0))) for output in outputs]
        assert measures.dead_fractions(outputs) == dead
        with np.errstate(over="ignore", invalid="ignore"):
            for name in ("sigmoid", "tanh", "softsign", "elu", "gelu"):
                one_at_a_time = [measures.saturated_fraction(name, values, 0.01) for values in layers]
                assert measures.saturated_fractions(name, layers, 0.01) == pytest.approx(one_at_a_time, abs=0, nan_ok=True)
            sigmoid = [float(np.mean(slope("sigmoid", values.astype(np.float64)) < THRESHOLD)) for values in layers]
            assert measures.saturated_fractions("sigmoid", layers, 0.01) == sigmoid
    assert measures.saturated_fractions("relu", layers, 0.01) == pytest.approx([np.nan] * 7, nan_ok=True)
