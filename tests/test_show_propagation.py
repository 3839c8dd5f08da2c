"""`python -m lab show` on a run with probe.propagation: per-layer tables of q, c and the Jacobians' singular values at
the first and the last record whose numbers are propagation.csv's, and the phase sentence with numbers worked out here
by an independent float64 quadrature (numpy's Gauss–Hermite nodes, not lab.science.mean_field)."""
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lab.readings.propagation_text import shown_layers
from lab.runs import store
from lab.runs.archive import folder_to_zip

SIGMA_W, SIGMA_B2 = 1.5, 0.05  # tanh: the order-chaos boundary at σb² = 0.05 is σw = 1.327, so this is chaotic
DEPTH = 14


def show(path) -> subprocess.CompletedProcess:
    """python -m lab show PATH."""
    return subprocess.run([sys.executable, "-m", "lab", "show", str(path)], capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A depth-14 tanh run with propagation, saved; its folder."""
    from lab import run
    from tests.support.configs import tiny_config

    config = tiny_config(**{"model.depth": DEPTH, "model.width": 8, "model.kernel_initializer": "gaussian",
                            "model.sigma_w": SIGMA_W, "model.bias_initializer": "gaussian",
                            "model.sigma_b": math.sqrt(SIGMA_B2), "probe.propagation": True, "probe.jacobian_samples": 2})
    return store.save(run(config), tmp_path_factory.mktemp("show") / "runs")


def tables(text: str) -> dict[int, pd.DataFrame]:
    """The printed tables by step: each a frame of the printed cells (as text) indexed by layer."""
    found, lines = {}, text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("step ") and line.rstrip().endswith(":"):
            step = int(line.split()[1].rstrip(":"))
            header = lines[number + 1].split()
            rows = []
            for row in lines[number + 2:]:
                if not row.strip():
                    break
                rows.append(row.split())
            found[step] = pd.DataFrame(rows, columns=header).set_index("layer")
    return found


def printed(cell: str) -> float:
    """A printed cell as a number ('-' is NaN)."""
    return math.nan if cell == "-" else float(cell)


def tanh_chi_1(sigma_w: float, sigma_b2: float) -> float:
    """χ1 = σw² E[φ'(√q* z)²] for tanh, q* iterated from 1, by numpy's probabilists' Gauss–Hermite rule in float64."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(121)
    weights = weights / weights.sum()
    q = 1.0
    for _ in range(2000):
        q = sigma_w ** 2 * float(weights @ np.tanh(math.sqrt(q) * nodes) ** 2) + sigma_b2
    return sigma_w ** 2 * float(weights @ (1.0 - np.tanh(math.sqrt(q) * nodes) ** 2) ** 2)


def test_show_prints_the_frames_numbers_at_the_start_and_the_end(saved):
    completed = show(saved)
    assert completed.returncode == 0, completed.stderr
    frame = pd.read_csv(saved / "propagation.csv")
    found = tables(completed.stdout)
    steps = sorted(frame["step"].unique())
    assert sorted(found) == [steps[0], steps[-1]] and steps[0] == 0 and steps[-1] > 0
    expected_layers = [1, 2, 4, 6, 8, 10, 12, 14]  # depth 14 > 10 rows: the first, the last and every 2nd
    for step, table in found.items():
        assert [int(layer) for layer in table.index] == expected_layers
        rows = frame[frame["step"] == step].set_index("layer")
        for layer in expected_layers:
            for column in ("q", "c", "jac_mean_sq", "jac_max", "jac_min"):
                cell = printed(table.loc[str(layer), column])
                assert cell == pytest.approx(rows.loc[layer, column], rel=5e-4, nan_ok=True), (step, layer, column)
            ratio = rows.loc[layer, "jac_max"] / rows.loc[layer, "jac_min"]
            assert printed(table.loc[str(layer), "jac_max/jac_min"]) == pytest.approx(ratio, rel=5e-4)
        assert table.loc["1", "jac_mean_sq"] == "1"  # J_1 = I


def test_show_states_the_phase_with_numbers_worked_out_independently(saved):
    stdout = show(saved).stdout
    (point,) = [line for line in stdout.splitlines() if line.startswith("- Mean field at")]
    (phase,) = [line for line in stdout.splitlines() if line.startswith("- Chaotic phase")]
    chi_1 = tanh_chi_1(SIGMA_W, SIGMA_B2)
    assert chi_1 > 1.0
    assert f"σw² = {SIGMA_W ** 2:.3g}, σb² = {SIGMA_B2:.3g}: χ1 = {chi_1:.3g}" in point
    xi = 1.0 / math.log(chi_1)
    assert f"grows by e every {xi:.3g} layers — the signal itself every {2 * xi:.3g}; this net has {DEPTH} hidden" in phase


def test_show_reads_the_propagation_from_a_zip_too_and_not_without_it(saved, make_config, tmp_path):
    from lab import run

    archive = tmp_path / "download.zip"
    archive.write_bytes(folder_to_zip(saved))
    from_zip, from_folder = show(archive), show(saved)
    assert from_zip.returncode == 0, from_zip.stderr
    assert from_zip.stdout.replace(str(archive), str(saved)) == from_folder.stdout
    plain = show(store.save(run(make_config()), tmp_path / "runs"))
    assert plain.returncode == 0 and "signal propagation" not in plain.stdout and "Mean field at" not in plain.stdout


@pytest.mark.parametrize("depth", [1, 3, 10, 11, 32, 50, 100])
def test_shown_layers_keep_the_first_and_the_last_and_at_most_ten(depth):
    layers = shown_layers(list(range(1, depth + 1)))
    assert layers[0] == 1 and layers[-1] == depth
    assert len(layers) == depth if depth <= 10 else 5 <= len(layers) <= 10
    steps = np.diff(layers[1:-1]) if len(layers) > 3 else np.array([1])
    assert len(set(steps.tolist())) == 1  # evenly spaced between the first and the last
