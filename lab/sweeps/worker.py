"""What a sweep worker runs: batches of configs, each on a network built and traced once per architecture.

Building and tracing a Keras model costs far more than measuring it at initialisation, and at depth 100 more than
training it (edge_of_chaos.yaml: 6.9 s of tracing against 4.5 s of 920 SGD steps, #16 goal 7). So a worker builds
each architecture once and, for each run, re-initialises its weights exactly as a fresh build would
(lab.training.models.reinitialize: every variable, normalisation scales, moving statistics and skip projections
included), resets its optimizer's state, and reuses the traced steps and probe; runs that differ only in their
initial values share it too (INITIAL_VALUE_FIELDS). Runs at initialisation (`epochs: 0`) are the bulk of depth and
born-dead studies: an MLP's seeds of one architecture in a batch are measured together, in one compiled call
(lab.training.seed_batch), each reading bit for bit the one its run alone gets. The caches below are per worker
process (a sweep worker, never the app).
"""
from __future__ import annotations

import copy
import re
import traceback
from collections import OrderedDict

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import load_config, parse_yaml, run_id_of_yaml

# A sweep's cells cycle through their architectures (edge_of_chaos.yaml: 5 depths under each sigma_w), so a cache
# smaller than that count would miss every time. A depth-100 width-64 network with its traced steps holds ~25 MB.
MAX_CACHED_ARCHITECTURES = 8
_ARCHITECTURES: OrderedDict[str, tuple] = OrderedDict()
_SEED_BATCHES: dict[str, object] = {}  # architecture key -> its SeedBatchProbe, made on first use
SEEDS_PER_CALL = 32  # more than a runner batch holds (runner.MAX_BATCH): one call per batch and architecture


# Model fields that only choose initial values: every layer is built with zeros and given its values by
# lab.training.models.reinitialize (seeded_weights, seeded_recurrent_weights), so runs that differ only here (the
# edge of chaos's sigma_w axis, an initializer study) share one built and traced network.
INITIAL_VALUE_FIELDS = frozenset({"kernel_initializer", "bias_initializer", "sigma_w", "sigma_b", "recurrent_initializer",
                                  "spectral_radius"})


def architecture_key(config: ExperimentConfig, num_features: int, num_classes: int) -> str:
    """What decides the graphs: the model section but its initial values, the training section (the compiled steps'
    optimizer and loss; epochs only count calls), and the input and output sizes (not the seed)."""
    model = config.model.model_dump_json(exclude=set(INITIAL_VALUE_FIELDS))
    training = config.training.model_dump_json(exclude={"epochs"})
    return f"{model}|{training}|{num_features}|{num_classes}"


def reused_components(config: ExperimentConfig, num_features: int, num_classes: int) -> tuple:
    """This architecture's (network, steps, probe), built once per process, re-initialised for config's initial values
    and seed, its optimizer as new (a training run on them is bit for bit a run on a fresh build: tests/test_sweep_reuse.py)."""
    from lab.training.models import reinitialize
    from lab.training.trainer import build_components

    key = architecture_key(config, num_features, num_classes)
    if key in _ARCHITECTURES:
        _ARCHITECTURES.move_to_end(key)
        components = _ARCHITECTURES[key]
        reinitialize(components[0], config.model, config.seed)
        components[1].reset_optimizer()
        return components
    components = build_components(config, num_features, num_classes)
    _ARCHITECTURES[key] = components
    while len(_ARCHITECTURES) > MAX_CACHED_ARCHITECTURES:
        _SEED_BATCHES.pop(_ARCHITECTURES.popitem(last=False)[0], None)
    return components


def batchable(config: ExperimentConfig) -> bool:
    """An MLP at initialisation whose run needs nothing of the network after the probe but, at most, its boundary."""
    return config.training.epochs == 0 and config.model.kind == "mlp" and not config.probe.propagation


def measure_together(configs: list[ExperimentConfig]) -> dict[int, tuple]:
    """{position: (prepared data, ProbeReading, (network, steps))} for the batchable configs, one compiled call per architecture.

    Positions left out (not batchable, alone of their architecture, or the batch call failed) run on their
    own, where any error is reported against its run.
    """
    from lab.contract.run_data import prepare_data
    from lab.training.models import seeded_weights
    from lab.training.seed_batch import SeedBatchProbe

    groups: dict[str, list[tuple[int, ExperimentConfig, tuple]]] = {}
    for position, config in enumerate(configs):
        if config is None or not batchable(config):
            continue
        try:
            data = prepare_data(config)
        except Exception:  # noqa: BLE001 - the run alone reports it
            continue
        key = architecture_key(config, data[0].num_features, data[0].num_classes)
        groups.setdefault((key, len(data[1])), []).append((position, config, data))  # and the probe batch's size
    measured = {}
    for (key, _), members in groups.items():
        if len(members) < 2:
            continue
        try:
            _, first, data = members[0]
            network, steps, probe = reused_components(first, data[0].num_features, data[0].num_classes)
            if key not in _SEED_BATCHES:
                _SEED_BATCHES[key] = SeedBatchProbe(network, probe)
            readings = _SEED_BATCHES[key](
                [seeded_weights(network, config.model, config.seed) for _, config, _ in members],
                [dataset.x_train[index] for _, _, (dataset, index) in members],
                [dataset.y_train[index] for _, _, (dataset, index) in members])
        except Exception:  # noqa: BLE001 - each run then goes alone and reports its own error
            continue
        measured.update({position: (data, reading, (network, steps)) for (position, _, data), reading in zip(members, readings)})
    return measured


