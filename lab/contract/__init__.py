"""The run contract: the config schema (the one source of every field's limits) and its YAML, the
resource caps that refuse a run before it starts, the result frames (RunResult and their columns),
and a run's data and probe batch from its config.

Imports lab.science; never TensorFlow.
"""
