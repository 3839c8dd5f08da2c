"""docs/keras-callback.md's example runs as written in a fresh process; its folder opens in show, the charts and Compare."""
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from lab import run, store
from lab.charts.run_charts import main_charts
from lab.cli import main
from lab.contract.run_data import prepare_data
from lab.keras import GradientFlow
from tests.support.app_test import APP, TIMEOUT, chart_rows
from tests.support.configs import tiny_config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "keras-callback.md"


def fenced(language: str) -> list[str]:
    """The page's fenced blocks in one language."""
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_the_docs_example_runs_as_written_and_show_reads_its_folder(tmp_path, capsys):
    (example,) = fenced("python")
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    # A fresh process, as a user's: the lab's op determinism and thread settings of this test process are not in it.
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run_id,step,epoch,layer" in done.stdout
    folder = tmp_path / "runs" / "keras-mlp"
    result = store.load(folder)
    assert result.config is None and result.source == "keras_callback" and result.depth == 2
    steps_per_epoch = int(np.ceil(1000 / 128))
    assert sorted(result.layers["step"].unique()) == [steps_per_epoch * epoch for epoch in range(6)]
    rows = result.summary["model"]["rows"]
    assert [(row["units"], row["activation"]) for row in rows] == [(64, "relu"), (64, "relu"), (10, "softmax")]
    assert list(result.history["epoch"]) == [1, 2, 3, 4, 5] and result.history["accuracy"].between(0, 1).all()
    # the shell block: show prints the table of this folder
    (shell,) = [block for block in fenced("bash") if "lab show" in block]
    assert "python -m lab show runs/keras-mlp" in shell
    assert main(["show", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "your Keras model" in printed and "Dense 64 relu > Dense 64 relu > Dense 10 softmax" in printed
    assert main(["fix", str(folder)]) == 2  # no config.yaml to re-run: one line, exit 2
    assert "has no config.yaml" in capsys.readouterr().err
    charts = main_charts(result)  # the lab's charts draw a callback run's frames
    assert {"profile_grad_norm", "profile_preact_grad_rms", "heatmap_grad_norm", "dead_fraction", "history"} <= set(charts)


def callback_twin(config, folder: Path):
    """A keras.Sequential of config's architecture with its initial weights, trained with GradientFlow: the loaded folder."""
    from lab.training.models import build_network

    dataset, probe_index = prepare_data(config)
    network = build_network(config.model, dataset.num_features, dataset.num_classes, config.seed)
    model = keras.Sequential([keras.Input((dataset.num_features,)),
                              *[keras.layers.Dense(config.model.width, activation=config.model.activation)
                                for _ in range(config.model.depth)], keras.layers.Dense(1)], name="mine")
    for mine, theirs in zip(model.layers, network.dense_layers):
        mine.set_weights([theirs.kernel.numpy(), theirs.bias.numpy()])
    model.compile(optimizer=keras.optimizers.SGD(config.training.learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    keras.utils.set_random_seed(0)
    probe = (dataset.x_train[probe_index], dataset.y_train[probe_index])
    model.fit(dataset.x_train, dataset.y_train, epochs=config.training.epochs, batch_size=config.training.batch_size,
              verbose=0, validation_data=(dataset.x_val, dataset.y_val), callbacks=[GradientFlow(probe, folder)])
    return store.load(folder)


def test_compare_overlays_a_callback_run_with_a_lab_run_of_the_same_architecture(tmp_path):
    config = tiny_config()
    lab_run = run(config)
    mine = callback_twin(config, tmp_path / "mine")
    # Same weights at step 0, same probe: the two runs' first profiles coincide (float32 rounding).
    first = [frame[frame["step"] == 0].sort_values("layer")["grad_norm"].to_numpy() for frame in (lab_run.layers, mine.layers)]
    np.testing.assert_allclose(first[0], first[1], rtol=2e-5)
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app/pages/compare.py")
    app.session_state["runs"] = {"lab run": lab_run, "keras run": mine}
    app = app.run()
    assert not app.exception, app.exception
    assert set(app.multiselect(key="compare_pick").value) == {"lab run", "keras run"}
    app.radio(key="compare_which").set_value("start")
    app = app.run()
    assert not app.exception, app.exception
    plotted = pd.DataFrame([row for row in chart_rows(app) if row.get("run") and "grad_norm" in row])
    assert set(plotted["run"]) == {"lab run", "keras run"}
    by_run = {label: rows.sort_values("layer")["grad_norm"].to_numpy() for label, rows in plotted.groupby("run")}
    np.testing.assert_allclose(by_run["keras run"], first[1], rtol=1e-6)  # the overlay draws the callback's numbers
    assert any("GradientFlow" in caption.value for caption in app.caption)
    assert any("your Keras model" in markdown.value for markdown in app.markdown)
