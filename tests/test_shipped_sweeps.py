"""The preset sweeps' shipped full-size tables (experiments/sweeps/tables/<preset>/sweep.csv + sweep.yaml, issue #16
goal 9): each one is the sweep its preset expands to today (not stale), a sample of its rows reruns through the sweep's
own worker to the same CSV text byte for byte, preset discovery does not mistake them for presets, and the Sweeps page
draws a picked preset's table at once, without Run."""
import csv
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.contract.config_io import config_to_yaml, run_id_of_yaml
from lab.contract.presets import SWEEP_PRESETS, SWEEP_TABLES, experiment_presets, shipped_sweep_table, sweep_presets
from lab.sweeps import worker
from lab.sweeps.runner import plan_sweep, run_local
from lab.sweeps.sweep_config import expanded_yaml
from lab.sweeps.table import identity, table
from lab.text import en, ko
from tests.support.app_test import APP, TIMEOUT, chart_rows

SHIPPED = sorted(path.name for path in SWEEP_TABLES.iterdir() if path.is_dir())
REGENERATE = ("regenerate it: python -m lab sweep experiments/sweeps/{name}.yaml --out /tmp/ship/{name} --workers 2, then copy "
              "its sweep.csv and sweep.yaml into experiments/sweeps/tables/{name}/ (docs/sweeps.md, Shipped tables)")

# Rows rerun per table (indices into sweep.csv's rows, i.e. planned runs). At initialisation: a seed the sweep's
# worker made by re-initialising a model it had built for an earlier seed of the cell (the fast path), and the sweep's
# last run. Training presets: their first cell, the cheapest (the smallest depth or the shortest sequences); each
# reruns in about 1-2 s once TensorFlow is imported.
SAMPLES = [
    pytest.param("born_dead", (5, 1599), id="born_dead"),
    pytest.param("depth_vs_activation", (7, 299), id="depth_vs_activation"),
    pytest.param("edge_of_chaos", (0,), id="edge_of_chaos"),
    pytest.param("isometry", (3, 179), id="isometry"),
    pytest.param("isometry_training", (0,), id="isometry_training"),
    pytest.param("spectral_radius", (2, 34), id="spectral_radius"),
    pytest.param("time_lag", (0,), id="time_lag"),
    pytest.param("xavier_vs_he", (11, 199), id="xavier_vs_he"),
]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_sweep_preset_ships_its_table_and_discovery_sees_presets_only():
    assert SHIPPED == sorted(sweep_presets()), "one shipped table per sweep preset, named after it"
    assert sorted(sweep_presets()) == sorted(path.stem for path in SWEEP_PRESETS.glob("*.yaml"))
    assert all(SWEEP_PRESETS / f"{name}.yaml" == path for name, path in sweep_presets().items())
    assert not [path for path in experiment_presets().values() if path.is_relative_to(SWEEP_TABLES)]
    assert sorted(sample.values[0] for sample in SAMPLES) == SHIPPED, "every shipped table has rows rerun below"
    assert shipped_sweep_table("no_such_sweep") is None
    assert {path.name for name in SHIPPED for path in (SWEEP_TABLES / name).iterdir()} == {"sweep.csv", "sweep.yaml"}
    assert (SWEEP_TABLES / "README.md").is_file()  # how they were made


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_table_is_the_sweep_its_preset_expands_to_today(name):
    folder = shipped_sweep_table(name)
    sweep, base, planned = plan_sweep(SWEEP_PRESETS / f"{name}.yaml")
    stale = f"experiments/sweeps/tables/{name} is stale (its preset or the lab's config changed); " + REGENERATE.format(name=name)
    assert (folder / "sweep.yaml").read_text(encoding="utf-8") == expanded_yaml(sweep, base, planned), stale
    header, *rows = csv_rows((folder / "sweep.csv").read_text(encoding="utf-8"))
    column = {key: header.index(key) for key in ("cell", "seed", "run_id", "status")}
    assert len(rows) == len(planned), stale
    # A run id hashes the run's whole resolved config: a changed default anywhere changes it.
    expected = [(str(item.cell), str(item.seed), run_id_of_yaml(config_to_yaml(item.config)), "ok") for item in planned]
    found = [tuple(row[column[key]] for key in ("cell", "seed", "run_id", "status")) for row in rows]
    assert found == expected, stale


