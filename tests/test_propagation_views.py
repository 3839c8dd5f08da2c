"""Signal propagation's views (issue #13): lab.readings.phase's numbers against lab.mean_field and the initializers'
variances worked out by hand, the chart builders' specs against their frames, and the Experiment page's section."""
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.results_view import VIEW_KEY
from lab import load_config, mean_field
from lab.charts import propagation_charts as charts
from lab.contract.result import frame
from lab.readings import phase
from lab.science.mean_field import correlation_map, length_map
from lab.text import en, ko
from lab.text.i18n import fact_sentences
from tests.support.app_test import APP, TIMEOUT, chart_elements, experiment_page

BASE = {"data": {"num_samples": 256}, "model": {"depth": 4, "width": 8}, "training": {"epochs": 1}}


def config(**model):
    """A small validated config with these model fields."""
    return load_config({**BASE, "model": {**BASE["model"], **model}})


def numbers(sentence: str) -> list[float]:
    """The decimal numbers of a sentence, in order (∞ as inf)."""
    return [math.inf if token == "∞" else float(token) for token in re.findall(r"∞|\d+(?:\.\d+)?(?:e[-+]?\d+)?", sentence)]


def shown(value: float) -> float:
    """A number as the sentences print it (3 significant digits; ∞ stays inf)."""
    return value if math.isinf(value) else float(f"{value:.3g}")


def spec_rows(spec: dict) -> list[dict]:
    """Every data row a spec carries (named datasets and inline values)."""
    rows = [row for values in spec.get("datasets", {}).values() for row in values]

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("values"), list):
                rows.extend(row for row in node["values"] if isinstance(row, dict))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({key: value for key, value in spec.items() if key != "datasets"})
    return rows


# ---- lab.readings.phase ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("initializer", "expected"), [
    ("he_normal", 2.0), ("he_uniform", 2.0), ("lecun_normal", 1.0), ("glorot_uniform", 1.0), ("glorot_normal", 1.0),
    ("classic", 1.0 / 3.0),
])
def test_effective_sigma_w_squared_is_fan_in_times_the_weight_variance(initializer, expected):
    # Worked by hand: he 2/fan_in, lecun 1/fan_in, glorot 2/(fan_in + fan_out) = 1/w for w → w, classic U(±1/√w) = 1/(3w).
    for width in (8, 33):
        sigma_w2, sigma_b2, why = phase.effective_sigma_w_squared(config(kernel_initializer=initializer, width=width))
        assert sigma_w2 == pytest.approx(expected, rel=1e-12) and sigma_b2 == 0.0 and why is None


def test_effective_sigma_w_squared_reads_sigma_w_and_sigma_b_and_says_where_theory_has_none():
    gaussian = config(kernel_initializer="gaussian", sigma_w=1.2, bias_initializer="gaussian", sigma_b=0.2)
    assert phase.effective_sigma_w_squared(gaussian) == (pytest.approx(1.44), pytest.approx(0.04), None)
    orthogonal = config(kernel_initializer="orthogonal", sigma_w=1.5)
    assert phase.effective_sigma_w_squared(orthogonal)[:2] == (pytest.approx(2.25), 0.0)
    assert phase.effective_sigma_w_squared(config(kernel_initializer="rai", activation="relu")) == (None, None, "phase_no_kernel")
    assert phase.effective_sigma_w_squared(config(bias_initializer="ones"))[1:] == (None, "phase_no_bias_constant")
    assert phase.effective_sigma_w_squared(config(bias_initializer=0.1))[1:] == (None, "phase_no_bias_constant")
    assert phase.effective_sigma_w_squared(config(bias_initializer="random_normal"))[1:] == (None, "phase_no_bias_random")
    (fact,) = phase.where_you_are(config(bias_initializer="random_normal"))
    assert fact == ("phase_no_bias_random", {"initializer": "random_normal"})
    assert "random_normal" in fact_sentences([fact], "ko")[0]


