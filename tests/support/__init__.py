"""Shared test helpers: what more than one test module (or a bench script) uses, so that no test module imports
from another.

- configs: tiny_config, a small experiment that runs in well under a second once TensorFlow is loaded.
- app_test: the app through Streamlit's AppTest (open a page, shrink the form, press Train, read the charts).
- streamlit_server: a real `streamlit run` server and Debian's Chromium, for the browser tests and the benches.
- frames: numbers read straight from a run's frames, to check what the lab reports.
- numpy_reference: an independent float64 forward and backward pass in numpy.
- presets: the presets' claims, measured once per session and checked (experiments/ and experiments/remedies/).
- bad_inputs: the corpus of bad inputs, kept as data, and the checks every surface owes them.

The fixtures built on these (make_config, browser) are in tests/conftest.py.
"""
