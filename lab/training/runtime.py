"""TensorFlow's configured import (every module gets it from here): lazily, quietly, deterministically, with fixed threads."""
from __future__ import annotations

import os

_STATE: dict = {}
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
_THREADS_SET_BY_LAB: set = set()  # what configure_environment set itself (release_thread_defaults may undo only these)


def thread_count() -> int:
    """Threads per TensorFlow op pool: LAB_TF_THREADS, default 1.

    One thread makes results bit-identical between the app, the CLI and sweep workers (which run one
    thread each), and keeps one visitor of a hosted app from taking every core.
    """
    value = os.environ.get("LAB_TF_THREADS", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def configure_environment() -> None:
    """Environment TensorFlow reads at import; called by `import lab`, so it precedes any TF import.

    oneDNN kernels change float summation order (results differ in the last bits from the plain
    Eigen kernels), so a process that imported TensorFlow with them on would not reproduce a CLI run
    bit for bit. The log level hides TensorFlow's CPU-feature notices.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Thread pools sized by the environment too, so even code that imports TensorFlow directly
    # (a test, a notebook) after `import lab` gets the same pools: matmul results depend on them.
    for name in THREAD_VARIABLES:
        if name not in os.environ:
            os.environ[name] = str(thread_count())
            _THREADS_SET_BY_LAB.add(name)


def release_thread_defaults() -> None:
    """Undo the thread caps configure_environment set, unless the lab's own runs have begun in this process.

    For lab.keras: a user's model.fit must run on TensorFlow's own pools, not the lab's one thread (measured: a
    1500² matmul 1.8x slower with the cap). TensorFlow reads these at its first op, so removing them before that
    restores its defaults; a variable the user set, or one the lab's runs rely on, stays.
    """
    if "tf" in _STATE:
        return
    for name in list(_THREADS_SET_BY_LAB):
        os.environ.pop(name, None)
        _THREADS_SET_BY_LAB.discard(name)


def import_tensorflow():
    """Import TensorFlow on first use (about 7 s), configured once for the whole process."""
    if "tf" in _STATE:
        return _STATE["tf"]
    configure_environment()
    import tensorflow as tf

    threads = thread_count()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # the runtime was already initialised by someone else; record what it has
    tf.config.experimental.enable_op_determinism()
    # Each run traces its own tf.functions on purpose (a new model); the retracing notice is noise here.
    tf.get_logger().setLevel("ERROR")
    _STATE["tf"] = tf
    return tf


def _environment_threads(name: str) -> int:
    """The thread count an environment variable gives TensorFlow, 0 when it is unset or not a whole number."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


def thread_settings() -> dict:
    """The thread settings in force, for summary.json."""
    tf = import_tensorflow()
    # 0 from the getters means "not set through tf.config" (TensorFlow's runtime started before import_tensorflow could
    # set it, e.g. by a Keras layer made earlier): the pools are then the environment's, if it names them.
    return {
        "intra_op_parallelism_threads": tf.config.threading.get_intra_op_parallelism_threads()
        or _environment_threads("TF_NUM_INTRAOP_THREADS"),
        "inter_op_parallelism_threads": tf.config.threading.get_inter_op_parallelism_threads()
        or _environment_threads("TF_NUM_INTEROP_THREADS"),
        "op_determinism": True,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


def _graphs_of(function) -> list:
    """The FuncGraphs a tf.function has traced (none if it never ran; never traces), nested ones included."""
    if not hasattr(function, "experimental_get_tracing_count") or not function.experimental_get_tracing_count():
        return []
    pending, graphs = [function.get_concrete_function().graph], []
    while pending:
        graph = pending.pop()
        graphs.append(graph)
        pending += [getattr(nested, "graph", None) for nested in getattr(graph, "_functions", {}).values()]
        pending = [item for item in pending if item is not None and item not in graphs]
    return graphs


def release_custom_gradients(functions) -> int:
    """Unregister the gradient functions that tracing these tf.functions registered; how many.

    Tracing a tf.custom_gradient in a graph registers its gradient under a fresh "CustomGradient-N"
    name in TensorFlow's process-global gradient registry, never removed. Keras' optimizer does it on
    every trace of a training step (its all-reduce of the gradients runs under a custom gradient), and
    the registered function holds the traced graph, and through it the model's variables: about 1.5 MB
    per default run and much more for a large model, kept for the life of the server. Only the names
    found in these functions' own graphs are removed, so another run's entries are never touched; the
    registry is only read while tracing a gradient through such an op, which a finished run never does.
    """
    tf = import_tensorflow()
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        return 0  # another TensorFlow layout: keep everything rather than guess
    released = 0
    for function in functions:
        for graph in _graphs_of(function):
            for operation in graph.get_operations():
                try:
                    name = operation.get_attr("_gradient_op_type")
                except (ValueError, tf.errors.OpError):
                    continue
                name = name.decode() if isinstance(name, bytes) else name
                if name.startswith("CustomGradient-") and registry.pop(name, None) is not None:
                    released += 1
    return released


def clear_kernel_cache() -> None:
    """Drop TensorFlow's cache of instantiated op kernels (eager context), rebuilt on demand.

    Each run's shapes add kernels that stay for the life of the process: RSS grew 0.086 MB per run in a
    process training 9 varied small configs over and over, 0.001 MB with this called after each run,
    for 3.5% more time per small run (`python bench/kernel_cache.py`, 20 rounds of 9 runs a side).
    Called by the last run in flight of the process (lab.training.run holds a lock around it), so no
    run is using the kernels while they are dropped.
    """
    import_tensorflow()
    from tensorflow.python.eager import context

    context.context().clear_kernel_cache()
