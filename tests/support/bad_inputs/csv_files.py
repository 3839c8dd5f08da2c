"""Bad CSV files for data.dataset csv (issue #15): for `python -m lab run`, lab.load_config and the app's csv upload.

Each case's content is the CSV file; the config beside it is CSV_CONFIG. "{file}" in the fragments is the file as
the surface knows it: its path on the CLI and in the API, the uploaded file's name in the app.
"""
from tests.support.bad_inputs import Bad

CSV_CONFIG = "name: own\ndata: {dataset: csv, path: data.csv}\nmodel: {depth: 2, width: 3}\n" \
             "training: {epochs: 1, batch_size: 4}\nprobe: {num_samples: 4}\n"
GOOD = "x1,x2,label\n" + "".join(f"{i % 7 - 3},{i * 0.5},{i % 2}\n" for i in range(20))


def _line_5(row: str) -> str:
    """GOOD with its line 5 (the fourth sample) replaced by row."""
    lines = GOOD.splitlines(keepends=True)
    lines[4] = row
    return "".join(lines)


def _rows(count: int) -> str:
    return "".join(f"{i % 5},{i % 2}\n" for i in range(count))


CSV_CASES = [
    Bad("csv_not_utf8", "x1,label\ncafé,1\n".encode("latin-1"), ("{file}", "not a UTF-8 text file")),
    Bad("csv_binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("{file}", "not a UTF-8 text file")),
    Bad("csv_empty", "", ("{file}", "empty", "'label' column")),
    Bad("csv_no_label_column", "x1,x2,class\n1,2,0\n3,4,1\n", ("{file}", "no 'label' column", "'class'")),
    Bad("csv_only_a_header", "x1,label\n", ("{file}", "no rows")),
    Bad("csv_only_labels", "label\n0\n1\n", ("{file}", "only a 'label' column")),
    Bad("csv_text_in_a_feature", _line_5("three,1.5,1\n"),
        ("{file}", "line 5", "column 'x1'", "'three' is not a number")),
    Bad("csv_missing_feature", _line_5("3,,1\n"), ("{file}", "line 5", "column 'x2'", "missing value")),
    Bad("csv_missing_label", _line_5("3,1.5,\n"), ("{file}", "line 5", "column 'label'", "missing value")),
    Bad("csv_nan_feature", _line_5("nan,1.5,1\n"), ("{file}", "line 5", "column 'x1'", "not a finite number")),
    Bad("csv_short_row", _line_5("3,1\n"), ("{file}", "line 5 has 2 values, the header 3")),
    Bad("csv_one_class", "x1,label\n1,a\n2,a\n3,a\n", ("{file}", "one class", "2 to 10")),
    Bad("csv_eleven_classes", "x1,label\n" + "".join(f"{i},{i}\n" for i in range(11)), ("{file}", "11 classes", "at most 10")),
    Bad("csv_too_few_rows", "x1,label\n" + _rows(15), ("{file}", "15 rows", "at least 16")),
    Bad("csv_too_many_rows", "x1,label\n" + _rows(100_001), ("{file}", "100,001 rows", "at most 100,000")),
    Bad("csv_too_many_columns", ",".join(f"x{i}" for i in range(1001)) + ",label\n" + ",".join(["1"] * 1002) + "\n",
        ("{file}", "1001 feature columns", "at most 1000")),
]
