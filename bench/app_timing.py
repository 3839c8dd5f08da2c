"""Time to an answer in the app, in a real browser: first paint, Train to charts (fresh and warm), cached rerun.

    python -m bench.app_timing [--repeats 3] [--cores 1] [--quick] [--idle-timeout 120]

Each repeat starts a fresh `streamlit run` server; --cores 1 pins it to core 0 as `taskset -c 0` would (the server
inherits the affinity at its start; the browser, a visitor's own machine, keeps every core): the hosted app's share
of a machine. Before each repeat the script waits for an idle machine (other processes under IDLE_CORES, as
bench.sweep_workers does) and says when it could not get one. Prints a table of medians and writes
bench/results/app_timing.json (app_timing_1core.json with --cores 1).

The cached rerun (Train pressed again on the same config, the run from the server's cache) is timed in the browser's
own clock, from the click to the later of the script's script_finished message and the last drawing of a Vega chart (a canvas
render, or a change to a chart's elements); it is read once the server has said the script finished (its
script_finished message), every visible `.vega-embed` holds a drawn canvas or svg, and nothing has changed for
QUIET_MS: the wait is not part of the figure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import results_dir
from bench.sweep_workers import IDLE_CORES, wait_until_idle
from tests.support import streamlit_server
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop_streamlit

# The servers measured here are cold ones: the tour warmer (app/tour_warmer.py) would train the tour in the background
# and compete with every figure. Set LAB_WARM_TOUR=1 in the environment to measure a warming server instead.
os.environ.setdefault("LAB_WARM_TOUR", "0")

CHARTS_DRAWN = ("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
                "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= {count}")
SCRIPT_IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
QUIET_MS = 500  # nothing received or drawn for this long, after script_finished: the page is final

# Installed in every page before Streamlit's own scripts: the time (performance.now()) of the last pointer press,
# of the last message from the server, and of the last drawing in a Vega chart. Vega's canvas renderer ends each
# render with the context's restore(); a view re-embedded or an svg chart changes the chart's elements.
PAGE_CLOCK = """
(() => {
  const lab = window.__labTiming = {pressed: 0, messages: [], lastChartDrawn: 0};
  document.addEventListener('pointerdown', () => { lab.pressed = performance.now(); }, true);
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      lab.messages = [];  // one socket per page; counted as ScriptRuns counts its frames
      this.addEventListener('message', () => { lab.messages.push(performance.now()); });
    }
  };
  const restore = CanvasRenderingContext2D.prototype.restore;
  CanvasRenderingContext2D.prototype.restore = function (...args) {
    if (this.canvas && this.canvas.closest && this.canvas.closest('.vega-embed')) lab.lastChartDrawn = performance.now();
    return restore.apply(this, args);
  };
  new MutationObserver((records) => {
    for (const record of records) {
      const target = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      if (target && target.closest && target.closest('[data-testid="stVegaLiteChart"]')) {
        lab.lastChartDrawn = performance.now();
        return;
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""

# Every .vega-embed a visitor can see holds a drawn canvas or svg. The live chart of training sits in the closed
# status box (a <details>): it has a box but checkVisibility() says it is not shown.
VISIBLE_CHARTS_DRAWN = """
() => {
  const visible = [...document.querySelectorAll('.vega-embed')].filter(
    (embed) => embed.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}));
  const drawn = visible.filter((embed) => {
    const mark = embed.querySelector('canvas, svg.marks');
    return mark && mark.getBoundingClientRect().width > 0 && mark.getBoundingClientRect().height > 0;
  });
  return {visible: visible.length, drawn: drawn.length};
}
"""


class ScriptRuns:
    """The script_finished messages the server sends a page (full runs and fragment runs): how many, and the place of
    the last among the page's socket's frames (the page's clock has the time of each frame by the same place)."""

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.finished, self.frames, self.last_finished_frame = 0, 0, 0
        self.message_type = ForwardMsg

        def on_socket(socket) -> None:
            self.frames = 0
            socket.on("framereceived", self.on_frame)

        page.on("websocket", on_socket)

    def on_frame(self, payload) -> None:
        """Count one frame from the server; note it if it ends a script run."""
        self.frames += 1
        if isinstance(payload, str):
            return
        try:
            message = self.message_type.FromString(payload)
        except Exception:  # noqa: BLE001 - a frame that is not a ForwardMsg is not a script's end
            return
        if message.WhichOneof("type") == "script_finished":
            self.finished += 1
            self.last_finished_frame = self.frames


def settle(page, timeout_s: float = 120.0) -> None:
    """Wait until the page is final: the script idle and no message from the server for QUIET_MS (a run's last
    messages, or a rerun the app asks for, must not be taken for the next action's)."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_function(SCRIPT_IDLE, timeout=timeout_s * 1000)
    while page.evaluate("performance.now() - (window.__labTiming.messages.at(-1) ?? 0)") < QUIET_MS:
        if time.monotonic() > deadline:
            raise TimeoutError("the page kept receiving messages")
        page.wait_for_timeout(50)


def until_drawn(page, runs: ScriptRuns, act, timeout_s: float = 300.0) -> tuple[float, float, bool]:
    """Seconds, in the browser's clock, from act()'s pointer press to the page final with every visible chart drawn,
    of those until the script's script_finished message arrived, and whether any chart was drawn anew meanwhile
    (Streamlit leaves a chart whose spec and data did not change as it is)."""
    settle(page)
    page.evaluate("window.__labTiming.pressed = 0")
    seen = runs.finished
    act()
    deadline = time.monotonic() + timeout_s
    while True:  # the first script_finished to arrive after the press (Playwright delivers frames while the page waits)
        if time.monotonic() > deadline:
            raise TimeoutError("the script did not finish")
        if runs.finished > seen:
            seen = runs.finished
            clock = page.evaluate("window.__labTiming")
            if clock["messages"][runs.last_finished_frame - 1] >= clock["pressed"] > 0:
                break
        page.wait_for_timeout(20)
    while True:
        charts = page.evaluate(VISIBLE_CHARTS_DRAWN)
        clock = page.evaluate("({now: performance.now(), ...window.__labTiming})")
        finished_at = clock["messages"][runs.last_finished_frame - 1]  # later frames (heartbeats) are not the run's
        last = max(finished_at, clock["lastChartDrawn"])
        if charts["visible"] and charts["drawn"] == charts["visible"] and clock["now"] - last > QUIET_MS:
            redrawn = clock["lastChartDrawn"] > clock["pressed"]
            return (last - clock["pressed"]) / 1000.0, (finished_at - clock["pressed"]) / 1000.0, redrawn
        if time.monotonic() > deadline:
            raise TimeoutError(f"charts not drawn: {charts}")
        page.wait_for_timeout(50)


def press_train_and_wait(page, charts: int) -> float:
    """Seconds from clicking Train to the script idle with the charts drawn."""
    started = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.wait_for_timeout(100)  # let the rerun begin before waiting for it to end
    page.wait_for_function(SCRIPT_IDLE, timeout=300_000)
    page.wait_for_function(CHARTS_DRAWN.format(count=charts), timeout=300_000)
    return time.perf_counter() - started


def start_server(port: int, cores: int | None):
    """The app's server, pinned to the first `cores` cores when cores is given (the child inherits the affinity)."""
    if cores is None:
        return start_streamlit(port, timeout_seconds=120)
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(everything)[:cores]))
    try:
        return start_streamlit(port, timeout_seconds=120)
    finally:
        os.sched_setaffinity(0, everything)


ONE_LINE_APP = 'import streamlit as st\n\nst.write("Hello")\n'
# The gallery's charts alone: a bare app drawing the shipped opening specs (app/gallery_specs/en.json.gz) in the
# gallery's grid, nothing else (no sidebar, navigation, controls, captions or lab import): what drawing those charts
# costs in the browser, the part of goal 2's first paint that no server-side change can remove.
CHARTS_ONLY_APP = """import gzip, json
import streamlit as st

st.title("Charts only")
specs = json.loads(gzip.decompress(open({path!r}, "rb").read()))
keys = list(specs)
for start in range(0, len(keys), 2):
    for column, key in zip(st.columns(2), keys[start:start + 2]):
        column.vega_lite_chart(specs[key], width="stretch")
"""


def bare_app_first_paint(browser, cores: int | None, script: str, painted) -> float:
    """Seconds from starting a bare Streamlit app (the lab's server settings) until painted(page) returns: the floors
    the lab's first paint is measured against, side by side (goal 2). The harness starts ROOT/streamlit_app.py, so
    ROOT points at a folder holding the script under that name for this start."""
    with tempfile.TemporaryDirectory(prefix="bare-app-") as folder:
        Path(folder, "streamlit_app.py").write_text(script)
        shutil.copytree(streamlit_server.ROOT / ".streamlit", Path(folder, ".streamlit"))
        root, streamlit_server.ROOT = streamlit_server.ROOT, Path(folder)
        port = free_port()
        started = time.perf_counter()
        try:
            process = start_server(port, cores)
        finally:
            streamlit_server.ROOT = root
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 2600})
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            painted(page)
            seconds = time.perf_counter() - started
            context.close()
            return seconds
        finally:
            stop_streamlit(process)


