"""The app's state that is not Streamlit's: query parameters <-> config, and the UI's size caps."""
from __future__ import annotations

from collections.abc import Mapping

from lab.contract.config import DEFAULT_PROBE_SAMPLES, MAX_RNN_DEPTH, ExperimentConfig
from lab.contract.config_io import ConfigError, flatten, load_config, parse_override
from lab.contract.field_limits import bounds
from lab.contract.resources import check_resources, hosted_limits
from lab.science.csv_data import CSV_DATASET, CsvTable
from lab.text.i18n import LANGUAGES, translate

# Caps on what the app lets a visitor train, so the largest experiment stays well inside Streamlit
# Community Cloud's ~2.7 GB (TensorFlow alone takes ~0.7 GB). Config files and the CLI allow more.
UI_LIMITS = {
    "model.depth": 50,
    "model.width": 256,
    "data.num_samples": 5000,
    "data.num_features": 100,
    "training.epochs": 200,
    "training.batch_size": 512,
    "probe.num_samples": 512,
    "probe.jacobian_samples": 8,
    "data.sequence_length": 200,  # read by the sequence tasks (model.kind rnn) only
}
# A recurrent network (model.kind rnn, issue #14) keeps every time step's values for back-propagation through time,
# in training and in each probe record, so its memory grows with T x samples x width x depth (x gates): the app caps
# width, depth and the probe batch (and T, above) lower than the MLP's. With these caps and the hosted memory estimate,
# the largest rnn the app allows peaks at about 1.65 GB in its process, TensorFlow included (docs/limits.md).
RNN_UI_LIMITS = {"model.width": 64, "model.depth": MAX_RNN_DEPTH, "probe.num_samples": DEFAULT_PROBE_SAMPLES}
UI_ONLY_PARAMETERS = ("lang", "tab")


def config_to_query(config: ExperimentConfig) -> dict[str, str]:
    """Only the fields that differ from the defaults, as strings: a short URL that reproduces the run."""
    defaults = flatten(ExperimentConfig())
    return {key: str(value) for key, value in flatten(config).items() if defaults.get(key) != value}


def query_to_config(parameters: Mapping[str, str]) -> ExperimentConfig | None:
    """The config a URL's parameters describe (None when they describe none); ConfigError if invalid.

    A link to a csv run names its file by data.sha256 only: a link cannot carry the file, so unless this server still
    holds that file (lab.contract.csv_source), ConfigError says so (the form then offers the upload: link_config).
    """
    config = link_config(parameters)
    if config is None:
        return None
    if config.data.dataset == CSV_DATASET and config.data.csv_table is None:
        language = parameters.get("lang") if parameters.get("lang") in LANGUAGES else "en"
        raise ConfigError(translate("csv_link", language, sha=config.data.sha256[:12]))
    check_ui_limits(config)
    return config


def link_config(parameters: Mapping[str, str]) -> ExperimentConfig | None:
    """The config of a URL's parameters, validated (a csv's file not needed: its sha256 stands for it), or None."""
    overrides = {}
    for key, value in parameters.items():
        if key in UI_ONLY_PARAMETERS:
            continue
        overrides.update([parse_override(f"{key}={value}")])
    if not overrides:
        return None
    return load_config({}, overrides=overrides)


def check_csv_fits(table: CsvTable) -> None:
    """ConfigError naming an uploaded csv whose rows or feature columns are over the app's caps."""
    for key, size, what in (("data.num_samples", table.num_samples, "rows"),
                            ("data.num_features", table.num_features, "feature columns")):
        if size > UI_LIMITS[key]:
            raise ConfigError(f"{table.name}: {size:,} {what}; at most {UI_LIMITS[key]:,} in the app "
                              "(run larger files with python -m lab)")


def ui_limits(kind: str) -> dict[str, int]:
    """The app's caps for a model.kind: UI_LIMITS, with RNN_UI_LIMITS over them for a recurrent network."""
    return {**UI_LIMITS, **RNN_UI_LIMITS} if kind == "rnn" else UI_LIMITS


def check_ui_limits(config: ExperimentConfig) -> None:
    """ConfigError naming every field over the app's caps, or a run estimated over the hosted memory/time caps."""
    flat = flatten(config)
    what = " for a recurrent network" if config.model.kind == "rnn" else ""
    over = [f"{key}: at most {limit} in the app{what} (got {flat[key]}); run larger ones with python -m lab"
            for key, limit in ui_limits(config.model.kind).items() if flat[key] > limit]
    if over:
        raise ConfigError("; ".join(over))
    check_resources(config, hosted_limits())


def widget_range(key: str, kind: str = "mlp") -> tuple[float | None, float | None]:
    """A widget's closed range for a config field: the schema's bounds narrowed by the app's caps for that model.kind.

    An open end (momentum < 1) is included: a widget cannot express it, so the schema refuses it on Train.
    """
    low, high, _, _ = bounds(key)
    cap = ui_limits(kind).get(key)
    if cap is not None:
        high = cap if high is None else min(high, cap)
    return low, high


def differences(configs: Mapping[str, ExperimentConfig]) -> list[dict]:
    """Rows {'field', <label>: value, ...} for every field whose value differs between the configs."""
    flats = {label: flatten(config) for label, config in configs.items()}
    keys = list(next(iter(flats.values()), {}))
    rows = []
    for key in keys:
        values = {label: flat.get(key) for label, flat in flats.items()}
        if len({repr(value) for value in values.values()}) > 1:
            rows.append({"field": key, **{label: str(value) for label, value in values.items()}})
    return rows
