"""Tests for lab.charts.run_charts and lab.charts.gallery_charts: the Vega-Lite specs hold the data the lab measured."""

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lab.charts import run_charts as charts
from lab.contract.result import frame
from lab.science import activations as act
from lab.training.measures import saturated_fraction

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def real():
    """One real tiny sigmoid run (moons, so it has a boundary): ~5 s with the TensorFlow import."""
    from lab import load_config, run

    return run(load_config({"model": {"depth": 3, "width": 6}, "data": {"num_samples": 128},
                            "training": {"epochs": 2, "batch_size": 32}, "probe": {"num_samples": 32}}))


def hand_layers(grad_norms: dict[int, list[float]], saturated: float = 0.1) -> pd.DataFrame:
    """A layers frame of the contract: per step, grad_norm of layers 1..n (the last one is the output)."""
    rows = []
    for step, values in grad_norms.items():
        for index, value in enumerate(values):
            hidden = index < len(values) - 1
            rows.append({"run_id": "hand", "step": step, "epoch": step // 10, "layer": index + 1,
                         "layer_kind": "hidden" if hidden else "output", "grad_norm": value,
                         "bias_grad_norm": value, "preact_grad_rms": value, "weight_norm": 1.0,
                         "update_ratio": math.nan if step == 0 else 0.01,
                         "dead_fraction": 0.0 if hidden else math.nan,
                         "saturated_fraction": saturated if hidden else math.nan,
                         "activation_mean": 0.0, "activation_std": 1.0})
    return frame("layers", rows)


def walk(spec: dict):
    """Every view of a spec (the top level, layers, concatenations), depth first."""
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from walk(child)


