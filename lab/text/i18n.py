"""Look-ups in the catalogues (lab.text.en, lab.text.ko): sentences, chart labels and activation descriptions.

Every caller goes through these functions; English fills in whatever a catalogue lacks.
"""
from __future__ import annotations

from lab.text import en, ko

LANGUAGES = {"en": "English", "ko": "한국어"}
CATALOGUES = {"en": en, "ko": ko}
TEXT = {code: catalogue.TEXT for code, catalogue in CATALOGUES.items()}


def catalogue(language: str):
    """The catalogue module of language (English for an unknown one)."""
    return CATALOGUES.get(language, en)


def translate(key: str, language: str = "en", **values) -> str:
    """The text for key in language (English when missing), with {placeholders} filled."""
    text = catalogue(language).TEXT.get(key) or en.TEXT.get(key, key)
    return text.format(**values) if values else text


def description(activation: str, language: str = "en") -> str:
    """One sentence on what the activation means for gradients."""
    return catalogue(language).DESCRIPTIONS[activation]


def measure_name(measure: str, language: str = "en") -> str:
    """What {measure} stands for in chart texts (a per-layer measure or a sweep's ratio column)."""
    return catalogue(language).MEASURES[measure]


def chart_labels(kind: str, language: str = "en", measure: str | None = None) -> dict[str, str]:
    """The labels of one kind of chart in language, {measure} filled in when a measure is given."""
    labels = dict(catalogue(language).CHARTS[kind])
    if measure is not None:
        # replace, not format: the other {placeholders} are the chart builder's to fill.
        name = measure_name(measure, language)
        labels = {key: text.replace("{measure}", name) for key, text in labels.items()}
    return labels


def fact_sentences(facts, language: str = "en", **common) -> list[str]:
    """Sentences from (text key, values) facts, with common values added to each.

    A value that is itself a text key (a moment, a measure, a status) is translated with its sentence,
    so numbers stay as computed and words follow the language.
    """
    def worded(value):
        return translate(value, language) if isinstance(value, str) and value in en.TEXT else value

    return [translate(key, language, **common, **{name: worded(value) for name, value in values.items()})
            for key, values in facts]
