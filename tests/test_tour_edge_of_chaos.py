"""The tour's edge-of-chaos section (issue #13) on the quick runs of its presets: its claim holds there and can fail, and
every number it states is the runs' (read straight from the frames) or mean field's, recomputed here independently in
float64 numpy (Gauss-Hermite quadrature and plain iteration, not lab.science.mean_field's Gauss-Legendre panels and Brent).
tests/test_tour.py runs it at full size with the other sections, and the page."""
import math

import numpy as np
import pytest

from lab import load_config, run
from lab.contract.config_io import flatten
from lab.contract.presets import EXPERIMENTS
from lab.readings.claims import claim_for, evaluate
from lab.readings.fix_it import format_ratio
from lab.readings.tour import claim_holds, claim_text, section
from lab.text.i18n import fact_sentences
from tests.support.frames import start_ratio

SECTION = section("edge_of_chaos")


@pytest.fixture(scope="module")
def quick_runs():
    """The ordered net and its remedy at quick size (a few seconds each)."""
    return run(SECTION.config(quick=True)), run(SECTION.remedy_config(quick=True))


def tanh_fixed_point(sigma_w2: float, sigma_b2: float) -> tuple[float, float]:
    """(q*, χ1) of a tanh net: the length map iterated from q = 1, E over z ~ N(0, 1) by 200-node Gauss-Hermite."""
    z, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / weights.sum()
    q = 1.0
    for _ in range(5000):
        q = sigma_w2 * float(np.dot(weights, np.tanh(math.sqrt(q) * z) ** 2)) + sigma_b2
    return q, sigma_w2 * float(np.dot(weights, np.cosh(math.sqrt(q) * z) ** -4.0))  # tanh' = sech²


def boundary_sigma_w2(sigma_b2: float) -> float:
    """σw² where χ1 = 1 at this σb², by bisection between an ordered and a chaotic σw²."""
    low, high = 1.0, 4.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if tanh_fixed_point(middle, sigma_b2)[1] < 1 else (low, middle)
    return (low + high) / 2


def test_the_claim_holds_on_the_quick_runs_and_can_fail(quick_runs):
    ordered, critical = quick_runs
    assert claim_holds(SECTION, ordered, critical)
    assert evaluate(claim_for("ordered_phase_tanh").claim, ordered).holds
    assert evaluate(claim_for("edge_of_chaos_tanh").claim, critical).holds
    assert not claim_holds(SECTION, ordered, ordered)  # the ordered net as its own remedy: its signal is not kept
    assert not claim_holds(SECTION, critical, critical)  # the critical net as the experiment: its signal does not vanish
    assert "less than 0.05 of the last hidden layer's signal" in claim_text(SECTION)  # the thresholds are the YAML's
    assert "within a factor of 3 of it" in claim_text(SECTION)


def test_the_remedy_is_the_edge_of_chaos_preset_on_the_boundary():
    ordered, remedied = SECTION.config(), SECTION.remedy_config()
    preset = load_config(EXPERIMENTS / "edge_of_chaos_tanh.yaml")
    changed = {key for key, value in flatten(remedied).items() if flatten(preset)[key] != value}
    assert changed == {"name"}
    assert {key for key, value in flatten(remedied).items() if flatten(ordered)[key] != value} == {"name", "model.sigma_w"}
    sigma_b2 = ordered.model.sigma_b ** 2
    assert remedied.model.sigma_w == float(f"{math.sqrt(boundary_sigma_w2(sigma_b2)):.4g}") == 1.327
    assert abs(tanh_fixed_point(remedied.model.sigma_w ** 2, sigma_b2)[1] - 1) < 1e-3  # rounding keeps χ1 at 1
    assert tanh_fixed_point(ordered.model.sigma_w ** 2, sigma_b2)[1] < 0.8  # and the preset is well inside the ordered phase


