"""Tests for lab.charts.phase_sweep_charts: the sweeps' phase view holds pandas' medians and mean field's theory.

The cells are checked against a pandas median computed here; the boundary and 6 ξc against lab.science.mean_field
(the chart must carry its numbers unchanged) and, where one exists, a closed form independent of its quadrature:
tanh without bias has q* = 0 below the boundary, so χ1 = σw² and the boundary is σw² = 1; ReLU has χ1 = σw²/2 at
every q (boundary σw² = 2) and, in its ordered phase with σb > 0, c* = 1, so χc = χ1 and ξc = −1/ln(σw²/2).
"""
import itertools
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lab.charts import phase_sweep_charts as phase
from lab.science.mean_field import critical_sigma_w, mean_field, phase_boundary
from lab.text.i18n import chart_labels, translate


def run_row(cell, seed, sigma_w, value, status="ok", activation="tanh", **grid):
    """One sweep.csv row with model.sigma_w and the other grid values given (model.depth among them)."""
    return {"cell": cell, "seed": seed, "run_id": f"{cell}-{seed}", "model.sigma_w": sigma_w, **grid,
            "model.width": 8, "model.activation": activation, "model.kernel_initializer": "gaussian", "status": status,
            "log10_signal_ratio_start": value, "val_accuracy": np.nan, "dead_layer_start": False}


def grid_sweep(sigma_ws, ys, y_axis="model.depth", seeds=3, activation="tanh") -> pd.DataFrame:
    """ok runs with varied values (a NaN seed in cell 1), plus an error run per cell that must not count."""
    rows, rng = [], np.random.default_rng(7)
    for cell, (sigma_w, y) in enumerate(itertools.product(sigma_ws, ys)):
        grid = {"model.depth": 4, y_axis: y}
        for seed in range(seeds):
            value = np.nan if (cell, seed) == (1, 0) else float(rng.normal())
            rows.append(run_row(cell, seed, sigma_w, value, activation=activation, **grid))
        rows.append(run_row(cell, 99, sigma_w, 1e6, status="error", activation=activation, **grid))
    return pd.DataFrame(rows)


def settings_for(sweep: pd.DataFrame, activation: str, sigma_b2: float, leaky_alpha: float = 0.01) -> pd.DataFrame:
    """One mean-field setting for every cell (what cell_settings reads off planned configs)."""
    cells = sorted(set(sweep["cell"]))
    return pd.DataFrame({"cell": cells, "activation": activation, "leaky_alpha": leaky_alpha, "sigma_b2": sigma_b2})


def layer_rows(chart, field: str) -> list[dict]:
    """The chart's data rows that have field (Altair gathers every layer's inline data into the spec's datasets)."""
    return [row for values in chart.to_dict()["datasets"].values() for row in values if field in row]


# Which views apply

def test_a_phase_view_needs_sigma_w_and_depth_or_sigma_b_to_vary():
    both = grid_sweep([0.8, 1.5], [2, 3])
    assert phase.phase_views(both) == ["model.depth"]
    assert phase.phase_views(both[both["model.sigma_w"] == 0.8]) == []  # one σw
    assert phase.phase_views(both[both["model.depth"] == 2]) == []  # one depth, no σb axis
    assert phase.phase_views(both.drop(columns="model.sigma_w")) == []  # σw not a grid axis
    over_bias = grid_sweep([0.8, 1.5], [0.0, 0.3], y_axis="model.sigma_b")
    assert phase.phase_views(over_bias) == ["model.sigma_b"]
    both_axes = over_bias.assign(**{"model.depth": np.where(over_bias["seed"] % 2, 2, 3)})
    assert phase.phase_views(both_axes) == ["model.depth", "model.sigma_b"]


def test_value_columns_are_numeric_measurements_with_values_and_the_default_follows_training():
    sweep = grid_sweep([0.8, 1.5], [2, 3])
    columns = phase.value_columns(sweep)
    assert columns == ["log10_signal_ratio_start"]  # not ids, grid keys, booleans, nor the all-NaN val_accuracy
    assert phase.default_column(columns) == "log10_signal_ratio_start"
    trained = sweep.assign(val_accuracy=0.5)
    assert phase.default_column(phase.value_columns(trained)) == "val_accuracy"


