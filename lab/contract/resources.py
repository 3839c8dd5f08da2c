"""What a run will cost before it runs: estimated memory and time, and the caps that refuse a config.

A hosted app shares one small machine (Streamlit Community Cloud: about 2.7 GB, shared CPU), so a
config that would exhaust it must be refused before anything is built, with the estimate in the
message. The estimates are simple cost models (memory: tensors, optimizer slots, data, recorded
frames; time: floating-point work per step and per record, plus fixed costs per step and per layer)
whose constants were measured on this project's 2-core machine with one TensorFlow thread
(`python bench/resource_calibration.py` prints estimate against measurement for a spread of configs).
They aim to be within a factor of two, on the high side: a cap is a guard, not a prediction.

Caps come from the environment, so a deployment sets its own: LAB_MAX_RUN_MEMORY_MB and
LAB_MAX_RUN_SECONDS (0 = no cap). The app uses HOSTED_DEFAULTS unless they are set; the CLI caps
memory at the machine's own memory and time not at all unless they are set.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import ConfigError
from lab.science.csv_data import CSV_DATASET
from lab.science.recurrent_initializers import GATES

BYTES_PER_MB = 1024 * 1024
FLOAT = 4  # float32
# Measured constants (bench/resource_calibration.py, 1 TensorFlow thread, this machine).
PEAK_FLOPS_PER_SECOND = 50e9  # dense float32 matmul work at large batches
HALF_RATE_BATCH = 128  # batch at which matmuls reach half that rate (small matrices are overhead-bound)
STEP_OVERHEAD_SECONDS = 60e-6  # one optimizer step inside a compiled loop, beyond its arithmetic
LAYER_STEP_OVERHEAD_SECONDS = 12e-6  # per Dense+Activation block per step (small ops, launch costs)
RECORD_OVERHEAD_SECONDS = 1.0e-3  # one probe record, beyond its arithmetic
LAYER_RECORD_OVERHEAD_SECONDS = 0.25e-3  # per layer per record (numpy columns, histograms)
BUILD_SECONDS = 0.8  # building and tracing the model, steps and probe; boundary and frames
LAYER_BUILD_SECONDS = 0.035  # tracing grows with the number of layers
RUN_BASE_MB = 70.0  # a run's Keras objects, traced graphs and frames of a small model
LAYER_MB = 1.5  # traced graph and Keras objects per block
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2, "rmsprop": 1}
UPDATE_SECONDS_PER_VALUE = 1e-9  # elementwise optimizer work per parameter and slot per step
HISTOGRAM_BINS = 64
BOUNDARY_POINTS = 100 * 100
HOSTED_DEFAULTS = {"memory_mb": 1200.0, "seconds": 300.0}  # one run in a 2.7 GB hosted app
# probe.propagation (lab.training.propagation), measured with bench/propagation.py: per Jacobian (one sample,
# one layer) a float64 width x width matmul and its singular values, about this many seconds per width^3;
# a fixed cost for tracing the slopes function; J and the block Jacobians kept for skips, float64.
JACOBIAN_SECONDS_PER_CUBE = 4e-10
PROPAGATION_BUILD_SECONDS = 0.1
PROPAGATION_RECORDS = 2  # step 0 and the end of training
SPECTRUM_ROW_BYTES = 6 * 8 * 2  # six columns, and their concatenation
# Recurrent runs (issue #14, model.kind rnn): each cell runs T times in sequence, forward and back. Per time step a
# training step costs a fixed time per layer (a while-loop iteration of small ops: more of them in the gated cells)
# plus the arithmetic, 6 x batch x the recurrent weights, at RNN_FLOPS_PER_SECOND (the T small matmuls run faster
# than the MLP's calibrated rate). Measured with a compiled Keras GradientTape train step, 1 TensorFlow thread, this
# machine, 32 units, batch 64, T 50 vs 200: 24 us (simple), 52 us (lstm), 78 us (gru) per time step; simple with 128
# units and batch 256: 162 us. The constants below are those rounded up, so the estimate errs high (x1.2 to x1.8 on
# those four). BPTT keeps every step's state and gate values; the timesteps frame has one row per record, layer and t.
RNN_TIME_STEP_SECONDS = {"simple": 25e-6, "lstm": 50e-6, "gru": 80e-6}  # per time step and layer, beyond arithmetic
RNN_FLOPS_PER_SECOND = 100e9
# float32 values BPTT keeps per (sample, t, unit) of a layer: measured as the peak memory of that train step beyond
# the process's (T 1000, batch 256: simple 128 units 171 MB = 1.3 values, lstm 32 units 291 MB = 8.9, gru 64 units
# 637 MB = 9.7), rounded up.
RNN_KEPT_VALUES = {"simple": 2, "lstm": 12, "gru": 12}
# Values a probe record keeps per (sample, t, unit, layer): states, perturbation gradients, pre-activations and their
# numpy copies. Measured (docs/limits.md, peak RSS beyond TensorFlow, largest app rnn of each cell): the simple cell
# keeps about 10 - counting 2 x its training share (4) under-estimated it 0.36-0.75x; 16 errs high by 1.2-1.4x.
RNN_PROBE_VALUES = {"simple": 16, "lstm": 24, "gru": 24}
TIMESTEP_ROW_BYTES = 7 * 8 * 2  # seven columns, and their concatenation
# A user's csv (data.dataset csv, issue #15): the file's bytes stay with the config (the run folder's data.csv), and
# parsing them peaked at 2.5-3.3x the file's size beyond it (tracemalloc over lab.science.csv_data.parse_csv and
# csv_dataset, 20-40 MB files of 10 to 1000 columns): 4x the file in all. A config validated without its file is
# sized at CSV_BYTES_PER_VALUE per cell (a number written out in full, as repr(float) does, and its comma).
CSV_MEMORY_FACTOR = 4
CSV_BYTES_PER_VALUE = 20


@dataclass(frozen=True)
class Estimate:
    """A run's estimated peak memory beyond the process's TensorFlow (MB) and wall time (s)."""

    memory_mb: float
    seconds: float


@dataclass(frozen=True)
class Limits:
    """Caps on one run; None = no cap."""

    memory_mb: float | None
    seconds: float | None


def matmul_rate(rows: int) -> float:
    """Floating-point operations per second of matmuls with this many rows (small batches are overhead-bound)."""
    return PEAK_FLOPS_PER_SECOND * max(rows, 1) / (max(rows, 1) + HALF_RATE_BATCH)


NORMALIZATION_VALUES = {"none": 0, "batch": 4, "layer": 2}  # per unit: gamma, beta (+ moving mean and variance)
# A block's per-layer costs relative to Dense+Activation alone, (time: tracing and small ops; memory:
# graph and Keras objects), measured with bench/resource_calibration.py (batch_norm_deep,
# layer_norm_residual): batch norm also runs in training mode inside every probe record and restores
# its moving statistics afterwards.
NORMALIZATION_BLOCK_COST = {"none": (1.0, 1.0), "layer": (2.5, 1.5), "batch": (4.0, 2.0)}


def recurrent_parameter_count(config: ExperimentConfig) -> int:
    """Weights of the recurrent layers: kernel (in x G·units), recurrent kernel (units x G·units) and bias
    (G·units; GRU's reset_after keeps two)."""
    model = config.model
    gates = GATES[model.cell]
    biases = 2 if model.cell == "gru" else 1
    return sum((fan_in + model.width + biases) * gates * model.width
               for fan_in in [config.data.num_features] + [model.width] * (model.depth - 1))


def parameter_count(config: ExperimentConfig, output_units: int) -> int:
    """Weights and biases of every Dense layer, normalisation parameters, and a skip's input projection
    (model.kind rnn: the recurrent layers' weights and the output head's)."""
    model = config.model
    if model.kind == "rnn":
        return recurrent_parameter_count(config) + (model.width + 1) * output_units
    sizes = [config.data.num_features] + [model.width] * model.depth + [output_units]
    dense = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    normalization = NORMALIZATION_VALUES[model.normalization] * model.width * model.depth
    # The first skip starts at the input; it needs a projection (no bias) when the widths differ.
    projection = config.data.num_features * model.width if model.residual_every and config.data.num_features != model.width else 0
    return dense + normalization + projection


def record_count(config: ExperimentConfig, steps: int) -> int:
    """Probe records: step 0, then each epoch or every record_every steps, and the end."""
    every = config.training.record_every
    return 1 + (config.training.epochs if every == "epoch" else steps // every + 1)


def estimate(config: ExperimentConfig) -> Estimate:
    """Estimated memory and time of one run of config (no TensorFlow, microseconds)."""
    if config.model.kind == "rnn":
        return recurrent_estimate(config)
    data, model, training = config.data, config.model, config.training
    output_units = 1 if model.output_activation == "sigmoid" else data.num_classes
    parameters = parameter_count(config, output_units)
    train = config.num_train_samples
    validation = data.num_samples - train
    steps = training.epochs * math.ceil(train / training.batch_size)
    records = record_count(config, steps)
    units = model.depth * model.width
    probe = config.probe.num_samples

    slots = OPTIMIZER_SLOTS[training.optimizer]
    # A normalisation layer keeps one more tensor per layer (the normalised z) and its gradient, and
    # launches about as many small ops as the Dense+Activation block itself.
    normalized = model.normalization != "none"
    block_ops, block_memory = NORMALIZATION_BLOCK_COST[model.normalization]
    step_seconds = (6 * training.batch_size * parameters / matmul_rate(training.batch_size) + STEP_OVERHEAD_SECONDS
                    + LAYER_STEP_OVERHEAD_SECONDS * model.depth * block_ops
                    + UPDATE_SECONDS_PER_VALUE * parameters * (1 + 4 * slots))
    record_seconds = (6 * probe * parameters / matmul_rate(probe) + RECORD_OVERHEAD_SECONDS
                      + LAYER_RECORD_OVERHEAD_SECONDS * (model.depth * block_ops + 1) + 30e-9 * probe * units)
    validation_seconds = training.epochs * 2 * validation * parameters / matmul_rate(validation)
    seconds = (BUILD_SECONDS + LAYER_BUILD_SECONDS * model.depth * block_ops + steps * step_seconds + records * record_seconds
               + validation_seconds)

    weights_bytes = parameters * (FLOAT * (4 + 2 * slots) + 16)  # variables, gradients, slots and their updates; numpy copies
    data_bytes = data.num_samples * data.num_features * 24  # float64 generation and the float32 splits
    tensor_bytes = max(
        # a training step keeps z and a of every layer, and their gradients
        training.batch_size * units * FLOAT * (6 if normalized else 4),
        # the probe returns z and a of every layer; numpy copies them (float64) for columns
        probe * units * FLOAT * (10 if normalized else 8),
        # inference keeps a layer or two alive at once
        max(validation, BOUNDARY_POINTS) * model.width * FLOAT * 3,
    )
    frame_bytes = records * (model.depth + 1) * (HISTOGRAM_BINS * 7 + 14) * 8 * 2  # the frames, and their concatenation
    estimated_bytes = weights_bytes + data_bytes + tensor_bytes + frame_bytes + csv_bytes(config)
    memory_mb = RUN_BASE_MB + LAYER_MB * model.depth * block_memory + estimated_bytes / BYTES_PER_MB
    if config.probe.propagation:
        jacobian_mb, jacobian_seconds = propagation_cost(config)
        memory_mb, seconds = memory_mb + jacobian_mb, seconds + jacobian_seconds
    return Estimate(memory_mb=memory_mb, seconds=seconds)


def csv_bytes(config: ExperimentConfig) -> int:
    """Memory a csv's file takes beyond the data arrays: its bytes, kept, and parsing them (0 for the other data sets)."""
    data = config.data
    if data.dataset != CSV_DATASET:
        return 0
    table = data.csv_table
    file_bytes = len(table.content) if table is not None else data.num_samples * (data.num_features + 1) * CSV_BYTES_PER_VALUE
    return CSV_MEMORY_FACTOR * file_bytes


def recurrent_estimate(config: ExperimentConfig) -> Estimate:
    """Estimated memory and time of a model.kind rnn run: work and kept tensors grow with T x batch x width x gates."""
    data, model, training = config.data, config.model, config.training
    output_units = 1 if model.output_activation == "sigmoid" else data.num_classes
    parameters = parameter_count(config, output_units)
    steps_in_time, gates = data.sequence_length, GATES[model.cell]
    train = config.num_train_samples
    validation = data.num_samples - train
    steps = training.epochs * math.ceil(train / training.batch_size)
    records = record_count(config, steps)
    probe = config.probe.num_samples
    slots = OPTIMIZER_SLOTS[training.optimizer]
    recurrent = recurrent_parameter_count(config)

    def through_time(rows: int, flops_per_weight: int) -> float:
        """One pass over the T steps of every layer for rows samples: fixed cost per step and layer, plus arithmetic."""
        return steps_in_time * (model.depth * RNN_TIME_STEP_SECONDS[model.cell]
                                + flops_per_weight * rows * recurrent / RNN_FLOPS_PER_SECOND)

    step_seconds = (through_time(training.batch_size, 6) + STEP_OVERHEAD_SECONDS
                    + UPDATE_SECONDS_PER_VALUE * parameters * (1 + 4 * slots))
    # A record: the forward pass and BPTT with a perturbation per step (timesteps.csv) twice over (measures, and the
    # per-layer columns), and numpy's columns over (sample, t, unit, gate).
    record_seconds = (2 * through_time(probe, 6) + RECORD_OVERHEAD_SECONDS + LAYER_RECORD_OVERHEAD_SECONDS * (model.depth + 1)
                      + 30e-9 * probe * steps_in_time * model.depth * model.width * gates)
    validation_seconds = training.epochs * through_time(validation, 2)
    seconds = (BUILD_SECONDS + LAYER_BUILD_SECONDS * model.depth * gates + steps * step_seconds
               + records * record_seconds + validation_seconds)

    per_step_values = steps_in_time * model.depth * model.width * RNN_KEPT_VALUES[model.cell]  # per sample
    weights_bytes = parameters * (FLOAT * (4 + 2 * slots) + 16)
    data_bytes = data.num_samples * steps_in_time * data.num_features * (24 + 8)  # float64, float32 splits, int symbols
    tensor_bytes = max(
        training.batch_size * per_step_values * FLOAT,  # BPTT keeps every step
        probe * steps_in_time * model.depth * model.width * RNN_PROBE_VALUES[model.cell] * FLOAT,  # the probe's record
        validation * steps_in_time * model.width * gates * FLOAT * 3,  # inference: a stacked layer's whole sequence
    )
    frame_bytes = (records * (model.depth + 1) * (HISTOGRAM_BINS * 7 + 14) * 8 * 2
                   + records * model.depth * steps_in_time * TIMESTEP_ROW_BYTES)
    estimated_bytes = weights_bytes + data_bytes + tensor_bytes + frame_bytes
    memory_mb = RUN_BASE_MB + LAYER_MB * model.depth * gates + estimated_bytes / BYTES_PER_MB
    return Estimate(memory_mb=memory_mb, seconds=seconds)


def propagation_cost(config: ExperimentConfig) -> tuple[float, float]:
    """(MB, seconds) that probe.propagation adds: width^2 x depth x samples Jacobians at two records, and their spectra."""
    model, samples = config.model, config.probe.jacobian_samples
    jacobians = model.depth * samples  # per record
    # J_l and K_l of the layer at hand, SVD workspace, and the K_l a skip keeps (at most every block's)
    kept = 3 + (model.depth if model.residual_every else 0)
    memory_bytes = kept * samples * model.width ** 2 * 8 + PROPAGATION_RECORDS * jacobians * model.width * SPECTRUM_ROW_BYTES
    seconds = PROPAGATION_BUILD_SECONDS + PROPAGATION_RECORDS * jacobians * JACOBIAN_SECONDS_PER_CUBE * model.width ** 3
    return memory_bytes / BYTES_PER_MB, seconds


def _cap(name: str, default: float | None) -> float | None:
    """A cap from the environment (a positive number; 0 = no cap), else default."""
    text = os.environ.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}: must be a number of {'MB' if 'MEMORY' in name else 'seconds'} (0 = no cap); got {text!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}: must be a finite number >= 0 (0 = no cap); got {text!r}")
    return value or None


def machine_memory_mb() -> float | None:
    """This machine's physical memory in MB (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / BYTES_PER_MB
    except (ValueError, OSError, AttributeError):
        return None


def hosted_limits() -> Limits:
    """The app's caps: HOSTED_DEFAULTS unless LAB_MAX_RUN_MEMORY_MB / LAB_MAX_RUN_SECONDS say otherwise."""
    return Limits(_cap("LAB_MAX_RUN_MEMORY_MB", HOSTED_DEFAULTS["memory_mb"]),
                  _cap("LAB_MAX_RUN_SECONDS", HOSTED_DEFAULTS["seconds"]))


def headless_limits() -> Limits:
    """The CLI's caps: memory at 80% of this machine's (TensorFlow needs the rest), time none, unless set."""
    memory = machine_memory_mb()
    return Limits(_cap("LAB_MAX_RUN_MEMORY_MB", None if memory is None else 0.8 * memory), _cap("LAB_MAX_RUN_SECONDS", None))


def check_resources(config: ExperimentConfig, limits: Limits) -> Estimate:
    """The estimate, or ConfigError naming the estimate, the cap and the fields that drive it."""
    cost = estimate(config)
    problems = []
    if limits.memory_mb is not None and cost.memory_mb > limits.memory_mb:
        problems.append(f"estimated memory {cost.memory_mb:,.0f} MB exceeds the cap of {limits.memory_mb:,.0f} MB "
                        "(LAB_MAX_RUN_MEMORY_MB)")
    if limits.seconds is not None and cost.seconds > limits.seconds:
        problems.append(f"estimated time {cost.seconds:,.0f} s exceeds the cap of {limits.seconds:,.0f} s (LAB_MAX_RUN_SECONDS)")
    if problems:
        model, training, data = config.model, config.training, config.data
        drivers = (f"model.depth={model.depth}, model.width={model.width}, data.num_samples={data.num_samples}, "
                   f"training.epochs={training.epochs}, training.batch_size={training.batch_size}, "
                   f"training.record_every={training.record_every}, probe.num_samples={config.probe.num_samples}")
        if data.dataset == CSV_DATASET:  # the file's rows and columns are the data: a smaller file, or fewer columns
            file = data.csv_table.name if data.csv_table is not None else f"sha256 {data.sha256[:12]}..."
            drivers += f", or the csv's size ({file}: {data.num_samples} rows of {data.num_features} features)"
        if model.kind == "rnn":  # the length of the sequences and the cell's gates multiply every cost
            drivers += f", data.sequence_length={data.sequence_length}, model.cell={model.cell}"
        raise ConfigError(f"{'; '.join(problems)}: lower some of {drivers}")
    return cost
