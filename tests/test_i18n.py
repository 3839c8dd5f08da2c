"""The catalogues (lab.text.en, lab.text.ko): the same keys and placeholders in both, every key used by the code and
every key the code uses present, and the charts drawn in Korean carry Korean texts only (every builder with the
Korean labels; the Sweeps, Gallery and Experiment pages through AppTest)."""
import ast
import itertools
import json
import math
import re
import string
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lab.charts import run_charts, sweep_charts
from lab.contract.result import frame
from lab.readings.fix_it import REMEDIES
from lab.readings.tour import SECTIONS
from lab.runs.store import STATUSES
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text import en, ko
from lab.text.i18n import TEXT, chart_labels, description, fact_sentences, translate
from tests.support.app_test import APP, chart_elements, experiment_page

ROOT = Path(__file__).resolve().parent.parent
# Where text keys are looked up: every module of the lab but the catalogues themselves, the app, its entry point.
SOURCE_FILES = sorted(path for path in [*(ROOT / "lab").rglob("*.py"), *(ROOT / "app").rglob("*.py"), ROOT / "streamlit_app.py"]
                      if (ROOT / "lab" / "text") not in path.parents)
SOURCE = "\n".join(path.read_text() for path in SOURCE_FILES)
CHART_SOURCE = "\n".join(path.read_text() for path in sorted((ROOT / "lab" / "charts").glob("*.py")))
MOMENTS = ("start", "end")  # lab.readings.report.hidden_rows's two moments, the only values the loops below give
# Field names a tooltip may show as they are: mathematical symbols, the same in every language.
SYMBOL_FIELDS = {"x", "x1", "x2", "z"}


def placeholders(text: str) -> set[str]:
    """The {names} a text fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def literal_tuple(path: Path, name: str) -> tuple:
    """A module-level NAME = (...) literal of a source file, read without importing it (app modules import streamlit)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == name for target in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {path}")


def dynamic_keys() -> dict[tuple[str, str], set[str]]:
    """The keys built at run time, by the (prefix, suffix) of the f-string that builds them (f"remedy_{name}"),
    expanded from the data each takes its values from."""
    measures = literal_tuple(ROOT / "app" / "comparison_view.py", "MEASURES")  # the radios of Experiment, Compare and Fix it
    return {
        ("measure_", ""): {f"measure_{measure}" for measure in measures},
        ("moment_", ""): {f"moment_{moment}" for moment in MOMENTS},
        ("fix_moment_", ""): {f"fix_moment_{moment}" for moment in MOMENTS},
        ("run_status_", ""): {f"run_status_{status}" for status in STATUSES},
        ("remedy_", ""): {f"remedy_{name}" for name in REMEDIES},
        **{("tour_", f"_{part}"): {f"tour_{item.key}_{part}" for item in SECTIONS} for part in ("title", "claim", "remedy")},
    }


def builds(prefix: str, suffix: str) -> bool:
    """Whether some code builds a key as f"{prefix}{...}{suffix}"."""
    return re.search(rf"""\bf["']{re.escape(prefix)}\{{[^}}]+\}}{re.escape(suffix)}["']""", SOURCE) is not None


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(TEXT) == {"en", "ko"} and TEXT["en"] is en.TEXT and TEXT["ko"] is ko.TEXT
    pairs = [("TEXT", en.TEXT, ko.TEXT), ("MEASURES", en.MEASURES, ko.MEASURES),
             ("DESCRIPTIONS", en.DESCRIPTIONS, ko.DESCRIPTIONS)]
    assert set(en.CHARTS) == set(ko.CHARTS)
    pairs += [(f"CHARTS[{kind!r}]", en.CHARTS[kind], ko.CHARTS[kind]) for kind in en.CHARTS]
    for name, english, korean in pairs:
        assert set(english) == set(korean), (name, set(english) ^ set(korean))
        for key in english:
            assert english[key].strip() and korean[key].strip(), (name, key)
            assert placeholders(english[key]) == placeholders(korean[key]), (name, key)