def mark_types(spec: dict) -> set[str]:
    """The mark types used anywhere in a spec."""
    return {view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"] for view in walk(spec) if "mark" in view}


def encodings(spec: dict, channel: str) -> list[dict]:
    """Every encoding of one channel anywhere in a spec."""
    return [view["encoding"][channel] for view in walk(spec) if channel in view.get("encoding", {})]


def rows_with(spec: dict, *fields: str) -> list[dict]:
    """The inline data rows (from spec["datasets"]) that have all of these fields."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows if all(field in row for field in fields)]


# --- zero_floor ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([3.2e-7, 0.0, 0.5], 1e-8),  # floor(log10 3.2e-7) = -7, one decade below
    ([0.0, 0.0], 1e-12),  # nothing positive
    ([], 1e-12),
    ([1e-7], 1e-8),  # an exact power of ten is its own decade
    ([1.0, 30.0], 0.1),
    ([0.001], 1e-4),
    ([math.nan, math.inf, 0.0, 0.05], 1e-3),  # NaN and inf are never plotted, so never the minimum
    ([9.99e-3], 1e-4),
])
def test_zero_floor_rules(values, expected):
    assert charts.zero_floor(values) == expected


def test_zero_floor_is_one_to_two_decades_below_the_smallest_positive():
    values = 10.0 ** np.random.default_rng(0).uniform(-40, 3, size=500)
    for value in values:
        floor = charts.zero_floor(np.array([value, 0.0]))
        assert value / 100 < floor <= value / 10 * (1 + 1e-12)
        assert math.log10(floor) == round(math.log10(floor))


# --- gradient profile ---------------------------------------------------------------------------

def test_profile_is_a_log_axis_of_lines_and_points(real):
    spec = charts.gradient_profile_chart(real.layers).to_dict()
    assert {y["scale"]["type"] for y in encodings(spec, "y")} == {"log"}
    assert mark_types(spec) == {"line", "point"}  # a log-scale bar would draw nothing


def test_profile_draws_exact_zeros_at_the_floor_with_the_true_value_in_the_tooltip():
    # The float32-underflow picture: the first layer's gradient is exactly 0.
    layers = hand_layers({0: [0.0, 3.2e-7, 1e-3, 0.1], 10: [0.0, 0.0, 2e-4, 0.05]})
    spec = charts.gradient_profile_chart(layers).to_dict()
    rows = rows_with(spec, "plotted", "grad_norm")
    assert len(rows) == 8
    assert all(isinstance(row["plotted"], float) and math.isfinite(row["plotted"]) for row in rows)
    zeros = [row for row in rows if row["grad_norm"] == 0]
    assert len(zeros) == 3 and {row["plotted"] for row in zeros} == {1e-8}
    assert all(row["plotted"] == row["grad_norm"] for row in rows if row["grad_norm"] > 0)
    zero_views = [view for view in walk(spec) if view.get("mark", {}).get("shape") == "triangle-down"]
    assert len(zero_views) == 1
    assert "grad_norm" in {item["field"] for item in zero_views[0]["encoding"]["tooltip"]}
    assert zero_views[0]["transform"] == [{"filter": "(datum['grad_norm'] === 0)"}]
    assert any(row["text"] == "= 0" and row["plotted"] == 1e-8 for row in rows_with(spec, "text", "plotted"))
    assert mark_types(spec) <= {"line", "point", "rule", "text"}


def test_profile_of_a_step_network_floors_every_hidden_layer():
    layers = hand_layers({0: [0.0, 0.0, 0.0, 0.247], 8: [0.0, 0.0, 0.0, 0.144]})
    rows = rows_with(charts.gradient_profile_chart(layers).to_dict(), "plotted", "grad_norm")
    assert sorted(row["plotted"] for row in rows if row["layer"] <= 3) == [0.01] * 6
    assert {row["kind"] for row in rows if row["layer"] == 4} == {"output"}


def test_profile_with_only_zeros_uses_the_fixed_floor():
    rows = rows_with(charts.gradient_profile_chart(hand_layers({0: [0.0, 0.0]})).to_dict(), "plotted")
    assert {row["plotted"] for row in rows} == {1e-12}


def test_profile_shows_first_and_last_step_by_default_and_colours_them_on_viridis():
    spec = charts.gradient_profile_chart(hand_layers({0: [1.0, 2.0], 10: [1.0, 2.0], 20: [0.5, 1.0]})).to_dict()
    assert {row["step"] for row in rows_with(spec, "plotted")} == {0, 20}
    colors = encodings(spec, "color")
    assert {(color["field"], color["type"]) for color in colors} == {("step", "quantitative")}
    assert colors[0]["scale"]["scheme"]["name"] == "viridis"


def test_profile_drops_nan_update_ratio_at_step_zero(real):
    assert real.layers.loc[real.layers["step"] == 0, "update_ratio"].isna().all()
    spec = charts.gradient_profile_chart(real.layers, "update_ratio").to_dict()
    rows = rows_with(spec, "plotted", "update_ratio")
    assert rows and 0 not in {row["step"] for row in rows}
    assert all(row["update_ratio"] is not None and math.isfinite(row["plotted"]) for row in rows)
    heat_rows = rows_with(charts.heatmap_chart(real.layers, "update_ratio").to_dict(), "update_ratio")
    assert len(heat_rows) == (real.layers["step"] > 0).sum() and 0 not in {row["step"] for row in heat_rows}


def test_profile_rejects_unknown_measures_steps_and_colourings(real):
    with pytest.raises(ValueError, match="measure"):
        charts.gradient_profile_chart(real.layers, "loss")
    with pytest.raises(ValueError, match="not recorded"):
        charts.gradient_profile_chart(real.layers, steps=[12345])
    with pytest.raises(ValueError, match="run"):
        charts.gradient_profile_chart(real.layers, color_by="run")


def test_profile_takes_other_language_labels(real):
    spec = charts.gradient_profile_chart(real.layers, labels={"title": "층별 기울기", "y": "기울기 노름"}).to_dict()
    assert spec["title"] == "층별 기울기"
    assert {y["title"] for y in encodings(spec, "y") if "title" in y} == {"기울기 노름"}


# --- heatmap, fractions -------------------------------------------------------------------------

def test_heatmap_colours_log10_and_greys_zeros():
    layers = hand_layers({0: [0.0, 1e-3, 0.1], 10: [1e-5, 0.0, 0.2]})
    spec = charts.heatmap_chart(layers).to_dict()
    rows = rows_with(spec, "grad_norm", "log10_value")
    assert len(rows) == 6
    for row in rows:
        expected = None if row["grad_norm"] == 0 else math.log10(row["grad_norm"])
        assert row["log10_value"] == pytest.approx(expected) if expected is not None else row["log10_value"] is None
    colors = encodings(spec, "color")
    assert {"log10_value", "zero"} == {color["field"] for color in colors}
    zero_color = next(color for color in colors if color["field"] == "zero")
    assert zero_color["scale"]["domain"] == ["= 0"]
    assert next(color for color in colors if color["field"] == "log10_value")["scale"]["scheme"] == "viridis"
    y = encodings(spec, "y")[0]
    assert y["field"] == "layer" and y["sort"] == "descending"  # layer 1 at the bottom


def test_fraction_charts_colour_layers_quantitatively(real):
    sigmoid_chart = charts.saturation_chart(real.layers)
    assert sigmoid_chart is not None
    for chart in (charts.dead_fraction_chart(real.layers), sigmoid_chart):
        colors = encodings(chart.to_dict(), "color")
        assert [(color["field"], color["type"]) for color in colors] == [("layer", "quantitative")]
        rows = rows_with(chart.to_dict(), "layer", "step")
        assert {row["layer"] for row in rows} == {1, 2, 3}  # hidden layers only


def test_saturation_chart_is_none_without_a_saturating_regime():
    z = np.random.default_rng(0).normal(size=(32, 6))
    relu_value, sigmoid_value = saturated_fraction("relu", z, 0.01), saturated_fraction("sigmoid", z, 0.01)
    assert math.isnan(relu_value) and not math.isnan(sigmoid_value)
    assert charts.saturation_chart(hand_layers({0: [1.0, 1.0, 1.0]}, saturated=relu_value)) is None
    assert charts.saturation_chart(hand_layers({0: [1.0, 1.0, 1.0]}, saturated=sigmoid_value)) is not None


# --- history, boundary, comparison --------------------------------------------------------------

def test_history_is_two_panels_of_train_and_validation(real):
    spec = charts.history_chart(real.history, labels={"train": "훈련", "validation": "검증"}).to_dict()
    assert len(spec["hconcat"]) == 2
    rows = rows_with(spec, "epoch", "split", "value")
    assert len(rows) == 4 * len(real.history)
    assert {row["split"] for row in rows} == {"훈련", "검증"}
    assert {(row["metric"], row["epoch"]) for row in rows if row["split"] == "검증"} == {
        (metric, epoch) for metric in ("loss", "accuracy") for epoch in real.history["epoch"]}


def test_history_without_epochs_says_so():
    spec = charts.history_chart(frame("history")).to_dict()
    assert mark_types(spec) == {"text"}
    assert rows_with(spec, "text") == [{"text": "no epochs trained"}]


def test_boundary_chart(real):
    assert charts.boundary_chart(frame("boundary")) is None
    assert charts.boundary_chart(real.boundary.iloc[:0]) is None
    points = pd.DataFrame({"x1": [0.0, 1.0], "x2": [0.5, -0.5], "label": [0, 1]})
    spec = charts.boundary_chart(real.boundary, points).to_dict()
    assert mark_types(spec) == {"rect", "circle"}
    drawn = rows_with(spec, "predicted_class", "probability")
    assert len(real.boundary) == 10_000 and len(drawn) == 2_500  # every other grid line, for speed
    full = real.boundary.round({"x1": 4, "x2": 4, "probability": 3}).set_index(["x1", "x2"])
    for row in drawn[::97]:  # the cells drawn carry the frame's own predictions
        assert full.loc[(row["x1"], row["x2"]), "predicted_class"] == row["predicted_class"]
    colors = encodings(spec, "color")
    assert {color["type"] for color in colors} == {"nominal"}
    assert colors[0]["scale"]["range"] == list(charts.OKABE_ITO[:2])


def test_compare_frames_tags_runs_and_leaves_inputs_alone(real):
    shorter = real.layers[real.layers["step"] < real.layers["step"].max()]
    results = {"full": real, "short": SimpleNamespace(layers=shorter, history=real.history.iloc[:1])}
    layers, history = charts.compare_frames(results)
    assert layers["run"].value_counts().to_dict() == {"full": len(real.layers), "short": len(shorter)}
    assert history["run"].value_counts().to_dict() == {"full": len(real.history), "short": 1}
    assert "run" not in real.layers and "run" not in shorter
    spec = charts.comparison_profile_chart(layers, "grad_norm", which="end").to_dict()
    rows = rows_with(spec, "run", "plotted")
    last = {"full": real.layers["step"].max(), "short": shorter["step"].max()}
    assert {(row["run"], row["step"]) for row in rows} == set(last.items())
    colors = encodings(spec, "color")
    assert {(color["field"], color["type"]) for color in colors} == {("run", "nominal")}
    assert colors[0]["scale"]["range"] == list(charts.OKABE_ITO)
    start = rows_with(charts.comparison_profile_chart(layers, which="start").to_dict(), "run", "plotted")
    assert {row["step"] for row in start} == {0}


def test_compare_frames_of_nothing_is_empty_with_the_contract_columns():
    layers, _history = charts.compare_frames({})
    assert layers.empty and list(layers.columns)[-1] == "run" and "grad_norm" in layers


# --- activation gallery -------------------------------------------------------------------------

def sigmoid_edge() -> float:
    """The x > 0 where sigmoid' = 0.05 * 0.25: s(1 - s) = 0.0125 solved for s, then the logit."""
    s = (1 - math.sqrt(1 - 4 * 0.0125)) / 2
    return -math.log(s / (1 - s))


def test_activation_chart_of_sigmoid_marks_its_max_and_shades_saturation():
    spec = charts.activation_chart("sigmoid").to_dict()
    marker = [row for row in rows_with(spec, "text", "value") if row["text"] == "max f' = 0.25"]
    assert len(marker) == 1 and marker[0]["value"] == 0.25 and abs(marker[0]["x"]) < 0.02
    bands = [(row["start"], row["end"]) for row in rows_with(spec, "start", "end")]
    edge = sigmoid_edge()
    assert bands == [(-5.0, pytest.approx(-edge, abs=1e-9)), (pytest.approx(edge, abs=1e-9), 5.0)]
    threshold = 0.05 * 0.25
    for start, end in bands:  # inside: flat; just outside: not flat
        assert np.all(act.derivative("sigmoid", np.linspace(start, end, 101)[1:-1]) < threshold)
    assert np.all(act.derivative("sigmoid", np.linspace(-edge + 1e-6, edge - 1e-6, 1001)) >= threshold)
    curves = rows_with(spec, "x", "value", "curve")
    assert len(curves) == 800 and {row["curve"] for row in curves} == {"f(x)", "f'(x)"}


def test_activation_chart_of_tanh_shades_beyond_atanh_sqrt_095():
    bands = [(row["start"], row["end"]) for row in rows_with(charts.activation_chart("tanh").to_dict(), "start", "end")]
    edge = math.atanh(math.sqrt(0.95))
    assert bands == [(-5.0, pytest.approx(-edge, abs=1e-9)), (pytest.approx(edge, abs=1e-9), 5.0)]


def test_activation_chart_of_step_shows_a_zero_derivative():
    spec = charts.activation_chart("step").to_dict()
    derivative = [row["value"] for row in rows_with(spec, "curve") if row["curve"] == "f'(x)"]
    assert len(derivative) == 400 and set(derivative) == {0.0}
    texts = {row["text"] for row in rows_with(spec, "text")}
    assert texts == {"f'(x) = 0 everywhere"}
    assert not rows_with(spec, "start", "end")


def test_activation_chart_uses_alpha_and_shades_nothing_for_leaky_relu():
    spec = charts.activation_chart("leaky_relu", alpha=0.2).to_dict()
    negative = [row["value"] for row in rows_with(spec, "curve") if row["curve"] == "f'(x)" and row["x"] < 0]
    assert set(negative) == {0.2}
    assert {row["text"] for row in rows_with(spec, "text")} == {"max f' = 1"}
    assert not rows_with(spec, "start", "end")


@pytest.mark.parametrize("name", act.HIDDEN_ACTIVATIONS)
def test_every_activation_chart_validates_and_bands_match_the_lab_mask(name):
    spec = charts.activation_chart(name, labels={"title": "{name} 활성화 함수"}).to_dict()
    assert spec["title"]["text"] == f"{name} 활성화 함수"
    for start, end in [(row["start"], row["end"]) for row in rows_with(spec, "start", "end")]:
        middle = np.linspace(start, end, 51)[1:-1]
        assert act.saturated_mask(name, middle).all()


def test_softmax_chart_matches_lab_softmax():
    spec = charts.softmax_chart([2.0, 1.0, 0.1], temperature=0.5).to_dict()
    rows = sorted(rows_with(spec, "class", "probability"), key=lambda row: row["class"])
    assert [row["probability"] for row in rows] == pytest.approx(act.softmax([2.0, 1.0, 0.1], 0.5).tolist())
    assert spec["title"] == "softmax(z / T), T = 0.5"
    assert mark_types(spec) == {"bar", "text"}
    with pytest.raises(ValueError):
        charts.softmax_chart([])


def test_preactivation_histogram_lays_the_derivative_on_its_own_axis(real):
    last = int(real.histograms["step"].max())
    spec = charts.preactivation_histogram_chart(real.histograms, last, 2, "sigmoid").to_dict()
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    bins = rows_with(spec, "bin_left", "share", "note")
    assert len(bins) == 64 and sum(row["share"] for row in bins) == pytest.approx(1.0)
    assert "below -8" in bins[0]["note"] and "above 8" in bins[-1]["note"]
    derivative = rows_with(spec, "z", "derivative")
    assert [row["derivative"] for row in derivative] == pytest.approx(
        act.derivative("sigmoid", np.array([row["z"] for row in derivative])).tolist())
    assert len(rows_with(spec, "start", "end")) == 2
    softmax_spec = charts.preactivation_histogram_chart(real.histograms, last, 4, "softmax").to_dict()
    assert mark_types(softmax_spec) == {"rect"} and not rows_with(softmax_spec, "derivative")
    with pytest.raises(ValueError, match="no histogram"):
        charts.preactivation_histogram_chart(real.histograms, 12345, 1, "sigmoid")


# --- every builder on real frames, inputs untouched ----------------------------------------------

def test_every_builder_validates_on_real_frames_and_leaves_them_unchanged(real):
    copies = {name: getattr(real, name).copy(deep=True) for name in ("layers", "history", "histograms", "boundary")}
    built = [charts.gradient_profile_chart(real.layers, measure) for measure in charts.MEASURES]
    built += [charts.heatmap_chart(real.layers, measure) for measure in charts.MEASURES]
    built += [charts.dead_fraction_chart(real.layers), charts.saturation_chart(real.layers),
              charts.history_chart(real.history), charts.boundary_chart(real.boundary),
              charts.preactivation_histogram_chart(real.histograms, 0, 1, "sigmoid")]
    for chart in built:
        chart.to_dict()  # validates against the Vega-Lite schema
    for name, copy in copies.items():
        pd.testing.assert_frame_equal(getattr(real, name), copy)


def test_chart_files_are_the_html_and_pngs_of_a_run_folder(real):
    files = charts.chart_files(real)
    assert set(files) == {"charts.html", "profile_grad_norm.png", "profile_preact_grad_rms.png", "heatmap_grad_norm.png",
                          "dead_fraction.png", "saturation.png", "history.png", "boundary.png"}
    for name, data in files.items():
        if name.endswith(".png"):
            assert data.startswith(PNG_MAGIC) and len(data) > 1000
    html = files["charts.html"].decode("utf-8")
    assert "vegaEmbed" in html and '"vconcat"' in html and "Decision boundary" in html


def test_a_run_folders_profiles_draw_theory_beside_the_measurement_as_the_app_does(real):
    from lab.readings.theory_overlay import theory_profile

    for measure in ("grad_norm", "preact_grad_rms"):
        predicted = theory_profile(real.layers, real.config, measure)
        assert predicted is not None and len(predicted) == real.config.model.depth
        spec = charts.main_charts(real)[f"profile_{measure}"].to_dict()
        drawn = {round(row["plotted"], 12) for rows in spec["datasets"].values() for row in rows if "plotted" in row}
        assert {round(value, 12) for value in predicted["plotted"]} <= drawn


def test_chart_modules_import_neither_streamlit_nor_tensorflow():
    code = ("import sys, lab.charts.run_charts, lab.charts.gallery_charts; "
            "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_empty_and_diverged_frames_still_give_valid_charts():
    empty = frame("layers")
    for chart in (charts.gradient_profile_chart(empty), charts.heatmap_chart(empty), charts.dead_fraction_chart(empty)):
        assert mark_types(chart.to_dict()) == {"text"}
    assert charts.saturation_chart(empty) is None
    history = frame("history", [{"run_id": "x", "epoch": 1, "loss": 0.7, "accuracy": 0.5, "val_loss": 0.6, "val_accuracy": 0.5},
                                {"run_id": "x", "epoch": 2, "loss": math.inf, "accuracy": 0.5, "val_loss": math.nan,
                                 "val_accuracy": 0.5}])
    rows = rows_with(charts.history_chart(history).to_dict(), "metric", "value")
    assert len(rows) == 6 and all(math.isfinite(row["value"]) for row in rows)
    diverged = hand_layers({0: [0.1, 0.2], 5: [math.inf, math.nan]})
    rows = rows_with(charts.heatmap_chart(diverged).to_dict(), "grad_norm")
    assert {row["step"] for row in rows} == {0}


def test_comparison_history_colours_runs_and_dashes_splits(real):
    _, history = charts.compare_frames({"a": real, "b": SimpleNamespace(layers=real.layers, history=real.history)})
    spec = charts.comparison_history_chart(history).to_dict()
    rows = rows_with(spec, "run", "split", "value")
    assert len(rows) == 2 * 4 * len(real.history) and {row["run"] for row in rows} == {"a", "b"}
    assert {(color["field"], color["type"]) for color in encodings(spec, "color")} == {("run", "nominal")}
    assert {dash["field"] for dash in encodings(spec, "strokeDash")} == {"split"}
    with pytest.raises(ValueError, match="run"):
        charts.comparison_history_chart(real.history)
