"""Many visitors on one core (#16 goal 8): a class opening the same tour link at once gets one training.

    python -m bench.visitors [--visitors 10] [--cores 1] [--section step] [--repeats 3] [--idle-timeout 120] [--quick]

Opening the tour link (/tour) trains nothing: a section trains when a visitor presses its button (app/pages/tour.py).
So each of --visitors browser contexts (one Chromium, one Streamlit session each) opens /tour, and once every page
is final all of them press the section's button at the same instant: a click scheduled in every page for one
wall-clock time (Date.now(), the machine's clock, shared by the pages and the server).

Each repeat starts two fresh servers pinned to --cores (as `taskset -c 0` would, bench.app_timing.start_server), cold
(LAB_WARM_TOUR=0: a warming server would have trained the section before anyone pressed), each first warmed by a
small Train on the Experiment page (TensorFlow imported, as on a server in use; that run is not the tour's):
1. alone: one visitor presses the section's button: the time of one training of the section (its experiment and its
   remedy) as a visitor sees it;
2. crowd: --visitors visitors press it at once.

A visitor is timed from the press to the script_finished message of that script run reaching its page (both in
the page's own clock, bench.app_timing's PAGE_CLOCK and ScriptRuns): the server has then trained or waited, built the
section's numbers and chart and sent them all; the browser's drawing of ten pages on this machine (the visitors' own
machines on a hosted app) is left out. The server's own log (LAB_TRAINING_LOG, app.shared.training_log: one line when a
training starts and ends, or a waiting visitor takes the stored result) counts the trainings of each config and says
when each session got each run. The server's peak memory: its VmHWM, and the resident memory of its process tree
sampled every SAMPLE_SECONDS (psutil), the larger of the two.

Prints each figure and the goal (each visitor within one training + 2 s, one training per config, memory under
2.7 GB); writes bench/results/visitors.json (visitors_<cores>core.json). --quick: 3 visitors, one repeat, the crowd
only (no alone server, no warm-up Train: the first training also imports TensorFlow), so the harness cannot rot.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench import results_dir
from bench.app_timing import CHARTS_DRAWN, PAGE_CLOCK, SCRIPT_IDLE, ScriptRuns, settle, start_server
from bench.memory import memory_of
from bench.sweep_workers import IDLE_CORES, wait_until_idle
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, free_port, stop_streamlit

GOAL_EXTRA_SECONDS = 2.0  # each visitor within one training + this
GOAL_MEMORY_MB = 2.7 * 1024  # Streamlit Community Cloud's memory for an app
SAMPLE_SECONDS = 0.1
TIMEOUT_S = 600.0
PRESS_DELAY_MS = 1500  # the scheduled press, this long after the last page is told: every page's timer is set by then
# A small experiment the warm-up trains on the Experiment page (its URL trains it on opening): TensorFlow imported.
WARM_UP = "experiment?training.epochs=1&data.num_samples=256&probe.num_samples=64"
# Every page presses its button at one wall-clock time; its clock notes the press as PAGE_CLOCK's pointer press does.
SCHEDULE_PRESS = """
([at, selector]) => {
  setTimeout(() => {
    window.__labTiming.pressed = performance.now();
    window.__labPressedWall = performance.timeOrigin + window.__labTiming.pressed;
    document.querySelector(selector).click();
  }, at - Date.now());
}
"""


class PeakMemory:
    """The resident memory of a process and its children, sampled in a thread until stop(); the peak in MB."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak_mb = psutil.Process(pid), 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                total = sum(member.memory_info().rss for member in tree) / 2**20
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total)
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> float:
        """The peak: the larger of the samples' and the server process's own VmHWM (its exact peak resident)."""
        self._stop.set()
        self._thread.join()
        return max(self.peak_mb, memory_of(self.process.pid)["peak_mb"])


def read_log(path: Path) -> list[dict]:
    """The server's training log (app.shared.training_log), one dict per line."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def new_visitor(browser):
    """A browser context (its own Streamlit session) with the page clock installed, and its page's ScriptRuns."""
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    context.add_init_script(PAGE_CLOCK)
    page = context.new_page()
    return context, page, ScriptRuns(page)


def warm_up(browser, url: str) -> None:
    """A small Train on the Experiment page in a context of its own: TensorFlow imported and a model traced."""
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    page = context.new_page()
    page.goto(url + WARM_UP)
    page.wait_for_function(CHARTS_DRAWN.format(count=2), timeout=TIMEOUT_S * 1000)
    page.wait_for_function(SCRIPT_IDLE, timeout=TIMEOUT_S * 1000)
    context.close()


def cpu_seconds(server: psutil.Process) -> float:
    """The CPU time the server's process tree has used so far (user and system)."""
    return sum(sum(member.cpu_times()[:2]) for member in [server, *server.children(recursive=True)])