@pytest.mark.parametrize(("activation", "sigma_w", "sigma_b", "key"), [
    ("tanh", 1.2, 0.2, "phase_ordered"), ("tanh", 2.0, 0.2, "phase_chaotic"), ("tanh", 1.0, 0.0, "phase_critical"),
    ("relu", math.sqrt(2.0), 0.0, "phase_critical"), ("relu", 1.0, 0.1, "phase_ordered"), ("step", 1.0, 0.0, "phase_no_gradient"),
])
def test_where_you_are_states_mean_fields_numbers(activation, sigma_w, sigma_b, key):
    chosen = config(activation=activation, kernel_initializer="gaussian", sigma_w=sigma_w, bias_initializer="gaussian",
                    sigma_b=sigma_b)
    facts = phase.where_you_are(chosen)
    assert [fact[0] for fact in facts] == ["phase_point", key]
    field = mean_field(activation, sigma_w, sigma_b, chosen.model.leaky_alpha)
    point, verdict = fact_sentences(facts)
    stated = numbers(point)  # σw², σb², the 1 of "χ1" (notation), χ1, ξc
    assert stated[:2] == [shown(sigma_w**2), shown(sigma_b**2)]
    assert stated[3:] == [shown(field.chi_1)] + ([] if math.isnan(field.xi_c) else [shown(field.xi_c)])
    if key in ("phase_ordered", "phase_chaotic"):
        xi, xi2, depth = numbers(verdict)
        assert (xi, xi2, depth) == (shown(field.xi_grad), shown(2 * field.xi_grad), 4)
        assert ("shrinks" if key == "phase_ordered" else "grows") in verdict
    korean = fact_sentences(facts, "ko")
    assert numbers(korean[0])[-1] == stated[-1]


def test_theory_rows_iterate_the_maps_from_the_measured_layer_1():
    chosen = config(activation="tanh", kernel_initializer="gaussian", sigma_w=1.2, bias_initializer="gaussian", sigma_b=0.2)
    measured = frame("propagation", [{"run_id": "x", "step": step, "layer": layer, "q": 1.3 / layer, "c": 0.1 * layer,
                                      "jac_mean_sq": 1.0, "jac_max": 1.0, "jac_min": 1.0}
                                     for step in (0, 5) for layer in (1, 2, 3, 4)])
    rows = phase.theory_rows(measured, chosen)
    q, c, expected = 1.3, 0.1, [(1.3, 0.1)]
    for _ in range(3):  # by hand: q_{l+1} = length_map(q_l); c_{l+1} = (σw² E[φφ] + σb²) / q_{l+1}
        q_next = length_map("tanh", q, 1.2, 0.2)
        c = correlation_map("tanh", c, q, 1.2, 0.2) * q / q_next
        q = q_next
        expected.append((q, c))
    assert rows["layer"].tolist() == [1, 2, 3, 4]
    assert np.allclose(rows[["q", "c"]].to_numpy(), np.array(expected), rtol=1e-12)
    assert phase.theory_rows(frame("propagation"), chosen).empty
    assert phase.theory_rows(measured, config(bias_initializer="ones")).empty


def test_the_phase_grid_is_mean_field_on_its_cells_and_the_boundary_is_phase_boundary():
    cells, boundary, seconds = phase.phase_grid("relu", 0.01)
    assert len(cells) == phase.GRID_SIGMA_W2 * phase.GRID_SIGMA_B2 and seconds > 0
    assert cells["sigma_w2_low"].min() == 0.0 and cells["sigma_w2_high"].max() == 4.0 and cells["sigma_b2_high"].max() == 0.5
    row = cells.iloc[37]
    field = mean_field("relu", math.sqrt(row["sigma_w2"]), math.sqrt(row["sigma_b2"]), 0.01)
    assert row["chi_1"] == field.chi_1 and (row["xi_c"] == field.xi_c or math.isnan(field.xi_c))
    assert np.allclose(boundary["sigma_w2"], 2.0, rtol=1e-6)  # relu: χ1 = σw²/2
    assert phase.plane("tanh", 0.01)[0] == 0.25 and phase.plane("sigmoid", 0.01)[1] > 100  # sigmoid's boundary is at ~103


# ---- lab.charts.propagation_charts ---------------------------------------------------------------------------------

def propagation_frames():
    """Two records of 3 layers; one exact zero singular value at the end."""
    propagation = frame("propagation", [{"run_id": "x", "step": step, "layer": layer, "q": 0.5 * layer + step,
                                         "c": 0.2 * layer, "jac_mean_sq": 1.0, "jac_max": 2.0, "jac_min": 0.1}
                                        for step in (0, 7) for layer in (1, 2, 3)])
    spectrum = frame("spectrum", [{"run_id": "x", "step": step, "layer": layer, "sample": sample, "index": index,
                                   "singular_value": 0.0 if (step, layer, sample, index) == (7, 3, 1, 4) else
                                   10.0 ** (-index + layer * 0.1 + step * 0.01)}
                                  for step in (0, 7) for layer in (1, 2, 3) for sample in (1, 2) for index in (1, 2, 3, 4)])
    return propagation, spectrum


