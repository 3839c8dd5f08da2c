"""Run folders on disk: every file written atomically, summary.json last; loaded back equal."""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lab.contract.config_io import ConfigError, config_to_yaml, load_config
from lab.contract.csv_source import run_files
from lab.contract.result import (
    FORMAT_VERSION,
    FRAME_COLUMNS,
    INTEGER_COLUMNS,
    OPTIONAL_FRAMES,
    TEXT_COLUMNS,
    RunResult,
    column_dtype,
    frame,
    optional_frames_of,
)

SUMMARY_FILE = "summary.json"
# summary.json's source of a run recorded by lab.keras.GradientFlow in a user's model.fit: no config.yaml, and
# RunResult.config is None (the model, optimizer and loss are described in the summary instead).
CALLBACK_SOURCE = "keras_callback"
# Written by every run (format_version 1 on).
FRAME_FILES = {name: f"{name}.csv" for name in FRAME_COLUMNS if name not in OPTIONAL_FRAMES}
# Written only when the config asks (probe.propagation, format_version 2 on; model.kind rnn, 3 on); a folder without
# them loads with those frames empty: whether they were written is decided by which files are present.
OPTIONAL_FRAME_FILES = {name: f"{name}.csv" for name in OPTIONAL_FRAMES}
# What the summary printed by `run` and `show` needs, with the JSON types it must have.
SUMMARY_FIELDS = {"run_id": str, "status": str}
STATUSES = ("ok", "diverged", "error", "stopped")


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
    for name in optional_frames_of(result.config):
        write_atomic(folder / OPTIONAL_FRAME_FILES[name], getattr(result, name).to_csv(index=False).encode("utf-8"),
                     durable=False)
    write_atomic(folder / "probe.npy", npy_bytes(probe_inputs(result.config)), durable=False)
    for file_name, data in (extra_files or {}).items():
        write_atomic(folder / file_name, data, durable=False)
    for file_name, data in run_files(result.config).items():  # a csv run's data.csv: its config.yaml reruns from here
        write_atomic(folder / file_name, data, durable=False)
    # Last, so a crash at any earlier moment leaves a folder that does not look complete.
    write_atomic(folder / SUMMARY_FILE, json.dumps(result.summary, indent=2, allow_nan=False).encode("utf-8"))
    return folder


def probe_inputs(config) -> np.ndarray:
    """The probe batch's inputs, regenerated from the config (data and probe draw are seeded)."""
    from lab.contract.run_data import prepare_data

    dataset, probe_index = prepare_data(config)
    return dataset.x_train[probe_index]