def one_line_first_paint(browser, cores: int | None) -> float:
    """A one-line app's first paint: its text on the page."""
    return bare_app_first_paint(browser, cores, ONE_LINE_APP,
                                lambda page: page.get_by_text("Hello", exact=True).wait_for(timeout=120_000))


def charts_only_first_paint(browser, cores: int | None) -> float:
    """The gallery's shipped charts alone: the same count of drawn charts the lab's first paint waits for."""
    from app.gallery_defaults import spec_path

    script = CHARTS_ONLY_APP.format(path=str(spec_path("en")))
    return bare_app_first_paint(browser, cores, script,
                                lambda page: page.wait_for_function(CHARTS_DRAWN.format(count=10), timeout=120_000))


def one_repeat(browser, epochs: int | None, cores: int | None) -> dict:
    """Every figure of one fresh server, and a one-line app's first paint just before it."""
    one_line = one_line_first_paint(browser, cores)
    charts_only = charts_only_first_paint(browser, cores)
    port = free_port()
    started = time.perf_counter()
    process = start_server(port, cores)
    health = time.perf_counter() - started  # until the server's health check answers
    url = f"http://127.0.0.1:{port}/"
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 2600})
        context.add_init_script(PAGE_CLOCK)
        page = context.new_page()
        runs = ScriptRuns(page)
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_function(CHARTS_DRAWN.format(count=10), timeout=120_000)
        first_paint = health + time.perf_counter() - started
        suffix = f"?training.epochs={epochs}" if epochs is not None else ""
        page.goto(url + "experiment" + suffix)
        page.get_by_role("button", name="Train").wait_for()
        fresh = press_train_and_wait(page, 2)
        train = page.get_by_role("button", name="Train")
        cached, cached_script, cached_redrawn = until_drawn(page, runs, train.click)
        visible = page.evaluate(VISIBLE_CHARTS_DRAWN)["visible"]
        view = page.get_by_role("radio", name="Units and curves")  # another view: a fragment's rerun
        switched, switched_script, _ = until_drawn(page, runs, view.click)
        page.get_by_role("radio", name="Gradients per layer").click()
        # A new config in the warm server (not in the cache): the URL's experiment runs on opening, which is
        # what pressing Train does; timed from navigation to the new run's caption and charts.
        started = time.perf_counter()
        page.goto(url + "experiment" + (suffix + "&" if suffix else "?") + "seed=1")
        page.get_by_text("seed 1", exact=False).first.wait_for(timeout=120_000)
        page.wait_for_function(CHARTS_DRAWN.format(count=2), timeout=120_000)
        warm = time.perf_counter() - started
        # Goal 4's second half: a training's progress shows at once. Another seed (not in the cache), Train pressed:
        # from the click to the status box's progress bar on screen, and to its first "step k of n" text.
        page.get_by_label("Seed", exact=True).fill("2")
        started = time.perf_counter()
        page.get_by_role("button", name="Train").click()
        page.locator('[data-testid="stProgress"]').first.wait_for(state="visible", timeout=120_000)
        progress_shown = time.perf_counter() - started
        page.get_by_text(re.compile(r"step \d+ of \d+")).first.wait_for(timeout=120_000)
        first_step = time.perf_counter() - started
        page.wait_for_function(SCRIPT_IDLE, timeout=300_000)
        context.close()
        return {"first_paint_s": first_paint, "one_line_app_first_paint_s": one_line,
                "charts_only_app_first_paint_s": charts_only, "server_health_s": health,
                "train_fresh_server_s": fresh,
                "train_warm_server_s": warm, "progress_shown_s": progress_shown, "first_step_shown_s": first_step,
                "cached_rerun_s": cached, "cached_rerun_visible_charts": visible,
                "cached_rerun_script_finished_s": cached_script, "cached_rerun_redrew_a_chart": cached_redrawn,
                "view_switch_s": switched,
                "view_switch_script_finished_s": switched_script}
    finally:
        stop_streamlit(process)


