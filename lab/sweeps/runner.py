"""Sweeps: grid x seeds, run locally (a spawn process pool) or on a Ray cluster; resumable; sweep.csv last.

Layout of a sweep folder D: D/sweep.yaml (expanded), D/runs/<name>-<run_id>/ (one complete run folder
per finished run, without charts), D/sweep.csv (rows in grid order then seed order, no wall times, so
an interrupted-then-resumed sweep writes the same file as an uninterrupted one), D/sweep_charts.*.
Local workers share this machine's disk and write their run folders themselves; on Ray, results travel
back and this process writes them, so workers need no shared disk.
"""
from __future__ import annotations

import atexit
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab.contract.config_io import ConfigError, config_to_yaml, run_id_of_yaml
from lab.readings.report import run_figures
from lab.runs.store import folder_name, is_complete, save, write_atomic
from lab.sweeps.sweep_config import PlannedRun, SweepConfig, expand, expanded_yaml, load_sweep
from lab.sweeps.table import error_row, identity, row_from_folder, table

ENGINES = ("local", "ray")
MAX_BATCH = 25  # runs per task: amortises process round trips, small enough to lose little to a kill


@dataclass
class SweepProgress:
    """Counts for the progress bar."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def batched_by_cell(planned: PlannedRun) -> bool:
    """Whether seeds of the cell go to one worker as a batch (runs at initialisation, milliseconds each)."""
    return planned.config.training.epochs == 0


def batches(pending: list[PlannedRun], workers: int) -> list[list[PlannedRun]]:
    """Runs at initialisation: consecutive seeds of one grid cell, a few batches per worker; training runs: one each.

    Batching seeds of a cell lets one worker build and trace its architecture once for all of them (a
    seed then costs milliseconds). A training run takes seconds, so a batch would only make the last worker
    finish alone, with the others idle; each worker still builds an architecture once and reuses it for every
    training run of it that it is given (lab.sweeps.worker.reused_components).
    """
    reusable = sum(1 for planned in pending if batched_by_cell(planned))
    size = max(1, min(MAX_BATCH, math.ceil(reusable / max(1, workers * 4))))
    groups, current = [], []
    for planned in pending:
        alone = not batched_by_cell(planned)
        if current and (alone or len(current) >= size or current[-1].cell != planned.cell):
            groups.append(current)
            current = []
        current.append(planned)
    return groups + ([current] if current else [])


WORKER_ENVIRONMENT = {"LAB_TF_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def watch_parent() -> None:
    """End this worker when the sweep's driver dies (SIGKILL, the OOM killer): the pool would never tell it.

    An orphaned worker would go on writing run folders that a rerun may be writing too, then wait forever
    holding TensorFlow. A daemon thread polls the parent's pid (portable, unlike prctl's PDEATHSIG).
    """
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def start_worker() -> None:
    """Pool initializer: one TensorFlow thread, TensorFlow imported at start, and no interpreter teardown at exit.

    The variables are set here, not inherited: the parent's `import lab` already copied its own
    LAB_TF_THREADS into TF_NUM_*_THREADS, and N workers of one thread each is what fills N cores (as on
    Ray). TensorFlow is imported with them before the worker takes its first batch; if that fails, the
    first run fails again with the cause, as without the initializer. At exit a worker has written its
    run folders (summary.json last) and sent its results, yet Python's teardown of TensorFlow took
    1.1-1.7 s while the sweep waited for the pool to close: os._exit skips it. Only sweep batches run in a worker,
    so it keeps TensorFlow's kernel cache for its life (the next batch needs the same kernels).
    """
    os.environ.update(WORKER_ENVIRONMENT)
    watch_parent()
    try:
        from lab.training.runtime import import_tensorflow

        import_tensorflow()
    except Exception:  # noqa: BLE001 - reported by the first run, which imports it again
        pass
    from lab.sweeps.worker import keep_kernels_for_this_process

    keep_kernels_for_this_process()
    atexit.register(os._exit, 0)  # after the import: atexit runs last-registered first, so TF's own hooks are skipped too


def run_local(groups: list[list[str]], workers: int, fast: bool = True, runs_dir: str | None = None) -> Iterator[list]:
    """Batches in this process (1 worker) or in a pool of spawned processes, one TF thread each."""
    from lab.sweeps.worker import forget_architectures, kernels_kept, run_batch

    if workers <= 1:
        try:
            with kernels_kept():  # TensorFlow's kernel cache dropped once per sweep, not after every batch
                for group in groups:
                    yield run_batch(group, fast, runs_dir)
        finally:
            forget_architectures()  # this process (the app's server, a notebook) lives on: its reused networks go
        return
    if not groups:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, never fork: TensorFlow's runtime does not survive a fork. No process for a worker without a batch.
    with ProcessPoolExecutor(max_workers=min(workers, len(groups)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=start_worker) as pool:
        futures = [pool.submit(run_batch, group, fast, runs_dir) for group in groups]
        for future in as_completed(futures):
            yield future.result()


def run_ray(groups: list[list[str]], workers: int, address: str | None, fast: bool = True) -> Iterator[list]:
    """Batches as Ray tasks; lab reaches the workers through runtime_env (py_modules)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install -r requirements-ray.txt") from None
    import lab
    from lab.sweeps.worker import run_batch

    runtime_env = {"py_modules": [str(Path(lab.__file__).parent)],
                   "env_vars": {"LAB_TF_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}}
    started_here = not ray.is_initialized()
    if started_here:
        options = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(runtime_env=runtime_env, log_to_driver=False, **options)
    try:
        task = ray.remote(num_cpus=1)(run_batch)
        waiting = [task.remote(group, fast) for group in groups]
        while waiting:
            finished, waiting = ray.wait(waiting, num_returns=1)
            yield ray.get(finished[0])
    finally:
        if started_here:
            ray.shutdown()


def plan_sweep(source, quick: bool = False) -> tuple[SweepConfig, dict, list[PlannedRun]]:
    """Load and expand a sweep, validating every cell before anything runs."""
    sweep, base = load_sweep(source, quick=quick)
    return sweep, base, expand(sweep, base, quick=quick)


def run_sweep(source, out_dir, workers: int = 1, engine: str = "local", address: str | None = None, quick: bool = False,
              on_progress: Callable[[SweepProgress], None] | None = None, fast: bool = True) -> tuple[Path, SweepProgress]:
    """Run (or resume) a sweep into out_dir; returns (sweep.csv's path, the final counts).

    fast=False builds a fresh model for every run even at initialisation (for benchmarks and checks).
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine: must be one of {', '.join(ENGINES)} (got {engine!r})")
    sweep, base, planned = plan_sweep(source, quick)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    document = expanded_yaml(sweep, base, planned, quick)
    if (out / "sweep.yaml").exists() and (out / "sweep.yaml").read_text(encoding="utf-8") != document:
        raise ConfigError(f"{out}: holds a different sweep (its sweep.yaml differs); choose another --out")
    write_atomic(out / "sweep.yaml", document.encode("utf-8"))
    runs_dir = out / "runs"
    texts = [config_to_yaml(item.config) for item in planned]  # once per run: ids, tasks and lookups share it
    ids = [run_id_of_yaml(text) for text in texts]
    pending = [item for item, run_id in zip(planned, ids) if not is_complete(runs_dir / folder_name(item.config, run_id))]
    progress = SweepProgress(total=len(planned), done=len(planned) - len(pending), skipped=len(planned) - len(pending))
    if on_progress:
        on_progress(progress)
    grid_keys = sweep.grid_keys  # a tied axis contributes its dotted keys, one column each
    rows, failed = {}, set()
    groups = [[texts[item.index] for item in group] for group in batches(pending, workers)]
    by_yaml = {texts[item.index]: item for item in pending}
    if engine == "local":
        outcomes = run_local(groups, workers, fast, str(runs_dir))
    else:
        outcomes = run_ray(groups, workers, address, fast)
    for batch in outcomes:
        for text, result, error, row_figures in batch:
            item = by_yaml[text]
            if error:
                failed.add(item.index)
                progress.failed += 1
                progress.errors.append(f"run {item.index} (cell {item.cell}, seed {item.seed}): {error}")
            elif result is not None:  # from Ray: the driver writes the folder (summary.json last)
                save(result, runs_dir)
                rows[item.index] = {**identity(item, grid_keys, result.run_id), **run_figures(result)}
            else:  # a local worker wrote the folder itself
                rows[item.index] = {**identity(item, grid_keys, ids[item.index]), **row_figures}
            progress.done += 1
            if on_progress:
                on_progress(progress)
    final_rows = []
    for item, run_id in zip(planned, ids):
        if item.index in failed:
            final_rows.append(error_row(item, grid_keys, run_id))
        elif item.index in rows:
            final_rows.append(rows[item.index])
        else:
            final_rows.append(row_from_folder(runs_dir / folder_name(item.config, run_id), item, grid_keys, run_id))
    frame = table(final_rows)
    write_atomic(out / "sweep.csv", frame.to_csv(index=False).encode("utf-8"))
    write_sweep_charts(frame, planned, out)
    return out / "sweep.csv", progress


def write_sweep_charts(frame, planned: list[PlannedRun], out: Path) -> None:
    """The depth, born-dead, phase and time views, with theory, beside sweep.csv (only where they apply)."""
    from lab.charts.phase_sweep_charts import cell_settings, phase_sweep_charts, phase_views
    from lab.charts.sweep_charts import save_sweep_charts
    from lab.charts.time_sweep_charts import time_sweep_charts, time_sweep_views
    from lab.sweeps.theory_views import chance_accuracy, theory_frames, time_theory

    depth_theory, dead_theory = theory_frames(frame, planned)
    phase = phase_sweep_charts(frame, cell_settings(planned)) if phase_views(frame) else {}
    time = time_sweep_charts(frame, time_theory(planned), chance_accuracy(planned)) if time_sweep_views(frame) else {}
    save_sweep_charts(frame, out, theory_depth=depth_theory, theory_dead=dead_theory, extra={**phase, **time})
