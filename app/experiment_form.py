"""The sidebar: presets, config upload, the task, and the experiment form (st.form: no retrain on a slider).

The task section also picks the model's kind (MLP or recurrent, issue #14) and a recurrent network's cell: they decide
which fields the form offers, so they sit outside the form and the form follows them at once. A field that does not
apply to the kind is not drawn and not sent (the schema resolves it), or drawn disabled where its fixed value informs.

Every numeric widget takes its range from the schema narrowed by the app's caps (app.url_state.widget_range), so any
config a link, an upload, a preset, Fix it or the tour brings fits its widgets; floats are number inputs shown with
EXACT_FORMAT, so the form holds exactly the config it was given and Train on the unchanged form gives the same run id.
"""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from app.language import t
from app.shared import flash
from app.url_state import check_csv_fits, check_ui_limits, link_config, widget_range
from lab import ConfigError, ExperimentConfig, load_config
from lab.contract.config import (
    BIAS_INITIALIZER_NAMES,
    DEFAULT_JACOBIAN_SAMPLES,
    DEFAULT_PROBE_SAMPLES,
    GATED_CELL_ACTIVATION,
    KERNEL_INITIALIZER_NAMES,
    MODEL_KINDS,
    NORMALIZATION_POSITIONS,
    NORMALIZATIONS,
    OPTIMIZERS,
)
from lab.contract.config_io import flatten, kind_of, parse_yaml
from lab.contract.csv_source import KNOWN_TABLES, read_upload, remember
from lab.contract.field_limits import default_probe_samples
from lab.contract.presets import experiment_presets
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.science.csv_data import CSV_DATASET, CsvDataError, CsvTable
from lab.science.data import BINARY_ONLY, DATASETS, DIGITS_CLASSES, DIGITS_FEATURES, TWO_DIMENSIONAL
from lab.science.initializers import ASYMMETRIC_INITIALIZERS
from lab.science.recurrent_initializers import CELLS, RECURRENT_INITIALIZERS, SIMPLE_ONLY_RECURRENT_INITIALIZERS
from lab.science.sequences import CHANNELS, CLASSES, SEQUENCE_TASKS

