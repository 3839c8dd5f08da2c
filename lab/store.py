"""Run folders on disk: every file written atomically, summary.json last; loaded back equal."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lab.config_io import ConfigError, config_to_yaml, load_config
from lab.result import FORMAT_VERSION, FRAME_COLUMNS, RunResult, frame

SUMMARY_FILE = "summary.json"
FRAME_FILES = {name: f"{name}.csv" for name in FRAME_COLUMNS}


class RunFolderError(ValueError):
    """A run folder that cannot be read; the message says which file and what is wrong."""


def folder_name(result_or_config, run_id: str) -> str:
    """<name>-<run_id>: the name is validated to [A-Za-z0-9_.-], so it cannot leave the output folder."""
    config = getattr(result_or_config, "config", result_or_config)
    return f"{config.name}-{run_id}"


def is_complete(folder: Path) -> bool:
    """A folder is complete only once summary.json is in place (it is written last)."""
    return (Path(folder) / SUMMARY_FILE).is_file()


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a file.

    durable=False skips fsync: the rename alone already survives a killed process (what sweeps and the
    app face); fsync adds survival of a power cut, and is kept for summary.json, which marks completion.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a run folder is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save(result: RunResult, out_dir, extra_files: dict[str, bytes] | None = None) -> Path:
    """Write result into out_dir/<name>-<run_id>/ and return the folder; a complete folder is never rewritten."""
    folder = Path(out_dir) / folder_name(result, result.run_id)
    if is_complete(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "config.yaml", config_to_yaml(result.config).encode("utf-8"), durable=False)
    for name, file_name in FRAME_FILES.items():
        write_atomic(folder / file_name, getattr(result, name).to_csv(index=False).encode("utf-8"), durable=False)
    write_atomic(folder / "probe.npy", _npy_bytes(probe_inputs(result.config)), durable=False)
    for file_name, data in (extra_files or {}).items():
        write_atomic(folder / file_name, data, durable=False)
    # Last, so a crash at any earlier moment leaves a folder that does not look complete.
    write_atomic(folder / SUMMARY_FILE, json.dumps(result.summary, indent=2, allow_nan=False).encode("utf-8"))
    return folder


def probe_inputs(config) -> np.ndarray:
    """The probe batch's inputs, regenerated from the config (data and probe draw are seeded)."""
    from lab.experiment import prepare_data

    dataset, probe_index = prepare_data(config)
    return dataset.x_train[probe_index]


def _npy_bytes(array: np.ndarray) -> bytes:
    """An array in .npy format, in memory."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def load(path) -> RunResult:
    """Read a complete run folder back into a RunResult equal to the one saved."""
    folder = Path(path)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: no such run folder")
    summary = _read_summary(folder)
    try:
        config = load_config(folder / "config.yaml")
    except ConfigError as error:
        raise RunFolderError(f"{folder}/config.yaml: {error}") from None
    frames = {name: _read_frame(folder / file_name, name) for name, file_name in FRAME_FILES.items()}
    return RunResult(config=config, summary=summary, **frames)


def _read_summary(folder: Path) -> dict:
    """summary.json, checked for presence, JSON validity and a format version this lab can read."""
    path = folder / SUMMARY_FILE
    if not path.is_file():
        raise RunFolderError(f"{folder}: incomplete run folder ({SUMMARY_FILE} missing: the run was interrupted)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("format_version"), int):
        raise RunFolderError(f"{path}: not a run summary (no integer format_version)")
    if summary["format_version"] > FORMAT_VERSION:
        raise RunFolderError(
            f"{path}: format_version {summary['format_version']} was written by a newer lab; this one reads up to {FORMAT_VERSION}"
        )
    return summary


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    """One CSV of the contract, with its columns checked and dtypes restored; floats read back exactly."""
    try:
        data = pd.read_csv(path)  # pandas 3 parses floats round-trip exactly by default
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None
    except pd.errors.EmptyDataError:
        raise RunFolderError(f"{path}: empty (expected at least the header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise RunFolderError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    missing = [column for column in FRAME_COLUMNS[name] if column not in data.columns]
    if missing:
        raise RunFolderError(f"{path}: missing columns {', '.join(missing)}")
    try:
        return frame(name, data[list(FRAME_COLUMNS[name])].to_dict("records"))
    except (ValueError, TypeError) as error:
        raise RunFolderError(f"{path}: a column has values of the wrong type ({error})") from None
