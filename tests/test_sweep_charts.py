"""Tests for lab.charts.sweep_charts: the sweep charts hold numpy's statistics of the ok runs, zeros at a labelled floor."""

import math

import numpy as np
import pandas as pd
import pytest

from lab.charts import sweep_charts
from lab.charts.gallery_charts import OKABE_ITO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INITIALIZER = "glorot_uniform"


def run_row(cell, seed, depth, activation, value, status="ok", width=16, dead=False, **extra):
    """One sweep.csv row; every ratio is `value` unless overridden in extra."""
    return {"cell": cell, "seed": seed, "run_id": f"{cell}-{seed}", "model.depth": depth, "model.width": width,
            "model.activation": activation, "model.kernel_initializer": INITIALIZER, "status": status,
            "log10_grad_ratio_start": value, "log10_grad_ratio_end": value, "log10_signal_ratio_start": value,
            "log10_signal_ratio_end": value, "dead_layer_start": dead, "dead_layer_end": False,
            "accuracy": 0.9, "val_accuracy": 0.8 + seed / 100, **extra}


def hand_sweep(values: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    """Ok runs with the given per-seed values, plus an error and a diverged run per cell that must not count."""
    rows = []
    for cell, ((activation, depth), seeds) in enumerate(values.items()):
        rows += [run_row(cell, seed, depth, activation, value) for seed, value in enumerate(seeds)]
        rows.append(run_row(cell, 90, depth, activation, 100.0, status="diverged"))
        rows.append(run_row(cell, 91, depth, activation, -100.0, status="error"))
    return pd.DataFrame(rows)


def walk(spec: dict):
    """Every view of a spec (the top level, layers, concatenations), depth first."""
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from walk(child)


def mark_of(view: dict) -> dict:
    """A view's mark as a dict."""
    mark = view.get("mark", {})
    return mark if isinstance(mark, dict) else {"type": mark}


def rows_of(spec: dict, view: dict) -> list[dict]:
    """The data records of one view (or of the top level, when every layer shares it): named dataset or inline values."""
    data = view.get("data", spec.get("data"))
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


def views(spec: dict, mark_type: str, **properties) -> list[dict]:
    """The views with a mark of that type whose mark properties include the given ones."""
    return [view for view in walk(spec) if mark_of(view).get("type") == mark_type
            and all(mark_of(view).get(key) == value for key, value in properties.items())]


def summary_rows(spec: dict) -> dict[tuple[int, str], dict]:
    """The depth view's per (depth, series) records, read from its median points."""
    (point,) = [view for view in views(spec, "point") if view["encoding"]["y"]["field"] == "median"]
    return {(row["depth"], row["series"]): row for row in rows_of(spec, point)}


def theory_views(spec: dict) -> list[dict]:
    """The dashed lines: the theory."""
    return [view for view in views(spec, "line") if "strokeDash" in mark_of(view)]


def series(activation: str) -> str:
    return f"{activation} · {INITIALIZER}"


@pytest.fixture(scope="module")
def random_values():
    """Two series x three depths x seven seeds of finite values."""
    rng = np.random.default_rng(7)
    return {(activation, depth): list(rng.normal(-0.4 * depth, 1.0, size=7))
            for activation in ("sigmoid", "relu") for depth in (2, 4, 8)}


def test_medians_and_quantiles_equal_numpy_over_the_ok_runs(random_values):
    spec = sweep_charts.depth_view_chart(hand_sweep(random_values)).to_dict()
    rows = summary_rows(spec)
    assert len(rows) == len(random_values)
    for (activation, depth), values in random_values.items():
        row = rows[(depth, series(activation))]
        assert row["seeds"] == 7 and row["zeros"] == 0  # the diverged (100) and error (-100) runs are left out
        assert row["median"] == np.median(values)
        assert row["q05"] == np.quantile(values, 0.05)
        assert row["q95"] == np.quantile(values, 0.95)
        assert row["median_text"] == f"{np.median(values):.3f}"
    assert not views(spec, "point", shape="triangle-down") and not views(spec, "rule") and not views(spec, "text")


def test_exact_zeros_sit_at_a_labelled_floor_with_their_count():
    values = {("sigmoid", 2): [-1.5, -2.25, -1.0, -2.0], ("sigmoid", 16): [-np.inf, -np.inf, -np.inf, -9.5, -8.0],
              ("sigmoid", 8): [-np.inf, -4.0, -4.5, -5.0, -6.0]}
    spec = sweep_charts.depth_view_chart(hand_sweep(values)).to_dict()
    rows = summary_rows(spec)
    floor = math.floor(-9.5) - 1.0  # the smallest finite value, minus one, rounded down
    deep, middle = rows[(16, series("sigmoid"))], rows[(8, series("sigmoid"))]
    assert (deep["zeros"], deep["seeds"], deep["median"], deep["median_text"]) == (3, 5, floor, "= 0 (−∞)")
    assert deep["q95"] == np.quantile([-np.inf, -np.inf, -np.inf, -9.5, -8.0], 0.95)  # finite: numpy's own value
    # One zero in five: the median is numpy's; the 5 % quantile interpolates towards -inf, so it is -inf.
    assert (middle["zeros"], middle["median"], middle["q05"], middle["q05_text"]) == (1, -5.0, floor, "= 0 (−∞)")
    (triangles,) = views(spec, "point", shape="triangle-down")
    assert triangles["encoding"]["y"]["field"] == "floor" and {"zeros", "seeds"} <= {
        tip["field"] for tip in triangles["encoding"]["tooltip"]}
    assert "zeros" in str(triangles["transform"])
    (text,) = views(spec, "text")
    assert rows_of(spec, text) == [{"depth": 2, "floor": floor, "text": "= 0 (−∞)"}]
    (rule,) = views(spec, "rule")
    assert rows_of(spec, rule)[0]["floor"] == floor


def test_nan_seeds_are_dropped_and_all_nan_cells_vanish():
    values = {("relu", 2): [0.5, np.nan, 0.25, 1.0, 0.75], ("relu", 4): [np.nan, np.nan], ("relu", 6): [0.1, 0.2]}
    rows = summary_rows(sweep_charts.depth_view_chart(hand_sweep(values)).to_dict())
    assert set(rows) == {(2, series("relu")), (6, series("relu"))}
    assert rows[(2, series("relu"))]["seeds"] == 4
    assert rows[(2, series("relu"))]["median"] == np.median([0.5, 0.25, 1.0, 0.75])


def test_theory_is_dashed_in_the_series_colour_and_matches_the_measure(random_values):
    theory = pd.DataFrame([{"model.depth": depth, "model.activation": activation, "model.kernel_initializer": INITIALIZER,
                            "log10_signal_ratio": -1.0 * depth, "log10_grad_ratio": -0.5 * depth}
                           for activation in ("sigmoid", "relu", "tanh") for depth in range(2, 9)])
    sweep = hand_sweep(random_values)
    for measure, factor in (("log10_signal_ratio_start", -1.0), ("log10_grad_ratio_end", -0.5)):
        spec = sweep_charts.depth_view_chart(sweep, measure, theory=theory).to_dict()
        (dashed,) = theory_views(spec)
        rows = rows_of(spec, dashed)
        assert {row["series"] for row in rows} == {series("sigmoid"), series("relu")}  # tanh was not measured
        assert len(rows) == 14 and all(row["value"] == factor * row["depth"] for row in rows)
        assert dashed["encoding"]["color"]["scale"] == summary_color(spec)["scale"]
        assert not views(spec, "rule")  # no exact zeros: no floor
    assert theory_views(sweep_charts.depth_view_chart(sweep).to_dict()) == []


def summary_color(spec: dict) -> dict:
    """The colour encoding of the depth view's median line."""
    (line,) = [view for view in views(spec, "line") if "strokeDash" not in mark_of(view)]
    return line["encoding"]["color"]


def test_floor_lies_below_the_theory_too():
    values = {("sigmoid", 2): [-1.0, -2.0], ("sigmoid", 30): [-np.inf, -6.0]}
    theory = pd.DataFrame({"model.depth": [2, 30], "model.activation": "sigmoid", "model.kernel_initializer": INITIALIZER,
                           "log10_signal_ratio": [-1.0, -17.2], "log10_grad_ratio": [0.0, 0.0]})
    rows = summary_rows(sweep_charts.depth_view_chart(hand_sweep(values), theory=theory).to_dict())
    assert rows[(30, series("sigmoid"))]["q05"] == -19.0


def test_depth_view_colours_series_with_okabe_ito(random_values):
    color = summary_color(sweep_charts.depth_view_chart(hand_sweep(random_values)).to_dict())
    assert color["type"] == "nominal" and color["field"] == "series"
    assert color["scale"] == {"domain": [series("relu"), series("sigmoid")], "range": list(OKABE_ITO)}


def test_depth_view_labels_and_errors(random_values):
    spec = sweep_charts.depth_view_chart(hand_sweep(random_values), labels={"title": "깊이별 {measure}"}).to_dict()
    assert spec["title"]["text"].startswith("깊이별 back-propagated signal")
    with pytest.raises(ValueError, match="measure must be one of"):
        sweep_charts.depth_view_chart(hand_sweep(random_values), "grad_norm")
    with pytest.raises(ValueError, match="lacks the columns"):
        sweep_charts.depth_view_chart(hand_sweep(random_values).drop(columns="model.kernel_initializer"))
    only_errors = hand_sweep(random_values).assign(status="error")
    assert views(sweep_charts.depth_view_chart(only_errors).to_dict(), "text")  # a message, not a crash


def test_quantile_extends_numpy_to_negative_infinity():
    finite = np.random.default_rng(1).normal(size=11)
    for q in (0.05, 0.5, 0.95):
        assert sweep_charts.quantile(finite, q) == np.quantile(finite, q)
    assert sweep_charts.quantile([-np.inf, 1.0, 2.0], 0.0) == -np.inf
    assert sweep_charts.quantile([-np.inf, -np.inf, 1.0], 0.5) == -np.inf
    assert sweep_charts.quantile([-np.inf, 1.0, 2.0, np.nan], 0.5) == 1.0
    assert math.isnan(sweep_charts.quantile([np.nan], 0.5))


def wilson_direct(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927), written out: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre, spread = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_wilson_interval_matches_the_formula_and_published_values():
    for k, n in ((3, 10), (0, 7), (5, 5)):
        low, high = sweep_charts.wilson_interval(k, n)
        assert (float(low), float(high)) == pytest.approx(wilson_direct(k, n), abs=1e-12)
    # Newcombe (1998), Statistics in Medicine 17:857, table II, method 3 (Wilson score, no correction).
    for (k, n), expected in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611),
                             (1, 29): (0.0061, 0.1718)}.items():
        assert tuple(map(float, sweep_charts.wilson_interval(k, n))) == pytest.approx(expected, abs=6e-5)


