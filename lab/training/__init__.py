"""Training with TensorFlow: the runtime (threads, determinism), model builders, compiled train and probe
steps, the per-layer measures, the trainer and run(config) -> RunResult.

One optimizer update is steps.py's CompiledSteps._train_step (train_step runs a chunk of them in one
compiled call); the probe is probes.py's make_probe (recurrent networks, model.kind rnn: recurrent_models.py
and recurrent_probes.py, which also measures the gradient reaching each time step). Imports lab.science and
lab.contract. TensorFlow is imported on first use (runtime.import_tensorflow), never at import time.
"""