def test_every_text_key_is_used_by_the_code():
    expanded = set()
    for (prefix, suffix), keys in dynamic_keys().items():
        assert builds(prefix, suffix), f'no code builds f"{prefix}{{...}}{suffix}" any more: update dynamic_keys()'
        missing = keys - set(en.TEXT)
        assert not missing, f'f"{prefix}{{...}}{suffix}" can look up keys the catalogue lacks: {sorted(missing)}'
        expanded |= keys
    unused = [key for key in en.TEXT if key not in expanded and f'"{key}"' not in SOURCE and f"'{key}'" not in SOURCE]
    assert not unused, f"text keys no code looks up: {unused}"


def test_every_key_the_code_looks_up_is_in_the_catalogue():
    used = set(re.findall(r"""\b(?:t|translate)\(\s*["']([a-z0-9_]+)["']""", SOURCE))
    assert len(used) > 100, "few t(...)/translate(...) calls found: the pattern is stale"
    assert not used - set(en.TEXT), sorted(used - set(en.TEXT))
    kinds = set(re.findall(r"""\b(?:chart_labels|with_labels)\(\s*["']([a-z_]+)["']""", SOURCE))
    assert kinds == set(en.CHARTS), kinds ^ set(en.CHARTS)


def test_every_chart_text_is_read_by_a_chart_builder():
    read = set(re.findall(r"""texts\[["']([a-z0-9_]+)["']\]""", CHART_SOURCE))
    for kind, labels in en.CHARTS.items():
        if kind != "sweep_table":
            assert not set(labels) - read, (kind, sorted(set(labels) - read))
    assert set(en.MEASURES) == set(run_charts.MEASURES) | set(sweep_charts.RATIO_MEASURES)
    # The table's headers are its columns (grid keys beyond the model's keep their dotted names).
    columns = set(sweep_charts.sweep_summary_table(sweep_frame()).columns)
    assert set(en.CHARTS["sweep_table"]) == columns


def test_descriptions_cover_every_hidden_activation_and_softmax():
    assert set(en.DESCRIPTIONS) == set(HIDDEN_ACTIVATIONS) | {"softmax"}
    for text in en.DESCRIPTIONS.values():
        assert text.strip().endswith(".") and text.count(". ") == 0  # one sentence each
    assert description("relu", "ko") == ko.DESCRIPTIONS["relu"] and description("relu", "fr") == en.DESCRIPTIONS["relu"]


def test_translate_and_fact_sentences_fill_placeholders_in_either_language():
    assert translate("queue_wait", "ko", position=2) == ko.TEXT["queue_wait"].format(position=2)
    assert translate("no_such_key", "ko") == "no_such_key"
    facts = [("verdict_zero", {"moment": "moment_start", "measure": "measure_signal"})]
    expected = ko.TEXT["verdict_zero"].format(moment=ko.TEXT["moment_start"], measure=ko.TEXT["measure_signal"])
    assert fact_sentences(facts, "ko") == [expected]
    assert chart_labels("profile", "ko", "grad_norm")["y"] == ko.MEASURES["grad_norm"]


# ---- Charts in Korean -------------------------------------------------------------------------------------------

def words(texts) -> set[str]:
    """The Latin-letter words (three letters or more) of some texts, lower-cased."""
    return {word.lower() for text in texts for word in re.findall(r"[A-Za-z]{3,}", text)}


def catalogue_chart_texts(catalogue) -> list[str]:
    """Every chart text and measure name of a catalogue."""
    return [text for labels in catalogue.CHARTS.values() for text in labels.values()] + list(catalogue.MEASURES.values())


# Words only the English chart texts use ("layer", "seeds", "depth", ...): a Korean chart showing one still has English in it.
# Words both use (RMS, log10, softmax, Wilson, W_prev) are notation, not English.
ENGLISH_ONLY = words(catalogue_chart_texts(en)) - words(catalogue_chart_texts(ko))


