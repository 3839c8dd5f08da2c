"""A user's own data (data.dataset csv, issue #15): parsing, standardising, labels, run ids, rerun from the folder, docs.

The bad files are in the bad-input corpus (tests/support/bad_inputs/csv_files.py, run by tests/test_bad_inputs.py).
"""
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab import ConfigError, load_config
from lab.contract import config as config_module
from lab.contract.config import ExperimentConfig
from lab.contract.config_io import config_to_yaml, run_id_of
from lab.contract.resources import Limits, check_resources
from lab.contract.run_data import prepare_data
from lab.runs.archive import folder_to_zip, load_zip
from lab.science import csv_data
from lab.science.csv_data import parse_csv, to_csv_bytes
from tests.support.bad_inputs.checks import assert_one_line, assert_refused, run_cli, snapshot

ROOT = Path(__file__).resolve().parent.parent
TINY = "model: {depth: 2, width: 4, output_activation: softmax}\ntraining: {epochs: 2, batch_size: 16}\nprobe: {num_samples: 8}\n"


def write_case(folder: Path, content: bytes, config: str = "", name: str = "mine.csv") -> Path:
    """A csv and an experiment beside it reading it; returns the experiment's path."""
    (folder / name).write_bytes(content)
    experiment = folder / "experiment.yaml"
    experiment.write_text(f"name: own\ndata: {{dataset: csv, path: {name}}}\n" + (config or TINY))
    return experiment


