"""The Streamlit server's resident memory in a real browser: default experiment, largest experiment, growth.

    python bench/memory.py [--experiments 50] [--per-session 4] [--quick]

Starts `streamlit run streamlit_app.py --server.headless true` on 127.0.0.1 and reads the SERVER
process's VmRSS (resident now) and VmHWM (peak resident) from /proc/<pid>/status:

1. default: a fresh server, /experiment, press Train, wait for the verdict and the charts (goal: peak <= 1.0 GB);
2. largest: a fresh server, the largest experiment the form allows (LARGEST below), opened by its URL,
   which fills the form and runs it (goal: peak <= 2.0 GB);
3. growth: one server, N different experiments (seed K, 2 epochs), Train pressed in the form with a new
   seed each time; a new browser context (a new Streamlit session) every --per-session experiments.
   RSS after experiment 5 and after N, and the growth per experiment between them (goal: < 2 MB per run).
   The app caches up to 64 results (st.cache_data) and keeps up to 12 runs per session; the pickled size
   of one result is reported so the bounded caches can be told from a leak.

Prints a table and writes bench/results/memory.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402  (one harness for tests and bench)

CHARTS_DRAWN = ("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
                "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= {count}")
SCRIPT_IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
MB = 1024 * 1024

# The largest experiment in memory the form allows (lab/ui_state.py UI_LIMITS): every size at its cap,
# 10 classes (the widest output), 100 features, Adam (two slot variables per weight), and 201 records:
# the same number of records as the cap of 200 epochs recorded every epoch, reached in 25 epochs of
# 8 steps (4000 training samples / batch 512) recorded every step, so the run takes about a minute.
# spirals is 2-D data, so the 100 x 100 decision-boundary grid is computed and drawn too.
LARGEST = {
    "data.dataset": "spirals", "data.num_classes": 10, "data.num_features": 100, "data.num_samples": 5000,
    "model.depth": 50, "model.width": 256, "model.output_activation": "softmax",
    "training.optimizer": "adam", "training.batch_size": 512, "training.epochs": 25, "training.record_every": 1,
    "probe.num_samples": 512,
}
QUICK_LARGEST = {**LARGEST, "training.epochs": 2}


def memory_of(pid: int) -> dict:
    """VmRSS and VmHWM of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return {"rss_mb": values["VmRSS"], "peak_mb": values["VmHWM"]}


