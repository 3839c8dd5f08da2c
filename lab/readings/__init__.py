"""What a run means: the report (verdicts, ratios, dead layers, sweep figures), Fix it's remedies, the guided
tour, the presets' claims, and theory's profile beside a run.

Imports lab.science, lab.text, lab.contract and lab.runs; lab.training only inside functions that train.
"""