def walk(node):
    """Every dict inside a JSON value, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def chart_texts(spec: dict) -> tuple[list[str], list[str], list[str]]:
    """(titles, data strings drawn, tooltip fields shown by their own name) of a Vega-Lite spec.

    Data strings count only in fields some encoding draws (text, legend entries, tooltips), not every column shipped.
    """
    titles, untitled, drawn = [], [], set()
    for node in walk(spec):
        title = node.get("title")
        if isinstance(title, str):
            titles.append(title)
        elif isinstance(title, dict):
            titles += [title[part] for part in ("text", "subtitle") if isinstance(title.get(part), str)]
        for channel, value in (node.get("encoding") or {}).items():
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict) and "field" in entry:
                    drawn.add(entry["field"])
                    if channel == "tooltip" and "title" not in entry:
                        untitled.append(entry["field"])
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    rows += [row for node in walk(spec) if isinstance(node.get("values"), list)
             for row in node["values"] if isinstance(row, dict)]
    data = [value for row in rows for field, value in row.items() if field in drawn and isinstance(value, str)]
    return titles, data, untitled


def assert_korean(specs: list[dict]) -> None:
    """No chart title, legend entry or tooltip of the specs is in English."""
    assert specs
    for spec in specs:
        titles, data, untitled = chart_texts(spec)
        assert titles or data  # a message chart has its text only
        english = {text for text in titles + data if words([text]) & ENGLISH_ONLY}
        assert not english, english
        assert set(untitled) <= SYMBOL_FIELDS, untitled


def sweep_frame() -> pd.DataFrame:
    """A sweep.csv of 2 depths x 2 widths x 2 seeds of ReLU at initialisation: one exact zero, one born-dead seed."""
    rows = []
    for cell, (depth, width) in enumerate(itertools.product((2, 4), (2, 3))):
        for seed in (0, 1):
            signal = -math.inf if (depth, width, seed) == (4, 2, 1) else -0.2 * depth - 0.01 * seed
            dead = (depth, width, seed) == (4, 2, 0)
            rows.append({"cell": cell, "seed": seed, "run_id": f"{cell:06x}{seed:06x}", "model.depth": depth,
                         "model.width": width,
                         "model.activation": "relu", "model.kernel_initializer": "he_normal", "status": "ok",
                         "log10_grad_ratio_start": -0.1 * depth, "log10_grad_ratio_end": -0.1 * depth,
                         "log10_signal_ratio_start": signal, "log10_signal_ratio_end": signal,
                         "dead_layer_start": dead, "dead_layer_end": dead, "accuracy": math.nan, "val_accuracy": math.nan})
    return pd.DataFrame(rows)


SWEEP_YAML = """\
name: tiny_born_dead
base:
  data: {dataset: gaussian, num_features: 4, num_samples: 128}
  model: {activation: relu, kernel_initializer: he_normal}
  training: {epochs: 0}
  probe: {num_samples: 32}
grid:
  model.depth: [2, 4]
  model.width: [2, 3]
seeds: 2
"""


def hand_layers(run: str | None = None) -> pd.DataFrame:
    """Two records of 3 hidden layers and the output: layer 1's gradient exactly 0 at the end, a dead unit share."""
    rows = []
    for step, scale in ((0, 1.0), (10, 0.0)):
        for layer in range(1, 5):
            hidden = layer < 4
            value = scale * 10.0 ** (layer - 4) if layer == 1 else 10.0 ** (layer - 4)
            rows.append({"run_id": "hand", "step": step, "epoch": step // 10, "layer": layer,
                         "layer_kind": "hidden" if hidden else "output",
                         "grad_norm": value, "bias_grad_norm": value, "preact_grad_rms": value, "weight_norm": 1.0,
                         "update_ratio": math.nan if step == 0 else 0.01, "dead_fraction": 0.25 if hidden else math.nan,
                         "saturated_fraction": 0.5 if hidden else math.nan, "activation_mean": 0.0, "activation_std": 1.0})
    layers = frame("layers", rows)
    return layers if run is None else layers.assign(run=run)


