"""Every text key the app uses exists in English and in Korean, with the same placeholders."""
import re
import string
from pathlib import Path

from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text.chart_labels import KOREAN
from lab.text.i18n import DESCRIPTIONS_KO, TEXT, translate

APP = Path(__file__).resolve().parent.parent / "app"


def placeholders(text: str) -> set[str]:
    """The {names} a text fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_used_by_the_app_is_translated():
    used = set()
    for path in APP.glob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", path.read_text()))
    assert used, "no t(...) calls found: the pattern is stale"
    for key in sorted(used):
        assert key in TEXT["en"] and key in TEXT["ko"], key


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(TEXT["en"]) == set(TEXT["ko"])
    for key in TEXT["en"]:
        assert placeholders(TEXT["en"][key]) == placeholders(TEXT["ko"][key]), key
    assert set(DESCRIPTIONS_KO) == set(HIDDEN_ACTIVATIONS) | {"softmax"}


def test_translate_fills_placeholders_and_chart_labels_cover_every_chart():
    assert translate("queue_wait", "ko", position=2).count("2") == 1
    charts = {"profile", "heatmap", "dead", "saturation", "history", "boundary", "histogram", "activation", "softmax"}
    assert charts <= set(KOREAN)
