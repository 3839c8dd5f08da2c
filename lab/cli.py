"""Headless entry point: `python -m lab run|fix|sweep|show ...` -> run folders and one-screen summaries."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab.contract.config_io import ConfigError, load_config, parse_override, run_id_of
from lab.contract.resources import check_resources, headless_limits
from lab.readings.fix_it import REMEDIES
from lab.runs.store import RunFolderError, folder_name, is_complete
from lab.text.i18n import LANGUAGES

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 1, 2, 3
EXIT_STALE = 1  # config-reference --check: the page on disk is not what the schema generates


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit with EXIT_BAD_INPUT."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line: run and show."""
    parser = _Parser(prog="python -m lab", description="Vanishing Gradient Lab, headless.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="train one experiment and write its run folder")
    run.add_argument("config", help="experiment YAML file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a field, e.g. --set model.depth=20 (value parsed as YAML)")
    run.add_argument("--out", default="runs", help="output folder (default: runs/)")
    run.add_argument("--quick", action="store_true", help="shrink the experiment (see docs/experiments.md) for a fast check")
    sweep = commands.add_parser("sweep", help="run a grid x seeds sweep (resumable) and write sweep.csv")
    sweep.add_argument("sweep", help="sweep YAML file (name, base, grid, seeds)")
    sweep.add_argument("--out", required=True, help="sweep folder (rerunning into it skips finished runs)")
    sweep.add_argument("--workers", type=int, default=1, help="parallel workers (default 1)")
    sweep.add_argument("--engine", choices=("local", "ray"), default="local", help="local process pool, or Ray tasks")
    sweep.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray instance)")
    sweep.add_argument("--quick", action="store_true", help="first and last value of each axis, at most 3 seeds, quick runs")
    fix = commands.add_parser("fix", help="re-run a saved run with one remedy, write its folder, say what changed")
    fix.add_argument("run_dir", help="a run folder written by `run` (or downloaded from the app)")
    fix.add_argument("--remedy", choices=list(REMEDIES), default=None,
                     help="the remedy (default: the one the run's numbers point to; see docs/remedies.md)")
    fix.add_argument("--out", default="runs", help="output folder for the remedied run (default: runs/)")
    show = commands.add_parser("show", help="print the summary of a saved run folder (or a .zip the app downloaded)")
    show.add_argument("run_dir", help="a run folder written by `run`, or a .zip of one (the app's download)")
    tour = commands.add_parser("tour", help="run the guided tour's experiments and print what they measured")
    tour.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the sentences (default en)")
    tour.add_argument("--quick", action="store_true", help="shrunk presets (seconds; the claims need the full sizes)")
    claims = commands.add_parser("claims", help="run every preset with a claim and print what it measured against the claim")
    claims.add_argument("--quick", action="store_true", help="shrunk presets (the claims need the full sizes)")
    tensorboard = commands.add_parser("tensorboard", help="write run folders as TensorBoard event files, one subfolder each")
    tensorboard.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (written by `run`, or by lab.keras)")
    tensorboard.add_argument("--logdir", required=True, help="folder for `tensorboard --logdir` (created if missing)")
    export = commands.add_parser("export", help="write a run as a standalone Keras script or notebook (docs/export.md)")
    export.add_argument("run_dir", help="a run folder written by `run` (or downloaded from the app)")
    export.add_argument("--to", required=True, metavar="script|notebook", help="script (a .py file) or notebook (.ipynb)")
    export.add_argument("--out", required=True, help="the file to write")
    reference = commands.add_parser("config-reference", help="write docs/config.md (every config field and rule) from the schema")
    reference.add_argument("--check", action="store_true", help="write nothing; exit 1 if docs/config.md is stale")
    return parser


def print_summary(result, folder) -> None:
    """The one-screen summary, then the signal propagation tables when the run recorded them (run, show and fix alike)."""
    from lab.readings import report
    from lab.readings.propagation_text import propagation_text

    print(report.summary_text(result, folder))
    propagation = propagation_text(result)
    if propagation:
        print(f"\n{propagation}")


