"""Every sweep preset in experiments/sweeps/ runs in quick mode and shows the classic result it reproduces."""
from pathlib import Path

import pytest

SWEEPS = Path(__file__).resolve().parent.parent / "experiments" / "sweeps"


@pytest.fixture(scope="module")
def quick_tables(quick_sweep_table):
    """Each preset run once with --quick (first and last value of each axis, 3 seeds), shared with other modules."""
    return {path.stem: quick_sweep_table(path) for path in sorted(SWEEPS.glob("*.yaml"))}


def median(table, **where):
    """Median log10 signal ratio at initialisation over the rows matching where."""
    rows = table
    for key, value in where.items():
        rows = rows[rows[key.replace("__", ".")] == value]
    assert len(rows) > 0, where
    return rows["log10_signal_ratio_start"].median()


def test_every_sweep_preset_says_what_it_reproduces():
    for path in SWEEPS.glob("*.yaml"):
        text = path.read_text()
        assert text.startswith("# Reproduces: ") and "Expect" in text, path


@pytest.mark.slow  # the quick preset sweeps (shared fixture quick_sweep_table): about 2 min for all presets
def test_depth_vs_activation(quick_tables):
    table = quick_tables["depth_vs_activation"]
    assert median(table, model__activation="sigmoid", model__depth=30) < -10  # vanished (or exactly 0: -inf)
    assert median(table, model__activation="relu", model__depth=30) > -6  # quick keeps sigmoid and relu (first, last)
    assert median(table, model__activation="relu", model__depth=30) < median(table, model__activation="relu", model__depth=2) - 2


@pytest.mark.slow  # the quick preset sweeps (shared fixture quick_sweep_table): about 2 min for all presets
def test_xavier_vs_he(quick_tables):
    table = quick_tables["xavier_vs_he"]
    assert median(table, model__kernel_initializer="glorot_uniform", model__depth=50) < -5
    assert median(table, model__kernel_initializer="he_normal", model__depth=50) > -2


@pytest.mark.slow  # the quick preset sweeps (shared fixture quick_sweep_table): about 2 min for all presets
def test_born_dead(quick_tables):
    table = quick_tables["born_dead"]
    narrow_deep = table[(table["model.width"] == 2) & (table["model.depth"] == 40)]["dead_layer_start"].mean()
    wide_shallow = table[(table["model.width"] == 8) & (table["model.depth"] == 5)]["dead_layer_start"].mean()
    assert narrow_deep == 1.0 and wide_shallow == 0.0