def press_at_once(browser, url: str, section: str, visitors: int, server: psutil.Process) -> tuple[list[dict], float]:
    """visitors pages open the tour, press the section's button at one instant; for each, the press (wall clock, s)
    and the seconds from it to its script_finished, in the page's clock; and the server's CPU seconds from the press
    to the last script_finished (read within 20 ms of each). Checks each page shows the section's numbers."""
    selector = f".st-key-tour_run_{section} button"
    opened = [new_visitor(browser) for _ in range(visitors)]
    for _, page, _ in opened:
        page.goto(url + "tour")
    for _, page, _ in opened:
        page.locator(selector).wait_for(timeout=TIMEOUT_S * 1000)
        settle(page)
    seen = [runs.finished for _, _, runs in opened]
    at = int(time.time() * 1000) + PRESS_DELAY_MS
    for _, page, _ in opened:
        page.evaluate(SCHEDULE_PRESS, [at, selector])
    timed: list[dict | None] = [None] * visitors
    deadline, cpu_at_press = time.monotonic() + TIMEOUT_S, None
    while None in timed:
        if cpu_at_press is None and time.time() * 1000 >= at:
            cpu_at_press = cpu_seconds(server)  # Playwright delivers every page's frames while any page waits
        if time.monotonic() > deadline:
            raise TimeoutError(f"visitors without their section's script_finished: {timed}")
        for index, (_, page, runs) in enumerate(opened):
            if timed[index] is None and runs.finished > seen[index]:
                seen[index] = runs.finished
                clock = page.evaluate("({...window.__labTiming, wall: window.__labPressedWall})")
                finished = clock["messages"][runs.last_finished_frame - 1]
                if finished >= clock["pressed"] > 0:
                    timed[index] = {"pressed_wall_s": clock["wall"] / 1000.0, "seconds": (finished - clock["pressed"]) / 1000.0}
        opened[0][1].wait_for_timeout(20)
    cpu = cpu_seconds(server) - cpu_at_press
    for index, (context, page, _) in enumerate(opened):
        page.get_by_text("Measured").first.wait_for(timeout=TIMEOUT_S * 1000)  # the section's numbers are shown
        if page.locator("[data-testid='stException']").count():
            raise RuntimeError(f"visitor {index + 1}: the app showed an exception")
        context.close()
    return timed, cpu


def one_server(browser, section: str, visitors: int, cores: int | None, warm: bool) -> dict:
    """A fresh cold server: optional warm-up, then visitors pressing the section at once; times, log, peak memory."""
    log = Path(tempfile.mkstemp(prefix="visitors-", suffix=".jsonl")[1])
    os.environ["LAB_TRAINING_LOG"] = str(log)  # the server inherits it (and LAB_WARM_TOUR=0, set below)
    port = free_port()
    process = start_server(port, cores)
    url = f"http://127.0.0.1:{port}/"
    try:
        memory = PeakMemory(process.pid)
        if warm:
            warm_up(browser, url)
        skip = len(read_log(log))  # the warm-up's lines
        timed, cpu = press_at_once(browser, url, section, visitors, psutil.Process(process.pid))
        peak_mb = memory.stop()
    finally:
        stop_streamlit(process)
        os.environ.pop("LAB_TRAINING_LOG", None)
    events = read_log(log)[skip:]
    log.unlink()
    return {**summarise(timed, events, peak_mb), "server_cpu_s": cpu}


def summarise(timed: list[dict], events: list[dict], peak_mb: float) -> dict:
    """Visitors' times, the trainings per config and their seconds, when each session got its last run (server)."""
    configs = sorted({event["config_sha"] for event in events})
    trainings = {sha: sum(event["event"] == "train" for event in events if event["config_sha"] == sha) for sha in configs}
    starts = {event["config_sha"]: event["time"] for event in events if event["event"] == "train"}
    training_seconds = sum(event["time"] - starts[event["config_sha"]] for event in events if event["event"] == "trained")
    pressed = min(visitor["pressed_wall_s"] for visitor in timed)
    got = {}  # session -> the time it got its last run of the section (trained it or took it from the cache)
    for event in events:
        if event["event"] in ("trained", "shared", "cached"):
            got[event["session"]] = max(got.get(event["session"], 0.0), event["time"])
    return {"visitor_seconds": [visitor["seconds"] for visitor in timed],
            "press_spread_s": max(visitor["pressed_wall_s"] for visitor in timed) - pressed,
            "server_got_result_s": sorted(moment - pressed for moment in got.values()),
            "trainings_per_config": trainings, "training_seconds": training_seconds, "peak_mb": peak_mb,
            "log": [{**event, "time": event["time"] - pressed} for event in events]}


