"""The corpus of bad inputs (tests/support/bad_inputs/) against every surface: the CLI (`run`, `sweep`, `show`),
the Python API (lab.load_config, lab.sweeps.runner.plan_sweep, lab.runs.store.load) and the app's config upload.

Every bad input must get one line naming what is wrong and what is allowed, exit code 2 on the CLI
(never a traceback), an st.error in the app (never an exception), and nothing written or overwritten.
The CLI cases call main() in this process (tests/support/bad_inputs/checks.py); a sample runs as real
`python -m lab` subprocesses at the end.
"""
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab import ConfigError, load_config
from lab.runs import store
from lab.runs.store import RunFolderError
from lab.sweeps.runner import plan_sweep
from lab.training.run import run as train  # bound now: the guard below replaces lab.training.run.run
from tests.support.app_test import APP
from tests.support.bad_inputs.arguments import ARGUMENT_CASES
from tests.support.bad_inputs.checks import assert_one_line, assert_refused, by_name, run_cli, snapshot
from tests.support.bad_inputs.csv_files import CSV_CASES, CSV_CONFIG
from tests.support.bad_inputs.experiments import EXPERIMENT_CASES, EXPERIMENT_KINDS
from tests.support.bad_inputs.run_folders import RUN_FOLDER_CASES, damaged_copy
from tests.support.bad_inputs.sweeps import NEIGHBOURS, SWEEP_CASES, VALID

TINY = "name: corpus\ndata: {num_samples: 64}\nmodel: {depth: 2, width: 3}\ntraining: {epochs: 1, batch_size: 16}\n" \
       "probe: {num_samples: 8}\n"


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """A bad input must be refused before training: if one slips through, fail at once instead of training."""
    def refuse(*arguments, **keywords):
        raise AssertionError("a bad input reached training")

    monkeypatch.setattr("lab.training.run.run", refuse)
    monkeypatch.setattr("lab.sweeps.worker.run_batch", refuse)


# --- experiments: `run`, lab.load_config, the app's upload -------------------------------------------