def start_server(port: int, log_path: Path):
    """A fresh Streamlit server on the loopback; the process (its pid is the server's)."""
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"streamlit did not start (see {log_path})")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_results(page, timeout_ms: int = 900_000) -> None:
    """The script idle, the verdict shown and the result charts drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # the rerun begins (the page may still show the previous run's results meanwhile)
        page.wait_for_function("!" + SCRIPT_IDLE, timeout=5_000)
    except PlaywrightTimeout:
        pass  # a run so fast the running indicator came and went
    page.wait_for_function(SCRIPT_IDLE, timeout=timeout_ms)
    page.get_by_text("Verdict").first.wait_for(timeout=timeout_ms)
    page.wait_for_function(CHARTS_DRAWN.format(count=5), timeout=timeout_ms)
    if page.locator("[data-testid='stException']").count():
        raise RuntimeError("the app showed an exception")


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    return context, context.new_page()


def query(values: dict) -> str:
    return "&".join(f"{key}={value}" for key, value in values.items())


def default_experiment(browser, epochs: int | None) -> dict:
    """A fresh server, Train on the default experiment: memory before and after."""
    port = free_port()
    process = start_server(port, Path("/tmp/memory_bench_default.log"))
    try:
        url = f"http://127.0.0.1:{port}/"
        context, page = new_page(browser)
        page.goto(url + "experiment" + (f"?training.epochs={epochs}" if epochs else ""))
        page.get_by_role("button", name="Train").wait_for(timeout=120_000)
        if epochs:
            wait_for_results(page)  # the URL ran it; a new seed so Train trains
            seed = page.get_by_label("Seed")
            seed.fill("1")
            seed.press("Tab")
        before = memory_of(process.pid)
        started = time.perf_counter()
        page.get_by_role("button", name="Train").click()
        wait_for_results(page)
        seconds = time.perf_counter() - started
        page.wait_for_timeout(1000)
        after = memory_of(process.pid)
        context.close()
        return {"before": before, "after": after, "seconds": seconds}
    finally:
        stop(process)


def largest_experiment(browser, values: dict) -> dict:
    """A fresh server, the largest experiment through its URL (it fills the form and runs)."""
    port = free_port()
    process = start_server(port, Path("/tmp/memory_bench_largest.log"))
    try:
        url = f"http://127.0.0.1:{port}/experiment?" + query(values)
        context, page = new_page(browser)
        started = time.perf_counter()
        page.goto(url)
        wait_for_results(page)
        seconds = time.perf_counter() - started
        page.wait_for_timeout(1000)
        after = memory_of(process.pid)
        context.close()
        return {"after": after, "seconds": seconds, "config": values}
    finally:
        stop(process)


def growth(browser, experiments: int, per_session: int) -> dict:
    """One server, experiments different configs (seed K, 2 epochs); a new session every per_session."""
    port = free_port()
    process = start_server(port, Path("/tmp/memory_bench_growth.log"))
    base = f"http://127.0.0.1:{port}/experiment?"
    samples = []
    try:
        context = page = None
        for index in range(experiments):
            seed = 1000 + index
            if index % per_session == 0:
                if context is not None:
                    context.close()
                context, page = new_page(browser)
                page.goto(base + query({"seed": seed, "training.epochs": 2}))  # opens the form and runs
                wait_for_results(page)
            else:
                field = page.get_by_label("Seed")
                field.fill(str(seed))
                field.press("Tab")
                page.get_by_role("button", name="Train").click()
                wait_for_results(page)
            page.wait_for_timeout(300)
            samples.append({"experiment": index + 1, **memory_of(process.pid)})
            print(f"  growth: experiment {index + 1}: rss {samples[-1]['rss_mb']:.0f} MB", flush=True)
        context.close()
        time.sleep(2)
        final = memory_of(process.pid)
    finally:
        stop(process)
    return {"samples": samples, "after_last_context_closed": final}


def result_size() -> dict:
    """What the bounded caches hold per run: a RunResult pickled (the result cache, 64 entries) and the
    Python memory of its chart specs (the app caches about 7 specs per run, 256 entries); for one
    growth-phase run and for the default experiment."""
    import gc
    import tracemalloc

    from lab import charts, run
    from lab.config_io import load_config

    sizes = {}
    for label, overrides in (("growth_run", {"seed": 1000, "training.epochs": 2}), ("default_run", {})):
        result = run(load_config({}, overrides=overrides))
        sizes[label + "_pickled_mb"] = len(pickle.dumps(result)) / MB
        gc.collect()
        tracemalloc.start()
        specs = [chart.to_dict() for chart in charts.main_charts(result).values()]
        gc.collect()
        sizes[label + "_chart_specs_mb"] = tracemalloc.get_traced_memory()[0] / MB
        tracemalloc.stop()
        del specs
    return sizes


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=50)
    parser.add_argument("--per-session", type=int, default=4, help="experiments per browser context (session)")
    parser.add_argument("--quick", action="store_true", help="2-epoch default and largest runs, 8 growth experiments (CI)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["default", "largest", "growth"])
    arguments = parser.parse_args()
    experiments = 8 if arguments.quick else arguments.experiments
    figures: dict = {"quick": arguments.quick, "command": " ".join(["python", "bench/memory.py", *sys.argv[1:]])}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        if "default" not in arguments.skip:
            figures["default"] = default_experiment(browser, 2 if arguments.quick else None)
            print("default:", figures["default"], flush=True)
        if "largest" not in arguments.skip:
            figures["largest"] = largest_experiment(browser, QUICK_LARGEST if arguments.quick else LARGEST)
            print("largest:", {k: v for k, v in figures["largest"].items() if k != "config"}, flush=True)
        if "growth" not in arguments.skip:
            figures["growth"] = growth(browser, experiments, arguments.per_session)
        browser.close()
    if "growth" in figures:
        figures["cache"] = result_size()
        samples = figures["growth"]["samples"]
        first = samples[min(4, len(samples) - 1)]
        last = samples[-1]
        runs_between = max(last["experiment"] - first["experiment"], 1)
        per_run = (last["rss_mb"] - first["rss_mb"]) / runs_between
        cached = min(64, len(samples))
        middle = samples[len(samples) // 2]
        late_per_run = (last["rss_mb"] - middle["rss_mb"]) / max(last["experiment"] - middle["experiment"], 1)
        cache = figures["cache"]
        figures["growth"]["summary"] = {
            "rss_after_5_mb": first["rss_mb"], "rss_after_n_mb": last["rss_mb"], "n": last["experiment"],
            "growth_per_run_mb": per_run,
            "second_half_from": middle["experiment"], "growth_per_run_second_half_mb": late_per_run,
            # Every growth run stays in the result cache (up to 64) and its ~7 chart specs in the spec
            # cache (256 entries: about 36 runs): that part of the growth is intended and bounded.
            "cache_share_per_run_mb": (cache["growth_run_pickled_mb"] if cached < 64 else 0.0)
            + (cache["growth_run_chart_specs_mb"] if cached < 36 else 0.0),
        }
    print()
    print(f"{'figure':<44}{'MB':>10}{'goal MB':>10}")
    if "default" in figures:
        print(f"{'default experiment: peak (VmHWM)':<44}{figures['default']['after']['peak_mb']:>10.0f}{1024:>10}")
        print(f"{'default experiment: resident after':<44}{figures['default']['after']['rss_mb']:>10.0f}")
    if "largest" in figures:
        print(f"{'largest experiment: peak (VmHWM)':<44}{figures['largest']['after']['peak_mb']:>10.0f}{2048:>10}")
        print(f"{'largest experiment: resident after':<44}{figures['largest']['after']['rss_mb']:>10.0f}")
    if "growth" in figures:
        s = figures["growth"]["summary"]
        print(f"{'growth: resident after experiment 5':<44}{s['rss_after_5_mb']:>10.0f}")
        print(f"{'growth: resident after experiment ' + str(s['n']):<44}{s['rss_after_n_mb']:>10.0f}")
        print(f"{'growth: per experiment (5 -> N)':<44}{s['growth_per_run_mb']:>10.2f}{2:>10}")
        print(f"{'growth: per experiment (' + str(s['second_half_from']) + ' -> N)':<44}{s['growth_per_run_second_half_mb']:>10.2f}{2:>10}")
        print(f"{'  bounded caches per run (result + specs)':<44}{s['cache_share_per_run_mb']:>10.2f}")
        for label in ("growth_run", "default_run"):
            print(f"{label + ': result pickled / chart specs':<44}{figures['cache'][label + '_pickled_mb']:>10.2f}"
                  f"{figures['cache'][label + '_chart_specs_mb']:>10.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
