"""Bad command lines: the file is fine (or absent), the arguments are not. Placeholders in argv are
filled by the test: {tmp} the scratch folder, {config} a valid experiment, {sweep} a valid sweep,
{out} an output folder holding an earlier result, {plain} a plain file, {pipe} a named pipe,
{other_sweep_out} a folder of another sweep, {sweep_folder} a sweep's folder."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BadCall:
    """A command line and the fragments its one error line must contain."""

    name: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...]


def run_with(*options: str) -> tuple[str, ...]:
    """`run {config} --out {out}` plus options."""
    return ("run", "{config}", "--out", "{out}", *options)


def sweep_with(*options: str) -> tuple[str, ...]:
    """`sweep {sweep}` plus options."""
    return ("sweep", "{sweep}", *options)


BAD_NAME = ("name", "must be 1-64 letters, digits, '_', '.' or '-'")

ARGUMENT_CASES = [
    BadCall("no_command", (), ("the following arguments are required: command", "python -m lab --help")),
    BadCall("unknown_command", ("frobnicate",), ("invalid choice: 'frobnicate'",)),
    BadCall("run_config_missing", ("run", "{tmp}/missing.yaml", "--out", "{out}"), ("missing.yaml: no such file",)),
    BadCall("run_config_is_a_folder", ("run", "{tmp}", "--out", "{out}"), ("is a folder, not a YAML file",)),
    BadCall("run_config_path_with_nul", ("run", "{tmp}/a\x00b.yaml", "--out", "{out}"), ("not a valid file name", "null byte")),
    BadCall("run_config_is_a_device", ("run", "/dev/zero", "--out", "{out}"),
        ("/dev/zero: not a regular file", "expected a YAML file")),
    BadCall("run_config_is_a_pipe", ("run", "{pipe}", "--out", "{out}"), ("pipe.yaml: not a regular file",)),
    BadCall("run_unknown_option", run_with("--frobnicate"), ("unrecognized arguments: --frobnicate", "python -m lab --help")),
    BadCall("run_out_is_a_file", ("run", "{config}", "--out", "{plain}"), ("--out", "plain.txt is a file", "must be a folder")),
    BadCall("run_out_inside_a_file", ("run", "{config}", "--out", "{plain}/runs"),
        ("--out", "plain.txt is a file", "must be a folder")),
    BadCall("run_out_with_nul", ("run", "{config}", "--out", "{tmp}/o\x00ut"), ("--out", "NUL byte")),
    BadCall("set_name_parent_folder", run_with("--set", "name=../escape"), BAD_NAME),
    BadCall("set_name_absolute_path", run_with("--set", "name=/tmp/escape"), BAD_NAME),
    BadCall("set_name_with_slash", run_with("--set", "name=runs/escape"), BAD_NAME),
    BadCall("set_learning_rate_inf", run_with("--set", "training.learning_rate=.inf"),
        ("training.learning_rate", "finite number")),
    BadCall("set_depth_1e308", run_with("--set", "model.depth=1e308"), ("model.depth", "integer")),
    BadCall("set_python_tag", run_with("--set", "model.depth=!!python/object/apply:os.system [true]"),
            ("--set model.depth", "!!python/object/apply:os.system is not allowed")),
    BadCall("set_alias", run_with("--set", "model.depth=*depth"), ("--set model.depth", "YAML aliases (*name) are not allowed")),
    BadCall("set_without_equals", run_with("--set", "model.depth"), ("--set 'model.depth'", "expected KEY=VALUE")),
    BadCall("set_unknown_key", run_with("--set", "model.dpeth=3"), ("model.dpeth: unknown key", "did you mean 'depth'")),
    BadCall("set_inside_a_value", run_with("--set", "model=3"), ("model", "must be a mapping of keys")),
    BadCall("sweep_without_out", sweep_with(), ("the following arguments are required: --out",)),
    BadCall("sweep_workers_zero", sweep_with("--out", "{tmp}/new", "--workers", "0"), ("--workers", "at least 1")),
    BadCall("sweep_workers_text", sweep_with("--out", "{tmp}/new", "--workers", "two"),
        ("--workers", "invalid int value: 'two'")),
    BadCall("sweep_unknown_engine", sweep_with("--out", "{tmp}/new", "--engine", "spark"),
        ("--engine", "choose from 'local', 'ray'")),
    BadCall("sweep_out_is_a_file", sweep_with("--out", "{plain}"), ("--out", "plain.txt is a file", "must be a folder")),
    BadCall("sweep_out_with_nul", sweep_with("--out", "{tmp}/o\x00ut"), ("--out", "NUL byte")),
    BadCall("sweep_into_another_sweeps_folder", sweep_with("--out", "{other_sweep_out}"),
        ("holds a different sweep", "choose another --out")),
    BadCall("show_missing_folder", ("show", "{tmp}/nowhere"), ("nowhere: no such run folder",)),
    BadCall("show_a_file", ("show", "{plain}"), ("plain.txt: a file, not a run folder",)),
    BadCall("show_an_empty_folder", ("show", "{out}"), ("incomplete run folder", "summary.json missing")),
    BadCall("show_a_sweep_folder", ("show", "{sweep_folder}"), ("a sweep folder", "its run folders are in")),
    BadCall("show_path_with_nul", ("show", "{tmp}/a\x00b"), ("not a valid folder name", "NUL byte")),
]
