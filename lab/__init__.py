"""Vanishing Gradient Lab: instrumented Keras experiments on why deep networks stop learning.

`import lab` is fast and never imports TensorFlow: it is imported on the first `run()`.

The package is built in layers; each imports only the layers below it (its docstring says which):

    science    numpy only: activations, data sets, initializers, mean-field theory
    text       the en/ko catalogue: every sentence, label and chart text
    contract   what a run is: the config schema and its YAML, resource caps, the result frames, its data
    training   TensorFlow: runtime, models, compiled steps, probes, measures, trainer, run(config)
    runs       run folders on disk: atomic writes, load back, zip archives
    readings   what a run means: the report, Fix it's remedies, the tour, the presets' claims, theory beside a run
    charts     Altair builders: tidy frames in, chart specs (and PNGs) out
    sweeps     grid x seeds: sweep configs, the local pool and Ray, sweep.csv
    exports    a run folder in other formats: a standalone Keras script or notebook, TensorBoard event files
    keras      lab.keras.GradientFlow: the lab's probe as a Keras callback for anyone's model.fit (imported on its own)
    cli        python -m lab run|show|fix|sweep|tour|claims|export|tensorboard|config-reference
"""
from lab.training.runtime import configure_environment

configure_environment()  # before anything can import TensorFlow: see its docstring

import importlib  # noqa: E402

# The public names, each loaded on first use (PEP 562): `import lab.text.i18n` (the app's first page) then costs
# the catalogue alone, not pydantic, pandas and every layer (0.5 s of a fresh server's first paint, #16 goal 2).
_PUBLIC = {
    "ExperimentConfig": ("lab.contract.config", "ExperimentConfig"),
    "ConfigError": ("lab.contract.config_io", "ConfigError"),
    "config_to_yaml": ("lab.contract.config_io", "config_to_yaml"),
    "load_config": ("lab.contract.config_io", "load_config"),
    "run_id_of": ("lab.contract.config_io", "run_id_of"),
    "__version__": ("lab.contract.result", "LAB_VERSION"),
    "RunResult": ("lab.contract.result", "RunResult"),
    "report": ("lab.readings.report", None),
    "store": ("lab.runs.store", None),
    "MeanField": ("lab.science.mean_field", "MeanField"),
    "critical_sigma_w": ("lab.science.mean_field", "critical_sigma_w"),
    "mean_field": ("lab.science.mean_field", "mean_field"),
    "phase_boundary": ("lab.science.mean_field", "phase_boundary"),
    "run": ("lab.training.run", "run"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """A public name, imported on first use and kept (later look-ups do not come here)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lab' has no attribute {name!r}")
    module_name, attribute = _PUBLIC[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
