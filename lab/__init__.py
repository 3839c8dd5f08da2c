"""Vanishing Gradient Lab: instrumented Keras experiments on why deep networks stop learning.

`import lab` is fast and never imports TensorFlow: it is imported on the first `run()`.
"""
__version__ = "0.1.0"

from lab.tf_runtime import configure_environment  # noqa: E402

configure_environment()  # before anything can import TensorFlow: see its docstring

from lab.config import ExperimentConfig  # noqa: E402
from lab.config_io import ConfigError, config_to_yaml, load_config, run_id_of  # noqa: E402
from lab.experiment import run  # noqa: E402
from lab.result import RunResult  # noqa: E402

__all__ = ["ConfigError", "ExperimentConfig", "RunResult", "__version__", "config_to_yaml", "load_config", "run", "run_id_of"]
