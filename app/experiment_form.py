"""The sidebar: presets, config upload, the task, and the experiment form (st.form: no retrain on a slider)."""
from __future__ import annotations


import streamlit as st

from lab import ConfigError, ExperimentConfig, load_config
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.contract.config import (BIAS_INITIALIZER_NAMES, KERNEL_INITIALIZER_NAMES, NORMALIZATION_POSITIONS, NORMALIZATIONS,
                        OPTIMIZERS)
from lab.science.data import BINARY_ONLY, DATASETS, TWO_DIMENSIONAL
from lab.contract.presets import experiment_presets
from lab.contract.config_io import flatten, kind_of, parse_yaml
from app.url_state import UI_LIMITS, check_ui_limits
from app.shared import flash, t

KEY = "w."  # widget keys are "w." + the config's dotted field name
BIAS_CONSTANT = "constant"


def apply_to_widgets(config: ExperimentConfig) -> None:
    """Set every widget's state from a config (only from callbacks or before the widgets are drawn)."""
    for key, value in flatten(config).items():
        st.session_state[KEY + key] = value
    bias = config.model.bias_initializer
    st.session_state[KEY + "model.bias_initializer"] = BIAS_CONSTANT if isinstance(bias, float) else bias
    st.session_state[KEY + "bias_constant"] = bias if isinstance(bias, float) else -1.0
    for clip in ("training.clip_norm", "training.clip_value"):
        st.session_state[KEY + clip] = st.session_state[KEY + clip] or 0.0  # the widget's 0 means off (null)
    every = config.training.record_every
    st.session_state[KEY + "training.record_every"] = "epoch" if every == "epoch" else "steps"
    st.session_state[KEY + "record_steps"] = 10 if every == "epoch" else every


def ensure_widget_defaults() -> None:
    """First visit: every widget starts at the config's default."""
    if KEY + "model.depth" not in st.session_state:
        apply_to_widgets(ExperimentConfig())


def load_preset() -> None:
    """Callback of the preset button."""
    name = st.session_state[KEY + "preset"]
    try:
        config = load_config(experiment_presets()[name])
        check_ui_limits(config)
    except ConfigError as error:
        flash("error", t("config_error", message=error))
        return
    apply_to_widgets(config)
    flash("success", t("preset_loaded", name=name))


def load_uploaded_config() -> None:
    """Callback of the config uploader: validated with the core's messages, never a traceback."""
    upload = st.session_state.get(KEY + "upload")
    if upload is None:
        return
    try:
        # Parsed here, then validated as a mapping: handing load_config the text would let a one-line
        # upload such as "/dev/zero" or "x.yaml" be taken for a path on the server.
        raw = parse_yaml(decode_upload(upload.name, upload.getvalue()), what=upload.name)
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{upload.name}: must be a YAML mapping of sections (data:, model:, ...), got a {kind_of(raw)}")
        config = load_config(raw or {})
        check_ui_limits(config)
    except ConfigError as error:
        flash("error", t("config_error", message=error))
        return
    apply_to_widgets(config)
    flash("success", t("config_loaded", name=upload.name))


