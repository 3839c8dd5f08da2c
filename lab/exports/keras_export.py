"""python -m lab export: a run folder to a standalone Keras script or notebook file; nothing is written for a refused run."""
from __future__ import annotations

import json
from pathlib import Path

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import ConfigError
from lab.exports.keras_notebook import notebook_text
from lab.exports.keras_script import CALLBACK_SOURCE, check_exportable, script_text
from lab.runs import store

EXPORT_FORMATS = ("script", "notebook")


def load_exportable(run_dir) -> tuple[ExperimentConfig, str]:
    """(config, run id) of a run folder the export takes; RunFolderError or ConfigError (one line) otherwise."""
    folder = Path(run_dir)
    try:
        result = store.load(folder, frames=())
    except store.RunFolderError:
        summary = _summary_if_readable(folder)
        if summary.get("source") == CALLBACK_SOURCE:  # a callback folder, before store.load reads them
            check_exportable(None, summary)
        raise
    check_exportable(result.config, result.summary)
    return result.config, result.run_id


def _summary_if_readable(folder: Path) -> dict:
    """summary.json as a dict when it is one, else {} (only to say why a folder is refused)."""
    try:
        summary = json.loads((folder / store.SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def export(run_dir, to: str, out) -> Path:
    """Write the run folder's export (to: script or notebook) to out; nothing is written if the run is refused."""
    if to not in EXPORT_FORMATS:
        raise ConfigError(f"--to: one of {', '.join(EXPORT_FORMATS)} (got {to!r})")
    config, run_id = load_exportable(run_dir)
    text = script_text(config, run_id) if to == "script" else notebook_text(config, run_id)
    path = Path(out)
    path.write_text(text, encoding="utf-8")
    return path
