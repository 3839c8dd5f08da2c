"""The gallery's shipped opening specs (app.gallery_defaults): exactly what lab.charts builds for the opening
settings, drawn at those settings only, and a first page that needs neither Altair nor pandas to import."""
import gzip
import json
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from app import gallery_defaults
from lab.charts.gallery_charts import activation_chart
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text.i18n import LANGUAGES, chart_labels
from tests.support.app_test import APP, chart_elements, chart_rows

REGENERATE = "the shipped gallery specs are stale: regenerate them with `python -m app.gallery_defaults`"


def dataset_rows(spec: dict) -> list[dict]:
    """Every data row a spec carries, in order."""
    return [row for name in sorted(spec.get("datasets", {})) for row in spec["datasets"][name]]


@pytest.mark.parametrize("language_code", sorted(LANGUAGES))
def test_the_shipped_specs_are_what_the_chart_module_builds_today(language_code):
    shipped = json.loads(gzip.decompress(gallery_defaults.spec_path(language_code).read_bytes()))
    built = json.loads(json.dumps(gallery_defaults.build_specs(language_code)))  # tuples and floats as JSON has them
    assert set(shipped) == {*HIDDEN_ACTIVATIONS, gallery_defaults.SOFTMAX}, REGENERATE
    for key in built:
        assert shipped[key] == built[key], f"{key} ({language_code}): {REGENERATE}"


def test_the_opening_page_draws_the_shipped_specs_and_another_setting_builds_its_own():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    shipped = gallery_defaults.shipped_specs("en")
    drawn = chart_rows(app)
    expected = [row for key in (*HIDDEN_ACTIVATIONS, gallery_defaults.SOFTMAX) for row in dataset_rows(shipped[key])]
    assert len(chart_elements(app)) == len(HIDDEN_ACTIVATIONS) + 1
    assert sorted(map(json.dumps, drawn)) == sorted(map(json.dumps, expected))

    app.slider(key="gallery_alpha").set_value(0.2).run()  # only leaky ReLU's curve depends on alpha
    assert not app.exception
    built = activation_chart("leaky_relu", alpha=0.2, x_min=-5.0, x_max=5.0, labels=chart_labels("activation", "en"))
    leaky = {json.dumps(row) for row in dataset_rows(built.to_dict()) if "curve" in row}
    assert leaky and leaky <= set(map(json.dumps, chart_rows(app)))
    assert not leaky <= set(map(json.dumps, expected))  # not the opening curve


def fresh_python(code: str) -> str:
    """What code prints in a new interpreter (nothing imported before it)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_first_page_imports_neither_altair_nor_pandas():
    # What app/pages/gallery.py and streamlit_app.py import before the page has been sent (lab's public names load
    # on first use), with the shipped specs read: the heavy modules must still be absent.
    code = ("import sys, streamlit, app.language, app.gallery_defaults, lab.science.activations, lab.text.i18n; "
            "assert app.gallery_defaults.shipped_specs('ko'); "
            "print(sorted(m for m in ('altair', 'pandas', 'pydantic', 'yaml', 'tensorflow', 'app.shared') "
            "if m in sys.modules))")
    assert fresh_python(code) == "[]"


def test_lab_public_names_still_load_on_first_use():
    code = ("import lab, sys; assert 'lab.training.run' not in sys.modules; "
            "from lab import run, load_config, RunResult, report, store, mean_field; "
            "assert lab.run is run and lab.report.__name__ == 'lab.readings.report' and lab.store.__name__ == 'lab.runs.store'; "
            "from lab.contract.result import LAB_VERSION; print(lab.__version__ == LAB_VERSION)")
    assert fresh_python(code) == "True"
