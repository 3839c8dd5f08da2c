"""Benchmarks that print ratios measured side by side in one run; see README "Performance".

Each runs from the repository's root as `python -m bench.<script>` (the lab installed: `pip install -e .`)."""
from __future__ import annotations

import os
from pathlib import Path


def results_dir() -> Path:
    """Where a script writes its JSON: bench/results/, or LAB_BENCH_RESULTS (the CI smoke test's temp folder)."""
    folder = Path(os.environ.get("LAB_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
