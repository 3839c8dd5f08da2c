"""Science without TensorFlow (numpy, scipy, scikit-learn only): activations and their derivatives, the
synthetic data sets, initial weights drawn from explicit seeds, and mean-field theory.

Imports nothing else of lab: every other layer may import it.
"""