# The heatmap's cells

def test_cells_are_the_median_over_ok_seeds_computed_by_pandas():
    sweep = grid_sweep([0.5, 1.0, 1.5], [2, 5, 9])
    chart = phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start")
    plotted = {(row["sigma_w2"], row["y"]): row["median"] for row in layer_rows(chart, "median")}
    ok = sweep[sweep["status"] == "ok"]
    expected = ok.groupby(["model.sigma_w", "model.depth"])["log10_signal_ratio_start"].median()  # skips the NaN seed
    assert len(plotted) == len(expected) == 9
    for (sigma_w, depth), median in expected.items():
        (key,) = [key for key in plotted if math.isclose(key[0], sigma_w**2) and key[1] == depth]
        assert plotted[key] == pytest.approx(median, rel=1e-12)


def test_cells_tile_the_plane_between_neighbouring_values():
    cells = phase.phase_cells(grid_sweep([0.5, 1.0, 2.0], [2, 4]), "model.depth", "log10_signal_ratio_start")
    columns = cells.drop_duplicates("sigma_w2").sort_values("sigma_w2")
    # σw² = 0.25, 1, 4: edges at the midpoints 0.625 and 2.5, the ends half a gap out (0.25 - 0.375 clipped to 0).
    assert columns["sigma_w2_low"].tolist() == pytest.approx([0.0, 0.625, 2.5])
    assert columns["sigma_w2_high"].tolist() == pytest.approx([0.625, 2.5, 5.5])
    rows = cells.drop_duplicates("y").sort_values("y")
    assert rows["y_low"].tolist() == [1.0, 3.0] and rows["y_high"].tolist() == [3.0, 5.0]


def test_other_grid_axes_are_held_at_the_chosen_value():
    relu = grid_sweep([0.8, 1.5], [2, 3], activation="relu")
    tanh = grid_sweep([0.8, 1.5], [2, 3], activation="tanh")
    tanh["cell"] += 100
    tanh["log10_signal_ratio_start"] += 50.0  # tanh's cells are far from relu's: a mix would show
    sweep = pd.concat([relu, tanh], ignore_index=True)
    assert phase.other_axes(sweep, "model.depth") == {"model.activation": ["relu", "tanh"]}
    first = layer_rows(phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start"), "median")
    held = layer_rows(phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start",
                                              {"model.activation": "tanh"}), "median")
    assert len(first) == len(held) == 4
    assert all(row["median"] < 10 for row in first) and all(row["median"] > 40 for row in held)


def test_bad_fixed_values_and_axes_are_refused_with_one_line():
    sweep = grid_sweep([0.8, 1.5], [2, 3])
    with pytest.raises(ValueError, match="model.width is not another grid axis"):
        phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start", {"model.width": 8})
    mixed = pd.concat([sweep, sweep.assign(**{"model.width": 16, "cell": sweep["cell"] + 10})], ignore_index=True)
    with pytest.raises(ValueError, match="model.width must be one of 8, 16; got 32"):
        phase.phase_sweep_chart(mixed, "model.depth", "log10_signal_ratio_start", {"model.width": 32})
    with pytest.raises(ValueError, match="y_axis must be one of"):
        phase.phase_sweep_chart(sweep, "model.width", "log10_signal_ratio_start")


# Theory over the map

