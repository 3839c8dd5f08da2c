"""docs/config.md is what the schema generates: every field with its default and range, and every rule across fields."""
import inspect
import re
import subprocess
import sys

import pytest

from lab import ConfigError, ExperimentConfig, load_config
from lab.cli import main
from lab.contract import config_reference
from lab.contract.config_io import flatten
from lab.contract.config_reference import CROSS_FIELD_RULES, DOCS_PATH, render


def table_rows() -> dict[str, list[str]]:
    """{dotted key: its row's cells} of every table row on the page."""
    rows = {}
    for line in DOCS_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_docs_config_md_is_the_generated_reference():
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), "docs/config.md is stale: run python -m lab config-reference"


def test_every_field_of_the_schema_has_a_row_with_its_default_and_a_description():
    every_field = flatten(ExperimentConfig())  # every key, the remedies' off values included
    rows = table_rows()
    assert list(rows) == list(every_field)
    for key, default in every_field.items():
        _, type_cell, default_cell, allowed_cell, description = rows[key]
        assert type_cell and allowed_cell and description, key
        shown = "null" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        assert default_cell.startswith((f"`{shown}`", f"{shown},")), (key, default_cell)


def test_the_page_states_the_probe_default_rule():
    text = DOCS_PATH.read_text(encoding="utf-8")
    assert "256, or the training set if smaller" in table_rows()["probe.num_samples"][2]
    assert "`probe.num_samples`: Left out, `probe.num_samples` is 256, or the training set if smaller" in text
    assert load_config({"data": {"num_samples": 256}}).probe.num_samples == 205  # what the page says, in the schema


def test_ranges_on_the_page_are_the_schemas():
    rows = table_rows()
    assert rows["training.momentum"][3] == "0 ≤ x < 1" and rows["training.learning_rate"][3] == "0 < x ≤ 10"
    assert rows["training.clip_norm"][3] == "`null`, or 0 < x ≤ 1e+06"
    assert "-100 ≤ x ≤ 100" in rows["model.bias_initializer"][3] and "`zeros`" in rows["model.bias_initializer"][3]
    assert rows["data.num_samples"][3] == "16 ≤ x ≤ 100000"


@pytest.mark.parametrize("rule", CROSS_FIELD_RULES, ids=lambda rule: rule.field)
def test_each_listed_rule_is_one_the_schema_enforces(rule):
    with pytest.raises(ConfigError) as refused:
        load_config({}, overrides=rule.breaking)
    assert str(refused.value).startswith(f"{rule.field}:"), str(refused.value)
    assert f"- `{rule.field}`: " in DOCS_PATH.read_text(encoding="utf-8")


def test_every_rule_of_the_schema_is_listed():
    source = "".join(inspect.getsource(method) for method in (
        ExperimentConfig._cross_field_rules, ExperimentConfig._digits_rules, ExperimentConfig._remedy_rules,
        ExperimentConfig._probe_rules, ExperimentConfig._sequence_rules, ExperimentConfig._recurrent_rules))
    named = set(re.findall(r'raise ValueError\(\s*f?"((?:data|model|training|probe)\.\w+):', source))
    assert named and named == {rule.field for rule in CROSS_FIELD_RULES}


def test_the_cli_writes_the_page_and_check_says_when_it_is_stale(tmp_path, monkeypatch, capsys):
    page = tmp_path / "config.md"
    monkeypatch.setattr(config_reference, "DOCS_PATH", page)
    assert main(["config-reference", "--check"]) == 1  # missing
    assert "stale" in capsys.readouterr().err
    assert main(["config-reference"]) == 0 and page.read_text(encoding="utf-8") == render()
    assert main(["config-reference", "--check"]) == 0
    page.write_text(render().replace("256", "512"), encoding="utf-8")
    assert main(["config-reference", "--check"]) == 1


def test_the_repository_page_passes_the_cli_check():
    done = subprocess.run([sys.executable, "-m", "lab", "config-reference", "--check"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
