"""Run folders as zip files: made in memory for download, opened safely from an upload."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from lab.contract.csv_source import CSV_FILE
from lab.runs.store import FRAME_FILES, OPTIONAL_FRAME_FILES, SUMMARY_FILE, RunFolderError, load

# Only these names are ever extracted, flat into a fresh folder: no path in an archive can escape it.
RUN_FILES = ("config.yaml", SUMMARY_FILE, "probe.npy", *FRAME_FILES.values(), *OPTIONAL_FRAME_FILES.values(),
             CSV_FILE)  # a csv run's data (issue #15), so the opened folder's config loads
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024  # uncompressed total; a run folder of the app is a few MB


def folder_to_zip(folder: Path) -> bytes:
    """The run folder's files (not sub-folders) as a zip, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                archive.write(path, arcname=f"{Path(folder).name}/{path.name}")
    return buffer.getvalue()


def load_zip(data: bytes):
    """A RunResult from a zipped run folder; RunFolderError (one line) for anything else."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RunFolderError("not a zip file (expected a run folder zipped, as the app's download gives)") from None
    with archive, tempfile.TemporaryDirectory(prefix="lab-upload-") as temporary:
        members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
        if sum(info.file_size for name, info in members.items() if name in RUN_FILES) > MAX_ARCHIVE_BYTES:
            raise RunFolderError(f"the run folder is larger than {MAX_ARCHIVE_BYTES // 2**20} MB uncompressed")
        if SUMMARY_FILE not in members:
            raise RunFolderError(f"the zip holds no {SUMMARY_FILE}: not a complete run folder")
        for name in RUN_FILES:
            if name in members:
                (Path(temporary) / name).write_bytes(archive.read(members[name]))
        return load(temporary)