def main() -> None:
    """Alternate alone and crowd servers; print the figures against the goal; write the JSON."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--cores", type=int, default=1, help="pin each server to this many cores (1: taskset -c 0)")
    parser.add_argument("--section", default="step", help="the tour section whose button every visitor presses")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle-timeout", type=float, default=120.0, help="seconds to wait for an idle machine per server")
    parser.add_argument("--quick", action="store_true", help="3 visitors, one repeat, the crowd only (CI)")
    arguments = parser.parse_args()
    os.environ["LAB_WARM_TOUR"] = "0"  # cold servers: the section trains on the first press, not in the background
    visitors, repeats = (3, 1) if arguments.quick else (arguments.visitors, arguments.repeats)
    idle_timeout = 0.0 if arguments.quick else arguments.idle_timeout
    repeats_seen = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for number in range(repeats):
            repeat = {}
            parts = (() if arguments.quick else (("alone", 1),)) + (("crowd", visitors),)
            for part, count in parts[::-1] if number % 2 else parts:  # alternating which goes first, as the load drifts
                load = wait_until_idle(idle_timeout)
                if load is not None and load >= IDLE_CORES and not arguments.quick:
                    print(f"no idle machine within {idle_timeout:g} s: other processes used {load:.2f} cores "
                          f"before the {part} server")
                repeat[part] = {**one_server(browser, arguments.section, count, arguments.cores, warm=not arguments.quick),
                                "load_before_cores": load, "loadavg": os.getloadavg()}
            repeats_seen.append(repeat)
        browser.close()
    report(repeats_seen, arguments, visitors)


def report(repeats: list[dict], arguments, visitors: int) -> None:
    """Print each repeat and the medians against the goal; write the JSON."""
    for number, repeat in enumerate(repeats, 1):
        crowd = repeat["crowd"]
        alone = repeat["alone"]["visitor_seconds"][0] if "alone" in repeat else crowd["training_seconds"]
        repeat["one_training_s"] = alone
        repeat["max_visitor_over_training_s"] = max(crowd["visitor_seconds"]) - alone
        repeat["trainings"] = sum(crowd["trainings_per_config"].values())
        load = "unknown" if crowd["load_before_cores"] is None else f"{crowd['load_before_cores']:.2f} cores"
        print(f"repeat {number} (other processes before the crowd: {load}; load average {crowd['loadavg'][0]:.1f}):")
        print(f"  one training of the section, alone: {alone:.2f} s"
              + ("" if "alone" in repeat else " (the crowd's own training, server log: no alone server in --quick)"))
        print("  each visitor, press -> charts sent: " + ", ".join(f"{seconds:.2f}" for seconds in crowd["visitor_seconds"])
              + f" s (presses spread over {crowd['press_spread_s'] * 1000:.0f} ms)")
        print("  server: each session had its result at " + ", ".join(f"{s:.2f}" for s in crowd["server_got_result_s"])
              + f" s after the press; the crowd's trainings took {crowd['training_seconds']:.2f} s")
        print(f"  the server's CPU from the press to the last visitor's charts: crowd {crowd['server_cpu_s']:.2f} s"
              + (f", alone {repeat['alone']['server_cpu_s']:.2f} s" if "alone" in repeat else ""))
        repeat["max_visitor_over_crowd_training_s"] = max(crowd["visitor_seconds"]) - crowd["training_seconds"]
        print(f"  max(visitor) - one training: {repeat['max_visitor_over_training_s']:+.2f} s "
              f"(goal <= +{GOAL_EXTRA_SECONDS:g} s); "
              f"- the crowd's own training: {repeat['max_visitor_over_crowd_training_s']:+.2f} s")
        print(f"  trainings: {repeat['trainings']} for {len(crowd['trainings_per_config'])} configs "
              f"(goal: one each) {crowd['trainings_per_config']}")
        print(f"  server's peak memory: {crowd['peak_mb']:.0f} MB (goal < {GOAL_MEMORY_MB:.0f} MB)")
    medians = {key: statistics.median(repeat[key] for repeat in repeats)
               for key in ("one_training_s", "max_visitor_over_training_s", "max_visitor_over_crowd_training_s")}
    medians["peak_mb"] = statistics.median(repeat["crowd"]["peak_mb"] for repeat in repeats)
    print(f"medians over {len(repeats)} repeat(s), {visitors} visitors, server on {arguments.cores} core(s): "
          f"one training {medians['one_training_s']:.2f} s, "
          f"max(visitor) - training {medians['max_visitor_over_training_s']:+.2f} s, "
          f"peak {medians['peak_mb']:.0f} MB")
    figures = {"quick": arguments.quick, "visitors": visitors, "server_cores": arguments.cores, "section": arguments.section,
               "goal_extra_seconds": GOAL_EXTRA_SECONDS, "goal_memory_mb": GOAL_MEMORY_MB, "medians": medians,
               "repeats": repeats}
    (results_dir() / f"visitors_{arguments.cores}core.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
