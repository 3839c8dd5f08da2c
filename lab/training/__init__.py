"""Training with TensorFlow: the runtime (threads, determinism), model builders, compiled train and probe
steps, the per-layer measures, the trainer and run(config) -> RunResult.

The training step is steps.py (train_step); the probe is probes.py. Imports lab.science and
lab.contract. TensorFlow is imported on first use (runtime.import_tensorflow), never at import time.
"""
