"""The guided tour: every section's claim holds on its preset, its numbers are the runs' numbers (read here
straight from the frames), a claim the numbers do not bear out is shown as qualified, and the page runs in
AppTest in English and Korean. The real-browser check is in tests/test_browser.py (its shared server)."""
import pytest
from streamlit.testing.v1 import AppTest

from lab import run
from lab.readings.claims import claim_for, evaluate
from lab.readings.fix_it import format_ratio
from lab.readings.tour import SECTIONS, claim_holds, section
from lab.text.i18n import TEXT, fact_sentences
from tests.support.app_test import APP, TIMEOUT, chart_rows
from tests.support.frames import start_ratio  # layer 1 over the last hidden layer, read from the frame

ORDER = ["step", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "edge_of_chaos", "rnn"]
# The rnn section's runs take about 35 s at full size: its claim and facts are tested in tests/test_tour_rnn.py.
HEADLESS = [key for key in ORDER if key != "rnn"]


@pytest.fixture(scope="module")
def tour_runs():
    """Every section's experiment and remedy, run headless once for the module."""
    return {item.key: (run(item.config()), run(item.remedy_config()) if item.remedy else None) for item in SECTIONS
            if item.key in HEADLESS}


def hidden(layers, step):
    return layers.query("layer_kind == 'hidden' and step == @step").sort_values("layer")


def test_sections_follow_the_tutorial_and_every_text_exists_in_both_languages():
    assert [item.key for item in SECTIONS] == ORDER
    for item in SECTIONS:
        for part in ("title", "claim", "remedy"):
            assert TEXT["en"][f"tour_{item.key}_{part}"] and TEXT["ko"][f"tour_{item.key}_{part}"]
        if item.remedy:
            assert f"remedy_{item.remedy}" in TEXT["ko"]
    with pytest.raises(KeyError, match="one of step, sigmoid"):
        section("gelu")


def test_every_claim_holds_on_its_preset(tour_runs):
    for key, (experiment, remedy) in tour_runs.items():
        assert claim_holds(section(key), experiment, remedy), key


def test_a_sections_claim_is_its_presets_claim(tour_runs):
    # One home: the tour tests the claim in the preset's YAML (and the rescue's on the leaky section's remedy).
    for key, (experiment, remedy) in tour_runs.items():
        item = section(key)
        expected = evaluate(claim_for(item.preset).claim, experiment).holds
        if item.remedy_claim:
            expected = expected and evaluate(claim_for(item.remedy_claim).claim, remedy).holds
        assert claim_holds(item, experiment, remedy) == expected, key
    assert section("leaky_relu").remedy_claim == "leaky_relu_rescue"
    assert section("edge_of_chaos").remedy_claim == "edge_of_chaos_tanh"


def test_the_claims_are_tested_on_the_numbers_and_can_fail(tour_runs):
    # Each section's test given another section's runs: the numbers no longer bear the claim out.
    assert not claim_holds(section("sigmoid"), *tour_runs["tanh"])  # tanh's signal does not vanish
    assert not claim_holds(section("tanh"), *tour_runs["sigmoid"])  # sigmoid's is not within 10x
    assert not claim_holds(section("step"), *tour_runs["sigmoid"])  # sigmoid's hidden gradients are not 0
    assert not claim_holds(section("relu"), *tour_runs["leaky_relu"])  # dead at birth: no layer dies in training
    leaky = tour_runs["leaky_relu"][0]
    assert not claim_holds(section("leaky_relu"), leaky, leaky)  # ReLU as its own remedy
    assert not claim_holds(section("softmax"), *tour_runs["sigmoid"])  # 49% accuracy
    ordered, critical = tour_runs["edge_of_chaos"]
    assert not claim_holds(section("edge_of_chaos"), ordered, ordered)  # the ordered net's signal is not within 3x
    assert not claim_holds(section("edge_of_chaos"), critical, critical)  # the critical net's does not vanish


def test_facts_are_the_runs_numbers(tour_runs):
    step_run = tour_runs["step"][0]
    layers = step_run.layers
    assert float(layers.loc[layers["layer_kind"] == "hidden", "grad_norm"].max()) == 0.0
    output = layers.query("layer_kind == 'output' and step == 0")["grad_norm"].iloc[0]
    (largest, accuracy) = fact_sentences(section("step").facts(step_run))
    assert f"over all {layers['step'].nunique()} records is 0; the output layer's at initialisation is {output:.3g}." in largest
    assert accuracy == f"Final validation accuracy: {step_run.history['val_accuracy'].iloc[-1]:.2f} (chance: 0.50)."

    sigmoid = tour_runs["sigmoid"][0]
    sentences = fact_sentences(section("sigmoid").facts(sigmoid))
    assert format_ratio(start_ratio(sigmoid.layers, "grad_norm")) in sentences[0] and "weight gradient" in sentences[0]
    signal = start_ratio(sigmoid.layers, "preact_grad_rms")
    assert format_ratio(signal) in sentences[1]
    per_layer = signal ** (1 / 9)
    assert f"factor of {per_layer:.2f} per layer" in sentences[2]  # the bound is sigmoid_vanishing.yaml's claim

    relu = tour_runs["relu"][0]
    end = relu.layers["step"].max()
    start_dead, end_dead = hidden(relu.layers, 0)["dead_fraction"], hidden(relu.layers, end)["dead_fraction"]
    sentences = fact_sentences(section("relu").facts(relu))
    assert sentences[0].startswith(f"At initialisation, {start_dead.mean():.0%} of hidden units are dead")
    assert f"{int((end_dead == 1.0).sum())} of 5 hidden layers are completely dead" in sentences[1]

    softmax = tour_runs["softmax"][0]
    logits = softmax.layers.query("layer_kind == 'output'").sort_values("step")["preact_grad_rms"]
    sentence = fact_sentences(section("softmax").facts(softmax))[0]
    assert f"is {logits.iloc[0]:.3g} at initialisation and {logits.iloc[-1]:.3g} at the end" in sentence

    # The edge of chaos at full size (tests/test_tour_edge_of_chaos.py checks every number at quick size).
    ordered, critical = tour_runs["edge_of_chaos"]
    sentences = fact_sentences(section("edge_of_chaos").facts(ordered))
    signal = start_ratio(ordered.layers, "preact_grad_rms")
    assert f"signal is {format_ratio(signal)} of the last" in sentences[2]
    assert f"by a factor of {signal ** (1 / 29):.3f} per layer" in sentences[3]
    assert start_ratio(critical.layers, "preact_grad_rms") > 10 * signal