@pytest.fixture(scope="module")
def dead_sweep():
    """Widths 8 and 64 x depths 2, 6, 10 x 9 seeds of random born-dead flags, plus runs that must not count."""
    rng = np.random.default_rng(3)
    rows = []
    for cell, (width, depth) in enumerate((w, d) for w in (8, 64) for d in (2, 6, 10)):
        rows += [run_row(cell, seed, depth, "relu", -1.0, width=width, dead=bool(rng.random() < depth / 12))
                 for seed in range(9)]
        rows += [run_row(cell, 90, depth, "relu", -1.0, status="diverged", width=width, dead=True),
                 run_row(cell, 91, depth, "relu", math.nan, status="error", width=width, dead=None)]
    return pd.DataFrame(rows)


def test_born_dead_shares_are_the_mean_of_the_flag_with_wilson_bars(dead_sweep):
    spec = sweep_charts.born_dead_chart(dead_sweep).to_dict()
    (point,) = views(spec, "point")
    rows = {(row["width"], row["depth"]): row for row in rows_of(spec, point)}
    ok = dead_sweep[dead_sweep["status"] == "ok"]
    expected = ok.groupby(["model.width", "model.depth"])["dead_layer_start"].mean()
    assert len(rows) == len(expected) == 6
    for (width, depth), share in expected.items():
        row = rows[(width, depth)]
        assert row["share"] == share and row["seeds"] == 9 and row["dead"] == round(share * 9)
        assert (row["low"], row["high"]) == pytest.approx(wilson_direct(row["dead"], 9), abs=1e-12)
    (bars,) = views(spec, "errorbar")
    assert (bars["encoding"]["y"]["field"], bars["encoding"]["y2"]["field"]) == ("low", "high")


