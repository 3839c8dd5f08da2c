"""The tour's section on the vanishing gradient through time (issue #14): it follows the edge of chaos, its remedy is
lstm_remembers' config, every number it states is the runs' (read here straight from the timesteps and history frames),
and its claim is its presets' claims. Quick runs here; the full-size claim is checked under @pytest.mark.slow."""
import math

import numpy as np
import pytest

from lab import load_config, run
from lab.contract.config_io import flatten
from lab.contract.presets import EXPERIMENTS
from lab.readings.claims import claim_for, evaluate
from lab.readings.fix_it import format_ratio, remedied_config
from lab.readings.tour import SECTIONS, claim_holds, claim_text, note_sentences, section
from lab.text.i18n import TEXT, fact_sentences

SECTION = section("rnn")


def time_ratio_from_frame(result, moment="start", column="state_grad_rms") -> float:
    """t = 1 over t = T at the last recurrent layer, read straight from the timesteps frame."""
    frame = result.timesteps
    step = frame["step"].min() if moment == "start" else frame["step"].max()
    rows = frame[(frame["step"] == step) & (frame["layer"] == frame["layer"].max())].sort_values("t")
    return float(np.float64(rows[column].iloc[0]) / np.float64(rows[column].iloc[-1]))


@pytest.fixture(scope="module")
def quick_runs():
    """The simple RNN, its LSTM remedy and the latch beside them, at quick size."""
    return run(SECTION.config(quick=True)), run(SECTION.remedy_config(quick=True)), run(SECTION.aside_config(quick=True))


def test_the_section_follows_the_edge_of_chaos_and_its_texts_exist_in_both_languages():
    keys = [item.key for item in SECTIONS]
    assert keys.index("rnn") == keys.index("edge_of_chaos") + 1
    assert (SECTION.preset, SECTION.remedy, SECTION.remedy_claim) == ("rnn_vanishing", "lstm", "lstm_remembers")
    assert (SECTION.note, SECTION.not_run, SECTION.aside) == ("tour_rnn_note", "tour_rnn_not_run", "rnn_latch")
    for part in ("title", "claim", "remedy", "note", "not_run"):
        assert TEXT["en"][f"tour_rnn_{part}"] and TEXT["ko"][f"tour_rnn_{part}"]
    assert all(item.note is None and item.aside is None and item.not_run == "tour_not_run" for item in SECTIONS[:-1])
    assert TEXT["en"]["tour_rnn_title"] == "8. The vanishing gradient through time"


def test_the_remedy_is_lstm_remembers_and_gru_remembers_is_the_gru_remedy():
    vanishing = SECTION.config()
    for cell, preset in (("lstm", "lstm_remembers"), ("gru", "gru_remembers")):
        fixed, expected = flatten(remedied_config(vanishing, cell)), flatten(load_config(EXPERIMENTS / f"{preset}.yaml"))
        assert {key for key, value in fixed.items() if expected[key] != value} == {"name"}, preset
        assert {key for key, value in fixed.items() if flatten(vanishing)[key] != value} == {"name", "model.cell"}
    assert flatten(SECTION.remedy_config()) == flatten(remedied_config(vanishing, "lstm"))


def test_the_claim_is_the_presets_claims(quick_runs):
    vanishing, lstm, _ = quick_runs
    expected = evaluate(claim_for("rnn_vanishing").claim, vanishing).holds and \
        evaluate(claim_for("lstm_remembers").claim, lstm).holds
    assert claim_holds(SECTION, vanishing, lstm) == expected
    assert not claim_holds(SECTION, vanishing, None)  # a remedy that makes a claim needs its run
    text = claim_text(SECTION)
    assert "{" not in text and "{" not in claim_text(SECTION, "ko")


def test_the_facts_are_the_runs_numbers(quick_runs):
    vanishing, _, _ = quick_runs
    length = vanishing.config.data.sequence_length
    start, end = time_ratio_from_frame(vanishing, "start"), time_ratio_from_frame(vanishing, "end")
    recurrence = [row for row in vanishing.summary["recurrence"] if row["step"] == 0 and row["layer"] == 1]
    theory = recurrence[0]["spectral_radius"] * recurrence[0]["slope_rms"]
    assert recurrence[0]["spectral_radius"] == pytest.approx(1.0, abs=1e-5)  # an orthogonal U: every |eigenvalue| is 1
    sentences = fact_sentences(SECTION.facts(vanishing))
    accuracy = f"{vanishing.history['val_accuracy'].iloc[-1]:.2f}"
    assert sentences == [
        f"At initialisation, the gradient reaching the first time step is {format_ratio(start)} of the one reaching the "
        f"last (t = {length}).",
        f"Going back in time, the gradient changes by a factor of {start ** (1 / (length - 1)):.3f} per step on average "
        f"over the {length - 1} steps at initialisation; mean field's estimate ρ·√(mean φ′(z)²) there is {theory:.3f} "
        "per step (an estimate, not a bound).",
        f"At the end, the gradient reaching the first time step is {format_ratio(end)} of the one reaching the last "
        f"(t = {length}).",
        f"Final validation accuracy: {accuracy} (chance: 0.50).",
    ]
    assert 0 < theory <= 1  # tanh' <= 1 and ρ = 1: mean field's factor cannot exceed 1
    korean = fact_sentences(SECTION.facts(vanishing), "ko")
    assert len(korean) == 4 and format_ratio(start) in korean[0] and all("{" not in sentence for sentence in korean)


