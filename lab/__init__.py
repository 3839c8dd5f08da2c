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

from lab.contract.config import ExperimentConfig  # noqa: E402
from lab.contract.config_io import ConfigError, config_to_yaml, load_config, run_id_of  # noqa: E402
from lab.contract.result import LAB_VERSION as __version__  # noqa: E402
from lab.contract.result import RunResult  # noqa: E402
from lab.readings import report  # noqa: E402
from lab.runs import store  # noqa: E402
from lab.science.mean_field import MeanField, critical_sigma_w, mean_field, phase_boundary  # noqa: E402
from lab.training.run import run  # noqa: E402

__all__ = ["ConfigError", "ExperimentConfig", "MeanField", "RunResult", "__version__", "config_to_yaml", "critical_sigma_w",
           "load_config", "mean_field", "phase_boundary", "report", "run", "run_id_of", "store"]