def test_born_dead_colour_is_width_on_ordinal_viridis(dead_sweep):
    spec = sweep_charts.born_dead_chart(dead_sweep).to_dict()
    colors = [view["encoding"]["color"] for view in walk(spec) if "color" in view.get("encoding", {})]
    assert colors and all(color["field"] == "width" and color["type"] == "ordinal" for color in colors)
    assert colors[0]["scale"]["domain"] == [8, 64] and colors[0]["scale"]["scheme"]["name"] == "viridis"


def test_born_dead_theory_bound_dashed_only_when_given(dead_sweep):
    theory = pd.DataFrame([{"model.width": width, "model.depth": depth, "bound": min(1.0, depth * 2.0 ** -width * 40)}
                           for width in (8, 64, 128) for depth in range(2, 11)])
    spec = sweep_charts.born_dead_chart(dead_sweep, theory=theory).to_dict()
    (dashed,) = theory_views(spec)
    rows = rows_of(spec, dashed)
    assert len(rows) == 18 and {row["width"] for row in rows} == {8, 64}  # width 128 was not measured
    assert all(row["bound"] == min(1.0, row["depth"] * 2.0 ** -row["width"] * 40) for row in rows)
    assert theory_views(sweep_charts.born_dead_chart(dead_sweep).to_dict()) == []
    # The unprefixed columns of lab.science.theory.born_dead_curve are accepted too.
    unprefixed = theory.rename(columns={"model.width": "width", "model.depth": "depth"})
    spec = sweep_charts.born_dead_chart(dead_sweep, theory=unprefixed).to_dict()
    (dashed,) = theory_views(spec)
    assert len(rows_of(spec, dashed)) == 18


