"""The one place TensorFlow is imported: lazily, quietly, deterministically, with fixed threads."""
from __future__ import annotations

import os

_STATE: dict = {}


def thread_count() -> int:
    """Threads per TensorFlow op pool: LAB_TF_THREADS, default 1.

    One thread makes results bit-identical between the app, the CLI and sweep workers (which run one
    thread each), and keeps one visitor of a hosted app from taking every core.
    """
    value = os.environ.get("LAB_TF_THREADS", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def import_tensorflow():
    """Import TensorFlow on first use (about 7 s), configured once for the whole process."""
    if "tf" in _STATE:
        return _STATE["tf"]
    # Must be set before the import, or TensorFlow prints CPU-feature and oneDNN notices.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN kernels may reorder float sums
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


def thread_settings() -> dict:
    """The thread settings in force, for summary.json."""
    tf = import_tensorflow()
    return {
        "intra_op_parallelism_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_parallelism_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "op_determinism": True,
    }