def every_chart_in_korean() -> list:
    """Every chart builder of lab.charts, given the Korean labels the app passes, on frames that show every text."""
    layers = hand_layers()
    history = frame("history", [{"run_id": "hand", "epoch": epoch, "loss": 0.7 / epoch, "accuracy": 0.5 + 0.1 * epoch,
                                 "val_loss": 0.8 / epoch, "val_accuracy": 0.5} for epoch in (1, 2)])
    two_runs = pd.concat([hand_layers("a"), hand_layers("b")], ignore_index=True)
    grid = [{"run_id": "hand", "x1": x1, "x2": x2, "predicted_class": int(x1 > 0), "probability": 0.9}
            for x1 in (-1.0, 1.0) for x2 in (-1.0, 1.0)]
    bins = [{"run_id": "hand", "step": 0, "epoch": 0, "layer": 1, "bin_left": left, "bin_right": left + 2.0, "count": 3}
            for left in (-6.0, -2.0, 2.0)]
    sweep, lang = sweep_frame(), "ko"
    theory_depth = pd.DataFrame({"model.depth": [2, 4], "model.activation": "relu", "model.kernel_initializer": "he_normal",
                                 "log10_signal_ratio": [-0.1, -0.2], "log10_grad_ratio": [-0.1, -0.2]})
    theory_dead = pd.DataFrame({"model.width": [2, 2], "model.depth": [2, 4], "bound": [0.4, 0.7]})
    charts = [run_charts.activation_chart(name, labels=chart_labels("activation", lang)) for name in HIDDEN_ACTIVATIONS]
    charts += [run_charts.softmax_chart([1.0, 0.0], labels=chart_labels("softmax", lang)),
               run_charts.preactivation_histogram_chart(frame("histograms", bins), 0, 1, "sigmoid",
                                                        labels=chart_labels("histogram", lang)),
               run_charts.boundary_chart(frame("boundary", grid), points=pd.DataFrame({"x1": [0.5], "x2": [0.5], "label": [1]}),
                                         labels=chart_labels("boundary", lang))]
    for measure in ("grad_norm", "preact_grad_rms", "update_ratio"):
        theory = pd.DataFrame({"layer": [1, 2, 3], "plotted": [1e-3, 1e-2, 1e-1]})
        charts += [run_charts.gradient_profile_chart(layers, measure, labels=chart_labels("profile", lang, measure),
                                                     theory=theory),
                   run_charts.heatmap_chart(layers, measure, labels=chart_labels("heatmap", lang, measure))]
        charts += [run_charts.comparison_profile_chart(two_runs, measure, which=which,
                                                       labels=chart_labels("profile", lang, measure))
                   for which in ("start", "end")]
    charts += [run_charts.dead_fraction_chart(layers, labels=chart_labels("dead", lang)),
               run_charts.saturation_chart(layers, labels=chart_labels("saturation", lang)),
               run_charts.history_chart(history, labels=chart_labels("history", lang)),
               run_charts.comparison_history_chart(pd.concat([history.assign(run="a"), history.assign(run="b")]),
                                                   labels=chart_labels("history", lang))]
    charts += [sweep_charts.depth_view_chart(sweep, measure, theory_depth, labels=chart_labels("depth", lang, measure))
               for measure in sweep_charts.RATIO_MEASURES]
    charts.append(sweep_charts.born_dead_chart(sweep, theory_dead, labels=chart_labels("born_dead", lang)))
    empty_layers = frame("layers")
    charts += [run_charts.gradient_profile_chart(empty_layers, labels=chart_labels("profile", lang, "grad_norm")),
               run_charts.heatmap_chart(empty_layers, labels=chart_labels("heatmap", lang, "grad_norm")),
               run_charts.dead_fraction_chart(empty_layers, labels=chart_labels("dead", lang)),
               run_charts.history_chart(frame("history"), labels=chart_labels("history", lang)),
               sweep_charts.depth_view_chart(sweep.assign(status="error"),
                                             labels=chart_labels("depth", lang, "log10_signal_ratio_start")),
               sweep_charts.born_dead_chart(sweep.assign(status="error"), labels=chart_labels("born_dead", lang))]
    return charts


def page_specs(app: AppTest) -> list[dict]:
    """Every chart of the page as its spec, with the datasets Streamlit moved into Arrow tables put back by name."""
    import pyarrow

    specs = []
    for element in chart_elements(app):
        spec = json.loads(element.proto.spec)
        for dataset in element.proto.datasets:
            rows = pyarrow.ipc.open_stream(dataset.data.data).read_all().to_pylist()
            spec.setdefault("datasets", {})[dataset.name] = rows
        specs.append(spec)
    return specs


def test_every_chart_builder_speaks_korean_with_the_korean_labels():
    specs = [chart.to_dict() for chart in every_chart_in_korean()]
    assert_korean(specs)
    # The same check finds the English defaults, so it is not vacuous.
    english = run_charts.gradient_profile_chart(hand_layers(), "grad_norm").to_dict()
    with pytest.raises(AssertionError):
        assert_korean([english])


