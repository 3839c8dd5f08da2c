"""RunResult: what one run produces (tidy frames + summary), and the column contract of each frame."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# 4: run folders of lab.keras.GradientFlow (summary.json source keras_callback, no config.yaml) and data.csv for
# data.dataset csv (issue #15); 3: timesteps.csv (issue #14), written only for model.kind rnn; 2: propagation.csv and
# spectrum.csv (issue #13), written only with probe.propagation; 1: the four frames.
FORMAT_VERSION = 4
# The lab's version, recorded in every summary.json (lab.__version__ is this).
LAB_VERSION = "0.1.0"

LAYER_COLUMNS = (
    "run_id", "step", "epoch", "layer", "layer_kind", "grad_norm", "bias_grad_norm", "preact_grad_rms",
    "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction", "activation_mean", "activation_std",
)
HISTORY_COLUMNS = ("run_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy")
HISTOGRAM_COLUMNS = ("run_id", "step", "epoch", "layer", "bin_left", "bin_right", "count")
# probability = the model's probability of predicted_class at the grid point (x1, x2).
BOUNDARY_COLUMNS = ("run_id", "x1", "x2", "predicted_class", "probability")
# Signal propagation (probe.propagation), per (step, hidden layer): q and c of the pre-activations z_l on the
# probe batch, and the singular values of J_l = dz_l/dz_1 averaged over the first jacobian_samples samples.
PROPAGATION_COLUMNS = ("run_id", "step", "layer", "q", "c", "jac_mean_sq", "jac_max", "jac_min")
# Every singular value of every J_l (index 1 = the largest), per sample: for histograms.
SPECTRUM_COLUMNS = ("run_id", "step", "layer", "sample", "index", "singular_value")
# Recurrent networks (model.kind rnn), per (step, recurrent layer, time step t = 1..T): the total derivative
# sqrt(mean_i ||d loss_i / d h_t||^2) through every later step, sqrt(mean h_t^2), and the LSTM carry's
# sqrt(mean_i ||d loss_i / d c_t||^2) (NaN for the simple cell and GRU); see lab.training.recurrent_probes.
TIMESTEP_COLUMNS = ("run_id", "step", "layer", "t", "state_grad_rms", "state_rms", "cell_grad_rms")

FRAME_COLUMNS = {
    "layers": LAYER_COLUMNS,
    "history": HISTORY_COLUMNS,
    "histograms": HISTOGRAM_COLUMNS,
    "boundary": BOUNDARY_COLUMNS,
    "propagation": PROPAGATION_COLUMNS,
    "spectrum": SPECTRUM_COLUMNS,
    "timesteps": TIMESTEP_COLUMNS,
}
# Frames written only when the config asks for them (their CSV is absent otherwise).
OPTIONAL_FRAMES = ("propagation", "spectrum", "timesteps")
INTEGER_COLUMNS = {"step", "epoch", "layer", "count", "predicted_class", "sample", "index", "t"}
TEXT_COLUMNS = {"run_id", "layer_kind"}


def column_dtype(column: str):
    """The contract's dtype of a column."""
    return "int64" if column in INTEGER_COLUMNS else object if column in TEXT_COLUMNS else "float64"


_EMPTY: dict[str, pd.DataFrame] = {}


def frame(name: str, rows: list[dict] | None = None) -> pd.DataFrame:
    """A frame of the contract from row dicts: its columns in order and stable dtypes, even when empty."""
    if not rows:
        # A copy of one template: building an empty frame costs ten times more, once per run and frame.
        if name not in _EMPTY:
            _EMPTY[name] = pd.DataFrame({column: np.array([], dtype=column_dtype(column)) for column in FRAME_COLUMNS[name]})
        return _EMPTY[name].copy()
    return pd.DataFrame({
        column: np.array([row[column] for row in rows], dtype=column_dtype(column)) for column in FRAME_COLUMNS[name]
    })


def optional_frames_of(config) -> tuple[str, ...]:
    """The optional frames a config asks for: propagation and spectrum with probe.propagation, timesteps for rnn."""
    asked = ("propagation", "spectrum") if config.probe.propagation else ()
    return asked + (("timesteps",) if config.model.kind == "rnn" else ())


def frame_from_columns(name: str, columns: dict) -> pd.DataFrame:
    """A frame of the contract from column arrays (the fast path for large frames)."""
    return pd.DataFrame({column: np.asarray(columns[column], dtype=column_dtype(column)) for column in FRAME_COLUMNS[name]})


@dataclass(frozen=True)
class RunResult:
    """One finished (or diverged) run: config, the tidy frames, and summary.json's content.

    propagation and spectrum are empty (with their columns) unless probe.propagation was on; timesteps unless
    model.kind is rnn. config is None for a run recorded in a user's model.fit by lab.keras.GradientFlow (summary's
    source keras_callback): its summary describes the model instead.
    """

    config: object  # lab.contract.config.ExperimentConfig, or None (source keras_callback)
    layers: pd.DataFrame
    history: pd.DataFrame
    histograms: pd.DataFrame
    boundary: pd.DataFrame
    summary: dict
    propagation: pd.DataFrame = field(default_factory=lambda: frame("propagation"))
    spectrum: pd.DataFrame = field(default_factory=lambda: frame("spectrum"))
    timesteps: pd.DataFrame = field(default_factory=lambda: frame("timesteps"))

    @property
    def run_id(self) -> str:
        """The run's content id (sha256 of the resolved config)."""
        return self.summary["run_id"]

    @property
    def source(self) -> str:
        """Who made the run: "lab" (lab.run, from a config) or "keras_callback" (GradientFlow in a user's model.fit)."""
        return self.summary.get("source", "lab")

    @property
    def depth(self) -> int:
        """Hidden layers (rows 1..depth; depth + 1 is the output row), from the config or a callback run's summary."""
        return self.config.model.depth if self.config is not None else int(self.summary["model"]["depth"])

    @property
    def recurrent(self) -> bool:
        """Rows 1..depth are recurrent layers with a time profile (timesteps): model.kind rnn, or a callback run's."""
        return self.config.model.kind == "rnn" if self.config is not None else not self.timesteps.empty

    @property
    def status(self) -> str:
        """ok, diverged or error."""
        return self.summary["status"]
