"""A lab run as one standalone Keras script: the same data, the same initial weights, the step-0 numbers, then model.fit.

The script imports keras, numpy and scikit-learn (and TensorFlow, Keras' backend), never lab: the lab's data,
initial-weight, layer, activation and loss code is inlined from its one home (lab.exports.inline_source), only the
functions this run uses. It measures at step 0, on the run's probe batch, what layers.csv holds at step 0
(grad_norm, bias_grad_norm, preact_grad_rms, weight_norm; lab.exports.keras_model_code) with a plain
tf.GradientTape, prints it, then trains with Keras' own model.fit: only the step-0 numbers are the lab's (Keras'
loop shuffles and batches its own way). Every MLP (normalisation and skips included) and recurrent run the lab
trains on a built-in data set is exported; a callback run or a csv data set run is refused (export_refusal).

The same sections make the notebook (lab.exports.keras_notebook): markdown to explain, code to run.
"""
from __future__ import annotations

import pprint
import textwrap
from dataclasses import dataclass

from lab.contract.config import EVERY_FIELD, ExperimentConfig
from lab.contract.config_io import ConfigError
from lab.contract.run_data import prepare_data
from lab.exports.inline_source import inline
from lab.exports.keras_model_code import model_code, step0_code
from lab.science.data import DATASETS
from lab.science.initializers import network_weights, projection_kernel
from lab.science.recurrent_initializers import recurrent_weights
from lab.science.sequences import SEQUENCE_TASKS
from lab.training.keras_activations import keras_activation
from lab.training.models import normalization_layers, skip_layers
from lab.training.recurrent_models import recurrent_layer
from lab.training.steps import make_optimizer, per_sample_loss

# The lab functions every script calls; everything they read comes with them (lab.exports.inline_source).
COMMON_ROOTS = (prepare_data, keras_activation, per_sample_loss, make_optimizer)
ONLY_STEP0 = ("Only the step-0 numbers above match the lab's layers.csv: training below uses Keras' own loop, "
              "batching and shuffling, so the curves differ from the lab's run.")
CALLBACK_SOURCE = "keras_callback"
SCRIPT_COLUMNS = 116  # the width of the script's own prose (docstring, section comments)
# The data sets a script regenerates from the seed (a csv run's data is a file, not a seed).
BUILT_IN_DATASETS = DATASETS + SEQUENCE_TASKS


@dataclass(frozen=True)
class Section:
    """One part of the export: a title and an explanation (markdown in the notebook, comments in the script), and code."""

    key: str  # config, lab_code, keras, data, model, step0, training
    title: str
    explanation: str
    code: str


def export_refusal(config: ExperimentConfig | None, summary: dict | None = None) -> str | None:
    """Why this run cannot be exported (one line naming the field and what is supported), or None."""
    if config is None or (summary or {}).get("source") == CALLBACK_SOURCE:
        return ("this run was recorded by lab.keras.GradientFlow in your own model.fit: it is already your own Keras code, "
                "so there is nothing to export (export takes runs the lab trained)")
    data = config.data
    if data.dataset not in BUILT_IN_DATASETS:
        return (f"data.dataset: {data.dataset} runs are not exported (the script regenerates the data itself); "
                f"export supports the built-in data sets {', '.join(BUILT_IN_DATASETS)}")
    return None


def inlined_roots(config: ExperimentConfig) -> list:
    """The lab functions this run's script calls (the model's own, only those it uses)."""
    model = config.model
    if model.kind == "rnn":
        return [*COMMON_ROOTS, recurrent_weights, recurrent_layer]
    return [*COMMON_ROOTS, network_weights, *([normalization_layers] if model.normalization != "none" else []),
            *([skip_layers, projection_kernel] if model.residual_every else [])]


def check_exportable(config: ExperimentConfig | None, summary: dict | None = None) -> None:
    """ConfigError with export_refusal's line unless the run can be exported."""
    refusal = export_refusal(config, summary)
    if refusal is not None:
        raise ConfigError(refusal)


def sections(config: ExperimentConfig, run_id: str) -> list[Section]:
    """The export's parts in order (the notebook inserts its charts between them)."""
    check_exportable(config)
    return [_config_section(config, run_id), _lab_code_section(config), _keras_section(), _data_section(),
            _model_section(config), _step0_section(config), _training_section()]


def _config_section(config: ExperimentConfig, run_id: str) -> Section:
    dumped = pprint.pformat(config.model_dump(mode="json", context={EVERY_FIELD: True}), sort_dicts=False, width=110)
    code = f'''import types

RUN_ID = {run_id!r}
CONFIG = {dumped}


def as_namespace(value):
    """The config with attribute access (config.model.depth), as the lab's code below reads it."""
    if isinstance(value, dict):
        return types.SimpleNamespace(**{{key: as_namespace(item) for key, item in value.items()}})
    return value


config = as_namespace(CONFIG)
BINARY = config.model.output_activation == "sigmoid"  # one logit and a sigmoid; else one logit per class and softmax'''
    return Section("config", "The run's config", "The resolved config of the run (its config.yaml, every field), as a dict.",
                   code)


