"""The gallery's charts at its opening settings, shipped in app/gallery_specs/ so that a fresh server paints its
first page without importing Altair or building a spec (#16 goal 2).

Building the twelve activation charts took about 1 s of a fresh server's first page (Altair copies each chart's
800 inline points at every layer and validates them), and importing Altair and pandas for them another 0.4 s;
every later visitor already got them from the server's chart cache. The files hold exactly what
lab.charts.gallery_charts builds for these settings (tests/test_gallery_defaults.py rebuilds and compares them);
any other setting is built as before. After changing a gallery chart or its texts, regenerate:

    python -m app.gallery_defaults
"""
from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

# The gallery's opening settings: its controls start here (app/pages/gallery.py), and the shipped specs are for them.
DEFAULT_X_RANGE = (-5.0, 5.0)
DEFAULT_ALPHA = 0.01
DEFAULT_LOGITS = "2.0, 1.0, 0.1, -1.0"
DEFAULT_TEMPERATURE = 1.0
SOFTMAX = "softmax"  # the softmax chart's key beside the activations' names
FOLDER = Path(__file__).parent / "gallery_specs"


def spec_path(language_code: str) -> Path:
    """Where the specs of one language are shipped."""
    return FOLDER / f"{language_code}.json.gz"


def parse_logits(text: str) -> list[float]:
    """The softmax section's logits from its text field; ValueError when it holds no usable vector."""
    logits = [float(part) for part in text.split(",") if part.strip()]
    if not logits or len(logits) > 20 or any(abs(value) > 1e6 for value in logits):
        raise ValueError(text)
    return logits


def build_specs(language_code: str) -> dict[str, dict]:
    """Every gallery chart's spec at the opening settings, built by the chart module (the source of the files)."""
    from lab.charts.gallery_charts import activation_chart, softmax_chart
    from lab.science.activations import HIDDEN_ACTIVATIONS
    from lab.text.i18n import chart_labels

    low, high = DEFAULT_X_RANGE
    specs = {name: activation_chart(name, alpha=DEFAULT_ALPHA, x_min=low, x_max=high,
                                    labels=chart_labels("activation", language_code)).to_dict()
             for name in HIDDEN_ACTIVATIONS}
    specs[SOFTMAX] = softmax_chart(parse_logits(DEFAULT_LOGITS), temperature=DEFAULT_TEMPERATURE,
                                   labels=chart_labels("softmax", language_code)).to_dict()
    return specs


@functools.cache
def shipped_specs(language_code: str) -> dict[str, dict] | None:
    """The shipped specs of one language (read once per process), or None when its file is missing."""
    path = spec_path(language_code)
    if not path.is_file():
        return None
    return json.loads(gzip.decompress(path.read_bytes()))


def shipped_spec(key: str, language_code: str) -> dict | None:
    """One shipped chart spec, shared by every visitor as the chart cache's are (Streamlit reads a spec it is given
    through a shallow copy and never changes it), or None."""
    specs = shipped_specs(language_code)
    return None if specs is None else specs.get(key)


def write_specs() -> list[Path]:
    """Rebuild the files of every language; mtime 0 in the gzip header, so equal specs give equal bytes."""
    from lab.text.i18n import LANGUAGES

    FOLDER.mkdir(exist_ok=True)
    paths = []
    for language_code in LANGUAGES:
        text = json.dumps(build_specs(language_code), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        spec_path(language_code).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        paths.append(spec_path(language_code))
    return paths


if __name__ == "__main__":
    for written in write_specs():
        print(f"wrote {written} ({written.stat().st_size:,} bytes)")