@pytest.mark.parametrize("case", by_name(EXPERIMENT_CASES))
def test_cli_run_refuses_a_bad_experiment(case, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes(case.data(str(tmp_path)))
    out = tmp_path / "runs"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier result")
    before = snapshot(tmp_path)
    assert_refused(run_cli("run", str(config), "--out", str(out)), case.expected(str(config)))
    assert snapshot(tmp_path) == before  # no run folder, no payload's file, nothing overwritten


@pytest.mark.parametrize("case", by_name(EXPERIMENT_CASES))
def test_load_config_refuses_a_bad_experiment(case, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes(case.data(str(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert_one_line(str(caught.value), case.expected(str(config)))
    assert [path.name for path in tmp_path.iterdir()] == ["config.yaml"]


@pytest.fixture(scope="module")
def experiment_page(tmp_path_factory):
    """The app's experiment page, started in an empty folder (so anything it wrote would show)."""
    folder = tmp_path_factory.mktemp("app")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("LAB_PRELOAD_TENSORFLOW", "0")  # an upload never trains: keep TensorFlow out of this process
        app = AppTest.from_file(APP, default_timeout=60)
        app.switch_page("app/pages/experiment.py")
        app.run()
    return app, folder


@pytest.fixture
def app_in_its_folder(experiment_page, monkeypatch):
    """The page, with this test's reruns in its folder (and TensorFlow's preload still off)."""
    app, folder = experiment_page
    monkeypatch.chdir(folder)
    monkeypatch.setenv("LAB_PRELOAD_TENSORFLOW", "0")
    return app, folder


# An upload is an AppTest rerun (about 0.3 s): the fast tier uploads the first case of each kind, the slow tier the rest.
APP_UPLOAD_FAST = {kind[0].name for kind in EXPERIMENT_KINDS}


@pytest.mark.parametrize("case", by_name(EXPERIMENT_CASES, fast=APP_UPLOAD_FAST))
def test_app_upload_refuses_a_bad_experiment(case, app_in_its_folder):
    app, folder = app_in_its_folder
    depth_before = app.slider(key="w.model.depth").value
    file_name = f"{case.name}.yaml"
    app.file_uploader(key="w.upload").set_value((file_name, case.data(str(folder)), "application/x-yaml"))
    app.run()
    assert not app.exception, app.exception
    (error,) = [element.value for element in app.error]
    assert_one_line(error, case.expected(file_name))
    assert not app.success
    assert app.slider(key="w.model.depth").value == depth_before  # the form keeps its values
    assert list(folder.iterdir()) == []


def test_app_upload_of_a_good_experiment_fills_the_form(app_in_its_folder):
    """The control for the cases above: the same uploader takes a valid file."""
    app, _ = app_in_its_folder
    app.file_uploader(key="w.upload").set_value(("good.yaml", b"model: {depth: 4, activation: relu}\n", "application/x-yaml"))
    app.run()
    assert not app.exception and not app.error
    assert app.slider(key="w.model.depth").value == 4 and app.selectbox(key="w.model.activation").value == "relu"


# --- a user's csv (data.dataset csv, issue #15): `run`, lab.load_config -----------------------------------------

@pytest.mark.parametrize("case", by_name(CSV_CASES))
def test_cli_run_refuses_a_bad_csv(case, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CSV_CONFIG)
    (tmp_path / "data.csv").write_bytes(case.data(str(tmp_path)))
    before = snapshot(tmp_path)
    assert_refused(run_cli("run", str(config), "--out", str(tmp_path / "runs")), case.expected(str(tmp_path / "data.csv")))
    assert snapshot(tmp_path) == before  # no run folder


@pytest.mark.parametrize("case", by_name(CSV_CASES))
def test_load_config_refuses_a_bad_csv(case, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CSV_CONFIG)
    (tmp_path / "data.csv").write_bytes(case.data(str(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert_one_line(str(caught.value), case.expected(str(tmp_path / "data.csv")))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml", "data.csv"]


@pytest.mark.parametrize("case", by_name(CSV_CASES, fast={CSV_CASES[0].name}))
def test_app_csv_upload_refuses_a_bad_csv(case, app_in_its_folder):
    app, folder = app_in_its_folder
    app.selectbox(key="w.data.dataset").set_value("csv").run()
    file_name = f"{case.name}.csv"
    app.file_uploader(key="w.csv_upload").set_value((file_name, case.data(str(folder)), "text/csv"))
    app.run()
    assert not app.exception, app.exception
    (error,) = [element.value for element in app.error]
    assert_one_line(error, case.expected(file_name))
    assert not app.success
    assert app.session_state["w.data.sha256"] is None  # the form names no file: Train stays off
    assert list(folder.iterdir()) == []


# --- sweeps: `sweep`, lab.sweeps.runner.plan_sweep -----------------------------------------------------------

def sweep_file(tmp_path: Path, data: bytes, name: str = "sweep.yaml") -> Path:
    """A sweep file in tmp_path, beside the files its base may name."""
    for neighbour, content in NEIGHBOURS.items():
        (tmp_path / neighbour).write_bytes(content)
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_valid_sweep_beside_the_same_files_plans_its_runs(tmp_path):
    """The control: base paths resolve beside the sweep file, so each case below fails for its own reason."""
    _, _, planned = plan_sweep(sweep_file(tmp_path, VALID.encode()))
    assert len(planned) == 4 and planned[0].config.data.num_samples == 64


@pytest.mark.parametrize("case", by_name(SWEEP_CASES))
def test_cli_sweep_refuses_a_bad_sweep(case, tmp_path):
    path = sweep_file(tmp_path, case.data(str(tmp_path)))
    before = snapshot(tmp_path)
    assert_refused(run_cli("sweep", str(path), "--out", str(tmp_path / "out")), case.expected(str(path)))
    assert snapshot(tmp_path) == before  # not even the --out folder


@pytest.mark.parametrize("case", by_name(SWEEP_CASES))
def test_plan_sweep_refuses_a_bad_sweep(case, tmp_path):
    path = sweep_file(tmp_path, case.data(str(tmp_path)))
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan_sweep(path)
    assert_one_line(str(caught.value), case.expected(str(path)))
    assert snapshot(tmp_path) == before


def test_a_huge_grid_is_refused_quickly_without_being_expanded(tmp_path):
    (case,) = [case for case in SWEEP_CASES if case.name == "huge_grid"]  # 10^10 cells x 10^4 seeds
    path = sweep_file(tmp_path, case.data(str(tmp_path)))
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="at most 20000"):
        plan_sweep(path)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 20 * 2**20  # building even the cells' list would take hours and terabytes


# --- run folders: `show`, lab.runs.store.load --------------------------------------------------------------

@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A real, complete run folder of a tiny run (this imports TensorFlow once)."""
    return store.save(train(load_config(TINY)), tmp_path_factory.mktemp("pristine"))


def test_the_undamaged_run_folder_loads_and_shows(run_folder):
    """The control: each damage below is what gets the folder refused."""
    assert store.load(run_folder).config.model.depth == 2
    code, stdout, stderr = run_cli("show", str(run_folder))
    assert code == 0 and "status: ok" in stdout and stderr == ""


@pytest.mark.parametrize("damage", by_name(RUN_FOLDER_CASES))
def test_cli_show_refuses_a_damaged_run_folder(damage, run_folder, tmp_path):
    folder = damaged_copy(run_folder, damage, tmp_path / "run")
    before = snapshot(tmp_path)
    assert_refused(run_cli("show", str(folder)), damage.fragments)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("damage", by_name(RUN_FOLDER_CASES))
def test_store_load_refuses_a_damaged_run_folder(damage, run_folder, tmp_path):
    folder = damaged_copy(run_folder, damage, tmp_path / "run")
    before = snapshot(tmp_path)
    with pytest.raises(RunFolderError) as caught:
        store.load(folder)
    assert_one_line(str(caught.value), damage.fragments)
    assert snapshot(tmp_path) == before


def test_a_run_id_of_decimal_digits_loads_back_as_text(run_folder, tmp_path):
    """A run id is hex: 12 decimal digits (about 1 id in 300) must not come back as a number."""
    folder = Path(shutil.copytree(run_folder, tmp_path / "run"))
    original = store.load(run_folder).run_id
    for path in [*folder.glob("*.csv"), folder / "summary.json"]:
        path.write_text(path.read_text().replace(original, "123456789012"))
    loaded = store.load(folder)
    assert set(loaded.layers["run_id"]) == {"123456789012"} and set(loaded.history["run_id"]) == {"123456789012"}


# --- command lines ------------------------------------------------------------------------------------

def prepare_arguments(tmp_path: Path) -> dict:
    """The files the argument cases point at; returns the placeholders' values."""
    (tmp_path / "config.yaml").write_text(TINY)
    sweep = sweep_file(tmp_path, VALID.encode())
    (tmp_path / "plain.txt").write_text("not a folder")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("an earlier result")
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "other_sweep_out").mkdir()
    (tmp_path / "other_sweep_out" / "sweep.yaml").write_text("name: other\n")
    (tmp_path / "sweep_folder").mkdir()
    (tmp_path / "sweep_folder" / "sweep.csv").write_text("cell,seed\n")
    return {"tmp": tmp_path, "config": tmp_path / "config.yaml", "sweep": sweep, "out": tmp_path / "out",
            "plain": tmp_path / "plain.txt", "pipe": tmp_path / "pipe.yaml", "other_sweep_out": tmp_path / "other_sweep_out",
            "sweep_folder": tmp_path / "sweep_folder"}


@pytest.mark.parametrize("case", by_name(ARGUMENT_CASES))
def test_cli_refuses_a_bad_command_line(case, tmp_path):
    values = {name: str(value) for name, value in prepare_arguments(tmp_path).items()}
    argv = [argument.format(**values) for argument in case.argv]
    before = snapshot(tmp_path)
    assert_refused(run_cli(*argv), case.fragments)
    assert snapshot(tmp_path) == before


def test_cli_run_refuses_an_unreadable_config(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading, so 'permission denied' cannot happen")
    config = tmp_path / "config.yaml"
    config.write_text(TINY)
    config.chmod(0)
    try:
        assert_refused(run_cli("run", str(config), "--out", str(tmp_path / "runs")), ("config.yaml", "permission denied"))
    finally:
        config.chmod(0o644)
    assert not (tmp_path / "runs").exists()


# --- a sample as real subprocesses: the exit code and stderr a shell sees ----------------------------

def lab_subprocess(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m lab ...` as a user would run it."""
    environment = dict(os.environ)
    environment.pop("LAB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "lab", *arguments], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)


SUBPROCESS_SAMPLE = [
    ("run", EXPERIMENT_CASES, "apply_os_system"),
    ("run", EXPERIMENT_CASES, "billion_laughs"),
    ("run", EXPERIMENT_CASES, "name_parent_folder"),
    ("sweep", SWEEP_CASES, "huge_grid"),
    ("sweep", SWEEP_CASES, "empty_file"),
]


@pytest.mark.parametrize("command, cases, name", SUBPROCESS_SAMPLE, ids=[name for _, _, name in SUBPROCESS_SAMPLE])
def test_a_sample_in_real_subprocesses(command, cases, name, tmp_path):
    (case,) = [case for case in cases if case.name == name]
    path = sweep_file(tmp_path, case.data(str(tmp_path)), name="input.yaml")
    before = snapshot(tmp_path)
    completed = lab_subprocess(command, path.name, "--out", "out", cwd=tmp_path)
    assert_refused((completed.returncode, completed.stdout, completed.stderr), case.expected(path.name))
    assert snapshot(tmp_path) == before


def test_show_of_a_damaged_folder_in_a_real_subprocess(run_folder, tmp_path):
    (damage,) = [damage for damage in RUN_FOLDER_CASES if damage.name == "layers_cut_mid_line"]
    folder = damaged_copy(run_folder, damage, tmp_path / "run")
    before = snapshot(tmp_path)
    completed = lab_subprocess("show", "run", cwd=tmp_path)
    assert_refused((completed.returncode, completed.stdout, completed.stderr), (str(Path("run") / "layers.csv"), "truncated"))
    assert snapshot(tmp_path) == before and folder.is_dir()


def test_sweeps_page_refuses_an_uploaded_sweep_whose_base_names_a_server_file(tmp_path, monkeypatch):
    secret = tmp_path / "secret.yaml"
    secret.write_text("model: {depth: 3}\n")  # a file the server can read and a stranger should not
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAB_PRELOAD_TENSORFLOW", "0")
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("app/pages/sweeps.py")
    app.run()
    sweep_yaml = f"name: s\nbase: {secret}\ngrid: {{model.depth: [2, 3]}}\nseeds: 1\n".encode()
    app.file_uploader(key="sweep_upload").set_value([("sweep.yaml", sweep_yaml, "application/x-yaml"),
                                                      ("sweep.csv", b"run_id\n", "text/csv")])
    app.run()
    assert not app.exception
    (error,) = [element.value for element in app.error]
    assert "base must be written inline" in error and "\n" not in error.strip()