def test_depth_view_draws_mean_fields_boundary_and_six_xi_c_for_tanh():
    sweep = grid_sweep([1.2, 1.6], [4, 8])
    chart = phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start",
                                    settings=settings_for(sweep, "tanh", 0.05))
    (rule,) = layer_rows(chart, "sigma_w2_critical")
    assert rule["sigma_w2_critical"] == pytest.approx(critical_sigma_w("tanh", math.sqrt(0.05)) ** 2, rel=1e-12)
    assert rule["sigma_w2_critical"] == pytest.approx(1.761, abs=0.002)  # Schoenholz et al. 2017, Fig. 1 (docs/theory.md)
    line = layer_rows(chart, "trainable_depth")
    assert len(line) > 20
    for row in line[:: max(1, len(line) // 8)]:
        field = mean_field("tanh", math.sqrt(row["sigma_w2"]), math.sqrt(0.05))
        assert row["trainable_depth"] == pytest.approx(6 * field.xi_c, rel=1e-12)
    # The line is packed near the boundary, where ξc diverges, on both sides of it.
    near = [row["sigma_w2"] / rule["sigma_w2_critical"] for row in line]
    assert any(0.99 <= ratio < 1 for ratio in near) and any(1 < ratio <= 1.01 for ratio in near)


def test_tanh_without_bias_has_its_boundary_at_one_and_relu_at_two_closed_forms():
    sweep = grid_sweep([0.8, 1.5], [2, 3])
    (tanh_rule,) = layer_rows(phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start",
                                                      settings=settings_for(sweep, "tanh", 0.0)), "sigma_w2_critical")
    assert tanh_rule["sigma_w2_critical"] == pytest.approx(1.0, abs=1e-9)
    relu_sweep = grid_sweep([1.0, 1.3], [2, 3], activation="relu")
    chart = phase.phase_sweep_chart(relu_sweep, "model.depth", "log10_signal_ratio_start",
                                    settings=settings_for(relu_sweep, "relu", 0.1))
    (relu_rule,) = layer_rows(chart, "sigma_w2_critical")
    assert relu_rule["sigma_w2_critical"] == pytest.approx(2.0, abs=1e-9)
    ordered = [row for row in layer_rows(chart, "trainable_depth") if row["sigma_w2"] < 2.0]
    assert len(ordered) > 10
    for row in ordered:  # c* = 1 in ReLU's ordered phase: ξc = −1/ln(σw²/2)
        assert row["trainable_depth"] == pytest.approx(-6.0 / math.log(row["sigma_w2"] / 2.0), rel=1e-6)
    # Past σw² = 2 ReLU's q diverges: no 6 ξc drawn there, and the subtitle says there is no chaotic phase.
    assert all(row["sigma_w2"] < 2.0 for row in layer_rows(chart, "trainable_depth"))
    assert any("no chaotic phase" in line for line in chart.to_dict()["title"]["subtitle"])


def test_relu_without_bias_has_no_depth_scale_and_says_so():
    sweep = grid_sweep([1.2, 1.6], [2, 3], activation="relu")
    chart = phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start",
                                    settings=settings_for(sweep, "relu", 0.0))
    assert layer_rows(chart, "trainable_depth") == []  # q* is 0 below σw² = 2 and inf above: ξc is undefined
    (rule,) = layer_rows(chart, "sigma_w2_critical")
    assert rule["sigma_w2_critical"] == pytest.approx(2.0, abs=1e-9)
    subtitle = chart.to_dict()["title"]["subtitle"]
    assert chart_labels("phase_sweep")["no_depth_scale"] in subtitle


def test_sigma_b_view_draws_the_boundary_curve():
    sweep = grid_sweep([1.0, 1.5], [0.0, 0.5], y_axis="model.sigma_b")
    settings = settings_for(sweep, "tanh", 0.0).set_index("cell")
    settings["sigma_b2"] = sweep.groupby("cell")["model.sigma_b"].first() ** 2  # each cell its own σb², as planned
    chart = phase.phase_sweep_chart(sweep, "model.sigma_b", "log10_signal_ratio_start", settings=settings.reset_index())
    curve = [row for row in layer_rows(chart, "sigma_b2") if "curve" in row]
    assert len(curve) > 10 and max(row["sigma_b2"] for row in curve) == pytest.approx(0.375)  # the top cell's edge
    expected = phase_boundary("tanh", [row["sigma_b2"] for row in curve])
    assert [row["sigma_w2"] for row in curve] == pytest.approx(expected.tolist(), rel=1e-12)
    assert curve[0]["sigma_w2"] == pytest.approx(1.0, abs=1e-9)  # σb² = 0: χ1 = σw² at q* = 0
    cells = {(round(row["sigma_w2"], 9), round(row["y"], 9)) for row in layer_rows(chart, "median")}
    assert cells == {(1.0, 0.0), (1.0, 0.25), (2.25, 0.0), (2.25, 0.25)}  # σb² on the y axis


