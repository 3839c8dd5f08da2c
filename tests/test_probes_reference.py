"""The probes against independent computations: a plain tf.GradientTape with Keras' own losses,
and a float64 numpy forward/backward pass written out by hand."""
import numpy as np
import pytest

from lab.contract.run_data import prepare_data
from lab.science import activations as act
from tests.support.configs import tiny_config
from tests.support.numpy_reference import numpy_backward

CASES = [
    # activation, output, dataset, classes, bias initializer
    ("sigmoid", "sigmoid", "moons", 2, "zeros"),
    ("tanh", "softmax", "blobs", 3, "zeros"),
    ("relu", "sigmoid", "circles", 2, -0.3),  # a negative bias: some units dead on the probe
    ("leaky_relu", "softmax", "spirals", 3, "zeros"),
    ("elu", "sigmoid", "xor", 2, "random_normal"),
    ("selu", "softmax", "gaussian", 4, "zeros"),
    ("gelu", "sigmoid", "moons", 2, 0.1),
    ("swish", "sigmoid", "moons", 2, "zeros"),
    ("step", "sigmoid", "moons", 2, "zeros"),
]


def trained_trainer(activation, output, dataset, classes, bias):
    """A Trainer after one epoch (so weights have moved), plus the kernels it started from."""
    from lab.training.trainer import Trainer

    config = tiny_config(**{
        "model.activation": activation, "model.output_activation": output, "model.bias_initializer": bias,
        "data.dataset": dataset, "data.num_classes": classes, "data.num_features": 3, "training.epochs": 1,
    })
    dataset_arrays, probe_index = prepare_data(config)
    trainer = Trainer(config, dataset_arrays, probe_index, "reference")
    initial = [layer.kernel.numpy().copy() for layer in trainer.network.dense_layers]
    assert trainer.train()[0] == "ok"
    return trainer, initial


def final_rows(trainer):
    """The layers-frame rows of the last record, ordered by layer."""
    rows = [row for row in trainer.layer_rows if row["step"] == trainer.step]
    return sorted(rows, key=lambda row: row["layer"])


@pytest.mark.parametrize("activation, output, dataset, classes, bias", CASES)
def test_gradient_columns_match_tape_and_numpy(activation, output, dataset, classes, bias):
    import keras
    import tensorflow as tf

    trainer, _ = trained_trainer(activation, output, dataset, classes, bias)
    rows = final_rows(trainer)
    dense = trainer.network.dense_layers
    x, y = trainer.probe_inputs, trainer.probe_labels
    with tf.GradientTape() as tape:
        logits = trainer.network.model(x)
        if output == "sigmoid":
            loss = keras.losses.BinaryCrossentropy(from_logits=True)(y.reshape(-1, 1).astype("float32"), logits)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    tape_grads = tape.gradient(loss, [layer.kernel for layer in dense] + [layer.bias for layer in dense])
    kernel_ref, bias_ref, deltas = numpy_backward(trainer)
    for index, row in enumerate(rows):
        kernel_tape = tape_grads[index]
        assert kernel_tape is not None, "a tape gradient is None: the activation has no gradient"
        np.testing.assert_allclose(row["grad_norm"], np.linalg.norm(kernel_tape.numpy()), rtol=2e-5, atol=1e-12)
        bias_tape = tape_grads[len(dense) + index]
        np.testing.assert_allclose(row["bias_grad_norm"], np.linalg.norm(bias_tape.numpy()), rtol=2e-5, atol=1e-12)
        np.testing.assert_allclose(row["grad_norm"], np.linalg.norm(kernel_ref[index]), rtol=2e-3, atol=1e-9)
        np.testing.assert_allclose(row["bias_grad_norm"], np.linalg.norm(bias_ref[index]), rtol=2e-3, atol=1e-9)
        signal = np.sqrt(np.mean(np.sum(deltas[index] ** 2, axis=1)))
        np.testing.assert_allclose(row["preact_grad_rms"], signal, rtol=2e-3, atol=1e-9)
        np.testing.assert_allclose(row["weight_norm"], np.linalg.norm(dense[index].kernel.numpy()), rtol=1e-6)
    if activation == "step":
        assert all(row["grad_norm"] == 0.0 for row in rows if row["layer_kind"] == "hidden")
        assert rows[-1]["grad_norm"] > 0


@pytest.mark.parametrize("activation, output, dataset, classes, bias", CASES[:5] + CASES[-1:])
def test_activation_columns_and_histograms_match_numpy(activation, output, dataset, classes, bias):
    import keras

    trainer, initial = trained_trainer(activation, output, dataset, classes, bias)
    rows = final_rows(trainer)
    network, config = trainer.network, trainer.config
    # An independent Keras sub-model exposes every Dense output and Activation output directly.
    tensors = [layer.output for layer in network.hidden_dense] + [layer.output for layer in network.hidden_activation]
    tensors.append(network.output_dense.output)
    outputs = keras.Model(network.model.inputs[0], tensors)(trainer.probe_inputs)
    outputs = [np.asarray(value) for value in outputs]
    depth = config.model.depth
    preacts, hidden = outputs[:depth] + [outputs[-1]], outputs[depth:2 * depth]
    edges = np.linspace(-8, 8, 65)
    histograms = trainer.histograms_frame().query("step == @trainer.step").to_dict("records")
    for index, row in enumerate(rows):
        kernel = network.dense_layers[index].kernel.numpy()
        expected_ratio = np.linalg.norm(kernel - initial[index]) / np.linalg.norm(initial[index])
        np.testing.assert_allclose(row["update_ratio"], expected_ratio, rtol=1e-5)
        counts = [r["count"] for r in histograms if r["layer"] == index + 1]
        np.testing.assert_array_equal(counts, np.histogram(np.clip(preacts[index], -8, 8), bins=edges)[0])
        if row["layer_kind"] == "output":
            assert np.isnan(row["dead_fraction"]) and np.isnan(row["saturated_fraction"])
            continue
        layer_output = hidden[index]
        assert row["dead_fraction"] == np.mean((layer_output == 0).all(axis=0))
        np.testing.assert_allclose(row["activation_mean"], layer_output.mean(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(row["activation_std"], layer_output.std(), rtol=1e-4, atol=1e-7)
        if activation in act.SATURATING:
            derivative = np.abs(act.derivative(activation, preacts[index].astype(np.float64), config.model.leaky_alpha))
            expected = np.mean(derivative < 0.05 * act.max_derivative(activation, config.model.leaky_alpha))
            assert row["saturated_fraction"] == pytest.approx(expected)
        else:
            assert np.isnan(row["saturated_fraction"])
    if bias == -0.3:
        assert any(row["dead_fraction"] > 0 for row in rows[:-1]), "the negative-bias case should kill some units"
