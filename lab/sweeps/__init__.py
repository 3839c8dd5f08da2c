"""Sweeps: grid x seeds configs, running them (in-process, a local spawn pool, or Ray), sweep.csv and its views.

Imports every layer below: science, contract, training (workers), runs, readings, charts.
"""
