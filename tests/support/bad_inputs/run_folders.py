"""Damaged run folders: for `python -m lab show` and lab.runs.store.load. Each case damages one file of a
real, complete run folder (made once by the test) in one way."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from lab.contract.result import FORMAT_VERSION

DELETE = object()  # as a summary value: remove the key


@dataclass(frozen=True)
class Damage:
    """One way to damage one file of a run folder, and the fragments the error must contain."""

    name: str
    file: str
    how: str  # delete, write, append, truncate, keep_lines, replace, folder or summary
    argument: object
    fragments: tuple[str, ...]

    def apply(self, folder: Path) -> None:
        """Damage folder/file."""
        path = folder / self.file
        if self.how == "delete":
            path.unlink()
        elif self.how == "write":
            path.write_bytes(self.argument if isinstance(self.argument, bytes) else self.argument.encode("utf-8"))
        elif self.how == "append":
            path.write_text(path.read_text(encoding="utf-8") + self.argument, encoding="utf-8")
        elif self.how == "truncate":  # keep this share of the bytes: a write cut short
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * self.argument)])
        elif self.how == "keep_lines":  # cut at a line boundary: no half line gives it away
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            path.write_text("".join(lines[: self.argument]), encoding="utf-8")
        elif self.how == "replace":
            old, new = self.argument
            text = path.read_text(encoding="utf-8")
            assert old in text, (self.name, old)  # the damage must really happen
            path.write_text(text.replace(old, new), encoding="utf-8")
        elif self.how == "folder":
            path.unlink()
            path.mkdir()
        elif self.how == "summary":
            key, value = self.argument
            summary = json.loads(path.read_text(encoding="utf-8"))
            if value is DELETE:
                del summary[key]
            else:
                summary[key] = value
            path.write_text(json.dumps(summary), encoding="utf-8")
        else:
            raise ValueError(f"unknown damage {self.how}")


def damaged_copy(source: Path, damage: Damage, destination: Path) -> Path:
    """A copy of the run folder source at destination, with the damage applied."""
    shutil.copytree(source, destination)
    damage.apply(destination)
    return destination


NOT_JSON = ("summary.json", "not valid JSON")
NOT_A_SUMMARY = ("summary.json", "not a run summary (no integer format_version)")
LAYER_ROWS = ("layers.csv", "does not have one row per layer 1..3")  # the fixture's run has depth 2
ROW = "ffffffffffff,0,0,1,hidden,{},1,1,1,1,1,1,1,1\n"  # a layers.csv row; {} is grad_norm

RUN_FOLDER_CASES = [
    Damage("summary_missing", "summary.json", "delete", None, ("incomplete run folder", "summary.json missing")),
    Damage("summary_empty", "summary.json", "write", "", NOT_JSON),
    Damage("summary_not_json", "summary.json", "write", "{status: ok", NOT_JSON),
    Damage("summary_cut_short", "summary.json", "truncate", 0.5, NOT_JSON),
    Damage("summary_binary", "summary.json", "write", b"\xff\xfe\x00\x01", NOT_JSON),
    Damage("summary_is_a_list", "summary.json", "write", "[1, 2, 3]", NOT_A_SUMMARY),
    Damage("summary_nested_too_deeply", "summary.json", "write", "[" * 100_000 + "]" * 100_000,
        ("summary.json", "nested too deeply")),
    Damage("summary_without_format_version", "summary.json", "summary", ("format_version", DELETE), NOT_A_SUMMARY),
    Damage("summary_format_version_text", "summary.json", "summary", ("format_version", "1"), NOT_A_SUMMARY),
    Damage("summary_format_version_boolean", "summary.json", "summary", ("format_version", True), NOT_A_SUMMARY),
    Damage("summary_from_a_newer_lab", "summary.json", "summary", ("format_version", 99),
           ("summary.json", "format_version 99 was written by a newer lab", f"reads up to {FORMAT_VERSION}")),
    Damage("summary_without_run_id", "summary.json", "summary", ("run_id", DELETE),
        ("summary.json", "run_id is missing or not str")),
    Damage("summary_run_id_number", "summary.json", "summary", ("run_id", 123), ("summary.json", "run_id is missing or not str")),
    Damage("summary_without_status", "summary.json", "summary", ("status", DELETE),
        ("summary.json", "status is missing or not str")),
    Damage("summary_unknown_status", "summary.json", "summary", ("status", "great"),
        ("summary.json", "status must be one of ok, diverged")),
    Damage("summary_final_is_a_list", "summary.json", "summary", ("final", [1]), ("summary.json", "final must be a mapping")),
    Damage("summary_final_holds_text", "summary.json", "summary", ("final", {"loss": "low"}),
        ("summary.json", "final must be a mapping")),
    Damage("summary_is_a_folder", "summary.json", "folder", None, ("summary.json", "not a file")),
    Damage("config_missing", "config.yaml", "delete", None, ("config.yaml: no such file",)),
    Damage("config_unknown_key", "config.yaml", "write", "model: {dept: 3}\n", ("config.yaml", "model.dept: unknown key")),
    Damage("config_binary", "config.yaml", "write", b"\xff\x00\xfe", ("config.yaml", "not a UTF-8 text file")),
    Damage("config_python_tag", "config.yaml", "write", "model: !!python/object/apply:os.system [true]\n",
        ("config.yaml", "is not allowed")),
    Damage("config_disagrees_with_layers", "config.yaml", "replace", ("depth: 2", "depth: 5"),
        ("layers.csv", "one row per layer 1..6")),
    Damage("layers_missing", "layers.csv", "delete", None, ("layers.csv: missing",)),
    Damage("layers_empty", "layers.csv", "write", "", ("layers.csv", "empty (expected at least the header line)")),
    Damage("layers_cut_mid_line", "layers.csv", "truncate", 0.5, ("layers.csv", "truncated (its last line is incomplete)")),
    Damage("layers_cut_at_a_line", "layers.csv", "keep_lines", 3, LAYER_ROWS),  # header + 2 of step 0's 3 rows
    Damage("layers_header_only", "layers.csv", "keep_lines", 1, ("layers.csv", "no rows; a run records at least step 0")),
    Damage("layers_wrong_columns", "layers.csv", "write", "a,b,c\n1,2,3\n",
        ("layers.csv", "missing columns run_id", "expected run_id, step")),
    Damage("layers_renamed_column", "layers.csv", "replace", ("grad_norm,", "gradient_norm,"),
        ("layers.csv", "missing columns grad_norm")),
    Damage("layers_text_for_a_step", "layers.csv", "append", ROW.replace(",0,0,1,", ",abc,0,1,").format(1),
           ("layers.csv", "column step must hold whole numbers")),
    Damage("layers_text_for_a_gradient", "layers.csv", "append", ROW.format("abc"),
        ("layers.csv", "column grad_norm must hold numbers")),
    Damage("layers_too_many_fields", "layers.csv", "append", ROW.format(1).replace("\n", ",9,9\n"),
        ("layers.csv", "not a readable CSV")),
    Damage("layers_binary", "layers.csv", "write", b"\x89PNG\r\n\x1a\n\xff\xfe\n", ("layers.csv", "not a readable CSV")),
    Damage("layers_is_a_folder", "layers.csv", "folder", None, ("layers.csv", "cannot be read")),
    Damage("layers_unknown_kind", "layers.csv", "replace", (",hidden,", ",hiddn,"), LAYER_ROWS),
    Damage("history_cut_mid_line", "history.csv", "truncate", 0.6, ("history.csv", "truncated")),
    Damage("history_wrong_columns", "history.csv", "write", "epoch,loss\n1,0.5\n", ("history.csv", "missing columns run_id")),
    Damage("histograms_missing", "histograms.csv", "delete", None, ("histograms.csv: missing",)),
    Damage("histograms_empty_count", "histograms.csv", "append", "ffffffffffff,0,0,1,0.1,0.2,\n",
           ("histograms.csv", "column count must hold whole numbers")),
    Damage("boundary_empty", "boundary.csv", "write", "", ("boundary.csv", "empty")),
]
