"""A run folder in the formats people already use: a standalone Keras script or notebook, TensorBoard event files.

Layer: above sweeps; imports science, text, contract, training, runs, readings and charts. TensorFlow only inside the
functions that write event files.
"""
