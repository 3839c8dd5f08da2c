"""What a sweep worker runs: batches of configs, with the fast path for runs at initialisation.

Runs at initialisation (`epochs: 0`) are the bulk of depth and born-dead studies. Building and tracing a
Keras model costs far more than measuring it, so a worker builds each architecture once and, for each
seed, re-initialises its weights exactly as a fresh build would (lab.training.models.reinitialize: every variable,
normalisation scales, moving statistics and skip projections included) and reuses the traced probe. The cache
below is per worker process (a sweep worker, never the app).
"""
from __future__ import annotations

import traceback
from collections import OrderedDict

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import load_config, run_id_of_yaml

MAX_CACHED_ARCHITECTURES = 4
_ARCHITECTURES: OrderedDict[str, tuple] = OrderedDict()


def architecture_key(config: ExperimentConfig, num_features: int, num_classes: int) -> str:
    """What decides the graph: the model section and the input and output sizes (not the seed)."""
    return f"{config.model.model_dump_json()}|{num_features}|{num_classes}"


def reused_components(config: ExperimentConfig, num_features: int, num_classes: int) -> tuple:
    """This architecture's (network, steps, probe), built once per process, re-initialised for config.seed."""
    from lab.training.models import reinitialize
    from lab.training.trainer import build_components

    key = architecture_key(config, num_features, num_classes)
    if key in _ARCHITECTURES:
        _ARCHITECTURES.move_to_end(key)
        components = _ARCHITECTURES[key]
        reinitialize(components[0], config.model, config.seed)
        return components
    components = build_components(config, num_features, num_classes)
    _ARCHITECTURES[key] = components
    while len(_ARCHITECTURES) > MAX_CACHED_ARCHITECTURES:
        _ARCHITECTURES.popitem(last=False)
    return components


def run_one(config: ExperimentConfig, fast: bool = True, run_id: str | None = None):
    """One run; at initialisation (epochs 0) on reused components when fast. run_id: when already known."""
    from lab.contract.run_data import prepare_data
    from lab.training.run import execute

    if not (fast and config.training.epochs == 0):
        return execute(config, run_id=run_id)
    data = prepare_data(config)
    # num_features, not x_train.shape[1]: a sequence set's x is (N, T, C), its features the C channels.
    components = reused_components(config, data[0].num_features, data[0].num_classes)
    return execute(config, components=components, data=data, run_id=run_id)


def run_batch(config_yamls: list[str], fast: bool = True, runs_dir: str | None = None) -> list[tuple]:
    """[(config_yaml, RunResult or None, error message, figures or None)]; one failing run never sinks the batch.

    With runs_dir (local workers sharing the driver's disk) the worker writes each run folder itself and
    returns only its figures: writing 1,600 folders from one driver process was the bottleneck. On Ray
    (no shared disk assumed) results travel back and the driver writes.
    """
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    outcomes = []
    # One BLAS thread, like TensorFlow's one thread per worker: with numpy's default threads on cores already full,
    # the propagation probe's SVDs and the orthogonal initializer's QRs took most of a sweep (isometry.yaml --quick:
    # 123 s of CPU, 20 s with one thread). OpenBLAS gives bit-identical results either way at these sizes (checked).
    with threadpool_limits(limits=1, user_api="blas"):
        for text in config_yamls:
            outcomes.append(_run_text(text, fast, runs_dir))
    return outcomes


def _run_text(text: str, fast: bool, runs_dir: str | None) -> tuple:
    """One run_batch outcome."""
    try:
        # The sweep made text with config_to_yaml: its hash is the run id (no second dump).
        result = run_one(load_config(text), fast, run_id_of_yaml(text))
        if runs_dir is None:
            return text, result, "", None
        from lab.readings.report import run_figures
        from lab.runs.store import save

        save(result, runs_dir)
        return text, None, "", run_figures(result)
    except Exception as error:  # noqa: BLE001 - reported as the run's status 'error', with its cause
        last = traceback.extract_tb(error.__traceback__)[-1]
        return text, None, f"{type(error).__name__}: {error} ({last.filename.split('/')[-1]}:{last.lineno})", None
