"""The Streamlit server's resident memory in a real browser: default experiment, largest experiment, growth.

    python -m bench.memory [--experiments 50] [--per-session 4] [--budget-mb 8] [--quick]

Starts `streamlit run streamlit_app.py --server.headless true` on 127.0.0.1 and reads the SERVER
process's VmRSS (resident now) and VmHWM (peak resident) from /proc/<pid>/status:

1. default: a fresh server, /experiment, press Train, wait for the verdict and the charts (goal: peak <= 1.0 GB);
2. largest: a fresh server, the largest experiment the form allows (LARGEST below), opened by its URL,
   which fills the form and runs it (goal: peak <= 2.0 GB);
3. growth: one server, N different experiments (seed K, 2 epochs), Train pressed in the form with a new
   seed each time; a new browser context (a new Streamlit session) every --per-session experiments.
   Run twice: with the app's default cache budget (LAB_CACHE_MB unset: 256 MB, never filled by 50 small
   runs, so the caches grow by design), and with LAB_CACHE_MB=--budget-mb, reached within the first
   experiments, after which anything still growing is not a cache (goal: flat, < 2 MB per run).

What the server keeps per run, measured in this process by the app's own code (app.caches, filled
by app.results_view.show as a visitor's page does): the result (its frames) in the results part of
the budget, and about seven chart specs in the charts part. Each session also refers to its last runs
(the same objects, no copies); a closed session lingers for Streamlit's disconnectedSessionTTL (120 s),
so runs the cache has evicted are freed that long after their session closed: the steady part of a
growth series starts once the budget is reached AND that much time has passed.

Prints a table and writes bench/results/memory.json (or LAB_BENCH_RESULTS).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from bench import results_dir
from bench.app_timing import CHARTS_DRAWN, SCRIPT_IDLE
from tests.support.streamlit_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RESULT_VIEW_CHARTS,
    free_port,
    start_streamlit,
    stop_streamlit,
)

# The servers measured here are cold ones: the tour warmer (app/tour_warmer.py) would train the tour in the background
# and compete with every figure. Set LAB_WARM_TOUR=1 in the environment to measure a warming server instead.
os.environ.setdefault("LAB_WARM_TOUR", "0")

MB = 1024 * 1024
SESSION_TTL_SECONDS = 120  # Streamlit's server.disconnectedSessionTTL, left at its default here as on Cloud

# The largest experiment in memory the form allows (app/url_state.py UI_LIMITS): every size at its cap,
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


def wait_for_results(page, timeout_ms: int = 900_000) -> None:
    """The script idle, the verdict shown and the result charts drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # the rerun begins (the page may still show the previous run's results meanwhile)
        page.wait_for_function("!" + SCRIPT_IDLE, timeout=5_000)
    except PlaywrightTimeout:
        pass  # a run so fast the running indicator came and went
    page.wait_for_function(SCRIPT_IDLE, timeout=timeout_ms)
    page.get_by_text("Verdict").first.wait_for(timeout=timeout_ms)
    # The results show one view at a time (#16 goal 3): its charts, RESULT_VIEW_CHARTS of them by default.
    page.wait_for_function(CHARTS_DRAWN.format(count=RESULT_VIEW_CHARTS), timeout=timeout_ms)
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
    process = start_streamlit(port, Path("/tmp/memory_bench_default.log"), timeout_seconds=90)
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
        stop_streamlit(process)


def largest_experiment(browser, values: dict) -> dict:
    """A fresh server, the largest experiment through its URL (it fills the form and runs)."""
    port = free_port()
    process = start_streamlit(port, Path("/tmp/memory_bench_largest.log"), timeout_seconds=90)
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
        stop_streamlit(process)


