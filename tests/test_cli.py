"""The CLI end to end, in real subprocesses: run folders, summaries, exit codes and one-line errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TINY = """
name: cli_tiny
data: {num_samples: 128}
model: {depth: 3, width: 8, activation: sigmoid}
training: {epochs: 2, batch_size: 32}
probe: {num_samples: 32}
"""


def lab_command(*arguments, cwd):
    """Run `python -m lab ...` as a user would (from any folder, the lab installed: `pip install -e .`)."""
    environment = dict(os.environ)
    environment.pop("LAB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "lab", *arguments], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One CLI run shared by the read-only checks below."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "tiny.yaml").write_text(TINY)
    completed = lab_command("run", "tiny.yaml", "--out", "out", "--set", "model.depth=4", cwd=folder)
    return folder, completed


def test_run_writes_a_complete_folder_and_prints_the_summary(finished_run):
    folder, completed = finished_run
    assert completed.returncode == 0, completed.stderr
    (run_dir,) = (folder / "out").iterdir()
    assert run_dir.name.startswith("cli_tiny-")
    assert {"config.yaml", "layers.csv", "history.csv", "histograms.csv", "boundary.csv", "probe.npy", "summary.json"} <= {
        path.name for path in run_dir.iterdir()
    }
    assert (run_dir / "charts.html").stat().st_size > 1000
    pngs = sorted(run_dir.glob("*.png"))
    assert {"profile_grad_norm.png", "profile_preact_grad_rms.png", "heatmap_grad_norm.png"} <= {path.name for path in pngs}
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in pngs)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["config"]["model"]["depth"] == 4
    assert summary["run_id"] in completed.stdout and "status: ok" in completed.stdout
    table_lines = [line for line in completed.stdout.splitlines() if line.strip().startswith(("1 ", "5 "))]
    assert len(table_lines) == 2  # per-layer table: hidden layers 1-4 and the output layer 5
    assert "Traceback" not in completed.stderr


def test_show_prints_the_same_summary(finished_run):
    folder, completed = finished_run
    (run_dir,) = (folder / "out").iterdir()
    shown = lab_command("show", str(run_dir), cwd=folder)
    assert shown.returncode == 0
    assert shown.stdout.split("written:")[0] == completed.stdout.split("written:")[0]


def test_rerunning_does_not_rewrite_a_complete_folder(finished_run):
    folder, _ = finished_run
    (run_dir,) = (folder / "out").iterdir()
    before = (run_dir / "summary.json").stat().st_mtime_ns
    again = lab_command("run", "tiny.yaml", "--out", "out", "--set", "model.depth=4", cwd=folder)
    assert again.returncode == 0 and "already complete" in again.stderr
    assert (run_dir / "summary.json").stat().st_mtime_ns == before


def test_cli_layers_equal_the_api_layers(finished_run):
    from lab import load_config, run

    folder, _ = finished_run
    (run_dir,) = (folder / "out").iterdir()
    api = run(load_config(TINY, overrides={"model.depth": 4}))
    assert (run_dir / "layers.csv").read_text() == api.layers.to_csv(index=False)


@pytest.mark.slow
def test_fix_reruns_a_saved_run_with_a_remedy_and_says_what_changed(finished_run, tmp_path):
    import pandas as pd

    from lab.readings.fix_it import format_ratio

    folder, _ = finished_run
    (run_dir,) = (folder / "out").iterdir()
    completed = lab_command("fix", str(run_dir), "--remedy", "batch_norm", "--out", str(tmp_path / "fixed"), cwd=folder)
    assert completed.returncode == 0, completed.stderr
    (fixed_dir,) = (tmp_path / "fixed").iterdir()
    assert fixed_dir.name.startswith("cli_tiny_batch_norm-") and "normalization: batch" in (fixed_dir / "config.yaml").read_text()

    def signal_ratio(run_folder: Path) -> str:  # layer 1 over the last hidden layer at step 0, read from layers.csv
        rows = pd.read_csv(run_folder / "layers.csv").query("step == 0 and layer_kind == 'hidden'").sort_values("layer")
        return format_ratio(rows["preact_grad_rms"].iloc[0] / rows["preact_grad_rms"].iloc[-1])

    assert (f"- With batch normalisation, at initialisation the first layer receives {signal_ratio(fixed_dir)} of the last "
            f"hidden layer's back-propagated signal, instead of {signal_ratio(run_dir)}.") in completed.stdout
    again = lab_command("fix", str(run_dir), "--remedy", "batch_norm", "--out", str(tmp_path / "fixed"), cwd=folder)
    assert again.returncode == 0 and "already complete" in again.stderr


@pytest.mark.parametrize("arguments, fragment", [
    (["fix", "run", "--remedy", "he_init"], "--remedy: he_init does not change this config (choose one of batch_norm"),
    (["fix", "run", "--remedy", "dropout"], "argument --remedy: invalid choice: 'dropout'"),
    (["fix", "run"], "--remedy: this run's numbers point to no particular remedy; choose one of"),
    (["fix", "nowhere", "--remedy", "batch_norm"], "no such run folder"),
])
def test_fix_refuses_bad_input_with_one_line(finished_run, tmp_path, arguments, fragment):
    folder, _ = finished_run
    (run_dir,) = (folder / "out").iterdir()
    arguments = [str(run_dir) if argument == "run" else argument for argument in arguments]
    completed = lab_command(*arguments, "--out", str(tmp_path / "fixed"), cwd=tmp_path)
    assert completed.returncode == 2 and fragment in completed.stderr, completed.stderr
    assert [line for line in completed.stderr.splitlines() if line.startswith("error:")] == completed.stderr.strip().splitlines()
    assert not (tmp_path / "fixed").exists()


@pytest.mark.parametrize("arguments, fragment", [
    (["run", "missing.yaml"], "no such file"),
    (["run", "bad.yaml"], "model.dept: unknown key; did you mean 'depth'?"),
    (["run", "tiny.yaml", "--set", "model.activation=relux"], "model.activation: must be one of"),
    (["run", "tiny.yaml", "--set", "depth"], "expected KEY=VALUE"),
    (["run", "tiny.yaml", "--set", "model.depth=0"], "model.depth"),
    (["run", "list.yaml"], "must be a YAML mapping"),
    (["show", "nowhere"], "no such run folder"),
    (["show", "."], "incomplete run folder"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_gives_one_error_line_and_a_non_zero_exit(tmp_path, arguments, fragment):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "bad.yaml").write_text("model: {dept: 3}\n")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    completed = lab_command(*arguments, cwd=tmp_path)
    assert completed.returncode == 2
    assert fragment in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr
    error_lines = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert not (tmp_path / "runs").exists()  # nothing written


@pytest.mark.slow
def test_a_diverging_run_exits_non_zero_and_keeps_its_folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    completed = lab_command(
        "run", "tiny.yaml", "--set", "model.activation=relu", "--set", "model.kernel_initializer=he_normal",
        "--set", "training.learning_rate=10", "--set", "training.epochs=20", "--set", "model.width=32", cwd=tmp_path,
    )
    assert completed.returncode == 3, completed.stderr
    assert "diverged" in completed.stderr and "training.learning_rate" in completed.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "diverged"
    assert len((run_dir / "layers.csv").read_text().splitlines()) > 1