def rerun_csv(name: str, indices: tuple[int, ...], runs_dir: Path) -> str:
    """sweep.csv's text for these planned runs, made as `python -m lab sweep` makes it (run_local: one worker, the fast
    path at initialisation; rows as run_sweep builds them)."""
    sweep, _, planned = plan_sweep(SWEEP_PRESETS / f"{name}.yaml")
    items = [planned[index] for index in indices]
    texts = [config_to_yaml(item.config) for item in items]
    try:
        outcomes = [outcome for batch in run_local([[text] for text in texts], 1, True, str(runs_dir)) for outcome in batch]
    finally:
        worker._ARCHITECTURES.clear()  # models a sweep worker keeps for its process's life; this process goes on
    rows = []
    for item, (text, _, error, figures) in zip(items, outcomes):
        assert not error, error
        rows.append({**identity(item, sweep.grid_keys, run_id_of_yaml(text)), **figures})
    return table(rows).to_csv(index=False)


@pytest.mark.parametrize(("name", "indices"), SAMPLES)
def test_sampled_rows_rerun_to_the_same_csv_text(name, indices, tmp_path):
    shipped = (shipped_sweep_table(name) / "sweep.csv").read_text(encoding="utf-8").splitlines()
    rerun = rerun_csv(name, indices, tmp_path).splitlines()
    assert rerun == [shipped[0], *(shipped[index + 1] for index in indices)], \
        f"{name}: rows {indices} differ from the shipped sweep.csv; " + REGENERATE.format(name=name)


def born_dead_shares_from_csv(name: str) -> dict[tuple[int, int], float]:
    """Per (width, depth): the share of rows with dead_layer_start True, read with the csv module (not the chart code)."""
    with open(shipped_sweep_table(name) / "sweep.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts = {}
    for row in rows:
        key = (int(row["model.width"]), int(row["model.depth"]))
        dead, total = counts.get(key, (0, 0))
        counts[key] = (dead + (row["dead_layer_start"] == "True"), total + 1)
    return {key: dead / total for key, (dead, total) in counts.items()}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_sweeps_page_draws_the_picked_presets_shipped_table_without_run(lang, monkeypatch):
    # Neither TensorFlow's preload nor the tour's warm runs: threads of this process that would still be in TensorFlow
    # when it exits (an abort, seen) and that this test does not need.
    monkeypatch.setenv("LAB_PRELOAD_TENSORFLOW", "0")
    monkeypatch.setenv("LAB_WARM_TOUR", "0")
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["lang"] = lang
    app.switch_page("app/pages/sweeps.py")
    app = app.run()
    assert not app.exception, app.exception
    first = app.selectbox(key="sweep_preset").value
    assert first == "born_dead"  # the first preset, drawn on arrival
    texts = {"en": en.TEXT, "ko": ko.TEXT}[lang]
    runs = len(plan_sweep(SWEEP_PRESETS / "born_dead.yaml")[2])
    assert texts["sweep_shipped"].format(runs=runs) in [caption.value for caption in app.caption]
    plotted = {(row["width"], row["depth"]): row["share"] for row in chart_rows(app) if "share" in row}
    expected = born_dead_shares_from_csv("born_dead")
    assert plotted.keys() == expected.keys()
    assert all(plotted[key] == pytest.approx(share, abs=1e-12) for key, share in expected.items())
    assert len(app.dataframe) == 1 and app.subheader[0].value == "born_dead"
    app.selectbox(key="sweep_preset").set_value("xavier_vs_he")
    app = app.run()
    assert not app.exception, app.exception
    series = {str(row.get("series")) for row in chart_rows(app)}
    assert any("he_normal" in text for text in series) and any("glorot_uniform" in text for text in series)
    assert not any("share" in row and row.get("width") == 2 for row in chart_rows(app))  # born_dead's view is gone
    assert app.subheader[0].value == "xavier_vs_he"
    # A visitor's own sweep (here an upload; Run and an opened folder set the same view) replaces the shipped one...
    folder = shipped_sweep_table("spectral_radius")
    app.file_uploader(key="sweep_upload").set_value([(name, (folder / name).read_bytes(), "text/plain")
                                                     for name in ("sweep.csv", "sweep.yaml")])
    app = app.run()
    assert not app.exception, app.exception
    assert app.subheader[0].value == texts["sweep_uploaded"]
    assert not any(caption.value.startswith(texts["sweep_shipped"][:20]) for caption in app.caption)
    # ... until another preset is picked.
    app.selectbox(key="sweep_preset").set_value("born_dead")
    app = app.run()
    assert app.subheader[0].value == "born_dead"
    assert texts["sweep_shipped"].format(runs=runs) in [caption.value for caption in app.caption]
