"""Where a csv config's file comes from (data.dataset csv): an upload, data.path, or the data.csv beside a run folder's
config.yaml; then its sha256 checked and the parsed table handed to validation (lab.contract.config_io.load_config).

The resolved config records data.sha256, never the path: the same bytes are the same run wherever the file lies, and
a run folder's config.yaml reruns from the folder (store.save writes the bytes there as data.csv). Tables read in this
process are also kept by sha256 (a few, least recently used first out), so a config that names only data.sha256 (the
app's form, which registers its upload; a link) finds its file without carrying the bytes.
"""
from __future__ import annotations

import stat
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from lab.science.csv_data import CSV_DATASET, CsvDataError, CsvTable, parse_csv

CSV_FILE = "data.csv"  # a csv run folder's copy of its data, beside config.yaml
MAX_CSV_BYTES = 1024**3  # 100,000 rows x 1,000 columns of short numbers; a larger file is refused unread
# The process's known tables, bytes and parsed features together (a hosted app shares about 2.7 GB).
KEPT_TABLES_BYTES = 64 * 1024 * 1024


class _KnownTables:
    """Tables by sha256, least recently used dropped first beyond KEPT_TABLES_BYTES (threads of a server share it)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._tables: OrderedDict[str, CsvTable] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def size(table: CsvTable) -> int:
        return len(table.content) + table.features.nbytes + table.labels.nbytes

    def remember(self, table: CsvTable) -> None:
        with self._lock:
            self._tables[table.sha256] = table
            self._tables.move_to_end(table.sha256)
            while len(self._tables) > 1 and sum(map(self.size, self._tables.values())) > self.budget:
                self._tables.popitem(last=False)

    def get(self, sha256: str) -> CsvTable | None:
        with self._lock:
            table = self._tables.get(sha256)
            if table is not None:
                self._tables.move_to_end(sha256)
            return table


KNOWN_TABLES = _KnownTables(KEPT_TABLES_BYTES)


def remember(table: CsvTable) -> None:
    """Keep a checked table, so configs that name its sha256 find it (the app's upload)."""
    KNOWN_TABLES.remember(table)


def read_upload(name: str, content: bytes) -> CsvTable:
    """An uploaded file checked and remembered; CsvDataError (one line naming it) if it is not a data set."""
    table = parse_csv(content, name)
    remember(table)
    return table


def resolve_table(raw: Mapping, base_folder: Path | None, upload: CsvTable | None = None) -> CsvTable | None:
    """The csv table a raw config's data section asks for (None when it is not csv, or names an unknown sha256 only).

    base_folder: the config file's folder (data.path is relative to it, and a data.csv beside it is the run folder's
    copy); None for a config given as text or a mapping (data.path is then relative to the working folder).
    CsvDataError (one line) for a missing, unreadable or bad file, or one whose bytes do not match data.sha256.
    """
    data = raw.get("data") if isinstance(raw, Mapping) else None
    if not isinstance(data, Mapping) or data.get("dataset") != CSV_DATASET:
        return None
    path, expected = data.get("path"), data.get("sha256")
    if upload is not None:
        if path is not None:
            raise CsvDataError("data.path: the uploaded csv is the data; leave data.path out")
        table = upload
    elif path is not None:
        if not isinstance(path, str) or not path.strip():
            raise CsvDataError(f"data.path: must be a file name (text), relative to the config file's folder (got {path!r})")
        file = Path(path) if base_folder is None or Path(path).is_absolute() else base_folder / path
        table = parse_csv(read_bytes(file), str(file))
    elif base_folder is not None and (base_folder / CSV_FILE).is_file():
        file = base_folder / CSV_FILE
        table = parse_csv(read_bytes(file), str(file))
    elif isinstance(expected, str) and KNOWN_TABLES.get(expected) is not None:
        return KNOWN_TABLES.get(expected)
    elif isinstance(expected, str):
        return None  # validated as a dump: the run needs its file (lab.contract.run_data says so)
    else:
        raise CsvDataError("data.path: data.dataset csv needs its file: data.path (relative to the config file's folder), "
                           f"or a {CSV_FILE} beside the config (a run folder's)")
    if isinstance(expected, str) and expected != table.sha256:
        raise CsvDataError(f"data.sha256: the csv's bytes have sha256 {table.sha256[:12]}..., the config says "
                           f"{expected[:12]}...: the file changed since; leave data.sha256 out to use it as it is")
    remember(table)
    return table


def read_bytes(file: Path) -> bytes:
    """A regular file's bytes (at most MAX_CSV_BYTES); CsvDataError naming it when missing, special or unreadable."""
    try:
        status = file.stat()
        if not stat.S_ISREG(status.st_mode):
            raise CsvDataError(f"{file}: not a regular file (a folder, device or pipe); expected a CSV file")
        if status.st_size > MAX_CSV_BYTES:
            raise CsvDataError(f"{file}: larger than {MAX_CSV_BYTES // 1024**2} MB; at most 100,000 rows of 1,000 features")
        with file.open("rb") as stream:
            return stream.read(MAX_CSV_BYTES + 1)
    except CsvDataError:
        raise
    except (FileNotFoundError, NotADirectoryError):
        raise CsvDataError(f"{file}: no such file (data.path is relative to the config file's folder)") from None
    except PermissionError:
        raise CsvDataError(f"{file}: not readable (permission denied)") from None
    except ValueError as error:  # a NUL byte in the name
        raise CsvDataError(f"{str(file)!r}: not a valid file name ({error})") from None
    except OSError as error:
        raise CsvDataError(f"{file}: cannot be read ({error.strerror or error})") from None


def run_files(config) -> dict[str, bytes]:
    """The files a run folder keeps of its data: {data.csv: the bytes} for a csv run, else nothing (store.save)."""
    table = config.data.csv_table
    return {} if table is None else {CSV_FILE: table.content}