def test_no_theory_when_the_plotted_cells_differ_in_sigma_b():
    sweep = grid_sweep([0.8, 1.5], [2, 3])
    settings = settings_for(sweep, "tanh", 0.0)
    settings.loc[settings["cell"] == 1, "sigma_b2"] = 0.3
    chart = phase.phase_sweep_chart(sweep, "model.depth", "log10_signal_ratio_start", settings=settings)
    assert layer_rows(chart, "sigma_w2_critical") == [] and layer_rows(chart, "trainable_depth") == []
    assert chart_labels("phase_sweep")["no_theory"] in chart.to_dict()["title"]["subtitle"]


def test_cell_settings_read_activation_and_sigma_b_from_planned_configs(make_config):
    gaussian = {"model.kernel_initializer": "gaussian", "model.bias_initializer": "gaussian"}
    planned = [SimpleNamespace(cell=cell, config=make_config(**gaussian, **{"model.sigma_b": sigma_b}))
               for cell, sigma_b in ((0, 0.3), (0, 0.3), (1, 0.5))]
    settings = phase.cell_settings(planned)
    assert settings["cell"].tolist() == [0, 1]
    assert settings["sigma_b2"].tolist() == pytest.approx([0.09, 0.25])
    assert set(settings["activation"]) == {"tanh"}


# The Sweeps page

@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """A tiny tanh sweep over σw x depth (epochs 0, 4 runs) under <tmp>/sweeps/, where the page looks for local sweeps."""
    from lab.sweeps import runner

    root = tmp_path_factory.mktemp("phase_sweep")
    source = root / "tiny.yaml"
    source.write_text(
        "name: tiny_phase\n"
        "base:\n"
        "  data: {dataset: gaussian, num_features: 4, num_samples: 128}\n"
        "  model: {activation: tanh, kernel_initializer: gaussian, width: 8}\n"
        "  training: {epochs: 0}\n"
        "  probe: {num_samples: 16}\n"
        "grid:\n"
        "  model.depth: [2, 3]\n"
        "  model.sigma_w: [0.8, 1.5]\n"
        "seeds: 1\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # The PNG and HTML charts beside sweep.csv are not under test here, and cost seconds.
        patch.setattr(runner, "write_sweep_charts", lambda *arguments: None)
        runner.run_sweep(source, root / "sweeps" / "tiny")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_sweeps_page_draws_the_phase_view_of_a_local_sweep(sweep_folder, monkeypatch, lang):
    from streamlit.testing.v1 import AppTest

    from tests.support.app_test import APP, TIMEOUT, chart_elements, chart_rows

    monkeypatch.chdir(sweep_folder)  # local_sweeps looks under ./sweeps
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["lang"] = lang
    app.switch_page("app/pages/sweeps.py")
    app = app.run()
    assert not app.exception, app.exception
    app.selectbox(key="sweep_folder").set_value("sweeps/tiny")
    (open_button,) = [button for button in app.button if button.label == translate("compare_open", lang)]
    app = open_button.click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    assert app.selectbox(key="sweep_phase_column").value == "log10_signal_ratio_start"  # epochs 0: no val_accuracy
    rows = chart_rows(app)
    (rule,) = [row for row in rows if "sigma_w2_critical" in row]
    assert rule["sigma_w2_critical"] == pytest.approx(1.0, abs=1e-9)  # tanh, σb = 0 (the base's zero bias)
    assert any(row.get("trainable_depth") for row in rows)
    cells = {(round(row["sigma_w2"], 9), row["y"]) for row in rows if "median" in row and "y" in row}
    assert cells == {(0.64, 2.0), (0.64, 3.0), (2.25, 2.0), (2.25, 3.0)}
    labels = chart_labels("phase_sweep", lang)
    title = labels["title"].replace("{column}", "log10_signal_ratio_start").replace("{axis}", labels["depth"])
    specs = [json.loads(element.proto.spec) for element in chart_elements(app)]
    assert any(spec.get("title", {}).get("text") == title for spec in specs)  # in the visitor's language
    assert any(subheader.value == translate("sweep_phase_heading", lang) for subheader in app.subheader)