KEY = "w."  # widget keys are "w." + the config's dotted field name
# A csv upload (issue #15): the session keeps its checked table, so the form's config (which names it by
# data.sha256, held in KEY + "data.sha256") finds it in lab.contract.csv_source however long the visit lasts.
CSV_TABLE = "csv_table"
BIAS_CONSTANT = "constant"
# Streamlit's browser side shows a float input through its printf format (sprintf-js), and an edit or a +/- click
# commits the shown text: the default "%0.2f" shows 0.995 as 0.99 and 1e-6 as 0.00. "%g" without a precision
# prints the number itself (0.995, 0.000001, 1e-7).
EXACT_FORMAT = "%g"
# The form's "recurrent" choice starts from this preset (experiments/rnn_vanishing.yaml: a simple tanh RNN on adding,
# T = 50, the calibration); RNN_FALLBACK is the same experiment, used only while the preset file is absent.
DEFAULT_RNN_PRESET = "rnn_vanishing"
RNN_FALLBACK = {"name": "rnn_vanishing", "data": {"dataset": "adding", "sequence_length": 50, "num_samples": 3000},
                "model": {"kind": "rnn", "cell": "simple", "width": 32, "activation": "tanh"},
                "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 64, "epochs": 60}}


def kind_default(kind: str) -> ExperimentConfig:
    """The experiment the form starts from when the model's kind is switched to kind."""
    if kind == "mlp":
        return ExperimentConfig()
    preset = experiment_presets().get(DEFAULT_RNN_PRESET)
    return load_config(preset if preset is not None else RNN_FALLBACK)


def switch_kind() -> None:
    """Callback of the model-kind radio: the form starts from that kind's default experiment (the fields differ)."""
    config = kind_default(st.session_state[KEY + "model.kind"])
    apply_to_widgets(config)
    flash("info", t("rnn_form_kind_switched", name=config.name))


def form_kind(state: Mapping) -> str:
    """The model kind the form holds ('mlp' where the state has none: a state made before issue #14)."""
    return state[KEY + "model.kind"] if KEY + "model.kind" in state else "mlp"


def choose(state: Mapping, key: str, options) -> None:
    """Keep a choice widget's state within its options (a cell or task switched under it): the first option if not."""
    if state.get(KEY + key) not in options:
        state[KEY + key] = options[0]


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
    # Empty = left at the default rule, so it follows the data when they change (the placeholder shows its value).
    follows = config.probe.num_samples == default_probe_samples(config.data.num_samples, config.data.validation_split)
    st.session_state[KEY + "probe.num_samples"] = None if follows else config.probe.num_samples


def ensure_widget_defaults() -> None:
    """First visit: every widget starts at the config's default (a link to a csv run: at the link's, see offer_csv_link)."""
    if KEY + "model.depth" not in st.session_state:
        apply_to_widgets(ExperimentConfig())
        offer_csv_link(st.query_params)


def offer_csv_link(parameters: Mapping) -> None:
    """A link to a csv run carries no file (the page says so): the form takes the link's settings, csv chosen, so the
    visitor can upload the file and train."""
    if parameters.get("data.dataset") != CSV_DATASET:
        return
    try:
        config = link_config(dict(parameters))
        if config is None or config.data.csv_table is not None:  # no link, or one whose file this server holds
            return
        check_ui_limits(config)  # within the widgets' ranges
    except ConfigError:  # the page already says what is wrong with the link
        return
    apply_to_widgets(config)


def form_csv(state: Mapping) -> CsvTable | None:
    """The checked file the form's data.sha256 names: this session's upload, or one this server holds."""
    sha256 = state.get(KEY + "data.sha256")
    if sha256 is None:
        return None
    table = state.get(CSV_TABLE)
    return table if table is not None and table.sha256 == sha256 else KNOWN_TABLES.get(sha256)


def load_uploaded_csv() -> None:
    """Callback of the csv uploader: checked with the core's one-line messages (naming the file), never a traceback."""
    upload = st.session_state.get(KEY + "csv_upload")
    if upload is None:
        return
    try:
        table = read_upload(upload.name, upload.getvalue())
        check_csv_fits(table)
    except (CsvDataError, ConfigError) as error:
        flash("error", t("csv_error", message=error))
        return
    st.session_state[CSV_TABLE] = table
    st.session_state[KEY + "data.sha256"] = table.sha256
    flash("success", csv_summary(table))


def csv_summary(table: CsvTable) -> str:
    """The uploaded file in one line: its name, sizes and classes in their order (0..k-1)."""
    return t("csv_loaded", name=table.name, rows=table.num_samples, features=table.num_features,
             classes=table.num_classes, labels=", ".join(table.classes))


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


@st.cache_resource(show_spinner=False)
def preset_names() -> tuple[str, ...]:
    """The experiment presets' names, read once per server (the shipped files do not change while it runs): parsing
    every preset file to tell experiments from sweeps took 0.1 - 0.2 s of every rerun of the Experiment page."""
    return tuple(experiment_presets())


def sources_ui() -> None:
    """Preset menu and config upload."""
    with st.expander(t("presets"), expanded=False):
        st.selectbox(t("presets"), list(preset_names()), key=KEY + "preset", label_visibility="collapsed")
        st.button(t("load_preset"), on_click=load_preset, width="stretch")
        st.file_uploader(t("upload_config"), type=["yaml", "yml"], key=KEY + "upload", on_change=load_uploaded_config)


def task_ui() -> tuple[str, int]:
    """Model kind, dataset (and cell) and classes sit outside the form, so the fields and output choices follow them at once."""
    st.subheader(t("task"))
    # Labels looked up now, in the visitor's language (a format_func calling t later could run without the session).
    labels = {"mlp": t("rnn_form_kind_mlp"), "rnn": t("rnn_form_kind_rnn")}
    kind = st.radio(t("rnn_form_kind"), MODEL_KINDS, key=KEY + "model.kind", horizontal=True, on_change=switch_kind,
                    format_func=labels.__getitem__, help=t("rnn_form_help_kind"))
    if kind == "rnn":
        return sequence_task_ui()
    datasets = (*DATASETS, CSV_DATASET)
    choose(st.session_state, "data.dataset", datasets)
    dataset = st.selectbox(t("dataset"), datasets, key=KEY + "data.dataset")
    if dataset == CSV_DATASET:
        return dataset, csv_ui()
    if dataset == "digits":  # 10 classes, 64 features, no noise: the form follows (form_ui), the schema checks
        st.session_state[KEY + "data.num_classes"] = DIGITS_CLASSES
        st.caption(t("digits_fixed"))
        return dataset, DIGITS_CLASSES
    if dataset in BINARY_ONLY:
        st.session_state[KEY + "data.num_classes"] = 2
        st.caption(t("binary_only", dataset=dataset))
        return dataset, 2
    classes = number_widget(t("num_classes"), "data.num_classes")
    return dataset, int(classes)


def csv_ui() -> int:
    """The csv upload (the file's classes decide the output choices); 2 classes until a file is there."""
    st.file_uploader(t("csv_upload"), type=["csv"], key=KEY + "csv_upload", on_change=load_uploaded_csv,
                     help=t("csv_help_upload"))
    table = form_csv(st.session_state)
    if table is None:
        sha256 = st.session_state.get(KEY + "data.sha256")
        st.info(t("csv_link_waiting", sha=sha256[:12]) if sha256 else t("csv_needed"))
        return 2
    remember(table)  # most recently used: Train's config finds it by its sha256
    st.caption(csv_summary(table))
    st.session_state[KEY + "data.num_classes"] = table.num_classes
    return table.num_classes


def sequence_task_ui() -> tuple[str, int]:
    """A recurrent network's task (a sequence task: its channels and classes are the task's) and its cell."""
    choose(st.session_state, "data.dataset", SEQUENCE_TASKS)
    dataset = st.selectbox(t("dataset"), SEQUENCE_TASKS, key=KEY + "data.dataset", help=t("rnn_form_help_task"))
    classes = CLASSES[dataset]
    st.session_state[KEY + "data.num_classes"] = classes
    st.caption(t("rnn_form_task_fixed", dataset=dataset, channels=CHANNELS[dataset], classes=classes))
    choose(st.session_state, "model.cell", CELLS)
    st.selectbox(t("rnn_form_cell"), CELLS, key=KEY + "model.cell", help=t("rnn_form_help_cell"))
    return dataset, classes


def number_widget(label: str, field: str, widget: str | None = None, low=None, **options):
    """A number input for a config field (widget: its key when it is not the field's own), in the field's widget_range
    for the form's model kind.

    low: a tighter lower bound a cross-field rule asks for (the 2-D data sets' two features).
    """
    schema_low, high = widget_range(field, form_kind(st.session_state))
    low = schema_low if low is None else max(low, schema_low)
    if isinstance(schema_low, float) or isinstance(high, float):
        return st.number_input(label, float(low), float(high), format=EXACT_FORMAT, key=KEY + (widget or field), **options)
    return st.number_input(label, int(low), int(high), key=KEY + (widget or field), **options)


def probe_placeholder(state: Mapping) -> str | None:
    """What the empty probe field trains with: the default rule's value for the form's data."""
    try:
        value = default_probe_samples(state[KEY + "data.num_samples"], state[KEY + "data.validation_split"])
    except (KeyError, ValueError):  # never a traceback for a hint
        return None
    return t("probe_default", value=value, default=DEFAULT_PROBE_SAMPLES)


def form_ui(dataset: str, classes: int) -> dict | None:
    """The experiment form; returns the raw config dict when Train is pressed, else None."""
    w = KEY
    recurrent = form_kind(st.session_state) == "rnn"
    with st.form("experiment_form"):
        st.subheader(t("form_title"))
        st.text_input(t("name"), key=w + "name", max_chars=64)
        if recurrent:  # T is the experiment's main variable: in view, not in the data section
            number_widget(t("rnn_form_sequence_length"), "data.sequence_length", step=1, help=t("rnn_form_help_sequence_length"))
        data_section(dataset, recurrent)
        if recurrent:
            recurrent_model_section()
        else:
            mlp_model_section()
        outputs = ["sigmoid", "softmax"] if classes == 2 else ["softmax"]
        if st.session_state.get(w + "model.output_activation") not in outputs:
            st.session_state[w + "model.output_activation"] = outputs[0]
        st.selectbox(t("output_activation"), outputs, key=w + "model.output_activation", help=t("output_rule"))
        kernels = [name for name in KERNEL_INITIALIZER_NAMES if not (recurrent and name in ASYMMETRIC_INITIALIZERS)]
        choose(st.session_state, "model.kernel_initializer", kernels)
        st.selectbox(t("kernel_initializer"), kernels, key=w + "model.kernel_initializer",
                     help=t("rnn_form_help_kernel_initializer" if recurrent else "help_kernel_initializer"))
        st.selectbox(t("bias_initializer"), (*BIAS_INITIALIZER_NAMES, BIAS_CONSTANT), key=w + "model.bias_initializer",
                     help=t("help_bias_initializer"))
        number_widget(t("bias_constant"), "model.bias_initializer", "bias_constant", step=0.1)
        number_widget(t("sigma_w"), "model.sigma_w", step=0.1, help=t("help_sigma_w"))
        number_widget(t("sigma_b"), "model.sigma_b", step=0.1, help=t("help_sigma_b"))
        with st.expander(t("section_remedies"), expanded=False):
            if not recurrent:  # the MLP's blocks only (the schema refuses them with model.kind rnn)
                st.selectbox(t("normalization"), NORMALIZATIONS, key=w + "model.normalization", help=t("help_normalization"))
                st.radio(t("normalization_position"), NORMALIZATION_POSITIONS, key=w + "model.normalization_position",
                         horizontal=True)
                number_widget(t("residual_every"), "model.residual_every", step=1, help=t("help_residual_every"))
            number_widget(t("clip_norm"), "training.clip_norm", step=0.1, help=t("help_clip"))
            number_widget(t("clip_value"), "training.clip_value", step=0.1, help=t("help_clip"))
        with st.expander(t("section_training"), expanded=True):
            st.selectbox(t("optimizer"), OPTIMIZERS, key=w + "training.optimizer")
            number_widget(t("momentum"), "training.momentum", step=0.01)
            number_widget(t("learning_rate"), "training.learning_rate", step=0.01)
            number_widget(t("batch_size"), "training.batch_size", step=1)
            st.slider(t("epochs"), *widget_range("training.epochs"), key=w + "training.epochs")
            every = {"epoch": t("record_epoch"), "steps": t("record_steps")}  # labels looked up now (see task_ui)
            st.radio(t("record_every"), list(every), key=w + "training.record_every", horizontal=True,
                     format_func=every.__getitem__, help=t("help_record_every"))
            number_widget(t("record_steps_value"), "training.record_every", "record_steps", step=1)
            # value=None: the field may be empty (the default rule), and no widget default competes with the session's value.
            number_widget(t("probe_samples"), "probe.num_samples", value=None, step=16, help=t("help_probe_samples"),
                          placeholder=probe_placeholder(st.session_state))
            if not recurrent:  # Jacobians dz_l/dz_1 of an MLP's layers (the schema refuses them with model.kind rnn)
                st.checkbox(t("propagation"), key=w + "probe.propagation", help=t("help_propagation"))
                number_widget(t("jacobian_samples"), "probe.jacobian_samples", step=1, help=t("help_jacobian_samples"))
            number_widget(t("seed"), "seed", step=1)
        # A csv without its file cannot train: Train waits for the upload (the task section says so).
        without_file = dataset == CSV_DATASET and form_csv(st.session_state) is None
        pressed = st.form_submit_button(t("train"), type="primary", width="stretch", disabled=without_file)
    return raw_config(dataset, classes) if pressed else None


def data_section(dataset: str, recurrent: bool) -> None:
    """Samples, noise, features and the validation split; a sequence task fixes its channels (shown in the task)."""
    w = KEY
    with st.expander(t("section_data"), expanded=False):
        digits, csv = dataset == "digits", dataset == CSV_DATASET
        if csv:  # the file's sizes, shown (within the widgets' ranges) and not sent: the schema resolves them
            st.caption(t("csv_fixed"))
            fixed_by_file(form_csv(st.session_state))
        number_widget(t("num_samples"), "data.num_samples", step=64, disabled=csv)
        if digits:  # real images: no noise, and the 8×8 pixels are the features
            st.session_state[w + "data.noise"] = ExperimentConfig().data.noise
            st.session_state[w + "data.num_features"] = DIGITS_FEATURES
        if recurrent:  # noise flips bit_memory's bits; the other tasks are defined without it (not sent for them)
            fixed = dataset != "bit_memory"
            if fixed:
                st.session_state[w + "data.noise"] = ExperimentConfig().data.noise
            number_widget(t("noise"), "data.noise", step=0.05, disabled=fixed,
                          help=t("rnn_form_help_noise_fixed" if fixed else "rnn_form_help_noise"))
        else:
            number_widget(t("noise"), "data.noise", step=0.05, disabled=digits or csv)
            low = 2 if dataset in TWO_DIMENSIONAL else 1
            st.session_state[w + "data.num_features"] = max(low, st.session_state.get(w + "data.num_features", 2))
            number_widget(t("num_features"), "data.num_features", low=low, step=1, disabled=digits or csv)
        number_widget(t("validation_split"), "data.validation_split", step=0.05)


def fixed_by_file(table: CsvTable | None) -> None:
    """The data widgets show the csv's rows and features (clipped to their ranges: display only) and no noise."""
    st.session_state[KEY + "data.noise"] = ExperimentConfig().data.noise
    if table is None:
        return
    for field, size in (("data.num_samples", table.num_samples), ("data.num_features", table.num_features)):
        low, high = widget_range(field)
        st.session_state[KEY + field] = int(min(max(size, low), high))


def mlp_model_section() -> None:
    """The MLP's depth, width and hidden activation."""
    w = KEY
    st.slider(t("depth"), *widget_range("model.depth"), key=w + "model.depth", help=t("help_depth"))
    number_widget(t("width"), "model.width", step=1)
    choose(st.session_state, "model.activation", HIDDEN_ACTIVATIONS)
    st.selectbox(t("activation"), HIDDEN_ACTIVATIONS, key=w + "model.activation")
    number_widget(t("leaky_alpha"), "model.leaky_alpha", step=0.01)


def recurrent_model_section() -> None:
    """A recurrent network: stacked layers of the task section's cell, its activation and recurrent initialisation.

    Gated cells offer tanh only and no identity or spectral radius (their recurrent kernel is units × G·units):
    what the schema would refuse is not offered.
    """
    w = KEY
    simple = st.session_state.get(w + "model.cell", "simple") == "simple"
    st.slider(t("rnn_form_depth"), *widget_range("model.depth", "rnn"), key=w + "model.depth", help=t("rnn_form_help_depth"))
    number_widget(t("rnn_form_width"), "model.width", step=1)
    activations = HIDDEN_ACTIVATIONS if simple else (GATED_CELL_ACTIVATION,)
    choose(st.session_state, "model.activation", activations)
    st.selectbox(t("rnn_form_activation"), activations, key=w + "model.activation", disabled=not simple,
                 help=t("rnn_form_help_activation" if simple else "rnn_form_help_activation_gated"))
    # Drawn (disabled) for a gated cell too: a widget left undrawn loses its value, and Train reads this one.
    number_widget(t("leaky_alpha"), "model.leaky_alpha", step=0.01, disabled=not simple)
    recurrent = [name for name in RECURRENT_INITIALIZERS if simple or name not in SIMPLE_ONLY_RECURRENT_INITIALIZERS]
    choose(st.session_state, "model.recurrent_initializer", recurrent)
    st.selectbox(t("rnn_form_recurrent_initializer"), recurrent, key=w + "model.recurrent_initializer",
                 help=t("rnn_form_help_recurrent_initializer"))
    if simple:  # empty = the recurrent kernel as drawn (null)
        number_widget(t("rnn_form_spectral_radius"), "model.spectral_radius", value=None, step=0.1,
                      placeholder=t("rnn_form_spectral_radius_empty"), help=t("rnn_form_help_spectral_radius"))


def raw_config(dataset: str, classes: int, state: Mapping | None = None) -> dict:
    """The form's values (state: the session's, by default) as a raw config dict (validated by lab.load_config).

    Values pass as the widgets hold them (no rounding); an empty probe field is left out, so the schema resolves it.
    Only the fields of the form's model kind are sent (a recurrent network's task fixes its channels and classes).
    """
    state = st.session_state if state is None else state

    def value(key: str):
        return state[KEY + key]

    bias = value("model.bias_initializer")
    every = value("training.record_every")
    probe = value("probe.num_samples")
    recurrent = form_kind(state) == "rnn"
    model = {"depth": int(value("model.depth")), "width": int(value("model.width")), "activation": value("model.activation"),
             "leaky_alpha": float(value("model.leaky_alpha")), "output_activation": value("model.output_activation"),
             "kernel_initializer": value("model.kernel_initializer"),
             "bias_initializer": float(state[KEY + "bias_constant"]) if bias == BIAS_CONSTANT else bias,
             "sigma_w": float(value("model.sigma_w")), "sigma_b": float(value("model.sigma_b"))}
    if recurrent:
        data = {"dataset": dataset, "sequence_length": int(value("data.sequence_length")),
                **({"noise": float(value("data.noise"))} if dataset == "bit_memory" else {})}
        model.update(recurrent_fields(state))
    else:
        if dataset == CSV_DATASET:  # the file (named by its sha256) sizes the data; no noise
            data = {"dataset": dataset, "sha256": state.get(KEY + "data.sha256")}
        else:
            data = {"dataset": dataset, "num_classes": classes, "noise": float(value("data.noise")),
                    "num_features": int(value("data.num_features"))}
        model.update({"normalization": value("model.normalization"),
                      "normalization_position": value("model.normalization_position"),
                      "residual_every": int(value("model.residual_every"))})
    return {
        "name": value("name") or "experiment",
        "seed": int(value("seed")),
        "data": {**data, **({} if dataset == CSV_DATASET else {"num_samples": int(value("data.num_samples"))}),
                 "validation_split": float(value("data.validation_split"))},
        "model": model,
        "training": {"optimizer": value("training.optimizer"), "momentum": float(value("training.momentum")),
                     "learning_rate": float(value("training.learning_rate")), "batch_size": int(value("training.batch_size")),
                     "epochs": int(value("training.epochs")),
                     "record_every": "epoch" if every == "epoch" else int(state[KEY + "record_steps"]),
                     # 0 in the widget = off (null in the config)
                     "clip_norm": float(value("training.clip_norm")) or None,
                     "clip_value": float(value("training.clip_value")) or None},
        "probe": {**({} if probe is None else {"num_samples": int(probe)}), **({} if recurrent else propagation_fields(state))},
    }


def recurrent_fields(state: Mapping) -> dict:
    """model.kind rnn with its cell and recurrent initializer; the spectral radius when set (the simple cell's only)."""
    cell = state[KEY + "model.cell"]
    fields = {"kind": "rnn", "cell": cell, "recurrent_initializer": state[KEY + "model.recurrent_initializer"]}
    radius = state[KEY + "model.spectral_radius"] if cell == "simple" and KEY + "model.spectral_radius" in state else None
    if radius is not None:
        fields["spectral_radius"] = float(radius)
    return fields


def propagation_fields(state: Mapping) -> dict:
    """probe.propagation and jacobian_samples as the form holds them; at their defaults, left out (the schema resolves them)."""
    fields = {}
    if state[KEY + "probe.propagation"]:
        fields["propagation"] = True
    samples = int(state[KEY + "probe.jacobian_samples"])
    if samples != DEFAULT_JACOBIAN_SAMPLES:
        fields["jacobian_samples"] = samples
    return fields
