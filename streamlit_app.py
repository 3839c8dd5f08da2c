"""Vanishing Gradient Lab: the Streamlit app. UI only; everything computed comes from lab/."""
import streamlit as st

from app.language import t
from lab.text.i18n import LANGUAGES

st.set_page_config(page_title="Vanishing Gradient Lab", page_icon="📉", layout="wide")

# The language lives in the session and in the URL (?lang=ko), so a shared link keeps it.
if "lang" not in st.session_state:
    st.session_state["lang"] = st.query_params.get("lang", "en") if st.query_params.get("lang") in LANGUAGES else "en"
st.sidebar.segmented_control(
    "Language / 언어", list(LANGUAGES), key="lang", format_func=LANGUAGES.get, selection_mode="single"
)
if st.session_state.get("lang") not in LANGUAGES:  # a deselected segmented control gives None
    st.session_state["lang"] = "en"

pages = [
    st.Page("app/pages/gallery.py", title=t("tab_gallery"), icon="📈", url_path="gallery", default=True),
    st.Page("app/pages/tour.py", title=t("tab_tour"), icon="🧭", url_path="tour"),
    st.Page("app/pages/experiment.py", title=t("tab_experiment"), icon="🧪", url_path="experiment"),
    st.Page("app/pages/compare.py", title=t("tab_compare"), icon="⚖️", url_path="compare"),
    st.Page("app/pages/sweeps.py", title=t("tab_sweeps"), icon="📊", url_path="sweeps"),
]
st.navigation(pages).run()
# Imported after the page has run: they bring the training machinery (pydantic, pandas, the run queue), which a
# fresh server's first page (the gallery, from shipped specs) does not need (#16 goal 2).
from app.shared import preload_tensorflow  # noqa: E402
from app.tour_warmer import tour_warmer  # noqa: E402

# Importing TensorFlow in the background holds the interpreter for seconds and delayed the first
# paint by about 1 s, so it starts a moment after the first page has gone out (see preload_tensorflow).
preload_tensorflow()
# Then the tour's runs, one at a time below every visitor's Train (app.tour_warmer; LAB_WARM_TOUR=0 turns it off).
tour_warmer()