def _lab_code_section(config: ExperimentConfig) -> Section:
    inlined = inline(inlined_roots(config))
    code = "\n".join(inlined.imports) + "\n\n\n" + inlined.definitions
    return Section(
        "lab_code", "The lab's code, inlined",
        "The lab's own functions this run uses, copied verbatim from its source: the data sets and the probe batch "
        "(prepare_data), the seeded initial weights, the activation functions, the layers the model needs, the loss "
        "from the logits and the optimizer. Nothing here imports the lab.", code)


def _keras_section() -> Section:
    code = '''# The lab's TensorFlow settings before the first import (oneDNN off, fixed threads, deterministic ops): the same
# arithmetic as the lab's run, so the step-0 numbers agree to float32 rounding.
tf = import_tensorflow()
import keras  # noqa: E402'''
    return Section("keras", "TensorFlow and Keras", "Imported with the lab's settings.", code)


def _data_section() -> Section:
    code = '''dataset, probe_index = prepare_data(config)
x_probe, y_probe = dataset.x_train[probe_index], dataset.y_train[probe_index]
print(f"data: {len(dataset.x_train)} training and {len(dataset.x_val)} validation samples of "
      f"{dataset.num_features} features; probe batch: {len(probe_index)} samples")'''
    return Section("data", "The data and the probe batch",
                   "The same seeds and streams as the lab: the same training and validation splits, and the same fixed "
                   "probe batch the lab measures on.", code)


def _model_section(config: ExperimentConfig) -> Section:
    explanation, code = model_code(config)
    return Section("model", "The model", explanation, code)


def _step0_section(config: ExperimentConfig) -> Section:
    return Section("step0", "Step 0: the gradient at initialisation",
                   "One forward and backward pass on the probe batch with a plain `tf.GradientTape`, before any update: "
                   "per layer (the output layer last) the norms of the kernel's and the bias' gradients, the "
                   "back-propagated signal at the layer's output, and the kernel's norm. These equal the lab's "
                   "layers.csv at step 0 to float32 rounding.", step0_code(config))


def _training_section() -> Section:
    code = f'''# {ONLY_STEP0}
print({ONLY_STEP0!r})
keras.utils.set_random_seed(config.seed)  # Keras' own shuffling, the same each time this runs
if BINARY:
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)  # a logit > 0 predicts class 1
    y_train, y_val = dataset.y_train.reshape(-1, 1).astype("float32"), dataset.y_val.reshape(-1, 1).astype("float32")
else:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    y_train, y_val = dataset.y_train, dataset.y_val
model.compile(optimizer=make_optimizer(config.training), loss=loss, metrics=[accuracy])
history = {{}}
if config.training.epochs > 0:
    history = model.fit(
        dataset.x_train, y_train, batch_size=config.training.batch_size, epochs=config.training.epochs, shuffle=True,
        validation_data=(dataset.x_val, y_val) if len(dataset.x_val) else None, verbose=2,
    ).history
    print(f"after {{config.training.epochs}} epochs: loss {{history['loss'][-1]:.4f}}, "
          f"accuracy {{history['accuracy'][-1]:.3f}}")'''
    return Section("training", "Training with model.fit",
                   "The run's optimizer, learning rate, loss (from the logits), batch size and epochs, in Keras' own "
                   "training loop. " + ONLY_STEP0, code)


def script_text(config: ExperimentConfig, run_id: str) -> str:
    """The standalone script of a run (ConfigError if the run cannot be exported)."""
    parts = sections(config, run_id)
    about = (f"{config.name} (run {run_id}) of the Vanishing Gradient Lab, as plain Keras.\n\n"
             "Written by `python -m lab export`; it imports keras, numpy and scikit-learn (TensorFlow as Keras' backend), "
             "never lab. Run it with `python FILE`. It prints the per-layer numbers at step 0, which equal the lab's "
             "layers.csv at step 0 to float32 rounding, then trains with model.fit. Only those step-0 numbers match the "
             "lab's: training uses Keras' own loop, batching and shuffling, so its curves differ from the lab's run.")
    docstring = '"""' + "\n\n".join(textwrap.fill(paragraph, SCRIPT_COLUMNS) for paragraph in about.split("\n\n")) + '\n"""'
    body = [docstring, "from __future__ import annotations  # the inlined code's annotations name lab types"]
    rule = "# " + "-" * (SCRIPT_COLUMNS - 2)
    for part in parts:
        comment = textwrap.fill(f"{part.title}: {part.explanation}", SCRIPT_COLUMNS, initial_indent="# ",
                                subsequent_indent="# ")
        body.append(f"{rule}\n{comment}\n{rule}\n{part.code}")
    return "\n\n".join(body) + "\n"
