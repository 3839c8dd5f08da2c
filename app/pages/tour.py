"""Guided tour: the tutorial's sections in order, each a claim, a live experiment and its remedy, and the measured numbers.

Runs happen on demand (a button per section) and go through the same path as the Experiment page's
(the server's cache, the training queue, progress and Stop), so a section someone has run is shown
at once to every later visitor; the server also warms every section's runs in the background
(app.tour_warmer), so a section is shown with its numbers and charts without a press once they are in the
cache. Every number on the page comes from lab.readings.tour and lab.readings.fix_it reading the runs'
frames; the page's text holds the claims and remedies only.
"""
from __future__ import annotations

import streamlit as st

from app.caches import cached_result, cached_spec
from app.language import language, t
from app.shared import obtain_result, recover_stopped_training, remember, session_runs
from app.tour_warmer import tour_warmer
from lab import config_to_yaml
from lab.charts import run_charts as charts
from lab.charts import time_charts
from lab.contract.result import RunResult
from lab.readings.fix_it import comparison_sentences
from lab.readings.tour import SECTIONS, TourSection, claim_holds, claim_text, note_sentences
from lab.text.i18n import chart_labels, fact_sentences


def tour_labels() -> dict[str, tuple[str, str | None]]:
    """This session's tour runs by section, as labels of the session's runs.

    The runs themselves join the session's runs (bounded like every other, and offered on Compare),
    so a section stays shown if the server's cache evicts it, without a second store to bound.
    """
    return st.session_state.setdefault("tour_labels", {})


def known_results(tour_section: TourSection) -> tuple[RunResult, RunResult | None] | None:
    """The section's runs if this session or the server already has them, else None."""
    runs = session_runs()
    labels = tour_labels().get(tour_section.key)
    if labels and labels[0] in runs and (labels[1] is None or labels[1] in runs):
        return runs[labels[0]], (None if labels[1] is None else runs[labels[1]])
    run = cached_result(config_to_yaml(tour_section.config()))
    remedy_config = tour_section.remedy_config()
    fixed = None if remedy_config is None else cached_result(config_to_yaml(remedy_config))
    if run is None or (remedy_config is not None and fixed is None):
        return None
    return run, fixed


def aside_labels() -> dict[str, str]:
    """This session's aside runs by section (a section's note states their numbers), as labels of the session's runs."""
    return st.session_state.setdefault("tour_aside_labels", {})


def known_aside(tour_section: TourSection) -> RunResult | None:
    """The section's aside run if this session or the server already has it (None too for a section without one)."""
    config = tour_section.aside_config()
    if config is None:
        return None
    label = aside_labels().get(tour_section.key)
    if label in session_runs():
        return session_runs()[label]
    return cached_result(config_to_yaml(config))


def run_section(tour_section: TourSection) -> tuple[RunResult, RunResult | None]:
    """Train (or take from the cache) the section's experiment and its remedy, with progress shown.

    Stop interrupts this script run inside the training (the records so far become a stopped run of
    the session, see recover_stopped_training), so what returns here is always a finished run.
    """
    area = st.empty()
    run, _ = obtain_result(tour_section.config(), area, stop_key=f"tour_stop_{tour_section.key}")
    remedy_config = tour_section.remedy_config()
    fixed = None
    if remedy_config is not None:
        fixed, _ = obtain_result(remedy_config, area, stop_key=f"tour_stop_{tour_section.key}_remedy")
    aside_config = tour_section.aside_config()
    if aside_config is not None:
        aside, _ = obtain_result(aside_config, area, stop_key=f"tour_stop_{tour_section.key}_aside")
        aside_labels()[tour_section.key] = remember(aside, current=False)
    area.empty()
    tour_labels()[tour_section.key] = (remember(run, current=False), None if fixed is None else remember(fixed, current=False))
    return run, fixed


