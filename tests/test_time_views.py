"""The time views of recurrent runs (issue #14): summary.json's "recurrence" rows against numpy on the run's own initial
weights, lab.readings.time_reading's numbers and sentences against the frame (pandas / numpy by hand), and the time
charts' specs holding the frame's numbers. One tiny trained run (T = 8, width 8, 1 epoch) serves every test."""
import math

import numpy as np
import pandas as pd
import pytest

from lab import run
from lab.charts import time_charts
from lab.contract.run_data import prepare_data
from lab.readings import report, time_reading
from lab.science.recurrent_initializers import recurrent_weights
from lab.text import en, ko
from lab.text.i18n import chart_labels, fact_sentences

LENGTH, WIDTH = 8, 8


def tiny(**model) -> dict:
    """A tiny rnn experiment on adding: T = 8, width 8, 1 epoch recorded every 2 steps."""
    return {"name": "tiny_rnn", "seed": 3, "model": {"kind": "rnn", "width": WIDTH, **model},
            "data": {"dataset": "adding", "sequence_length": LENGTH, "num_samples": 160},
            "training": {"epochs": 1, "record_every": 2}, "probe": {"num_samples": 32}}


@pytest.fixture(scope="module")
def simple():
    """The simple tanh cell with its recurrent kernel rescaled to spectral radius 1.5 (so rho is known exactly)."""
    return run(tiny(spectral_radius=1.5))


@pytest.fixture(scope="module")
def lstm():
    """The LSTM: a carry gradient, and no theory factor."""
    return run(tiny(cell="lstm"))


def numpy_forward(config, weights):
    """float64 pre-activations z_t (N, T, units) of the simple cell on the run's probe batch, written out by hand."""
    dataset, probe_index = prepare_data(config)
    inputs = dataset.x_train[probe_index].astype(np.float64)
    kernel, recurrent, bias = (np.asarray(value, np.float64) for value in weights[:3])
    state = np.zeros((len(inputs), recurrent.shape[0]))
    preactivations = []
    for t in range(inputs.shape[1]):
        z = inputs[:, t] @ kernel + state @ recurrent + bias
        preactivations.append(z)
        state = np.tanh(z)
    return np.stack(preactivations, axis=1)


def test_recurrence_rows_equal_numpy_on_the_runs_initial_weights(simple):
    config, rows = simple.config, simple.summary["recurrence"]
    model = config.model
    steps = sorted(int(step) for step in simple.timesteps["step"].unique())
    assert [(row["step"], row["layer"]) for row in rows] == [(step, 1) for step in steps]
    weights = recurrent_weights("simple", 1, WIDTH, 2, 1, model.kernel_initializer, model.recurrent_initializer,
                                model.spectral_radius, model.bias_initializer, config.seed, model.sigma_w, model.sigma_b)
    radius = np.max(np.abs(np.linalg.eigvals(np.asarray(weights[1], np.float64))))
    slope_rms = math.sqrt(np.mean((1.0 - np.tanh(numpy_forward(config, weights)) ** 2) ** 2))
    start = rows[0]
    assert radius == pytest.approx(1.5, rel=1e-6)
    assert start["spectral_radius"] == pytest.approx(radius, rel=1e-6)
    assert start["slope_rms"] == pytest.approx(slope_rms, rel=1e-5)
    assert time_reading.theory_factor(simple.summary, 0, 1) == pytest.approx(radius * slope_rms, rel=1e-5)
    assert rows[-1]["spectral_radius"] != start["spectral_radius"]  # trained: U moved, each record measures its own


def test_gated_cells_have_no_theory_factor_and_an_mlp_summary_has_no_recurrence_key(lstm):
    assert lstm.summary["recurrence"] == []
    assert math.isnan(time_reading.theory_factor(lstm.summary, 0, 1))
    assert time_reading.theory_line(lstm.timesteps, lstm.summary, 0, 1).empty
    mlp = run({"model": {"depth": 2, "width": 4}, "data": {"num_samples": 128}, "training": {"epochs": 0},
               "probe": {"num_samples": 16}})
    assert "recurrence" not in mlp.summary


