"""Resource estimates and caps: a config over the caps is refused before anything runs, naming the estimate."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab import ConfigError, load_config
from lab.contract.resources import Limits, check_resources, estimate, headless_limits, hosted_limits

ROOT = Path(__file__).resolve().parent.parent


def test_a_config_over_the_memory_cap_is_refused_with_its_estimate_and_the_fields():
    config = load_config({"model": {"depth": 40, "width": 1024}, "data": {"num_samples": 50_000}})
    cost = estimate(config)
    with pytest.raises(ConfigError) as raised:
        check_resources(config, Limits(memory_mb=cost.memory_mb / 2, seconds=None))
    message = str(raised.value)
    assert "\n" not in message
    assert f"{cost.memory_mb:,.0f} MB" in message and "LAB_MAX_RUN_MEMORY_MB" in message
    assert "model.width=1024" in message and "model.depth=40" in message


def test_a_config_over_the_time_cap_is_refused_and_one_under_both_passes():
    config = load_config({"training": {"epochs": 1000}})
    cost = estimate(config)
    with pytest.raises(ConfigError, match="estimated time .* exceeds the cap of 10 s"):
        check_resources(config, Limits(memory_mb=None, seconds=10))
    assert check_resources(config, Limits(memory_mb=cost.memory_mb + 1, seconds=cost.seconds + 1)) == cost


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 99), width=st.integers(1, 1023), epochs=st.integers(0, 999), samples=st.integers(400, 99_999))
def test_estimates_grow_with_every_size(depth, width, epochs, samples):
    base = {"model": {"depth": depth, "width": width}, "training": {"epochs": epochs}, "data": {"num_samples": samples}}
    cost = estimate(load_config(base))
    for section, key, value in (("model", "depth", depth + 1), ("model", "width", width + 1),
                                ("training", "epochs", epochs + 1), ("data", "num_samples", samples + 1)):
        bigger = estimate(load_config({**base, section: {**base[section], key: value}}))
        assert bigger.memory_mb >= cost.memory_mb and bigger.seconds >= cost.seconds, key


def test_caps_come_from_the_environment_and_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("LAB_MAX_RUN_MEMORY_MB", "500")
    monkeypatch.setenv("LAB_MAX_RUN_SECONDS", "0")
    assert hosted_limits() == Limits(memory_mb=500.0, seconds=None)
    monkeypatch.setenv("LAB_MAX_RUN_SECONDS", "soon")
    with pytest.raises(ConfigError, match="LAB_MAX_RUN_SECONDS: must be a number"):
        headless_limits()


def test_every_preset_fits_the_hosted_caps():
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        check_resources(load_config(path), hosted_limits())


def test_the_cli_refuses_before_anything_is_written(tmp_path):
    config = tmp_path / "big.yaml"
    config.write_text("model: {depth: 60, width: 512}\ntraining: {epochs: 500}\n")
    out = tmp_path / "runs"
    completed = subprocess.run([sys.executable, "-m", "lab", "run", str(config), "--out", str(out)], cwd=ROOT,
                               capture_output=True, text=True, check=False, env={**_environment(), "LAB_MAX_RUN_SECONDS": "60"})
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "estimated time" in completed.stderr and "Traceback" not in completed.stderr
    assert not out.exists()


def test_a_sweep_over_the_caps_names_its_cell_and_writes_nothing(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: big\nbase: {training: {epochs: 5}}\ngrid: {model.width: [8, 1024]}\nseeds: 2\n")
    out = tmp_path / "sweep"
    completed = subprocess.run([sys.executable, "-m", "lab", "sweep", str(sweep), "--out", str(out)], cwd=ROOT,
                               capture_output=True, text=True, check=False,
                               env={**_environment(), "LAB_MAX_RUN_MEMORY_MB": "100"})
    assert completed.returncode == 2
    assert "'model.width': 1024" in completed.stderr and "estimated memory" in completed.stderr
    assert not out.exists() or not any(out.iterdir())


def _environment() -> dict:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("LAB_MAX_RUN_")}


def test_the_app_refuses_a_run_over_the_hosted_caps_with_its_estimate(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.support.app_test import APP, TIMEOUT

    monkeypatch.setenv("LAB_MAX_RUN_SECONDS", "1")  # a deployment's own cap; every run of depth 40 is over it
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["model.depth"] = "40"
    app.switch_page("app/pages/experiment.py")
    app.run()
    assert not app.exception
    errors = " ".join(error.value for error in app.error)
    assert "estimated time" in errors and "LAB_MAX_RUN_SECONDS" in errors and "model.depth=40" in errors
    assert not app.get("arrow_vega_lite_chart") and not app.get("vega_lite_chart")  # nothing trained