def main() -> None:
    """Run the repeats and print medians against the goals."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=None, help="pin the server to this many cores (1: taskset -c 0)")
    parser.add_argument("--idle-timeout", type=float, default=120.0, help="seconds to wait for an idle machine per repeat")
    parser.add_argument("--quick", action="store_true", help="one repeat, 2 epochs (CI: the harness cannot rot)")
    arguments = parser.parse_args()
    repeats, epochs = (1, 2) if arguments.quick else (arguments.repeats, None)
    idle_timeout = 0.0 if arguments.quick else arguments.idle_timeout
    runs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            load = wait_until_idle(idle_timeout)
            if load is not None and load >= IDLE_CORES and not arguments.quick:
                print(f"no idle machine within {idle_timeout:g} s: other processes used {load:.2f} cores before this repeat")
            runs.append({**one_repeat(browser, epochs, arguments.cores), "load_before_cores": load})
        browser.close()
    goals = {"first_paint_s": None, "train_fresh_server_s": 12.0, "train_warm_server_s": 3.0, "cached_rerun_s": 0.5,
             "view_switch_s": 0.5, "progress_shown_s": 1.0}
    # A one-line app's first paint (goal 2: the lab's first paint within 0.5 s of it); of the cached rerun and the view
    # switch, the part until the server's script_finished arrived (the rest: drawing).
    parts = ("one_line_app_first_paint_s", "charts_only_app_first_paint_s", "cached_rerun_script_finished_s",
             "view_switch_script_finished_s",
             "first_step_shown_s")
    medians = {key: statistics.median(run[key] for run in runs) for key in (*goals, *parts)}
    cores = arguments.cores or len(os.sched_getaffinity(0))
    print(f"server on {cores} core(s); visible charts at the cached rerun: {runs[0]['cached_rerun_visible_charts']}, "
          f"redrawn in {sum(run['cached_rerun_redrew_a_chart'] for run in runs)} of {len(runs)} repeats")
    print(f"{'figure':<32}{'median s':>10}{'goal s':>8}  runs")
    for key in medians:
        goal = f"{goals[key]:>8.1f}" if goals.get(key) is not None else " " * 8
        print(f"{key:<32}{medians[key]:>10.2f}{goal}  " + ", ".join(f"{run[key]:.2f}" for run in runs))
    # Goal 2: the first paint within 0.5 s of a one-line app's, each repeat's pair measured side by side.
    over = statistics.median(run["first_paint_s"] - run["one_line_app_first_paint_s"] for run in runs)
    print(f"first paint over a one-line app's: {over:+.2f} s (goal <= +0.5 s)")
    charts = statistics.median(run["charts_only_app_first_paint_s"] - run["one_line_app_first_paint_s"] for run in runs)
    rest = statistics.median(run["first_paint_s"] - run["charts_only_app_first_paint_s"] for run in runs)
    print(f"  of which the gallery's charts alone (a bare app drawing the same specs): {charts:+.2f} s; the lab's page "
          f"around them: {rest:+.2f} s")
    out = results_dir()
    figures = {"medians": medians, "goals": goals, "runs": runs, "quick": arguments.quick, "server_cores": cores,
               "first_paint_over_one_line_s": over}
    name = "app_timing.json" if arguments.cores is None else f"app_timing_{arguments.cores}core.json"
    (out / name).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