def command_run(arguments) -> int:
    """Validate, train with a progress bar, save, print the summary."""
    overrides = dict(parse_override(text) for text in arguments.overrides)
    config = load_config(Path(arguments.config), overrides=overrides, quick=arguments.quick)
    result, folder = train_or_load(config, arguments.out)
    print_summary(result, folder)
    return exit_status(result)


def train_or_load(config, out: str):
    """(result, folder): train config and save its folder under out, or load it if already complete there."""
    from lab.runs import store
    from lab.training.run import run

    check_resources(config, headless_limits())  # refused before anything is built, with the estimate
    check_output_folder(out)
    folder = Path(out) / folder_name(config, run_id_of(config))
    if is_complete(folder):
        # Same resolved config, same id, same numbers: a complete folder is never rewritten.
        print(f"already complete (same config, same run id): {folder}", file=sys.stderr)
        return store.load(folder), folder
    from lab.charts.run_charts import chart_files

    result = run(config, on_progress=_progress_bar())
    # Charts go in before summary.json, so a complete folder always has them.
    return result, store.save(result, out, extra_files=chart_files(result))


def exit_status(result) -> int:
    """EXIT_OK for a run that finished, else an error line and EXIT_DIVERGED."""
    if result.status != "ok":
        print(f"error: run {result.status}: {result.summary['message']}", file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_OK


def command_fix(arguments) -> int:
    """The app's "Fix it", headless: the saved run's config with one remedy, trained and saved, then what changed."""
    from lab.readings.fix_it import applicable_remedies, comparison_sentences, remedied_config, suggested_remedy
    from lab.runs import store

    before = store.load(Path(arguments.run_dir))
    if before.config is None:
        raise ConfigError(f"{arguments.run_dir}: a run recorded by lab.keras.GradientFlow in your own model.fit has no "
                          "config.yaml to re-run; Fix it works on the lab's runs (python -m lab run)")
    remedy = arguments.remedy or suggested_remedy(before)
    if remedy is None:
        raise ConfigError(f"--remedy: this run's numbers point to no particular remedy; choose one of "
                          f"{', '.join(applicable_remedies(before.config))}")
    try:
        config = remedied_config(before.config, remedy)
    except ValueError as error:
        raise ConfigError(f"--{error}") from None
    after, folder = train_or_load(config, arguments.out)
    print_summary(after, folder)
    print(f"\nFix it ({remedy}), compared with {arguments.run_dir}:")
    print("\n".join(f"- {sentence}" for sentence in comparison_sentences(before, after, remedy)))
    return exit_status(after)


def _progress_bar():
    """An on_progress callback drawing a tqdm bar on stderr (steps done / total)."""
    from tqdm import tqdm

    bar = {}

    def on_progress(step, total_steps, layers, history):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=max(total_steps, 1), unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
        bar["bar"].n = step
        if not history.empty:
            last = history.iloc[-1]
            bar["bar"].set_postfix(epoch=int(last["epoch"]), loss=f"{last['loss']:.4f}", accuracy=f"{last['accuracy']:.3f}")
        bar["bar"].refresh()
        if step >= total_steps:
            bar["bar"].close()

    return on_progress


def check_output_folder(out: str) -> None:
    """Refuse an --out that cannot become a folder before anything runs (a run would train in vain)."""
    if "\x00" in out:
        raise ConfigError(f"--out {out!r}: not a valid folder name (it contains a NUL byte)")
    path = Path(out)
    existing = next((ancestor for ancestor in (path, *path.parents) if ancestor.exists()), None)
    if existing is None:
        return
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file; --out must be a folder (created if missing)")
    if not os.access(existing, os.W_OK):
        raise ConfigError(f"--out {out}: {existing} is not writable; choose a folder you can write to")


def command_sweep(arguments) -> int:
    """Validate every cell, run with a progress bar, print where the table is and what failed."""
    from tqdm import tqdm

    from lab.sweeps.runner import run_sweep

    if arguments.workers < 1:
        raise ConfigError(f"--workers: at least 1 (got {arguments.workers})")
    check_output_folder(arguments.out)
    check_sweep_resources(Path(arguments.sweep), arguments.quick)
    bar = {}

    def on_progress(progress):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=progress.total, initial=progress.done, unit="run", file=sys.stderr, dynamic_ncols=True)
        bar["bar"].n = progress.done
        bar["bar"].set_postfix(failed=progress.failed, skipped=progress.skipped)
        bar["bar"].refresh()

    table_path, progress = run_sweep(Path(arguments.sweep), arguments.out, arguments.workers, arguments.engine,
                                     arguments.address, arguments.quick, on_progress)
    if "bar" in bar:
        bar["bar"].close()
    print(f"{progress.total} runs ({progress.skipped} already finished, {progress.failed} failed): {table_path}")
    for line in progress.errors[:10]:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_INTERNAL if progress.failed else EXIT_OK