def decode_upload(name: str, data: bytes) -> str:
    """An uploaded config's text; ConfigError naming the file when it is not UTF-8 (a binary file, say)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not a UTF-8 text file; a config is YAML text in UTF-8") from None


def sources_ui() -> None:
    """Preset menu and config upload."""
    with st.expander(t("presets"), expanded=False):
        st.selectbox(t("presets"), list(experiment_presets()), key=KEY + "preset", label_visibility="collapsed")
        st.button(t("load_preset"), on_click=load_preset, width="stretch")
        st.file_uploader(t("upload_config"), type=["yaml", "yml"], key=KEY + "upload", on_change=load_uploaded_config)


def task_ui() -> tuple[str, int]:
    """Dataset and classes sit outside the form, so the output choices follow them at once."""
    st.subheader(t("task"))
    dataset = st.selectbox(t("dataset"), DATASETS, key=KEY + "data.dataset")
    if dataset in BINARY_ONLY:
        st.session_state[KEY + "data.num_classes"] = 2
        st.caption(t("binary_only", dataset=dataset))
        return dataset, 2
    classes = st.number_input(t("num_classes"), 2, 10, step=1, key=KEY + "data.num_classes")
    return dataset, int(classes)


def form_ui(dataset: str, classes: int) -> dict | None:
    """The experiment form; returns the raw config dict when Train is pressed, else None."""
    w = KEY
    with st.form("experiment_form"):
        st.subheader(t("form_title"))
        st.text_input(t("name"), key=w + "name", max_chars=64)
        with st.expander(t("section_data"), expanded=False):
            st.number_input(t("num_samples"), 64, UI_LIMITS["data.num_samples"], step=64, key=w + "data.num_samples")
            st.slider(t("noise"), 0.0, 2.0, step=0.05, key=w + "data.noise")
            low = 2 if dataset in TWO_DIMENSIONAL else 1
            st.session_state[w + "data.num_features"] = max(low, st.session_state.get(w + "data.num_features", 2))
            st.number_input(t("num_features"), low, UI_LIMITS["data.num_features"], step=1, key=w + "data.num_features")
            st.slider(t("validation_split"), 0.0, 0.5, step=0.05, key=w + "data.validation_split")
        st.slider(t("depth"), 1, UI_LIMITS["model.depth"], key=w + "model.depth", help=t("help_depth"))
        st.number_input(t("width"), 1, UI_LIMITS["model.width"], step=1, key=w + "model.width")
        st.selectbox(t("activation"), HIDDEN_ACTIVATIONS, key=w + "model.activation")
        st.number_input(t("leaky_alpha"), 0.0, 0.99, step=0.01, format="%.3f", key=w + "model.leaky_alpha")
        outputs = ["sigmoid", "softmax"] if classes == 2 else ["softmax"]
        if st.session_state.get(w + "model.output_activation") not in outputs:
            st.session_state[w + "model.output_activation"] = outputs[0]
        st.selectbox(t("output_activation"), outputs, key=w + "model.output_activation", help=t("output_rule"))
        st.selectbox(t("kernel_initializer"), KERNEL_INITIALIZER_NAMES, key=w + "model.kernel_initializer", help=t("help_kernel_initializer"))
        st.selectbox(t("bias_initializer"), (*BIAS_INITIALIZER_NAMES, BIAS_CONSTANT), key=w + "model.bias_initializer", help=t("help_bias_initializer"))
        st.number_input(t("bias_constant"), -10.0, 10.0, step=0.1, key=w + "bias_constant")
        with st.expander(t("section_remedies"), expanded=False):
            st.selectbox(t("normalization"), NORMALIZATIONS, key=w + "model.normalization", help=t("help_normalization"))
            st.radio(t("normalization_position"), NORMALIZATION_POSITIONS, key=w + "model.normalization_position", horizontal=True)
            st.number_input(t("residual_every"), 0, UI_LIMITS["model.depth"], step=1, key=w + "model.residual_every",
                            help=t("help_residual_every"))
            st.number_input(t("clip_norm"), 0.0, 100.0, step=0.1, key=w + "training.clip_norm", help=t("help_clip"))
            st.number_input(t("clip_value"), 0.0, 100.0, step=0.1, key=w + "training.clip_value", help=t("help_clip"))
        with st.expander(t("section_training"), expanded=True):
            st.selectbox(t("optimizer"), OPTIMIZERS, key=w + "training.optimizer")
            st.slider(t("momentum"), 0.0, 0.99, step=0.01, key=w + "training.momentum")
            st.number_input(t("learning_rate"), 1e-5, 10.0, step=0.01, format="%.5f", key=w + "training.learning_rate")
            st.number_input(t("batch_size"), 1, UI_LIMITS["training.batch_size"], step=1, key=w + "training.batch_size")
            st.slider(t("epochs"), 0, UI_LIMITS["training.epochs"], key=w + "training.epochs")
            st.radio(t("record_every"), ["epoch", "steps"], key=w + "training.record_every", horizontal=True,
                     format_func=lambda value: t("record_epoch" if value == "epoch" else "record_steps"), help=t("help_record_every"))
            st.number_input(t("record_steps_value"), 1, 10_000, step=1, key=w + "record_steps")
            st.number_input(t("probe_samples"), 1, UI_LIMITS["probe.num_samples"], step=16, key=w + "probe.num_samples", help=t("help_probe_samples"))
            st.number_input(t("seed"), 0, 2**31 - 1, step=1, key=w + "seed")
        pressed = st.form_submit_button(t("train"), type="primary", width="stretch")
    return raw_config(dataset, classes) if pressed else None


def raw_config(dataset: str, classes: int) -> dict:
    """The form's values as a raw config dict (validated by lab.load_config)."""
    state = st.session_state
    value = lambda key: state[KEY + key]  # noqa: E731 - a local shorthand
    bias = value("model.bias_initializer")
    every = value("training.record_every")
    return {
        "name": value("name") or "experiment",
        "seed": int(value("seed")),
        "data": {"dataset": dataset, "num_classes": classes, "num_samples": int(value("data.num_samples")),
                 "noise": float(value("data.noise")), "num_features": int(value("data.num_features")),
                 "validation_split": float(value("data.validation_split"))},
        "model": {"depth": int(value("model.depth")), "width": int(value("model.width")), "activation": value("model.activation"),
                  "leaky_alpha": float(value("model.leaky_alpha")), "output_activation": value("model.output_activation"),
                  "kernel_initializer": value("model.kernel_initializer"),
                  "bias_initializer": float(state[KEY + "bias_constant"]) if bias == BIAS_CONSTANT else bias,
                  "normalization": value("model.normalization"), "normalization_position": value("model.normalization_position"),
                  "residual_every": int(value("model.residual_every"))},
        "training": {"optimizer": value("training.optimizer"), "momentum": float(value("training.momentum")),
                     "learning_rate": float(value("training.learning_rate")), "batch_size": int(value("training.batch_size")),
                     "epochs": int(value("training.epochs")),
                     "record_every": "epoch" if every == "epoch" else int(state[KEY + "record_steps"]),
                     # 0 in the widget = off (null in the config)
                     "clip_norm": float(value("training.clip_norm")) or None, "clip_value": float(value("training.clip_value")) or None},
        "probe": {"num_samples": int(value("probe.num_samples"))},
    }