def test_chart_builders_carry_the_frames_numbers():
    propagation, spectrum = propagation_frames()
    theory = pd.DataFrame({"layer": [1, 2, 3], "q": [0.5, 0.61, 0.72], "c": [0.2, 0.33, 0.44]})
    rows = spec_rows(charts.propagation_chart(propagation, theory).to_dict())
    assert {row["q"] for row in rows if "q" in row} >= set(propagation["q"]) | {0.61, 0.72}
    assert {row["c"] for row in rows if "c" in row} >= {0.33, 0.44}
    bands = charts.spectrum_bands(spectrum)
    rows = spec_rows(charts.jacobian_chart(spectrum).to_dict())
    assert {row["median"] for row in rows} == set(bands["median"])
    end_3 = spectrum[(spectrum["step"] == 7) & (spectrum["layer"] == 3)]["singular_value"]
    assert any(row["q05"] == np.quantile(end_3, 0.05) and row["zeros"] == 1 for row in rows)
    rows = spec_rows(charts.spectrum_histogram_chart(spectrum, 3).to_dict())
    assert sum(row["count"] for row in rows) == len(end_3) * 2 - 1  # both steps, the zero counted aside
    assert {row["zeros"] for row in rows} == {0, 1}


def test_phase_diagram_has_the_grid_the_boundary_and_the_dot():
    cells, boundary, _ = phase.phase_grid("relu", 0.01)
    spec = charts.phase_diagram_chart(cells, boundary, "relu", {"sigma_w2": 1.44, "sigma_b2": 0.04}).to_dict()
    rows = spec_rows(spec)
    assert {"sigma_w2": 1.44, "sigma_b2": 0.04, "curve": "this experiment"} in rows
    assert {row["chi_1"] for row in rows if "chi_1" in row} == set(cells["chi_1"])
    assert spec["title"]["text"] == en.CHARTS["phase"]["title"].format(activation="relu")


def test_empty_frames_and_nan_give_charts_that_say_so():
    for chart in (charts.propagation_chart(frame("propagation")), charts.jacobian_chart(frame("spectrum")),
                  charts.spectrum_histogram_chart(frame("spectrum"), 1)):
        assert "text" in json.dumps(chart.to_dict())
    propagation, spectrum = propagation_frames()
    propagation.loc[0, "q"] = math.nan
    spectrum["singular_value"] = 0.0
    charts.propagation_chart(propagation).to_dict()
    charts.jacobian_chart(spectrum).to_dict()
    assert "no positive" in json.dumps(charts.spectrum_histogram_chart(spectrum, 2).to_dict())


# ---- the Experiment page ---------------------------------------------------------------------------------------------

QUERY = {"model.activation": "tanh", "model.kernel_initializer": "gaussian", "model.sigma_w": "1.2",
         "model.bias_initializer": "gaussian", "model.sigma_b": "0.2", "probe.propagation": "true", "model.depth": "4",
         "model.width": "8", "training.epochs": "1", "data.num_samples": "256"}


def section_specs(app) -> list[dict]:
    """The section's charts: the specs whose title is one of the propagation catalogue's."""
    import pyarrow

    specs = []
    for element in chart_elements(app):
        spec = json.loads(element.proto.spec)
        for dataset in element.proto.datasets:
            spec.setdefault("datasets", {})[dataset.name] = pyarrow.ipc.open_stream(dataset.data.data).read_all().to_pylist()
        specs.append(spec)
    return specs


def title_of(spec: dict) -> str:
    """A spec's title text."""
    title = spec.get("title")
    return title.get("text", "") if isinstance(title, dict) else title or ""


def open_section(lang="en", **overrides):
    """The Experiment page on QUERY (its run trained) with the signal propagation view already chosen.

    The view is chosen through session state before the first run: a second run of a Korean page fails inside AppTest
    (it re-reads Fix it's selectbox through its format_func outside the script, in English).
    """
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {**QUERY, **overrides, **({"lang": lang} if lang != "en" else {})}.items():
        app.query_params[key] = value
    app.session_state[VIEW_KEY] = "propagation"
    app.switch_page("app/pages/experiment.py")
    app = app.run()
    assert not app.exception, app.exception
    return app


