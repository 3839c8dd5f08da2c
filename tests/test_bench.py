"""Every benchmark script runs in its quick mode and writes its JSON, so none can rot unnoticed.

No timing is asserted (these machines are shared and noisy); what is asserted is that each script
finishes, measures what it says and writes finite, positive figures. The figures themselves are in the
README's "Performance" section, from the scripts' full modes.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 300

pytestmark = pytest.mark.slow  # each script is a fresh process that imports TensorFlow or starts a server


def run_quick(script: str, results: Path) -> dict:
    """python -m bench.<script> --quick from the repository's root, its JSON redirected to results; the JSON written."""
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", "--quick"], cwd=ROOT, capture_output=True, text=True,
        timeout=TIMEOUT_SECONDS, env={**os.environ, "LAB_BENCH_RESULTS": str(results)}, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    written = list(results.glob("*.json"))
    assert len(written) == 1, written
    return json.loads(written[0].read_text())


def positive(value) -> bool:
    """A finite number above zero."""
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_instrumentation_quick_compares_the_lab_with_fit(tmp_path):
    figures = run_quick("instrumentation", tmp_path)
    assert figures["quick"] is True
    row = figures["depths"]["5"]
    assert positive(row["lab_over_fit"]) and positive(row["every_step_over_every_epoch"])
    assert row["fit"]["steps"] == row["lab"]["steps"]  # the same work on both sides
    whole = figures["whole_runs"]["5"]  # goal 6: a whole lab.run (build, trace, train, records) against a fresh fit
    assert positive(whole["lab_over_fit_wall"]) and whole["lab"]["steps"] == whole["fit"]["steps"]
    assert positive(whole["parts_ms"]["probe_trace"])


def test_sweep_seeds_quick_measures_the_lab_and_its_numpy_baseline(tmp_path):
    figures = run_quick("sweep_seeds", tmp_path)
    rates = figures["seeds_per_second"]
    for key in ("fast_path_in_memory", "fresh_build_in_memory", "fast_path_with_folders", "numpy_one_seed_at_a_time",
                "numpy_vectorised_over_seeds"):
        assert positive(rates[key]), key
    assert figures["numpy_largest_relative_difference"] < 1e-3  # the baseline computes the lab's figures


def test_sweep_workers_quick_runs_both_sides_to_the_same_table(tmp_path):
    figures = run_quick("sweep_workers", tmp_path)
    assert figures["quick"] is True
    assert positive(figures["speedup_2_over_1"]) and figures["sweep_csv_identical"] is True


@pytest.mark.browser
def test_app_timing_quick_drives_a_real_server_and_browser(tmp_path):
    figures = run_quick("app_timing", tmp_path)
    assert figures["quick"] is True
    assert all(positive(value) for value in figures["medians"].values()), figures["medians"]


@pytest.mark.browser
def test_memory_quick_reads_the_servers_resident_memory(tmp_path):
    figures = run_quick("memory", tmp_path)
    assert figures["quick"] is True
    assert positive(figures["default"]["after"]["peak_mb"])


def test_resource_calibration_quick_compares_estimates_with_measured_runs(tmp_path):
    figures = run_quick("resource_calibration", tmp_path)
    assert figures["quick"] is True and figures["configs"]
    for row in figures["configs"].values():
        assert positive(row["memory_ratio"]) and positive(row["time_ratio"])


def test_kernel_cache_quick_measures_both_sides(tmp_path):
    figures = run_quick("kernel_cache", tmp_path)
    assert figures["quick"] is True and set(figures["sides"]) == {"cleared", "keep"}
    for side in figures["sides"].values():
        assert len(side["rss_mb"]) == 3 and all(positive(mark) for mark in side["rss_mb"])
        assert positive(side["seconds_per_run"]) and math.isfinite(side["growth_mb_per_run"])
    assert positive(figures["time_cleared_over_kept"])


def test_propagation_quick_measures_both_runs_and_the_jacobians(tmp_path):
    figures = run_quick("propagation", tmp_path)
    assert figures["quick"] is True
    runs = figures["default_experiment"]
    assert positive(runs["ratio"]) and all(positive(seconds) for seconds in runs["seconds"].values())
    assert runs["ratio"] == runs["seconds"]["with"] / runs["seconds"]["without"]
    assert runs["spectrum_rows"] > 0  # the run with probe.propagation wrote its spectrum
    assert positive(figures["jacobians"]["median_seconds"]) and positive(figures["jacobians"]["first_seconds"])


def test_rnn_quick_compares_the_lab_with_fit_on_the_same_recurrent_model(tmp_path):
    figures = run_quick("rnn", tmp_path)
    assert figures["quick"] is True
    assert positive(figures["lab_over_fit_time"]) and positive(figures["lab_over_fit_paired"])
    assert set(figures["seconds"]) == {"fit", "lab", "lab_ends"} and all(map(positive, figures["seconds"].values()))
    facts = figures["facts"]
    assert facts["fit"]["steps"] == facts["lab"]["steps"]  # the same work on both sides
    # The lab's call recorded timesteps.csv: one row per (record, t) of its one recurrent layer.
    assert facts["lab"]["timestep_rows"] == facts["lab"]["records"] * figures["config"]["sequence_length"]


def test_keras_callback_quick_times_fit_with_and_without_gradient_flow(tmp_path):
    figures = run_quick("keras_callback", tmp_path)
    assert figures["quick"] is True
    assert all(positive(value) for value in figures["seconds"].values())
    assert positive(figures["callback_over_plain"])
    assert figures["records_per_fit"] == figures["config"]["epochs"] + 1  # step 0 and every epoch (the last is the end)


def test_tour_warming_quick_warms_the_runs_and_times_the_visitors_waits(tmp_path):
    figures = run_quick("tour_warming", tmp_path)
    assert figures["quick"] is True
    runs = figures["alone"]["runs"]
    assert len(runs) == 4 and figures["alone"]["stopped_reason"] is None
    assert all(positive(item["seconds"]) and positive(item["mb"]) for item in runs)
    assert figures["with_visitors"]["runs_warmed"] == 4