def growth(browser, experiments: int, per_session: int, budget_mb: int, wait_for_expiry: bool) -> dict:
    """One server with LAB_CACHE_MB=budget_mb: experiments different configs (seed K, 2 epochs), a new
    session every per_session; optionally, what is left once every session has expired."""
    port = free_port()
    process = start_streamlit(port, Path(f"/tmp/memory_bench_growth_{budget_mb}.log"), {"LAB_CACHE_MB": str(budget_mb)},
                              timeout_seconds=90)
    base = f"http://127.0.0.1:{port}/"
    samples, after = [], {}
    try:
        context = page = None
        started = time.perf_counter()
        for index in range(experiments):
            seed = 1000 + index
            if index % per_session == 0:
                if context is not None:
                    context.close()
                context, page = new_page(browser)
                page.goto(base + "experiment?" + query({"seed": seed, "training.epochs": 2}))  # opens the form and runs
                wait_for_results(page)
            else:
                field = page.get_by_label("Seed")
                field.fill(str(seed))
                field.press("Tab")
                page.get_by_role("button", name="Train").click()
                wait_for_results(page)
            page.wait_for_timeout(300)
            samples.append({"experiment": index + 1, "seconds": round(time.perf_counter() - started, 1),
                            **memory_of(process.pid)})
            print(f"  growth (budget {budget_mb} MB): experiment {index + 1}: rss {samples[-1]['rss_mb']:.0f} MB", flush=True)
        context.close()
        time.sleep(2)
        after["last_session_closed"] = memory_of(process.pid)
        if wait_for_expiry:
            # Streamlit drops expired sessions when its session storage is next written: a new visitor does it.
            time.sleep(SESSION_TTL_SECONDS + 5)
            context, page = new_page(browser)
            page.goto(base)
            page.get_by_text("sigmoid").first.wait_for(timeout=60_000)
            context.close()
            time.sleep(2)
            after["sessions_expired"] = memory_of(process.pid)
    finally:
        stop_streamlit(process)
    return {"budget_mb": budget_mb, "per_session": per_session, "samples": samples, "after": after}


def cache_per_run(quick: bool) -> dict:
    """What the server's caches hold per run, measured by the app's own code in this process: the results
    part (a RunResult's frames) and the charts part (the specs results_view.show caches for one run)."""
    import streamlit.config
    import streamlit.logger

    # Bare mode logs one "missing ScriptRunContext" warning per element. The level is set after the
    from app import caches, results_view
    from lab import config_to_yaml, run
    from lab.contract.config_io import load_config

    # Bare mode logs one "missing ScriptRunContext" warning per element. The level is set after the
    # config has been read, since reading it (lazily, on the first option asked) resets the level.
    streamlit.config.get_option("logger.level")
    streamlit.logger.set_log_level("error")
    sizes = {}
    runs = (("growth_run", {"seed": 1000, "training.epochs": 2}),) + (() if quick else (("default_run", {}),))
    for label, overrides in runs:
        result = run(load_config({}, overrides=overrides))
        caches.server_caches.clear()
        caches.store_result(config_to_yaml(result.config), result)
        results_view.show(label, result)
        held = caches.server_caches()
        sizes[label] = {"result_mb": held["results"].total_bytes / MB, "chart_specs_mb": held["charts"].total_bytes / MB,
                        "chart_specs": len(held["charts"])}
    return sizes


def slope(samples: list[dict]) -> float | None:
    """Least-squares growth of resident memory per experiment (MB) over these samples; None if under 3."""
    import numpy as np

    if len(samples) < 3:
        return None
    return float(np.polyfit([s["experiment"] for s in samples], [s["rss_mb"] for s in samples], 1)[0])


def summarise(series: dict, per_run: dict) -> dict:
    """Growth per run over experiments 5..N; once the budget is reached; and over the steady part, which
    starts when closed sessions that still referred to evicted runs have expired (see the module's docstring)."""
    from app.caches import RESULT_SHARE

    samples, budget = series["samples"], series["budget_mb"]
    result_mb, specs_mb = per_run["result_mb"], per_run["chart_specs_mb"]
    fill = max(math.ceil(budget * RESULT_SHARE / result_mb), math.ceil(budget * (1 - RESULT_SHARE) / specs_mb))
    reached = fill if fill <= len(samples) else None
    after_budget, steady = [], []
    if reached is not None:
        after_budget = samples[reached - 1:]
        ttl_over = samples[reached - 1]["seconds"] + SESSION_TTL_SECONDS
        steady = [sample for sample in after_budget if sample["seconds"] >= ttl_over]
    first, last = samples[min(4, len(samples) - 1)], samples[-1]
    return {
        "budget_mb": budget,
        "cache_per_run_mb": result_mb + specs_mb,
        "budget_reached_at_experiment": reached,
        "rss_after_5_mb": first["rss_mb"], "rss_after_n_mb": last["rss_mb"], "n": last["experiment"],
        "growth_per_run_5_to_n_mb": (last["rss_mb"] - first["rss_mb"]) / max(last["experiment"] - first["experiment"], 1),
        "slope_5_to_n_mb": slope(samples[4:]),
        "slope_after_budget_mb": slope(after_budget),
        "steady_from": steady[0]["experiment"] if len(steady) >= 3 else None,
        "slope_steady_mb": slope(steady),
    }