def test_the_section_shows_where_the_run_is_and_its_measured_charts():
    app = open_section()
    field = mean_field("tanh", 1.2, 0.2)
    text = "\n".join(markdown.value for markdown in app.markdown)
    (line,) = [line for line in text.splitlines() if line.startswith("- Ordered phase")]
    xi, xi2, depth = numbers(line)
    assert (xi, xi2, depth) == (shown(field.xi_grad), shown(2 * field.xi_grad), 4)
    specs = section_specs(app)
    (diagram,) = [spec for spec in specs if title_of(spec) == en.CHARTS["phase"]["title"].format(activation="tanh")]
    (dot,) = [row for row in spec_rows(diagram) if row.get("curve") == en.CHARTS["phase"]["you"]]
    assert (dot["sigma_w2"], dot["sigma_b2"]) == (pytest.approx(1.44), pytest.approx(0.04))
    titles = {title_of(spec) for spec in specs}
    measured = {en.CHARTS["propagation"]["title"], en.CHARTS["jacobian"]["title"], en.CHARTS["spectrum"]["title"].format(layer=4)}
    assert measured <= titles
    assert en.TEXT["propagation_off"] not in [caption.value for caption in app.caption]

    # The view control: another view chosen, the section builds nothing; chosen, it draws (here without propagation frames).
    chaotic = experiment_page(**{**QUERY, "model.sigma_w": "2.0", "probe.propagation": "false"})
    assert not chaotic.exception, chaotic.exception
    assert en.CHARTS["phase"]["title"].format(activation="tanh") not in {title_of(spec) for spec in section_specs(chaotic)}
    chaotic = chaotic.segmented_control(key=VIEW_KEY).set_value("propagation").run()
    assert not chaotic.exception, chaotic.exception
    assert "- Chaotic phase" in "\n".join(markdown.value for markdown in chaotic.markdown)
    assert en.TEXT["propagation_off"] in [caption.value for caption in chaotic.caption]  # no frames: how to get them
    diagram_title = en.CHARTS["phase"]["title"].format(activation="tanh")
    assert {title_of(spec) for spec in section_specs(chaotic)} & (measured | {diagram_title}) == {diagram_title}


def test_the_section_in_korean_has_the_korean_catalogues_titles():
    app = open_section("ko")
    titles = {title_of(spec) for spec in section_specs(app)}
    korean = {ko.CHARTS["phase"]["title"].format(activation="tanh"), ko.CHARTS["propagation"]["title"],
              ko.CHARTS["jacobian"]["title"], ko.CHARTS["spectrum"]["title"].format(layer=4)}
    assert korean <= titles
    english = {en.CHARTS[kind]["title"] for kind in ("propagation", "jacobian", "spectrum", "phase")}
    assert not {title for title in titles if any(text.split(":")[0].split("{")[0] in title for text in english)}
    assert "질서 상" in "\n".join(markdown.value for markdown in app.markdown)


def test_every_builder_speaks_korean_with_the_korean_labels():
    from lab.text.i18n import chart_labels
    from tests.test_i18n import assert_korean  # the same check test_i18n runs on the other builders

    propagation, spectrum = propagation_frames()
    theory = pd.DataFrame({"layer": [1, 2, 3], "q": [0.5, 0.61, 0.72], "c": [0.2, 0.33, 0.44]})
    cells, boundary, _ = phase.phase_grid("relu", 0.01)
    specs = [charts.propagation_chart(propagation, theory, labels=chart_labels("propagation", "ko")),
             charts.jacobian_chart(spectrum, labels=chart_labels("jacobian", "ko")),
             charts.spectrum_histogram_chart(spectrum, 3, labels=chart_labels("spectrum", "ko")),
             charts.phase_diagram_chart(cells, boundary, "relu", {"sigma_w2": 2.0, "sigma_b2": 0.0},
                                        labels=chart_labels("phase", "ko")),
             charts.propagation_chart(frame("propagation"), labels=chart_labels("propagation", "ko"))]
    assert_korean([chart.to_dict() for chart in specs])