@pytest.fixture
def sweep_folder(tmp_path, monkeypatch):
    """A tiny sweep folder under ./sweeps, where the Sweeps page looks when the app runs locally (cwd: tmp_path)."""
    folder = tmp_path / "sweeps" / "tiny"
    folder.mkdir(parents=True)
    (folder / "sweep.yaml").write_text(SWEEP_YAML)
    sweep_frame().to_csv(folder / "sweep.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return folder


def test_the_sweeps_page_in_korean_draws_korean_charts_and_headers(sweep_folder):
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["lang"] = "ko"
    app.switch_page("app/pages/sweeps.py")
    app = app.run()
    assert not app.exception, app.exception
    app.selectbox(key="sweep_folder").set_value("sweeps/tiny")
    (open_button,) = [button for button in app.button if button.label == ko.TEXT["compare_open"]]
    app = open_button.click().run()
    assert not app.exception, app.exception
    specs = page_specs(app)
    titles = [spec["title"]["text"] for spec in specs]
    depth = [ko.CHARTS["depth"]["title"].replace("{measure}", ko.MEASURES[measure])
             for measure in ("log10_signal_ratio_start", "log10_grad_ratio_start")]
    assert titles == [*depth, ko.CHARTS["born_dead"]["title"]]
    assert {spec["title"]["subtitle"] for spec in specs} == {ko.CHARTS["depth"]["subtitle"], ko.CHARTS["born_dead"]["subtitle"]}
    axis_titles = {node["title"] for spec in specs for node in walk(spec) if isinstance(node.get("title"), str)}
    assert {ko.CHARTS["depth"]["x"], ko.CHARTS["depth"]["y"], ko.CHARTS["born_dead"]["y"], ko.CHARTS["depth"]["series"],
            ko.CHARTS["born_dead"]["width"]} <= axis_titles
    rendered = json.dumps(specs, ensure_ascii=False)
    assert ko.CHARTS["depth"]["zero"] in rendered  # the exact zero's floor, labelled
    assert_korean(specs)
    shown = {text for spec in specs for text in chart_texts(spec)[0]}
    english = {chart_labels(kind, "en", measure)[key] for kind in ("depth", "born_dead") for key in en.CHARTS[kind]
               for measure in sweep_charts.RATIO_MEASURES} - set(catalogue_chart_texts(ko))
    assert not shown & english, shown & english
    (table,) = app.dataframe
    assert set(table.value.columns) == set(ko.CHARTS["sweep_table"].values())
    assert app.subheader[0].value == "tiny"


def test_the_sweeps_page_in_korean_says_a_single_depth_has_no_view(sweep_folder):
    sweep = sweep_frame()
    sweep[sweep["model.depth"] == 2].to_csv(sweep_folder / "sweep.csv", index=False)
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["lang"] = "ko"
    app.switch_page("app/pages/sweeps.py")
    app = app.run()
    app.selectbox(key="sweep_folder").set_value("sweeps/tiny")
    (open_button,) = [button for button in app.button if button.label == ko.TEXT["compare_open"]]
    app = open_button.click().run()
    assert not app.exception, app.exception
    assert not page_specs(app)
    assert [box.value for box in app.info] == [ko.TEXT["sweep_one_depth"]]


def test_the_gallery_in_korean_draws_korean_charts():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["lang"] = "ko"
    app = app.run()
    assert not app.exception
    assert_korean(page_specs(app))
    assert ko.DESCRIPTIONS["sigmoid"] in [caption.value for caption in app.caption]


def test_the_experiment_page_in_korean_draws_korean_charts():
    from app.results_view import VIEW_KEY

    specs = []
    for view in ("gradients", "training", "inside"):  # one view at a time, each chosen before the page's first run
        app = experiment_page({VIEW_KEY: view}, lang="ko", **{"model.depth": "3", "model.width": "8", "training.epochs": "1",
                                                             "data.num_samples": "256", "probe.num_samples": "64"})
        assert not app.exception, app.exception
        specs += page_specs(app)
    assert len(specs) >= 6  # profile, heatmap, dead, saturation, history, boundary, histogram
    assert_korean(specs)
