"""Run folders on disk: atomic writes, saving and loading a RunResult, zip archives of run folders.

Imports lab.contract (and lab.science through it); never TensorFlow.
"""
