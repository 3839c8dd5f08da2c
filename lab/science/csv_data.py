"""A user's own data (data.dataset csv): CSV bytes -> checked feature and label arrays, and the run's Dataset.

A file holds numeric feature columns and one `label` column (2-10 distinct values, text or numbers, mapped in sorted
order to 0..k-1: numbers by value, text alphabetically). Every problem is a CsvDataError of one line naming the file
and, for a bad cell, its line and column. numpy and the standard library only: lab.contract reads files and hashes
them, lab.contract.run_data turns a table into the run's Dataset with csv_dataset.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np

from lab.science.data import Dataset, split_and_standardise

CSV_DATASET = "csv"
LABEL_COLUMN = "label"
# The config's own bounds (lab.contract.config MAX_SAMPLES, MAX_FEATURES, MAX_CLASSES; a test ties them): a file
# beyond them could not be described by a valid config anyway, so it is refused before its cells are converted.
MIN_ROWS, MAX_ROWS = 16, 100_000
MAX_FEATURE_COLUMNS = 1000
MIN_CLASSES, MAX_CLASSES = 2, 10
SHOWN_CHARACTERS = 40  # a bad cell or column name is quoted up to this many characters, so a message stays one line


class CsvDataError(ValueError):
    """A file that cannot be a data set; the message is one line naming the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A checked file: its bytes (kept, for the run folder's data.csv), features (float64) and labels mapped to 0..k-1."""

    # eq=False: the generated __eq__ would compare numpy arrays, which raises; two tables are the same file if
    # their sha256 are equal.
    content: bytes
    sha256: str
    feature_names: tuple[str, ...]
    features: np.ndarray  # (rows, features) float64, as written in the file
    labels: np.ndarray  # (rows,) int64 in 0..k-1
    classes: tuple[str, ...]  # the label values in the order mapped to 0..k-1
    name: str = ""  # the file as it was given (for messages only: the same bytes are the same data under any name)

    @property
    def num_samples(self) -> int:
        """Data rows."""
        return len(self.labels)

    @property
    def num_features(self) -> int:
        """Feature columns (every column but label)."""
        return self.features.shape[1]

    @property
    def num_classes(self) -> int:
        """Distinct label values."""
        return len(self.classes)


def sha256_of(content: bytes) -> str:
    """The hex sha256 of a file's bytes: what the resolved config records as data.sha256."""
    return hashlib.sha256(content).hexdigest()


def _shown(text: str) -> str:
    """A cell or column name quoted, cut short (a message stays one readable line)."""
    text = text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."
    return repr(text)


def parse_csv(content: bytes, name: str) -> CsvTable:
    """The checked table of a CSV file's bytes; CsvDataError (one line starting with name) for anything else."""
    try:
        # utf-8-sig: spreadsheets often start a UTF-8 CSV with a byte-order mark; it is not part of the header.
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvDataError(f"{name}: not a UTF-8 text file (byte {error.start} is not UTF-8); save the CSV as UTF-8") from None
    lines = text.splitlines()
    # Blank lines (a trailing one, say) are skipped; the others keep their line number for messages.
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise CsvDataError(f"{name}: empty; expected a header line with a '{LABEL_COLUMN}' column, then one row per sample")
    header_number, header_line = numbered[0]
    header = [cell.strip() for cell in next(csv.reader([header_line]))]
    if LABEL_COLUMN not in header:
        raise CsvDataError(f"{name}: no '{LABEL_COLUMN}' column in the header (line {header_number} has "
                           f"{', '.join(_shown(cell) for cell in header[:10])}{', ...' if len(header) > 10 else ''}); "
                           f"name the class column '{LABEL_COLUMN}'")
    if header.count(LABEL_COLUMN) > 1:
        raise CsvDataError(f"{name}: the header has {header.count(LABEL_COLUMN)} '{LABEL_COLUMN}' columns; keep one")
    feature_names = tuple(cell for cell in header if cell != LABEL_COLUMN)
    if not feature_names:
        raise CsvDataError(f"{name}: only a '{LABEL_COLUMN}' column; add at least one numeric feature column")
    if len(feature_names) > MAX_FEATURE_COLUMNS:
        raise CsvDataError(f"{name}: {len(feature_names)} feature columns; at most {MAX_FEATURE_COLUMNS}")
    rows = numbered[1:]
    if len(rows) > MAX_ROWS:
        raise CsvDataError(f"{name}: {len(rows):,} rows; at most {MAX_ROWS:,}")
    if not rows:
        raise CsvDataError(f"{name}: a header but no rows; add one row per sample")
    label_index = header.index(LABEL_COLUMN)
    feature_index = [index for index in range(len(header)) if index != label_index]
    features = np.empty((len(rows), len(feature_names)), dtype=np.float64)
    labels = []
    reader = csv.reader(line for _, line in rows)
    for row, ((number, _), cells) in enumerate(zip(rows, reader)):
        if len(cells) != len(header):
            raise CsvDataError(f"{name}: line {number} has {len(cells)} values, the header {len(header)}; "
                               "give every row a value in every column")
        labels.append(cells[label_index].strip())
        values = [cells[index] for index in feature_index]
        try:
            features[row] = values  # numpy reads each text as a float (C speed); a bad cell is located below
        except ValueError:
            raise CsvDataError(_bad_cell(name, number, feature_names, values)) from None
        if not np.isfinite(features[row]).all():
            raise CsvDataError(_bad_cell(name, number, feature_names, values))
        if not labels[-1]:
            raise CsvDataError(f"{name}: line {number}, column '{LABEL_COLUMN}': missing value; every row needs its class")
    classes, mapped = _classes(name, labels)
    if len(rows) < MIN_ROWS:
        raise CsvDataError(f"{name}: {len(rows)} rows; at least {MIN_ROWS} (a training and a validation split)")
    return CsvTable(content=content, sha256=sha256_of(content), feature_names=feature_names, features=features,
                    labels=mapped, classes=classes, name=name)


def _bad_cell(name: str, number: int, feature_names: tuple[str, ...], values: list[str]) -> str:
    """The message for the first cell of a row that is missing, not a number, or not finite."""
    for column, value in zip(feature_names, values):
        where = f"{name}: line {number}, column {_shown(column)}"
        if not value.strip():
            return f"{where}: missing value; every feature needs a number"
        try:
            number_value = float(value)
        except ValueError:
            return f"{where}: {_shown(value)} is not a number; feature columns hold numbers only"
        if not math.isfinite(number_value):
            return f"{where}: {_shown(value)} is not a finite number"
    return f"{name}: line {number}: a value is not a number"  # unreachable while numpy and float() agree


def _classes(name: str, labels: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The label values in sorted order (by value when every one is a number, else as text) and each row's index."""
    distinct = set(labels)
    if len(distinct) < MIN_CLASSES:
        raise CsvDataError(f"{name}: column '{LABEL_COLUMN}' has one class ({_shown(next(iter(distinct)))}); "
                           f"a classification needs {MIN_CLASSES} to {MAX_CLASSES}")
    if len(distinct) > MAX_CLASSES:
        raise CsvDataError(f"{name}: column '{LABEL_COLUMN}' has {len(distinct)} classes; at most {MAX_CLASSES} "
                           "(is a feature column named label?)")
    try:
        classes = tuple(sorted(distinct, key=float))
    except ValueError:  # some label is text: sort as text
        classes = tuple(sorted(distinct))
    index = {value: position for position, value in enumerate(classes)}
    return classes, np.array([index[value] for value in labels], dtype=np.int64)


def csv_dataset(table: CsvTable, validation_split: float, seed: int) -> Dataset:
    """The run's Dataset: the rows shuffled by the seed, split and standardised as the built-in vector sets are."""
    # The same child stream make_dataset shuffles with (its third), so a csv run is seeded the same way.
    shuffle_rng = np.random.default_rng(seed).spawn(3)[2]
    return split_and_standardise(table.features, table.labels, table.num_classes, validation_split, shuffle_rng)


def to_csv_bytes(features: np.ndarray, labels, feature_names=None) -> bytes:
    """A CSV file's bytes for features and labels (examples and tests write their data with it)."""
    features = np.asarray(features, dtype=np.float64)
    names = feature_names or [f"x{column + 1}" for column in range(features.shape[1])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*names, LABEL_COLUMN])
    for row, label in zip(features, labels):
        writer.writerow([*(repr(float(value)) for value in row), label])
    return buffer.getvalue().encode("utf-8")