def test_ratio_slope_and_theory_line_equal_pandas_and_numpy_by_hand(simple):
    frame = simple.timesteps
    for step in (0, int(frame["step"].max())):
        rows = frame[(frame["step"] == step) & (frame["layer"] == 1)].set_index("t")["state_grad_rms"]
        assert time_reading.first_to_last(frame, 1, step) == rows.loc[1] / rows.loc[LENGTH]
        design = np.column_stack([np.arange(1, LENGTH + 1, dtype=np.float64), np.ones(LENGTH)])
        (slope, _), *_ = np.linalg.lstsq(design, np.log10(rows.loc[1:LENGTH].to_numpy()), rcond=None)
        assert time_reading.measured_slope(frame, step, 1) == pytest.approx(slope, rel=1e-9, abs=1e-12)
        factor = simple.summary["recurrence"][[row["step"] for row in simple.summary["recurrence"]].index(step)]
        factor = factor["spectral_radius"] * factor["slope_rms"]
        line = time_reading.theory_line(frame, simple.summary, step, 1).set_index("t")["value"]
        expected = rows.loc[LENGTH] * factor ** (LENGTH - np.arange(1, LENGTH + 1))
        np.testing.assert_allclose(line.loc[1:LENGTH].to_numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("value, text", [(3.04e-9, "3×10⁻⁹"), (0.2549, "0.25"), (4.2e12, "4.2×10¹²"), (0.0, "0"),
                                         (1234.0, "1.2×10³")])
def test_scientific_writes_many_decades_legibly(value, text):
    assert time_reading.scientific(value) == text


def test_sentences_state_the_frames_numbers_in_english_and_korean(simple):
    frame, summary = simple.timesteps, simple.summary
    facts = time_reading.time_facts(frame, summary)
    assert [values["step"] for _, values in facts] == [0] * 3 + [int(frame["step"].max())] * 3
    for index in (0, 3):  # per moment: the ratio, the measured slope, theory's factor
        assert facts[index][0] in ("time_sentence_smaller", "time_sentence_larger")
        assert [key for key, _ in facts[index + 1:index + 3]] == ["time_sentence_slope", "time_sentence_theory"]
    for language, catalogue in (("en", en), ("ko", ko)):
        sentences = fact_sentences(facts, language)
        for (key, values), sentence in zip(facts, sentences):
            assert catalogue.TEXT["moment_start" if values["moment"] == "moment_start" else "moment_end"] in sentence
            if key in ("time_sentence_smaller", "time_sentence_larger"):
                rows = frame[(frame["step"] == values["step"]) & (frame["layer"] == 1)].set_index("t")["state_grad_rms"]
                ratio = rows.loc[1] / rows.loc[LENGTH]
                stated = float(values["ratio"].replace("×10", "e").translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
                assert stated == pytest.approx(ratio, rel=0.05) and values["ratio"] in sentence
                assert f"{LENGTH}" in sentence
            if key == "time_sentence_theory":
                row = next(row for row in summary["recurrence"] if row["step"] == values["step"])
                assert float(values["factor"]) == pytest.approx(row["spectral_radius"] * row["slope_rms"], rel=1e-2)


def test_show_prints_the_ratio_and_slope_from_the_same_module(simple):
    text = report.summary_text(simple)
    ratio = time_reading.first_to_last(simple.timesteps, 1, 0)
    assert f"layer 1: {ratio:.2g} at step 0" in text
    slope = time_reading.measured_slope(simple.timesteps, 0, 1)
    assert f"(slope {slope:.3g} log10/step), theory {time_reading.theory_factor(simple.summary, 0, 1):.3g}" in text


def chart_rows(spec: dict) -> list[dict]:
    """Every inline data row of a chart spec (Altair puts them in datasets or in data.values)."""
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    for layer in spec.get("layer", []):
        rows += [row for row in (layer.get("data") or {}).get("values", []) if isinstance(row, dict)]
    return rows


def test_profile_chart_holds_the_frames_values_and_theorys_line(simple):
    frame, summary = simple.timesteps, simple.summary
    last = int(frame["step"].max())
    theory = time_reading.theory_line(frame, summary, 0, 1)
    spec = time_charts.time_profile_chart(frame, 1, [0, last], theory=theory).to_dict()
    rows = chart_rows(spec)
    drawn = {(row["step"], row["t"], row["lag"]): row["value"] for row in rows if "series" in row}
    expected = frame[frame["step"].isin([0, last])]
    assert len(drawn) == len(expected) == 2 * LENGTH  # the simple cell has no carry series
    for record in expected.itertuples():
        assert drawn[(record.step, record.t, LENGTH - record.t)] == record.state_grad_rms
    predicted = {row["lag"]: row["value"] for row in rows if "curve" in row}
    at_last = expected[expected["step"] == 0].set_index("t")["state_grad_rms"].loc[LENGTH]
    factor = summary["recurrence"][0]["spectral_radius"] * summary["recurrence"][0]["slope_rms"]
    assert predicted == pytest.approx({lag: at_last * factor ** lag for lag in range(LENGTH)}, rel=1e-12)
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_lstm_profile_draws_the_carry_as_a_second_series(lstm):
    frame = lstm.timesteps
    spec = time_charts.time_profile_chart(frame, 1, [0]).to_dict()
    carry = {row["t"]: row["value"] for row in chart_rows(spec) if row.get("series") == en.CHARTS["time_profile"]["carry"]}
    assert carry == frame[frame["step"] == 0].set_index("t")["cell_grad_rms"].to_dict()


def test_exact_zeros_sit_at_a_labelled_floor(simple):
    frame = simple.timesteps.copy()
    frame.loc[(frame["step"] == 0) & (frame["t"] == 1), "state_grad_rms"] = 0.0
    spec = time_charts.time_profile_chart(frame, 1, [0]).to_dict()
    rows = chart_rows(spec)
    (zero,) = [row for row in rows if row.get("t") == 1 and "series" in row]
    positive = frame[(frame["step"] == 0) & (frame["t"] > 1)]["state_grad_rms"].min()
    assert zero["value"] == 0 and 0 < zero["plotted"] < positive / 10 < positive
    assert any(row.get("text") == "= 0" for row in rows)


def test_heatmap_holds_log10_of_every_record(simple):
    frame = simple.timesteps
    rows = chart_rows(time_charts.time_heatmap_chart(frame, 1).to_dict())
    drawn = {(row["step"], row["t"]): row["log10_value"] for row in rows}
    assert len(drawn) == len(frame)
    for record in frame.itertuples():
        assert drawn[(record.step, record.t)] == pytest.approx(math.log10(record.state_grad_rms), rel=1e-12)


def test_comparison_chart_overlays_each_runs_last_layer_at_start_or_end(simple, lstm):
    stacked = time_charts.compare_timesteps({"a": simple, "b": lstm})
    for which, pick in (("start", min), ("end", max)):
        rows = chart_rows(time_charts.comparison_time_chart(stacked, which=which).to_dict())
        for label, result in (("a", simple), ("b", lstm)):
            frame = result.timesteps
            expected = frame[frame["step"] == pick(frame["step"])].set_index("t")["state_grad_rms"].to_dict()
            state = en.CHARTS["time_compare"]["state"]
            assert {row["t"]: row["value"] for row in rows if row["run"] == label and row["series"] == state} == expected


def test_korean_labels_reach_the_charts(simple):
    from tests.test_i18n import assert_korean

    frame = simple.timesteps
    specs = [time_charts.time_profile_chart(frame, theory=time_reading.theory_line(frame, simple.summary, 0, 1),
                                            labels=chart_labels("time_profile", "ko")).to_dict(),
             time_charts.time_heatmap_chart(frame, labels=chart_labels("time_heatmap", "ko")).to_dict(),
             time_charts.comparison_time_chart(time_charts.compare_timesteps({"a": simple}),
                                               labels=chart_labels("time_compare", "ko")).to_dict()]
    assert_korean(specs)


def test_empty_frames_give_a_chart_that_says_so():
    empty = pd.DataFrame(columns=["run_id", "step", "layer", "t", "state_grad_rms", "state_rms", "cell_grad_rms"])
    assert time_charts.time_profile_chart(empty).to_dict()["mark"]["type"] == "text"
    assert time_charts.time_heatmap_chart(empty).to_dict()["mark"]["type"] == "text"
    assert time_reading.time_facts(empty, {}) == []


def test_recurrence_rows_write_null_for_a_diverged_record_and_nothing_for_gated_cells():
    from types import SimpleNamespace

    from lab.training.measures import recurrence_rows

    kernel = np.diag([2.0, -3.0]).astype(np.float32)
    z = np.array([[0.0, 1.0], [np.nan, 0.5]], np.float32)
    reading = SimpleNamespace(kernels=(kernel, np.ones((2, 1), np.float32)), activations=(np.tanh(z),),
                              preactivations=(z, np.zeros((2, 1), np.float32)))
    (row,) = recurrence_rows(reading, "simple", "tanh", 0.01, 7)
    assert row == {"step": 7, "layer": 1, "spectral_radius": 3.0, "slope_rms": None}
    assert recurrence_rows(reading, "gru", "tanh", 0.01, 7) == []