def test_the_lstm_comparison_states_both_runs_numbers_and_its_carry(quick_runs):
    from lab.readings.fix_it import comparison_sentences, suggested_remedy

    vanishing, lstm, _ = quick_runs
    # The tour's remedy is the one Fix it reads from the run's own gradient through time.
    assert time_ratio_from_frame(vanishing) < 0.1 and suggested_remedy(vanishing) == SECTION.remedy
    text = "\n".join(comparison_sentences(vanishing, lstm, "lstm"))
    assert (f"With an LSTM cell, at initialisation the gradient reaching the first time step is "
            f"{format_ratio(time_ratio_from_frame(lstm))} of the one reaching the last (t = 50), instead of "
            f"{format_ratio(time_ratio_from_frame(vanishing))}.") in text
    assert f"its carry) at the first time step is {format_ratio(time_ratio_from_frame(lstm, 'start', 'cell_grad_rms'))}" in text
    assert math.isnan(time_ratio_from_frame(vanishing, "start", "cell_grad_rms"))  # the simple cell has no carry


def test_the_latch_beside_it_is_the_same_rnn_on_bit_memory_and_its_numbers_are_the_runs(quick_runs):
    vanishing, _, latch = quick_runs
    before, after = flatten(SECTION.config()), flatten(SECTION.aside_config())
    assert {key for key in before if before[key] != after[key]} == {"name", "data.dataset", "data.num_features"}
    ratio, accuracy = time_ratio_from_frame(latch), latch.history["val_accuracy"].iloc[-1]
    (sentence,) = note_sentences(SECTION, latch)
    assert sentence == (f"On bit_memory, at initialisation the gradient reaching the first time step is {format_ratio(ratio)} "
                        f"of the one reaching the last (t = 50); the final validation accuracy is {accuracy:.2f} (chance: 0.50). "
                        f"(rnn_latch, run {latch.run_id})")
    assert note_sentences(SECTION, None) == [] and note_sentences(section("sigmoid"), vanishing) == []
    (korean,) = note_sentences(SECTION, latch, "ko")
    assert format_ratio(ratio) in korean and f"{accuracy:.2f}" in korean and latch.run_id in korean


@pytest.mark.slow  # the two presets at full size: about a minute each
def test_the_claim_holds_at_full_size_and_can_fail():
    vanishing, lstm = run(SECTION.config()), run(SECTION.remedy_config())
    assert claim_holds(SECTION, vanishing, lstm)
    assert not claim_holds(SECTION, lstm, lstm)  # the LSTM learns: it is no vanishing run
    assert not claim_holds(SECTION, vanishing, vanishing)  # the simple RNN as its own remedy does not learn


def test_the_page_runs_the_section_and_shows_its_numbers(monkeypatch, quick_runs):
    from streamlit.testing.v1 import AppTest

    import lab.readings.tour
    from tests.support.app_test import APP, TIMEOUT, chart_rows

    # The page at quick size (the sections' configs come from this one function).
    full_size = lab.readings.tour.section_configs
    monkeypatch.setattr(lab.readings.tour, "section_configs", lambda preset, remedy, quick: full_size(preset, remedy, True))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app/pages/tour.py")
    app = app.run()
    assert TEXT["en"]["tour_rnn_title"] in [header.value for header in app.header]
    if "tour_run_rnn" in {button.key for button in app.button}:
        assert TEXT["en"]["tour_rnn_not_run"] in [caption.value for caption in app.caption]
        app = app.button(key="tour_run_rnn").click().run(timeout=TIMEOUT)
    assert not app.exception
    labels = app.session_state["tour_labels"]["rnn"]
    vanishing, lstm = (app.session_state["runs"][label] for label in labels)
    assert (vanishing.config, lstm.config) == (SECTION.config(quick=True), SECTION.remedy_config(quick=True))
    text = "\n".join(block.value for block in app.markdown)
    assert f"run {vanishing.run_id}" in text
    assert (f"the gradient reaching the first time step is {format_ratio(time_ratio_from_frame(lstm))} of the one reaching "
            f"the last (t = 50), instead of {format_ratio(time_ratio_from_frame(vanishing))}.") in text
    latch = quick_runs[2]  # the page's latch has the same config and seed: the same numbers
    (note,) = [box.value for box in app.info if box.value.startswith(TEXT["en"]["tour_rnn_note"])]
    assert f"the gradient reaching the first time step is {format_ratio(time_ratio_from_frame(latch))}" in note
    assert f"(rnn_latch, run {latch.run_id})" in note
    drawn = {row.get("run") for row in chart_rows(app)}
    assert {"rnn_vanishing", "rnn_vanishing + an LSTM cell"} <= drawn  # the time profiles, both runs
