"""A corpus of bad inputs, kept as data: each case is what a user (or an attacker) might hand the lab,
and the fragments its one-line error message must contain (the field, key or file, and what is allowed).

In `content`, "{tmp}" stands for the case's own scratch folder (so a payload that tried to write a file
would write it where the test looks). In `fragments`, "{file}" stands for the file's name as that
surface knows it: the path on the command line and in the API, the uploaded file's name in the app.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bad:
    """One bad input and the fragments its error message must contain."""

    name: str
    content: str | bytes
    fragments: tuple[str, ...]

    def data(self, tmp: str) -> bytes:
        """The file's bytes, with {tmp} filled in."""
        if isinstance(self.content, bytes):
            return self.content
        return self.content.replace("{tmp}", tmp).encode("utf-8")

    def expected(self, file: str) -> tuple[str, ...]:
        """The fragments, with {file} filled in."""
        return tuple(fragment.replace("{file}", file) for fragment in self.fragments)


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each level lists the previous one ten times (10^levels strings if expanded)."""
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        previous = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"lol{level}: &lol{level} [{previous}]")
    return "\n".join(lines) + "\n"
