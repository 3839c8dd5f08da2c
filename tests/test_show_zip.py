"""`python -m lab show` opens a run folder zipped as the app downloads it, with the same summary as the folder."""
import subprocess
import sys

from lab.runs import store
from lab.runs.archive import folder_to_zip


def show(path) -> subprocess.CompletedProcess:
    """python -m lab show PATH."""
    return subprocess.run([sys.executable, "-m", "lab", "show", str(path)], capture_output=True, text=True, check=False)


def test_show_reads_a_zip_like_the_folder(make_config, tmp_path):
    from lab import run

    folder = store.save(run(make_config()), tmp_path / "runs")
    archive = tmp_path / "download.zip"
    archive.write_bytes(folder_to_zip(folder))
    from_folder, from_zip = show(folder), show(archive)
    assert from_folder.returncode == from_zip.returncode == 0, from_zip.stderr
    # The summary names where it was read from; everything else is the same text.
    assert from_zip.stdout.replace(str(archive), str(folder)) == from_folder.stdout
    assert store.load(folder).run_id in from_zip.stdout


def test_a_damaged_zip_is_one_error_line_and_exit_2(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    completed = show(archive)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("error: ")
