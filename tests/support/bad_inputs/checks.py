"""What every surface owes a bad input, as assertions: one line with the expected fragments, exit code 2
and nothing else on the CLI, and no file written or touched."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from lab.cli import main


def by_name(cases, fast: set[str] | None = None) -> list:
    """pytest parameters whose ids are the cases' names; given fast (some cases' names), every other case is marked slow."""
    return [pytest.param(case, id=case.name, marks=() if fast is None or case.name in fast else pytest.mark.slow)
            for case in cases]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`python -m lab *argv` in this process: (exit code, stdout, stderr). A subprocess costs about 1 s."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse exits by itself
            code = exit_.code
    return code, stdout.getvalue(), stderr.getvalue()


def snapshot(folder: Path) -> dict:
    """Every path under folder with its size and modification time: equal snapshots, nothing written."""
    return {str(path.relative_to(folder)): (path.is_dir(), path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def assert_one_line(message: str, fragments) -> None:
    """A single line holding every fragment."""
    assert "\n" not in message.strip(), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def assert_refused(outcome: tuple[int, str, str], fragments) -> None:
    """Exit 2, nothing on stdout, exactly one 'error:' line on stderr (so no traceback) with the fragments."""
    code, stdout, stderr = outcome
    assert code == 2, (code, stderr)
    assert stdout == ""
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ") and stderr.endswith("\n"), stderr
    assert_one_line(stderr, fragments)
