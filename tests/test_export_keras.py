"""python -m lab export: a run as a standalone Keras script or notebook whose step-0 numbers are the run's layers.csv.

The script and notebook run in a separate process where `import lab` fails (a meta-path hook refuses it), from a
folder outside the repository; what they print at step 0 is compared with layers.csv, which the lab's own probe
wrote. Only step 0 is compared: training uses Keras' own loop.
"""
from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.cli import main
from lab.contract.config_io import load_config
from lab.exports.keras_model_code import STEP0_COLUMNS, STEP0_HEADER
from lab.runs import store

ROOT = Path(__file__).resolve().parent.parent
# What the exported files may import: the standard library, and keras, numpy, scikit-learn with TensorFlow (Keras'
# backend); the notebook's charts add altair and pandas.
ALLOWED_IMPORTS = {"keras", "numpy", "sklearn", "tensorflow"}
NOTEBOOK_IMPORTS = ALLOWED_IMPORTS | {"altair", "pandas"}
# Runs each `python SCRIPT` in turn with lab made unimportable (the venv has lab installed, editable, so -I alone would
# not do); one process for several scripts imports TensorFlow once. Each script's output follows a marker line.
WITHOUT_LAB = """
import runpy, sys

class RefuseLab:
    def find_spec(self, name, path=None, target=None):
        if name == "lab" or name.startswith("lab."):
            raise ImportError("the exported script imported " + name)
        return None

sys.meta_path.insert(0, RefuseLab())
for script in sys.argv[1:]:
    print("=== " + script, flush=True)
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")
"""
RTOL = 1e-5  # float32 rounding: the same ops as the lab's probe, eager instead of compiled


def saved_run(tmp_path: Path, overrides: dict) -> Path:
    """A quick run of the default experiment with these overrides (one epoch), saved; its folder."""
    from lab.training.run import run

    config = load_config({}, overrides={"training.epochs": 1, **overrides}, quick=True)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return store.save(run(config), tmp_path / "runs")