def test_summary_table_per_cell():
    values = {("sigmoid", 2): [-1.0, -2.0, -3.0, np.nan], ("sigmoid", 12): [-np.inf, -np.inf, -7.0]}
    sweep = hand_sweep(values).assign(**{"training.learning_rate": 0.1})
    sweep.loc[(sweep["cell"] == 1) & (sweep["seed"] == 0), "dead_layer_end"] = True
    table = sweep_charts.sweep_summary_table(sweep)
    assert list(table.columns[:6]) == ["cell", "model.depth", "model.width", "model.activation",
                                       "model.kernel_initializer", "training.learning_rate"]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["seeds"], first["ok"], second["seeds"], second["ok"]) == (6, 4, 5, 3)
    assert first["log10_signal_ratio_start_median"] == np.median([-1.0, -2.0, -3.0])
    assert first["log10_grad_ratio_start_q95"] == np.quantile([-1.0, -2.0, -3.0], 0.95)
    assert second["log10_signal_ratio_start_median"] == -np.inf  # an exact zero stays one in the table
    with np.errstate(invalid="ignore"):  # numpy reaches -inf here through an intermediate NaN
        assert second["log10_signal_ratio_start_q95"] == np.quantile([-np.inf, -np.inf, -7.0], 0.95) == -np.inf
    assert (first["dead_share_end"], second["dead_share_end"]) == (0.0, pytest.approx(1 / 3))
    assert second["val_accuracy_median"] == np.median([0.80, 0.81, 0.82])


def test_save_sweep_charts_writes_html_and_pngs(tmp_path, random_values, dead_sweep):
    paths = sweep_charts.save_sweep_charts(hand_sweep(random_values), tmp_path / "charts")
    assert sorted(path.name for path in paths) == ["born_dead.png", "depth_grad.png", "depth_signal.png",
                                                   "sweep_charts.html"]
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000
        assert data.startswith(PNG_MAGIC) if path.suffix == ".png" else b"vega" in data
    one_depth = dead_sweep[dead_sweep["model.depth"] == 2]
    assert [path.name for path in sweep_charts.save_sweep_charts(one_depth, tmp_path / "one")] == ["sweep_charts.html"]
