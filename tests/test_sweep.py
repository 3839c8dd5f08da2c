"""Sweeps: validation up front, the fast path's exactness, engines that agree, and resumption after a kill."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lab import ConfigError, load_config, run
from lab.runs.store import load
from lab.sweeps.runner import run_sweep
from lab.sweeps.sweep_config import load_sweep

SWEEP = """
name: test_sweep
base:
  data: {dataset: gaussian, num_features: 6, num_samples: 128}
  model: {width: 6}
  training: {epochs: 0}
  probe: {num_samples: 32}
grid:
  model.depth: [2, 6]
  model.activation: [sigmoid, relu]
seeds: 3
"""


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    """A sweep file in folder."""
    path = folder / name
    path.write_text(text)
    return path


def test_a_bad_cell_fails_the_whole_sweep_up_front_naming_the_cell(tmp_path):
    path = write(tmp_path, SWEEP.replace("model.depth: [2, 6]", "model.depth: [2, 0]"))
    with pytest.raises(ConfigError, match=r"grid cell 2 \(model.depth=0, model.activation=sigmoid\): model.depth"):
        run_sweep(path, tmp_path / "out")
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("text, fragment", [
    ("name: x\ngrid: {}\n", "grid"),
    ("name: x\ngrid: {model.depth: []}\n", "needs at least one value"),
    ("name: x\ngrid: {model.depth: [2]}\nseeds: 0\n", "seeds"),
    ("name: x\ngrid: {model.depth: [2]}\nseedz: 3\n", "did you mean 'seeds'"),
    ("name: x\ngrid: {model.depht: [2]}\n", "model.depht: unknown key"),
    ("name: x\nbase: missing.yaml\ngrid: {model.depth: [2]}\n", "no such file"),
    ("name: x\ngrid: {model.depth: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\nseeds: 10000\n", "at most 20000"),
])
def test_bad_sweep_files_get_one_line_naming_the_problem(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        run_sweep(write(tmp_path, text), tmp_path / "out")


def test_quick_keeps_the_first_and_last_axis_values_and_three_seeds(tmp_path):
    sweep, _ = load_sweep(write(tmp_path, SWEEP.replace("[2, 6]", "[2, 4, 6]").replace("seeds: 3", "seeds: 10")), quick=True)
    assert sweep.grid["model.depth"] == [2, 6] and sweep.seed_list == [0, 1, 2]


def test_fast_path_equals_building_a_fresh_model_for_each_seed():
    from lab.sweeps.worker import run_one

    base = {"data": {"dataset": "moons", "num_samples": 128}, "model": {"depth": 5, "width": 8, "activation": "tanh",
            "bias_initializer": "random_normal"}, "training": {"epochs": 0}, "probe": {"num_samples": 32}}
    for seed in (0, 1, 2):  # the 2nd and 3rd reuse the model built for the 1st
        config = load_config(base, overrides={"seed": seed})
        fast, fresh = run_one(config, fast=True), run(config)
        for name in ("layers", "histograms", "boundary"):
            pd.testing.assert_frame_equal(getattr(fast, name), getattr(fresh, name), check_exact=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep run once, in this process, with one worker: the table every other way must equal."""
    folder = tmp_path_factory.mktemp("reference")
    table, progress = run_sweep(write(folder, SWEEP), folder / "out")
    assert progress.failed == 0
    return table.read_text()


def test_sweep_layout_and_table(reference, tmp_path):
    rows = pd.read_csv(pd.io.common.StringIO(reference))
    assert len(rows) == 12 and list(rows["cell"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert list(rows["seed"]) == [0, 1, 2] * 4
    assert (rows["status"] == "ok").all()
    sigmoid_deep = rows[(rows["model.activation"] == "sigmoid") & (rows["model.depth"] == 6)]
    assert (sigmoid_deep["log10_signal_ratio_start"] < -1.5).all()  # vanishing, as the tutorial says


@pytest.mark.slow
def test_two_local_workers_give_the_same_table(reference, tmp_path):
    table, _ = run_sweep(write(tmp_path, SWEEP), tmp_path / "out", workers=2)
    assert table.read_text() == reference
    again, progress = run_sweep(write(tmp_path, SWEEP), tmp_path / "out", workers=2)  # everything finished: skipped
    assert progress.skipped == 12 and again.read_text() == reference


@pytest.mark.slow
def test_ray_engine_on_a_real_local_ray_instance_gives_the_same_table(reference, tmp_path):
    pytest.importorskip("ray", reason="Ray comes from requirements-ray.txt; .ci/run installs it")
    table, progress = run_sweep(write(tmp_path, SWEEP), tmp_path / "out", workers=2, engine="ray")
    assert progress.failed == 0
    assert table.read_text() == reference


def test_another_sweep_into_the_same_folder_is_refused(reference, tmp_path):
    run_sweep(write(tmp_path, SWEEP), tmp_path / "out", quick=True)
    with pytest.raises(ConfigError, match="holds a different sweep"):
        run_sweep(write(tmp_path, SWEEP.replace("seeds: 3", "seeds: 4")), tmp_path / "out")


@pytest.mark.slow
def test_a_sweep_killed_mid_way_resumes_to_the_same_table(tmp_path):
    text = SWEEP.replace("training: {epochs: 0}", "training: {epochs: 3}").replace("seeds: 3", "seeds: 6")
    path = write(tmp_path, text)
    command = [sys.executable, "-m", "lab", "sweep", str(path), "--out", str(tmp_path / "killed")]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = tmp_path / "killed" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(runs.glob("*/summary.json"))) < 5:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = list(runs.glob("*/summary.json"))
    assert 5 <= len(finished) < 24, "the kill should land mid-sweep"
    assert not (tmp_path / "killed" / "sweep.csv").exists()
    for summary in finished:  # every folder that looks complete is complete
        load(summary.parent)
    before = {path: path.stat().st_mtime_ns for path in finished}
    resumed, progress = run_sweep(path, tmp_path / "killed")
    assert progress.skipped == len(finished)
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in before.items())  # never rewritten
    uninterrupted, _ = run_sweep(path, tmp_path / "whole")
    assert resumed.read_text() == uninterrupted.read_text()


def test_the_written_sweep_yaml_reruns_the_same_sweep(reference, tmp_path):
    run_sweep(write(tmp_path, SWEEP), tmp_path / "out", quick=True)
    _, progress = run_sweep(tmp_path / "out" / "sweep.yaml", tmp_path / "out")
    assert progress.skipped == progress.total  # the expanded file plans exactly the runs already there