def run_without_lab(scripts: list[Path], cwd: Path) -> list[str]:
    """Each script's stdout, run by this Python with lab unimportable and no PYTHONPATH, from cwd (outside the repo)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", WITHOUT_LAB, *map(str, scripts)], cwd=cwd, env=env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    outputs = completed.stdout.split("=== ")[1:]
    assert [output.splitlines()[0] for output in outputs] == [str(script) for script in scripts]
    return outputs


def step0_table(output: str) -> pd.DataFrame:
    """The step-0 table the script prints (the lines after its header, up to a blank line)."""
    lines = output.splitlines()
    start = lines.index(STEP0_HEADER)
    assert lines[start + 1].split() == list(STEP0_COLUMNS)
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append([float(value) for value in line.split()])
    return pd.DataFrame(rows, columns=list(STEP0_COLUMNS))


def assert_matches_layers_csv(printed: pd.DataFrame, folder: Path, hidden_bias_zero: bool = False) -> None:
    """The printed step-0 numbers equal layers.csv's step-0 rows to float32 rounding, layer by layer.

    hidden_bias_zero: batch normalisation before the activation subtracts the batch mean, so a hidden Dense layer's
    bias gradient is exactly 0 in exact arithmetic and both sides hold float32 rounding noise (measured ~1e-8 beside
    an output bias gradient of ~0.1): those are compared as zero up to rounding, every other number relatively.
    """
    layers = pd.read_csv(folder / "layers.csv")
    expected = layers[layers["step"] == 0].sort_values("layer")
    assert printed["layer"].astype(int).tolist() == expected["layer"].tolist()
    for column in STEP0_COLUMNS[1:]:
        got, want = printed[column].to_numpy(), expected[column].to_numpy()
        if column == "bias_grad_norm" and hidden_bias_zero:
            scale = want[-1]  # the output layer's, which no normalisation follows
            assert np.all(got[:-1] < 1e-6 * scale) and np.all(want[:-1] < 1e-6 * scale), (got, want)
            got, want = got[-1:], want[-1:]
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0, err_msg=column)


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module the source imports (nested imports included)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def assert_imports_allowed(source: str, allowed: set[str]) -> None:
    """No lab import; nothing outside the standard library and the allowed packages."""
    imported = imported_modules(source)
    assert "lab" not in imported
    assert imported - set(sys.stdlib_module_names) - {"__future__"} <= allowed, imported


# Each run: (overrides of the quick default experiment, whether the script's model.fit is checked here; the docs
# example and the notebook train a binary and a softmax MLP, so those skip training to keep the test short).
SCRIPT_RUNS = {
    # relu, softmax head, spirals in 3 classes, orthogonal weights with sigma_w, layer normalisation after the activation
    "relu-softmax-orthogonal-layernorm": (
        {"model.activation": "relu", "model.output_activation": "softmax", "data.dataset": "spirals", "data.num_classes": 3,
         "model.kernel_initializer": "orthogonal", "model.sigma_w": 1.4, "model.normalization": "layer",
         "model.normalization_position": "after", "training.epochs": 0}, False),
    # tanh, sigmoid head (one logit), gaussian weights and biases with sigma_w, sigma_b
    "tanh-gaussian-binary": (
        {"model.activation": "tanh", "data.dataset": "gaussian", "data.num_features": 5, "model.kernel_initializer": "gaussian",
         "model.sigma_w": 1.5, "model.bias_initializer": "gaussian", "model.sigma_b": 0.3, "training.epochs": 0}, False),
    # recurrent: two stacked LSTM layers on the adding task (the signal through time, back-propagated step by step)
    "rnn-lstm-adding": (
        {"model.kind": "rnn", "model.cell": "lstm", "model.depth": 2, "data.dataset": "adding", "data.sequence_length": 20},
        True),
}


def test_scripts_step0_equals_layers_csv_without_lab(tmp_path):
    folders, scripts = [], []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for label, (overrides, _) in SCRIPT_RUNS.items():
        folders.append(saved_run(tmp_path / label, overrides))
        scripts.append(elsewhere / f"{label}.py")
        assert main(["export", str(folders[-1]), "--to", "script", "--out", str(scripts[-1])]) == 0
        assert_imports_allowed(scripts[-1].read_text(encoding="utf-8"), ALLOWED_IMPORTS)
    # Only the code the run uses is inlined: the MLP's initial weights, or the recurrent network's.
    sources = [script.read_text(encoding="utf-8") for script in scripts]
    assert "def network_weights(" in sources[0] and "def recurrent_weights(" not in sources[0]
    assert "def recurrent_weights(" in sources[2] and "def network_weights(" not in sources[2]
    outputs = run_without_lab(scripts, elsewhere)
    for (label, (_, trains)), folder, output in zip(SCRIPT_RUNS.items(), folders, outputs):
        assert_matches_layers_csv(step0_table(output), folder)
        assert "Only the step-0 numbers above match the lab's" in output, label
        if trains:
            assert "after 1 epochs: loss" in output, label


def test_the_harness_fails_a_script_that_imports_lab(tmp_path):
    script = tmp_path / "imports_lab.py"
    script.write_text("import lab\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="the exported script imported lab"):
        run_without_lab([script], tmp_path)


def test_notebook_runs_with_charts_and_step0_equals_layers_csv(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    # leaky_relu with its alpha, rai, batch normalisation before the activation, skips every 2 blocks (the first one
    # projects the digits' 64 features to the width), Adam
    folder = saved_run(tmp_path, {"model.activation": "leaky_relu", "model.leaky_alpha": 0.2, "model.kernel_initializer": "rai",
                                  "data.dataset": "digits", "model.output_activation": "softmax", "model.normalization": "batch",
                                  "model.residual_every": 2, "training.optimizer": "adam", "training.learning_rate": 0.01,
                                  "model.depth": 4})
    notebook_path = tmp_path / "elsewhere" / "train.ipynb"
    notebook_path.parent.mkdir()
    assert main(["export", str(folder), "--to", "notebook", "--out", str(notebook_path)]) == 0
    notebook = nbformat.read(notebook_path, as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert_imports_allowed(code, NOTEBOOK_IMPORTS)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)
    # The kernel "python3" is this venv's (ipykernel installed in it): the same TensorFlow as the lab's run.
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebook_path.parent)}},
                   ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream"
                      and output.get("name") == "stdout")
    assert_matches_layers_csv(step0_table(printed), folder, hidden_bias_zero=True)
    # Altair's png renderer (see lab.exports.keras_notebook): two PNG images, drawn in the kernel by vl-convert.
    charts = [base64.b64decode(output["data"]["image/png"]) for output in outputs if "image/png" in output.get("data", {})]
    assert len(charts) == 2  # the gradient norm per layer at step 0, the training curves
    assert all(chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 5000 for chart in charts)


def bash_block(markdown: str) -> str:
    """The first ```bash block of a page."""
    match = re.search(r"```bash\n(.*?)```", markdown, re.DOTALL)
    assert match, "no ```bash block"
    return match.group(1)


