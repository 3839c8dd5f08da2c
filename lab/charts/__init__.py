"""Altair chart builders: tidy frames in, chart specs out (and PNGs for run and sweep folders).

Imports lab.science, lab.text, lab.contract, lab.runs and lab.readings; never TensorFlow.
"""
