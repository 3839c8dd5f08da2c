"""The visitor's language and the translation of a text key into it: all the first page needs of the app.

Its own small module so that a fresh server's first page imports the catalogue alone, not the training
machinery app.shared brings (#16 goal 2: first paint).
"""
from __future__ import annotations

import streamlit as st

from lab.text.i18n import translate


def language() -> str:
    """The visitor's language: 'en' or 'ko' (chosen in the sidebar, also carried in the URL)."""
    return st.session_state.get("lang", "en")


def t(key: str, **values) -> str:
    """Translate a text key into the visitor's language."""
    return translate(key, language(), **values)