def random_table(rows=97, seed=5) -> tuple[np.ndarray, np.ndarray]:
    """Features on very different scales and offsets (so standardising matters), and 3 text classes."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 4)) * [1.0, 10.0, 1000.0, 0.01] + [0.0, -5.0, 300.0, 2.0]
    labels = rng.choice(["cat", "ant", "bee"], size=rows)
    return features, labels


def test_features_are_standardised_and_split_as_an_independent_pandas_computation(tmp_path):
    features, labels = random_table()
    frame = pd.DataFrame(features, columns=["a", "b", "c", "d"]).assign(label=labels)
    (tmp_path / "mine.csv").write_text(frame.to_csv(index=False))  # pandas writes it, lab reads it
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text("name: own\nseed: 11\ndata: {dataset: csv, path: mine.csv, validation_split: 0.25}\n"
                          + TINY)
    config = load_config(experiment)
    dataset, _ = prepare_data(config)

    read = pd.read_csv(io.StringIO((tmp_path / "mine.csv").read_text()))
    x = read[["a", "b", "c", "d"]].to_numpy(dtype=np.float64)
    y = read["label"].map({"ant": 0, "bee": 1, "cat": 2}).to_numpy()  # sorted order, by hand
    order = np.random.default_rng(11).spawn(3)[2].permutation(len(x))  # the built-in sets' shuffle stream
    x, y = x[order], y[order]
    train = len(x) - round(len(x) * 0.25)
    mean, std = x[:train].mean(axis=0), x[:train].std(axis=0, ddof=0)
    np.testing.assert_allclose(dataset.x_train, ((x[:train] - mean) / std).astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dataset.x_val, ((x[train:] - mean) / std).astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dataset.y_train, y[:train])
    np.testing.assert_array_equal(dataset.y_val, y[train:])
    assert (config.data.num_samples, config.data.num_features, config.data.num_classes) == (97, 4, 3)


@pytest.mark.parametrize(("labels", "classes"), [
    (["10", "2", "3", "2"], ("2", "3", "10")),  # numbers by value, not as text
    (["-1", "1", "0.5", "1"], ("-1", "0.5", "1")),
    (["b", "a", "c", "a"], ("a", "b", "c")),  # text alphabetically
])
def test_labels_map_to_0_to_k_minus_1_in_sorted_order(labels, classes):
    labels = labels * 4  # 16 rows, the fewest a file may have
    table = parse_csv(("x,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))).encode(), "f.csv")
    assert table.classes == classes
    assert [table.classes[index] for index in table.labels] == labels


def test_a_byte_order_mark_quotes_and_blank_lines_are_read():
    table = parse_csv(b'\xef\xbb\xbf"x 1",label\n1.5,a\n\n"2",b\n\n' + b"3,a\n" * 14, "f.csv")
    assert table.feature_names == ("x 1",)
    np.testing.assert_array_equal(table.features[:3, 0], [1.5, 2.0, 3.0])
    assert table.num_samples == 16


def test_the_limits_are_the_configs_bounds():
    assert csv_data.MAX_ROWS == config_module.MAX_SAMPLES
    assert csv_data.MIN_ROWS == config_module.DataConfig.model_fields["num_samples"].metadata[0].ge
    assert csv_data.MAX_FEATURE_COLUMNS == config_module.MAX_FEATURES
    assert csv_data.MAX_CLASSES == config_module.MAX_CLASSES


def test_the_run_id_follows_the_bytes_not_the_path(tmp_path):
    features, labels = random_table()
    content = to_csv_bytes(features, labels)
    first = load_config(write_case(tmp_path, content, TINY))
    (tmp_path / "elsewhere").mkdir()
    moved = load_config(write_case(tmp_path / "elsewhere", content, TINY,
                                   name="renamed.csv"))
    assert run_id_of(moved) == run_id_of(first)
    nudged = features.copy()
    nudged[0, 0] += 1e-3  # one value changed: a new run, since the resolved config records the bytes' sha256
    edited = load_config(write_case(tmp_path, to_csv_bytes(nudged, labels), TINY))
    assert run_id_of(edited) != run_id_of(first)
    assert "path" not in config_to_yaml(first) and first.data.sha256 in config_to_yaml(first)


def test_sizes_resolve_from_the_file_and_explicit_ones_must_agree(tmp_path):
    features, labels = random_table(rows=40)
    experiment = write_case(tmp_path, to_csv_bytes(features, labels), TINY)
    for override, fragment in (({"data.num_features": 5}, "data.num_features: the csv has 4 feature columns"),
                               ({"data.num_samples": 39}, "data.num_samples: the csv has 40 rows"),
                               ({"data.num_classes": 2}, "data.num_classes: the csv has 3 classes"),
                               ({"data.noise": 0.3}, "data.noise: a csv is your data as it is"),
                               ({"model.output_activation": "sigmoid"}, "use softmax for 3 classes"),
                               ({"data.sha256": "0" * 64}, "data.sha256: the csv's bytes have sha256")):
        with pytest.raises(ConfigError) as caught:
            load_config(experiment, overrides=override)
        assert_one_line(str(caught.value), (fragment,))
    with pytest.raises(ConfigError, match="data.path: only with data.dataset: csv"):
        load_config({"data": {"path": "mine.csv"}})
    with pytest.raises(ConfigError, match="data.path: data.dataset csv needs its file"):
        load_config({"data": {"dataset": "csv"}})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(experiment, overrides={"data.path": "missing.csv"})


def test_quick_keeps_the_files_rows_and_a_config_copy_keeps_its_file(tmp_path):
    features, labels = random_table(rows=400)
    config = load_config(write_case(tmp_path, to_csv_bytes(features, labels), "model: {output_activation: softmax}\n"),
                         quick=True)
    assert config.data.num_samples == 400 and config.training.epochs == 5
    again = load_config(config, overrides={"model.depth": 3})  # Fix it and the sweeps derive configs like this
    assert again.data.csv_table is config.data.csv_table


def test_a_dump_alone_names_the_file_and_the_run_says_it_is_not_loaded():
    sha = "ab" * 32
    config = ExperimentConfig.model_validate({"data": {"dataset": "csv", "sha256": sha, "num_samples": 500}})
    with pytest.raises(ConfigError, match=r"data\.sha256: the csv with sha256 abababababab\.\.\. is not loaded"):
        prepare_data(config)


def test_over_the_memory_cap_names_the_file(tmp_path):
    features, labels = random_table(rows=2000)
    config = load_config(write_case(tmp_path, to_csv_bytes(features, labels), "model: {output_activation: softmax}\n"))
    with pytest.raises(ConfigError) as caught:
        check_resources(config, Limits(memory_mb=10, seconds=None))
    assert_one_line(str(caught.value), ("exceeds the cap of 10 MB", "mine.csv: 2000 rows of 4 features"))


def test_over_the_memory_cap_on_the_cli_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch):
    features, labels = random_table(rows=2000)
    experiment = write_case(tmp_path, to_csv_bytes(features, labels), "model: {output_activation: softmax}\n")
    monkeypatch.setenv("LAB_MAX_RUN_MEMORY_MB", "10")
    before = snapshot(tmp_path)
    assert_refused(run_cli("run", str(experiment), "--out", str(tmp_path / "runs")),
                   ("exceeds the cap of 10 MB", "mine.csv: 2000 rows of 4 features"))
    assert snapshot(tmp_path) == before


def test_a_run_folder_keeps_the_csv_and_its_config_reruns_to_the_same_numbers(tmp_path):
    features, labels = random_table(rows=120)
    experiment = write_case(tmp_path, to_csv_bytes(features, labels), TINY)
    code, _, stderr = run_cli("run", str(experiment), "--out", str(tmp_path / "runs"))
    assert code == 0, stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "data.csv").read_bytes() == (tmp_path / "mine.csv").read_bytes()
    assert "path:" not in (folder / "config.yaml").read_text()
    code, _, stderr = run_cli("run", str(folder / "config.yaml"), "--out", str(tmp_path / "again"))
    assert code == 0, stderr
    (rerun,) = (tmp_path / "again").iterdir()
    assert rerun.name == folder.name  # the same run id
    assert (rerun / "layers.csv").read_bytes() == (folder / "layers.csv").read_bytes()
    # The app's zip of the folder (Compare opens it) carries data.csv, so its config loads with the file.
    opened = load_zip(folder_to_zip(folder))
    assert opened.config.data.csv_table.content == (tmp_path / "mine.csv").read_bytes()
    assert run_id_of(opened.config) == folder.name.rsplit("-", 1)[1]
    # The folder's config, once its data.csv is changed, is refused: it names the bytes it was run on.
    (folder / "data.csv").write_bytes((folder / "data.csv").read_bytes() + b"0,0,0,0,ant\n")
    with pytest.raises(ConfigError, match="data.sha256: the csv's bytes have sha256"):
        load_config(folder / "config.yaml")


def test_the_docs_example_runs(tmp_path):
    page = (ROOT / "docs" / "own-data.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"`([\w.]+)`:\n\n```\w*\n(.*?)```", page, re.DOTALL))
    for name in ("flowers.csv", "flowers.yaml"):
        (tmp_path / name).write_text(blocks[name])
    commands = re.search(r"```bash\n(.*?)```", page, re.DOTALL).group(1)
    completed = subprocess.run(["bash", "-e", "-c", commands.replace("python ", f"{sys.executable} ")], cwd=tmp_path,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "data.csv").read_text() == blocks["flowers.csv"]
    assert folder.name in completed.stdout


# --- the app: the upload, Train on it, and a link to a csv run -------------------------------------------------------

def test_the_app_trains_on_an_uploaded_csv_and_refuses_a_bad_one(monkeypatch, tmp_path):
    from tests.support.app_test import experiment_page, press_train

    monkeypatch.chdir(tmp_path)
    app = experiment_page()
    app.selectbox(key="w.data.dataset").set_value("csv").run()
    (train,) = [button for button in app.button if button.label == "Train"]
    assert train.disabled  # no file yet
    app.file_uploader(key="w.csv_upload").set_value(("broken.csv", b"x1,label\n1,a\nabc,b\n", "text/csv")).run()
    assert not app.exception
    (error,) = [element.value for element in app.error]
    assert_one_line(error, ("broken.csv: line 3, column 'x1': 'abc' is not a number",))
    features, labels = random_table(rows=150, seed=9)
    content = to_csv_bytes(features, labels)
    app.file_uploader(key="w.csv_upload").set_value(("mine.csv", content, "text/csv")).run()
    assert not app.exception and not app.error
    assert any("mine.csv: 150 rows, 4 features, 3 classes (ant, bee, cat)" in element.value for element in app.success)
    assert app.selectbox(key="w.model.output_activation").options == ["softmax"]
    assert app.number_input(key="w.data.num_samples").value == 150 and app.number_input(key="w.data.num_samples").disabled
    app.slider(key="w.model.depth").set_value(3)
    app.slider(key="w.training.epochs").set_value(2)
    app.number_input(key="w.model.width").set_value(8)
    app = press_train(app)
    assert not app.exception and not app.error, [element.value for element in app.error]
    (result,) = app.session_state["runs"].values() if "runs" in app.session_state else [None]
    assert result is not None and result.status == "ok"
    assert result.config.data.sha256 == csv_data.sha256_of(content)
    assert app.query_params["data.sha256"] == csv_data.sha256_of(content)  # the server's cache key holds it too
    assert list(tmp_path.iterdir()) == []  # nothing written by the upload or the run


def test_a_link_to_a_csv_run_says_it_cannot_carry_the_file_and_offers_the_upload():
    from tests.support.app_test import experiment_page

    sha = "cd" * 32
    app = experiment_page(**{"data.dataset": "csv", "data.sha256": sha, "data.num_samples": "300", "model.depth": "4"})
    assert not app.exception
    (error,) = [element.value for element in app.error]
    assert_one_line(error, ("a link cannot carry the file", f"sha256 {sha[:12]}"))
    assert app.selectbox(key="w.data.dataset").value == "csv" and app.slider(key="w.model.depth").value == 4
    assert app.get("file_uploader")  # the upload is offered
    assert any(sha[:12] in element.value for element in app.info)