def run_one(config: ExperimentConfig, fast: bool = True, run_id: str | None = None, measured: tuple | None = None):
    """One run, on its architecture's reused components when fast. run_id: when already known.

    measured: an entry of measure_together: the step-0 reading is taken from there.
    """
    from lab.contract.run_data import prepare_data
    from lab.science.data import TWO_DIMENSIONAL
    from lab.training.models import reinitialize
    from lab.training.run import execute
    from lab.training.seed_batch import ReadingReplay

    if not fast:
        return execute(config, run_id=run_id)
    if measured is not None:
        data, reading, (network, steps) = measured
        if config.data.dataset in TWO_DIMENSIONAL:  # the decision boundary is drawn by this seed's own weights
            reinitialize(network, config.model, config.seed)
        return execute(config, components=(network, steps, ReadingReplay(reading)), data=data, run_id=run_id)
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
    with threadpool_limits(limits=1, user_api="blas"), kernels_kept():
        for start in range(0, len(config_yamls), SEEDS_PER_CALL):
            texts = config_yamls[start:start + SEEDS_PER_CALL]
            configs = configs_of(texts)
            measured = measure_together(configs) if fast else {}
            outcomes += [_run_text(text, fast, runs_dir, config, measured.get(position))
                         for position, (text, config) in enumerate(zip(texts, configs))]
    return outcomes


def kernels_kept():
    """Count what runs inside as one run in flight, so TensorFlow's kernel cache is dropped once at its end, not after each run.

    lab.training.run drops the cache (its kernels and instantiated graphs) when the last run in flight ends: the
    memory of a long-lived server. The next seed of a sweep needs the very same graphs: rebuilding them after
    every run cost 130 ms of a 7 ms run at initialisation, and the batched probe's graph 1 s after every batch
    (depth 20, width 8, load 5-10). A spawned pool worker, which runs only sweep batches and then exits, keeps the
    cache for its whole life (runner.start_worker calls keep_kernels_for_this_process).
    """
    from lab.training.run import one_run_in_flight

    return one_run_in_flight()


def forget_architectures() -> None:
    """Drop this process's reused architectures and their graphs' gradient-registry entries: the end of a sweep run in
    the driver's own process (runner.run_local with one worker: the CLI, the app's server), which lives on after it."""
    from lab.training.run import release_components

    while _ARCHITECTURES:
        release_components(_ARCHITECTURES.popitem(last=False)[1])
    _SEED_BATCHES.clear()


_PROCESS_HOLD: list = []  # the kernels_kept() entered for the life of this process, if any


def keep_kernels_for_this_process() -> None:
    """Keep TensorFlow's kernel cache for the rest of this process (a sweep's pool worker, from runner.start_worker:
    nothing else runs there)."""
    if not _PROCESS_HOLD:
        hold = kernels_kept()
        hold.__enter__()
        _PROCESS_HOLD.append(hold)


SEED_LINE = re.compile(r"^seed: (\d+)\n", re.MULTILINE)


def configs_of(texts: list[str]) -> list[ExperimentConfig | None]:
    """The config of each text (None when it does not load: its run reports why), the YAML of a grid cell parsed once.

    A batch holds seeds of one grid cell: texts that differ only in config_to_yaml's top-level `seed: N` line.
    Parsing YAML cost 0.85 ms a text, validating the parsed mapping 0.03 ms: the others reuse the first one's
    mapping with their seed, which validates to the config of their own text (tests/test_seed_batch.py).
    """
    configs, parsed = [], {}  # text without its seed line -> the mapping parsed from it
    for text in texts:
        match = SEED_LINE.search(text)
        try:
            if match is None:
                configs.append(load_config(text))
                continue
            rest = text[:match.start()] + text[match.end():]
            if rest not in parsed:
                parsed[rest] = parse_yaml(text)
            configs.append(load_config({**copy.deepcopy(parsed[rest]), "seed": int(match.group(1))}))  # never shared
        except Exception:  # noqa: BLE001 - _run_text loads it again and reports the error against its run
            configs.append(None)
    return configs


def _run_text(text: str, fast: bool, runs_dir: str | None, config: ExperimentConfig | None = None,
              measured: tuple | None = None) -> tuple:
    """One run_batch outcome (config: text loaded already, None to load it here; measured: its entry of measure_together)."""
    try:
        # The sweep made text with config_to_yaml: its hash is the run id (no second dump).
        result = run_one(config or load_config(text), fast, run_id_of_yaml(text), measured)
        if runs_dir is None:
            return text, result, "", None
        from lab.readings.report import run_figures
        from lab.runs.store import save

        save(result, runs_dir)
        return text, None, "", run_figures(result)
    except Exception as error:  # noqa: BLE001 - reported as the run's status 'error', with its cause
        last = traceback.extract_tb(error.__traceback__)[-1]
        return text, None, f"{type(error).__name__}: {error} ({last.filename.split('/')[-1]}:{last.lineno})", None
