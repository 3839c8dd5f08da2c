"""Time to an answer in the app, in a real browser: first paint, Train to charts (fresh and warm), cached rerun.

    python -m bench.app_timing [--repeats 3] [--quick]

Each repeat starts a fresh `streamlit run` server. Prints a table of medians and writes bench/results/app_timing.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import results_dir
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop_streamlit

CHARTS_DRAWN = ("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
                "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= {count}")
SCRIPT_IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"


def press_train_and_wait(page, charts: int) -> float:
    """Seconds from clicking Train to the script idle with the charts drawn."""
    started = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.wait_for_timeout(100)  # let the rerun begin before waiting for it to end
    page.wait_for_function(SCRIPT_IDLE, timeout=300_000)
    page.wait_for_function(CHARTS_DRAWN.format(count=charts), timeout=300_000)
    return time.perf_counter() - started


def one_repeat(browser, epochs: int | None) -> dict:
    """Every figure of one fresh server."""
    port = free_port()
    started = time.perf_counter()
    process = start_streamlit(port, timeout_seconds=120)
    health = time.perf_counter() - started  # until the server's health check answers
    url = f"http://127.0.0.1:{port}/"
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 2600})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_function(CHARTS_DRAWN.format(count=10), timeout=120_000)
        first_paint = health + time.perf_counter() - started
        suffix = f"?training.epochs={epochs}" if epochs is not None else ""
        page.goto(url + "experiment" + suffix)
        page.get_by_role("button", name="Train").wait_for()
        fresh = press_train_and_wait(page, 5)
        cached = press_train_and_wait(page, 5)
        # A new config in the warm server (not in the cache): the URL's experiment runs on opening, which is
        # what pressing Train does; timed from navigation to the new run's caption and charts.
        started = time.perf_counter()
        page.goto(url + "experiment" + (suffix + "&" if suffix else "?") + "seed=1")
        page.get_by_text("seed 1", exact=False).first.wait_for(timeout=120_000)
        page.wait_for_function(CHARTS_DRAWN.format(count=5), timeout=120_000)
        warm = time.perf_counter() - started
        context.close()
        return {"first_paint_s": first_paint, "server_health_s": health, "train_fresh_server_s": fresh,
                "train_warm_server_s": warm, "cached_rerun_s": cached}
    finally:
        stop_streamlit(process)


def main() -> None:
    """Run the repeats and print medians against the goals."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, 2 epochs (CI: the harness cannot rot)")
    arguments = parser.parse_args()
    repeats, epochs = (1, 2) if arguments.quick else (arguments.repeats, None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        runs = [one_repeat(browser, epochs) for _ in range(repeats)]
        browser.close()
    goals = {"first_paint_s": 3.0, "train_fresh_server_s": 12.0, "train_warm_server_s": 3.0, "cached_rerun_s": 0.5}
    medians = {key: statistics.median(run[key] for run in runs) for key in goals}
    print(f"{'figure':<24}{'median s':>10}{'goal s':>8}  runs")
    for key, goal in goals.items():
        print(f"{key:<24}{medians[key]:>10.2f}{goal:>8.1f}  " + ", ".join(f"{run[key]:.2f}" for run in runs))
    out = results_dir()
    figures = {"medians": medians, "goals": goals, "runs": runs, "quick": arguments.quick}
    (out / "app_timing.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
