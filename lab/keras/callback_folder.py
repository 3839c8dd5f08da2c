"""The run folder of a GradientFlow callback: the lab's files without config.yaml, and a summary that says where it came from."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from lab.contract.result import FORMAT_VERSION, LAB_VERSION, frame
from lab.keras.model_rows import describe, layer_kind
from lab.runs.store import CALLBACK_SOURCE, SUMMARY_FILE, is_complete, npy_bytes, write_atomic
from lab.training.run import final_metrics, versions


class FolderTaken(ValueError):
    """The folder already holds a complete run (a complete run folder is never rewritten)."""


def check_folder(folder: Path) -> None:
    """Refuse a folder that already holds a complete run, or a path that cannot become a folder."""
    if is_complete(folder):
        raise FolderTaken(f"folder {folder}: it already holds a complete run (summary.json); give each run its own folder")
    existing = next((ancestor for ancestor in (folder, *folder.parents) if ancestor.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"folder {folder}: {existing} is a file; folder must be a folder (created if missing)")


def json_safe(value):
    """A Keras config made JSON-safe (a schedule, a dtype policy or a numpy number becomes its text)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def run_id_of_model(model, inputs: np.ndarray, labels: np.ndarray) -> str:
    """First 12 hex digits of sha256 of the model config, the optimizer config and the probe's bytes.

    Names are replaced by positions first: Keras numbers auto-named layers and optimizers per process (dense_3,
    input_layer_1, sgd_1), so the same model built twice would otherwise get two ids; a name changes no number.
    """
    config = json_safe(model.get_config())
    names = [model.name, *layer_names(config)]
    model_text = json.dumps(config, sort_keys=True)
    for position, name in sorted(enumerate(names), key=lambda item: -len(item[1])):  # longest first: dense_1 before dense
        model_text = model_text.replace(json.dumps(name), json.dumps(f"#{position}"))
    optimizer = {key: value for key, value in json_safe(model.optimizer.get_config()).items() if key != "name"}
    digest = hashlib.sha256()
    digest.update(model_text.encode("utf-8"))
    digest.update(json.dumps(optimizer, sort_keys=True).encode("utf-8"))
    digest.update(np.ascontiguousarray(inputs).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()[:12]


def layer_names(config) -> list[str]:
    """Every layer's name in a Keras model config (the input layer's too), in order."""
    found = []
    if isinstance(config, dict):
        inner = config.get("config")
        if "class_name" in config and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            found.append(inner["name"])
        for value in config.values():
            found += layer_names(value)
    elif isinstance(config, list):
        for value in config:
            found += layer_names(value)
    return list(dict.fromkeys(found))


def summary_of(model, rows, run_id: str, history, every, steps: int, epochs: int, wall_time: float, probe_size: int) -> dict:
    """summary.json of a callback run: the lab's keys, and the model, optimizer and loss in place of a config.

    rows: (recurrent rows, Dense rows) as lab.keras.model_rows.read_rows gives them.
    """
    recurrent, dense = rows
    finite = history["loss"].map(np.isfinite).all() if len(history) else True
    return {
        "format_version": FORMAT_VERSION,
        "lab_version": LAB_VERSION,
        "source": CALLBACK_SOURCE,
        "run_id": run_id,
        "name": model.name,
        "model": {
            "name": model.name,
            "depth": len(recurrent) + len(dense) - 1,  # hidden rows (recurrent, then Dense); the last row is the output
            "layers": [{"name": layer.name, "class": layer_kind(layer)} for layer in model.layers],
            "rows": describe(recurrent, dense),
        },
        "optimizer": json_safe(model.optimizer.get_config()),
        "loss": json_safe(model.loss if isinstance(model.loss, str) else getattr(model.loss, "name", str(model.loss))),
        "probe": {"num_samples": probe_size, "every": every},
        "status": "ok" if finite else "diverged",
        "message": (f"model.fit: {steps} steps in {epochs} epochs, recorded by GradientFlow" if finite
                    else "the training loss became NaN or infinite (model.fit went on; Keras' TerminateOnNaN stops it)"),
        "final": final_metrics(history),
        "steps": int(steps),
        "wall_time_seconds": round(wall_time, 3),
        "versions": versions(),
        "seed": None,
        "threads": None,
    }


def write_folder(folder: Path, model, rows, run_id: str, frames: tuple, inputs: np.ndarray, every, steps: int, epochs: int,
                 wall_time: float, recurrence: list | None = None) -> Path:
    """Write the frames, probe.npy and (last, atomically) summary.json into folder; a complete folder is refused."""
    check_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers, history, histograms, timesteps = frames
    tables = [("layers", layers), ("history", history), ("histograms", histograms), ("boundary", frame("boundary"))]
    for name, table in tables + ([("timesteps", timesteps)] if timesteps is not None else []):
        write_atomic(folder / f"{name}.csv", table.to_csv(index=False).encode("utf-8"), durable=False)
    write_atomic(folder / "probe.npy", npy_bytes(inputs), durable=False)
    summary = summary_of(model, rows, run_id, history, every, steps, epochs, wall_time, len(inputs))
    if recurrence is not None:  # recurrent models only, as for the lab's rnn runs
        summary["recurrence"] = recurrence
    write_atomic(folder / SUMMARY_FILE, json.dumps(summary, indent=2, allow_nan=False).encode("utf-8"))
    return folder