def print_table(figures: dict) -> None:
    """The figures against their goals, and what the caches hold."""
    def row(label: str, value, goal="") -> None:
        if value is None or isinstance(value, int):
            text = "n/a" if value is None else str(value)
        else:
            text = f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"
        print(f"{label:<70}{text:>10}{goal:>10}")

    print()
    print(f"{'figure':<70}{'MB':>10}{'goal MB':>10}")
    if "default" in figures:
        row("default experiment: peak (VmHWM)", figures["default"]["after"]["peak_mb"], "1024")
        row("default experiment: resident after", figures["default"]["after"]["rss_mb"])
    if "largest" in figures:
        row("largest experiment: peak (VmHWM)", figures["largest"]["after"]["peak_mb"], "2048")
        row("largest experiment: resident after", figures["largest"]["after"]["rss_mb"])
    for key in ("growth_default_budget", "growth_budget_reached"):
        if key not in figures:
            continue
        s, after = figures[key]["summary"], figures[key]["after"]
        name = f"growth, LAB_CACHE_MB={s['budget_mb']}"
        row(f"{name}: resident after experiment 5", s["rss_after_5_mb"])
        row(f"{name}: resident after experiment {s['n']}", s["rss_after_n_mb"])
        row(f"{name}: per run, 5 -> {s['n']} (endpoints)", s["growth_per_run_5_to_n_mb"], "2")
        row(f"{name}: per run, 5 -> {s['n']} (least squares)", s["slope_5_to_n_mb"], "2")
        if s["budget_reached_at_experiment"] is None:
            row(f"{name}:   of which the caches filling (by design)", s["cache_per_run_mb"])
        else:
            reached = s["budget_reached_at_experiment"]
            print(f"{name}: budget reached at experiment {reached}")
            row(f"{name}: per run, {reached} -> {s['n']} (least squares)", s["slope_after_budget_mb"], "2")
            steady = (f"{s['steady_from']} -> {s['n']}" if s["steady_from"]
                      else f"n/a, < 3 runs {SESSION_TTL_SECONDS} s after {reached}")
            row(f"{name}: per run, steady {steady}", s["slope_steady_mb"], "flat")
        for moment, value in after.items():
            row(f"{name}: resident, {moment.replace('_', ' ')}", value["rss_mb"])
    if "cache_per_run" in figures:
        for label, held in figures["cache_per_run"].items():
            print(f"{label}: the server keeps its result ({held['result_mb']:.2f} MB) and {held['chart_specs']} chart specs "
                  f"({held['chart_specs_mb']:.2f} MB)")


def main() -> None:
    from playwright.sync_api import sync_playwright

    from app.caches import DEFAULT_CACHE_MB

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=50)
    parser.add_argument("--per-session", type=int, default=4, help="experiments per browser context (session)")
    parser.add_argument("--budget-mb", type=int, default=8, help="LAB_CACHE_MB of the growth run that reaches its budget")
    parser.add_argument("--quick", action="store_true",
                        help="2-epoch default and largest runs; 8 growth experiments, only with a 2 MB budget (CI)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["default", "largest", "growth"])
    arguments = parser.parse_args()
    experiments = 8 if arguments.quick else arguments.experiments
    budget = 2 if arguments.quick else arguments.budget_mb
    figures: dict = {"quick": arguments.quick, "command": " ".join(["python", "-m", "bench.memory", *sys.argv[1:]])}
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        if "default" not in arguments.skip:
            figures["default"] = default_experiment(browser, 2 if arguments.quick else None)
            print("default:", figures["default"], flush=True)
        if "largest" not in arguments.skip:
            figures["largest"] = largest_experiment(browser, QUICK_LARGEST if arguments.quick else LARGEST)
            print("largest:", {k: v for k, v in figures["largest"].items() if k != "config"}, flush=True)
        if "growth" not in arguments.skip:
            if not arguments.quick:
                figures["growth_default_budget"] = growth(browser, experiments, arguments.per_session, DEFAULT_CACHE_MB, False)
            figures["growth_budget_reached"] = growth(browser, experiments, arguments.per_session, budget, not arguments.quick)
        browser.close()
    if "growth" not in arguments.skip:
        figures["cache_per_run"] = cache_per_run(arguments.quick)
        for key in ("growth_default_budget", "growth_budget_reached"):
            if key in figures:
                figures[key]["summary"] = summarise(figures[key], figures["cache_per_run"]["growth_run"])
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    print_table(figures)
    print(f"bench: {figures['bench_seconds']:.0f} s")
    (results_dir() / "memory.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