def check_sweep_resources(path: Path, quick: bool) -> None:
    """Every run of the sweep within the caps, checked before the first one starts; the first over names its cell."""
    from lab.sweeps.runner import plan_sweep

    limits = headless_limits()
    for planned in plan_sweep(path, quick)[2]:
        try:
            check_resources(planned.config, limits)
        except ConfigError as error:
            raise ConfigError(f"sweep cell {planned.cell_values}: {error}") from None


def command_show(arguments) -> int:
    """Print the same summary for a saved run (the propagation tables too, when it recorded them)."""
    from lab.runs import store

    folder = Path(arguments.run_dir)
    if folder.suffix.lower() == ".zip" and folder.is_file():
        from lab.runs.archive import load_zip  # a run folder as the app's download gives it

        result = load_zip(folder.read_bytes())
    else:
        result = store.load(folder)
    print_summary(result, folder)
    return EXIT_OK


def command_tour(arguments) -> int:
    """The app's guided tour, headless: each section's runs and the sentences computed from them."""
    from lab.readings.tour import tour_text

    print(tour_text(arguments.lang, arguments.quick))
    return EXIT_OK


def command_claims(arguments) -> int:
    """Every preset's claim, measured."""
    from lab.readings.claims_table import print_claims

    print_claims(arguments.quick)
    return EXIT_OK


def command_tensorboard(arguments) -> int:
    """Every run folder as TensorBoard event files in logdir/<run folder's name>/; all are read before any is written."""
    from lab.exports.tensorboard import export_runs

    for folder in export_runs(arguments.run_dirs, arguments.logdir):
        print(f"wrote {folder}")
    print(f"view them: tensorboard --logdir {arguments.logdir}  (docs/tensorboard.md)")
    return EXIT_OK


def command_export(arguments) -> int:
    """A run folder as a standalone Keras script or notebook; a run the export refuses writes nothing."""
    from lab.exports.keras_export import export

    print(f"wrote {export(arguments.run_dir, arguments.to, arguments.out)}")
    return EXIT_OK


def command_config_reference(arguments) -> int:
    """Write the config reference page, or (--check) exit 1 if the one on disk differs from the schema's."""
    from lab.contract import config_reference

    if arguments.check:
        if config_reference.is_current():
            print(f"{config_reference.DOCS_PATH}: up to date")
            return EXIT_OK
        print(f"error: {config_reference.DOCS_PATH} is stale; regenerate it with python -m lab config-reference", file=sys.stderr)
        return EXIT_STALE
    print(f"wrote {config_reference.write()}")
    return EXIT_OK


def main(argv=None) -> int:
    """Parse, dispatch, and turn every bad input into one error line and a non-zero exit."""
    arguments = build_parser().parse_args(argv)
    handlers = {"run": command_run, "fix": command_fix, "sweep": command_sweep, "show": command_show, "tour": command_tour,
                "claims": command_claims, "config-reference": command_config_reference, "export": command_export,
                "tensorboard": command_tensorboard}
    try:
        return handlers[arguments.command](arguments)
    except (ConfigError, RunFolderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted; finished run folders are intact", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - a bug: one line, and the traceback on request
        if os.environ.get("LAB_DEBUG"):
            raise
        print(f"error: internal error {type(error).__name__}: {error} (set LAB_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