def signal_chart(tour_section: TourSection, run: RunResult, fixed: RunResult) -> None:
    """The back-propagated signal per layer at initialisation, with and without the remedy; for a recurrent network
    the gradient reaching each time step against the time lag (its layers are one or a few cells applied T times)."""
    lang = language()
    remedy_name = t(f"remedy_{tour_section.remedy}")
    labels = {run.config.name: run, f"{run.config.name} + {remedy_name}": fixed}

    def build():
        if run.config.model.kind == "rnn":
            return time_charts.comparison_time_chart(time_charts.compare_timesteps(labels), which="start",
                                                     labels=chart_labels("time_compare", lang))
        layers, _ = charts.compare_frames(labels)
        return charts.comparison_profile_chart(layers, "preact_grad_rms", which="start",
                                               labels=chart_labels("profile", lang, "preact_grad_rms"))

    spec = cached_spec(("tour", tour_section.key, run.run_id, fixed.run_id, lang), build)
    st.vega_lite_chart(spec, width="stretch")


def open_in_experiment(tour_section: TourSection) -> None:
    """Queue the section's experiment for the Experiment page and go there (it shows from the cache)."""
    st.session_state["pending_config"] = tour_section.config()
    st.switch_page("app/pages/experiment.py")


def measured(tour_section: TourSection, run: RunResult, fixed: RunResult | None) -> None:
    """The numbers from the runs: the experiment's facts, the remedy's comparison, and whether the claim holds."""
    lang = language()
    st.markdown(f"**{t('tour_measured')}** · `{run.config.name}` · {t('run_tag', run_id=run.run_id)}")
    st.markdown("\n".join(f"- {sentence}" for sentence in fact_sentences(tour_section.facts(run), lang)))
    if claim_holds(tour_section, run, fixed):
        st.success(t("tour_confirmed"), icon=":material/check_circle:")
    else:
        st.warning(t("tour_qualified"), icon=":material/warning:")
    st.markdown(f"**{t('tour_remedy')}:** {t(f'tour_{tour_section.key}_remedy')}")
    if fixed is not None:
        st.markdown("\n".join(f"- {sentence}" for sentence in comparison_sentences(run, fixed, tour_section.remedy, lang)))
        signal_chart(tour_section, run, fixed)
    note(tour_section)


def note(tour_section: TourSection) -> None:
    """A section's nuance, where it has one, with its aside run's numbers once it has run."""
    if tour_section.note is not None:
        measured_aside = note_sentences(tour_section, known_aside(tour_section), language())
        text = t(tour_section.note)
        if measured_aside:
            text += "\n\n" + "\n".join(f"- {sentence}" for sentence in measured_aside)
        st.info(text, icon=":material/lightbulb:")


def warming() -> bool:
    """Whether the server is still warming the tour's runs in the background (app.tour_warmer)."""
    warmer = tour_warmer()
    return warmer is not None and not warmer.finished.is_set()


def section_ui(tour_section: TourSection) -> None:
    """One section: title, claim, the run button or the runs' numbers, the remedy."""
    key = tour_section.key
    st.header(t(f"tour_{key}_title"), anchor=f"tour-{key}")
    st.markdown(f"**{t('tour_claim')}:** {claim_text(tour_section, language())}")
    results = known_results(tour_section)
    if results is None:
        label = t("tour_run" if tour_section.remedy else "tour_run_one")
        if st.button(label, key=f"tour_run_{key}", type="primary"):
            results = run_section(tour_section)
        else:
            st.caption(f"{t(tour_section.not_run)} {t('tour_warming')}" if warming() else t(tour_section.not_run))
            st.markdown(f"**{t('tour_remedy')}:** {t(f'tour_{key}_remedy')}")
            note(tour_section)
            return
    run, fixed = results
    measured(tour_section, run, fixed)
    if st.button(t("tour_open"), key=f"tour_open_{key}"):
        open_in_experiment(tour_section)


def main() -> None:
    """The tour page."""
    recover_stopped_training()
    st.title(t("tab_tour"))
    st.info(t("tour_intro"))
    for tour_section in SECTIONS:
        section_ui(tour_section)
        st.divider()


main()