def test_the_facts_are_the_runs_and_mean_fields_numbers(quick_runs):
    ordered, _ = quick_runs
    model = ordered.config.model
    sigma_w2, sigma_b2 = model.sigma_w ** 2, model.sigma_b ** 2
    _, chi = tanh_fixed_point(sigma_w2, sigma_b2)
    xi = 1 / abs(math.log(chi))  # χc = χ1 at c* = 1 in the ordered phase, so ξc = ξ
    point, phase, ratio, depth_scale, edge, accuracy = fact_sentences(SECTION.facts(ordered))
    assert point == f"Mean field at σw² = 1, σb² = 0.05: χ1 = {chi:.3g}, correlation depth ξc = {xi:.3g} layers."
    assert phase == (f"Ordered phase: the squared signal shrinks by e every {xi:.3g} layers — the signal itself every "
                     f"{2 * xi:.3g}; this net has 30 hidden layers.")
    signal = start_ratio(ordered.layers, "preact_grad_rms")
    assert ratio == (f"At initialisation, the first layer's back-propagated signal is {format_ratio(signal)} "
                     "of the last hidden layer's.")
    assert depth_scale == (f"Going down, the back-propagated signal changes by a factor of {signal ** (1 / 29):.3f} per layer on "
                           f"average; mean field predicts √χ1 = e^(−1/(2ξ)) = {math.sqrt(chi):.3f} per layer at q*, so "
                           f"{format_ratio(math.sqrt(chi) ** 29)} over the 29 layers from the last hidden layer to the first.")
    assert abs(math.sqrt(chi) - math.exp(-1 / (2 * xi))) < 1e-12  # the two names of the one factor
    critical = boundary_sigma_w2(sigma_b2)
    assert edge.startswith(f"The remedy moves σw² to {float(f'{math.sqrt(critical):.4g}') ** 2:.4g}, on the order–chaos "
                           f"boundary at σb² = 0.05: there mean field gives χ1 = 1.000,")
    assert accuracy == f"Final validation accuracy: {ordered.history['val_accuracy'].iloc[-1]:.2f} (chance: 0.10)."
    # Measured beside theory: the ordered net's signal shrinks per layer as √χ1 says, to within 3 % (seeds 0-4 measured
    # 0.849-0.870 beside 0.871 at both sizes: the first layers, at q₁ ≈ 1 > q*, shrink it a little more).
    assert abs(signal ** (1 / 29) / math.sqrt(chi) - 1) < 0.03


def test_the_facts_in_korean(quick_runs):
    ordered, _ = quick_runs
    sentences = fact_sentences(SECTION.facts(ordered), "ko")
    assert len(sentences) == 6 and all("{" not in sentence for sentence in sentences)
    assert f"{format_ratio(start_ratio(ordered.layers, 'preact_grad_rms'))}" in sentences[2]


def test_the_page_runs_the_section_and_shows_its_numbers(monkeypatch):
    from streamlit.testing.v1 import AppTest

    import lab.readings.tour
    from lab.text.i18n import TEXT
    from tests.support.app_test import APP, TIMEOUT

    # The page at quick size (the sections' configs come from this one function): tests/test_tour.py runs it at full size.
    full_size = lab.readings.tour.section_configs
    monkeypatch.setattr(lab.readings.tour, "section_configs", lambda preset, remedy, quick: full_size(preset, remedy, True))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app/pages/tour.py")
    app = app.run()
    if "tour_run_edge_of_chaos" in {button.key for button in app.button}:
        app = app.button(key="tour_run_edge_of_chaos").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert TEXT["en"]["tour_edge_of_chaos_title"] in [header.value for header in app.header]
    text = "\n".join(block.value for block in app.markdown)
    labels = app.session_state["tour_labels"]["edge_of_chaos"]  # the page's two runs, read straight from their frames
    ordered, critical = (app.session_state["runs"][label] for label in labels)
    assert (ordered.config, critical.config) == (SECTION.config(quick=True), SECTION.remedy_config(quick=True))
    assert f"run {ordered.run_id}" in text and "Ordered phase: the squared signal shrinks by e every 3.63 layers" in text
    fixed, signal = (format_ratio(start_ratio(result.layers, "preact_grad_rms")) for result in (critical, ordered))
    assert (f"With σw on the edge of chaos (χ1 = 1), at initialisation the first layer receives {fixed} "
            f"of the last hidden layer's back-propagated signal, instead of {signal}.") in text
    assert TEXT["en"]["tour_confirmed"] in [box.value for box in app.success]