def npy_bytes(array: np.ndarray) -> bytes:
    """An array in .npy format, in memory."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def load(path, frames=(*FRAME_FILES, *OPTIONAL_FRAME_FILES)) -> RunResult:
    """Read a complete run folder back into a RunResult equal to the one saved.

    frames names the frames to read (all by default); the others come back empty with their columns,
    for readers such as sweep.csv that need only summary.json and layers.csv of thousands of folders.
    """
    folder = Path(path)
    if "\x00" in str(folder):
        raise RunFolderError(f"{str(folder)!r}: not a valid folder name (it contains a NUL byte)")
    if not folder.is_dir():
        what = "a file, not a run folder" if folder.is_file() else "no such run folder"
        raise RunFolderError(f"{folder}: {what} (a run folder holds summary.json, config.yaml and the CSVs)")
    if (folder / "sweep.csv").is_file() and not (folder / SUMMARY_FILE).exists():
        raise RunFolderError(f"{folder}: a sweep folder; its run folders are in {folder / 'runs'}")
    summary = _read_summary(folder)
    if summary.get("source") == CALLBACK_SOURCE:
        config, depth = None, _callback_depth(summary, folder / SUMMARY_FILE)  # a user's model: no config.yaml
    else:
        config = _read_config(folder)
        depth = config.model.depth
    read = {name: _read_frame(folder / file_name, name) if name in frames else frame(name)
            for name, file_name in FRAME_FILES.items()}
    # Optional frames: read when present (an older folder, or a run that did not ask for them, has none).
    read.update({name: _read_frame(folder / file_name, name) if name in frames and (folder / file_name).is_file()
                 else frame(name) for name, file_name in OPTIONAL_FRAME_FILES.items()})
    if "layers" in frames:
        _check_layers(read["layers"], depth, folder / FRAME_FILES["layers"])
    return RunResult(config=config, summary=summary, **read)


def _read_config(folder: Path):
    """config.yaml of a lab run folder, validated; a RunFolderError naming the file otherwise."""
    try:
        return load_config(folder / "config.yaml")
    except ConfigError as error:
        message = str(error)
        # read_text's messages start with the path already; validation messages name a field.
        raise RunFolderError(message if message.startswith(str(folder)) else f"{folder / 'config.yaml'}: {message}") from None


def _callback_depth(summary: dict, path: Path) -> int:
    """The hidden rows of a callback run (summary.json's model.depth), checked."""
    depth = (summary.get("model") or {}).get("depth") if isinstance(summary.get("model"), dict) else None
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise RunFolderError(f"{path}: a keras_callback run's summary needs model.depth, a whole number >= 0")
    return depth


def _read_summary(folder: Path) -> dict:
    """summary.json, checked for presence, JSON validity, a readable format version and the fields shown."""
    path = folder / SUMMARY_FILE
    if path.exists() and not path.is_file():
        raise RunFolderError(f"{path}: not a file; a run folder's summary is a JSON file")
    if not path.is_file():
        raise RunFolderError(f"{folder}: incomplete run folder ({SUMMARY_FILE} missing: the run was interrupted)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path}: not valid JSON ({error})") from None
    except RecursionError:
        raise RunFolderError(f"{path}: not a run summary (nested too deeply)") from None
    except OSError as error:
        raise RunFolderError(f"{path}: cannot be read ({error.strerror or error})") from None
    version = summary.get("format_version") if isinstance(summary, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunFolderError(f"{path}: not a run summary (no integer format_version)")
    if version > FORMAT_VERSION:
        raise RunFolderError(f"{path}: format_version {version} was written by a newer lab; "
                             f"this one reads up to {FORMAT_VERSION}")
    for key, kind in SUMMARY_FIELDS.items():
        if not isinstance(summary.get(key), kind):
            raise RunFolderError(f"{path}: {key} is missing or not {kind.__name__}; a run summary has it")
    if summary["status"] not in STATUSES:
        raise RunFolderError(f"{path}: status must be one of {', '.join(STATUSES)} (got {summary['status']!r})")
    final = summary.get("final", {})
    if not isinstance(final, dict) or any(not _is_number_or_null(value) for value in final.values()):
        raise RunFolderError(f"{path}: final must be a mapping of metric names to numbers or null")
    return summary


def _is_number_or_null(value) -> bool:
    """A JSON number (not a boolean) or null."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    """One CSV of the contract, with its columns checked and dtypes restored; floats read back exactly."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None
    except OSError as error:
        raise RunFolderError(f"{path}: cannot be read ({error.strerror or error})") from None
    if data and not data.endswith(b"\n"):
        # to_csv ends every file with a newline and files are replaced atomically: no newline means cut short.
        raise RunFolderError(f"{path}: truncated (its last line is incomplete); the run folder is damaged")
    try:
        # Text columns stay text: a run_id of 12 decimal digits (or like 3e1234567890) is not a number.
        table = pd.read_csv(io.BytesIO(data), dtype={column: str for column in TEXT_COLUMNS})
    except pd.errors.EmptyDataError:
        raise RunFolderError(f"{path}: empty (expected at least the header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise RunFolderError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    columns = FRAME_COLUMNS[name]
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise RunFolderError(f"{path}: missing columns {', '.join(missing)} (expected {', '.join(columns)})")
    for column in columns:
        try:
            np.array(table[column].to_list(), dtype=column_dtype(column))  # as frame() converts: NaN is no int
        except (ValueError, TypeError, OverflowError):
            kind = "whole numbers" if column in INTEGER_COLUMNS else "numbers"
            raise RunFolderError(f"{path}: column {column} must hold {kind}, with no empty cells") from None
    return frame(name, table[list(columns)].to_dict("records"))


def _check_layers(layers: pd.DataFrame, depth: int, path: Path) -> None:
    """Every recorded step has one row per layer, 1..depth hidden then the output: a cut file fails here."""
    if layers.empty:
        raise RunFolderError(f"{path}: no rows; a run records at least step 0")
    expected_layers = list(range(1, depth + 2))
    expected_kinds = ["hidden"] * depth + ["output"]
    for step, rows in layers.groupby("step", sort=False):
        rows = rows.sort_values("layer")
        if list(rows["layer"]) != expected_layers or list(rows["layer_kind"]) != expected_kinds:
            raise RunFolderError(
                f"{path}: step {step} does not have one row per layer 1..{depth + 1} "
                f"({depth} hidden, then the output), as config.yaml's model.depth says"
            )