def test_docs_example_runs_and_its_step0_equals_layers_csv(tmp_path):
    commands = bash_block((ROOT / "docs" / "export.md").read_text(encoding="utf-8"))
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(["bash", "-e", "-c", commands], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    (folder,) = (tmp_path / "runs").iterdir()
    assert_matches_layers_csv(step0_table(completed.stdout), folder)
    assert (tmp_path / "train.ipynb").is_file() and (tmp_path / "train.py").is_file()


def fake_folder(tmp_path: Path, config_yaml: str | None, summary: dict) -> Path:
    """A run folder with only config.yaml and summary.json: the export reads nothing else before refusing."""
    folder = tmp_path / "run"
    folder.mkdir()
    if config_yaml is not None:
        (folder / "config.yaml").write_text(config_yaml, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps({"format_version": 3, "run_id": "0" * 12, "status": "ok", **summary}),
                                         encoding="utf-8")
    return folder


def test_callback_run_is_refused_and_nothing_written(tmp_path, capsys):
    folder = fake_folder(tmp_path, None, {"source": "keras_callback"})
    out = tmp_path / "train.py"
    assert main(["export", str(folder), "--to", "script", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "already your own Keras code" in error and error.count("\n") == 1
    assert not out.exists()


def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "train.py"
    assert main(["export", str(tmp_path / "missing"), "--to", "script", "--out", str(out)]) == 2
    assert "no such run folder" in capsys.readouterr().err
    folder = fake_folder(tmp_path, "{}\n", {})
    assert main(["export", str(folder), "--to", "pdf", "--out", str(out)]) == 2
    assert "--to: one of script, notebook (got 'pdf')" in capsys.readouterr().err
    assert not out.exists()
    shutil.rmtree(folder)


def test_csv_data_set_runs_are_refused_naming_the_field():
    from lab.exports.keras_script import export_refusal

    config = load_config({})
    assert export_refusal(config) is None
    # data.dataset csv (your own data) is validated elsewhere; the export refuses any data set it cannot regenerate.
    csv_config = config.model_copy(update={"data": config.data.model_copy(update={"dataset": "csv"})})
    refusal = export_refusal(csv_config)
    assert refusal.startswith("data.dataset: csv runs are not exported") and "\n" not in refusal


def test_the_app_offers_this_runs_keras_script(monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from lab.text import en
    from tests.support.app_test import experiment_page, press_train, set_small

    downloads, original = {}, MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **options):
        downloads[file_name] = data_callable  # generated on click: the callable the button would run
        return original(self, data_callable, mimetype, coordinates, file_name, **options)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    app = experiment_page()
    set_small(app)
    app = press_train(app)
    assert not app.exception, app.exception
    assert en.TEXT["download_keras_script"] in [button.label for button in app.download_button]
    (name,) = [file_name for file_name in downloads if file_name.endswith(".py")]
    run_id = name.removesuffix(".py").rsplit("-", 1)[1]
    assert any(run_id in caption.value for caption in app.caption)  # the script of the run on the page
    source = downloads[name]().decode("utf-8")
    assert f"RUN_ID = {run_id!r}" in source
    assert_imports_allowed(source, ALLOWED_IMPORTS)