# ---- the page -------------------------------------------------------------------------------------------

def tour_page(language: str = "en") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["lang"] = language
    app.switch_page("app/pages/tour.py")
    return app.run()


def test_the_tour_renders_every_section_with_a_run_button():
    app = tour_page()
    assert not app.exception
    headers = [header.value for header in app.header]
    assert headers == [TEXT["en"][f"tour_{key}_title"] for key in ORDER]
    buttons = {button.key for button in app.button}
    # A section already in this server's cache shows at once; the rest offer their run button.
    assert all(f"tour_run_{key}" in buttons or f"tour_open_{key}" in buttons for key in ORDER)


def test_running_a_section_shows_the_runs_numbers_and_the_remedys(tour_runs):
    app = tour_page()
    if "tour_run_sigmoid" in {button.key for button in app.button}:
        app = app.button(key="tour_run_sigmoid").click().run(timeout=TIMEOUT)
    assert not app.exception
    text = "\n".join(block.value for block in app.markdown)
    experiment, remedy = tour_runs["sigmoid"]
    assert f"run {experiment.run_id}" in text  # the page's run is the headless one: same config and seed
    assert f"the first layer's weight gradient is {format_ratio(start_ratio(experiment.layers, 'grad_norm'))} of the last" in text
    fixed, signal = (format_ratio(start_ratio(result.layers, "preact_grad_rms")) for result in (remedy, experiment))
    assert (f"With batch normalisation, at initialisation the first layer receives {fixed} "
            f"of the last hidden layer's back-propagated signal, instead of {signal}.") in text
    assert TEXT["en"]["tour_confirmed"] in [box.value for box in app.success]
    drawn = {row.get("run") for row in chart_rows(app)}
    assert {"sigmoid_vanishing", "sigmoid_vanishing + batch normalisation"} <= drawn
    # Open it on the Experiment page: the same run, from the cache, with its Fix it.
    app = app.button(key="tour_open_sigmoid").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert app.session_state["runs"][app.session_state["current_run"]].run_id == experiment.run_id
    assert app.selectbox(key="w.model.activation").value == "sigmoid"


def test_a_claim_the_numbers_do_not_bear_out_is_shown_as_qualified(monkeypatch):
    import lab.readings.tour

    monkeypatch.setattr(lab.readings.tour, "claim_holds", lambda *arguments: False)  # the page reads the module's test each rerun
    app = tour_page()
    if "tour_run_relu" in {button.key for button in app.button}:
        app = app.button(key="tour_run_relu").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert TEXT["en"]["tour_qualified"] in [box.value for box in app.warning]
    assert TEXT["en"]["tour_confirmed"] not in [box.value for box in app.success]


def test_the_tour_in_korean(tour_runs):
    app = tour_page("ko")
    if "tour_run_softmax" in {button.key for button in app.button}:
        app = app.button(key="tour_run_softmax").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert app.title[0].value == TEXT["ko"]["tab_tour"]
    text = "\n".join(block.value for block in app.markdown)
    assert TEXT["ko"]["tour_softmax_claim"] in text
    accuracy = tour_runs["softmax"][0].history["val_accuracy"].iloc[-1]
    assert f"최종 검증 정확도: {accuracy:.2f} (무작위 추측: 0.25)." in text


@pytest.mark.slow  # `python -m lab tour --quick` in a fresh process: TensorFlow and every section's runs
def test_the_tour_runs_headless_and_prints_the_same_numbers(tour_runs):
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "lab", "tour", "--lang", "ko", "--quick"], capture_output=True, text=True,
                               timeout=600, check=True)
    text = completed.stdout
    titles = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert titles == [TEXT["ko"][f"tour_{key}_title"] for key in ORDER]
    quick = run(section("sigmoid").config(quick=True))
    assert TEXT["ko"]["run_tag"].format(run_id=quick.run_id) in text
    assert format_ratio(start_ratio(quick.layers, "grad_norm")) in text
    assert "Traceback" not in completed.stderr
