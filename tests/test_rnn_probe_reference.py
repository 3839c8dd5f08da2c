"""The recurrent probe against independent computations: a float64 numpy BPTT written out by hand (simple cell),
central finite differences of the loss w.r.t. a perturbation of h_t and c_t (LSTM, GRU), and a plain
tf.GradientTape over Keras' own SimpleRNN / LSTM / GRU layers with the same weights, split at step t so the
gradient at the carried-over state is the total derivative d loss / d h_t."""
import numpy as np
import pytest

from lab.science import activations as act
from tests.support import recurrent_reference as ref

RTOL = 1e-4  # float32 probe against float64 references


def built(cell, depth, units, channels, outputs, activation="tanh", seed=0, **scales):
    """A lab recurrent network with seeded numpy weights, its probe, the weights and a probe batch."""
    from lab.training.recurrent_models import build_recurrent_network
    from lab.training.recurrent_probes import make_recurrent_probe

    rng = np.random.default_rng(seed)
    weights = ref.random_weights(rng, cell, depth, units, channels, outputs, **scales)
    network = build_recurrent_network(cell, depth, units, activation, channels, outputs, weights)
    probe = make_recurrent_probe(network, channels, binary=outputs == 1)
    return network, probe, weights, rng


def batch(rng, samples, steps, channels, classes):
    """Inputs (float32 values, float64 copies) and integer labels."""
    x = rng.normal(0.0, 1.0, (samples, steps, channels)).astype(np.float32)
    return x, x.astype(np.float64), rng.integers(0, classes, samples)


@pytest.mark.parametrize("activation, depth, outputs", [("tanh", 1, 1), ("tanh", 2, 3), ("relu", 2, 1), ("relu", 1, 3)])
def test_simple_cell_matches_hand_bptt(activation, depth, outputs):
    units, channels, steps = 4, 3, 9
    network, probe, weights, rng = built("simple", depth, units, channels, outputs, activation)
    x, x64, labels = batch(rng, 6, steps, channels, max(outputs, 2))
    reading = probe(x, labels.astype(np.int32))
    totals, grads, head, delta_logits = ref.simple_bptt(activation, weights, x64, labels)
    states, _, _, logits = ref.forward("simple", activation, weights, x64)
    np.testing.assert_allclose(reading.loss, ref.per_sample_loss(logits, labels).mean(), rtol=1e-5)
    steps_frame = reading.timesteps
    assert steps_frame["state_grad_rms"].shape == (depth, steps)
    for layer in range(depth):
        np.testing.assert_allclose(steps_frame["state_grad_rms"][layer], ref.rms_over_samples(totals[layer]), rtol=RTOL)
        np.testing.assert_allclose(steps_frame["state_rms"][layer], np.sqrt(np.mean(states[layer] ** 2, axis=(0, 2))),
                                   rtol=1e-5)
        signal = np.sqrt(np.mean(np.sum(totals[layer] ** 2, axis=2)))  # over (sample, t)
        np.testing.assert_allclose(reading.preact_grad_rms[layer], signal, rtol=RTOL)
        _, recurrent_grad, bias_grad = grads[layer]
        np.testing.assert_allclose(reading.kernel_grad_norms[layer], np.linalg.norm(recurrent_grad), rtol=RTOL)
        np.testing.assert_allclose(reading.bias_grad_norms[layer], np.linalg.norm(bias_grad), rtol=RTOL)
    np.testing.assert_allclose(reading.kernel_grad_norms[-1], np.linalg.norm(head[0]), rtol=RTOL)
    np.testing.assert_allclose(reading.bias_grad_norms[-1], np.linalg.norm(head[1]), rtol=RTOL)
    np.testing.assert_allclose(reading.preact_grad_rms[-1], np.sqrt(np.mean(np.sum(delta_logits ** 2, axis=1))), rtol=RTOL)
    assert np.isnan(steps_frame["cell_grad_rms"]).all()
    # The vanishing is real in the reference: the top layer's signal at t = 1 is below the one at t = T.
    assert steps_frame["state_grad_rms"][-1, 0] < steps_frame["state_grad_rms"][-1, -1]


def test_hand_bptt_reference_matches_finite_differences():
    """The reference itself, checked once: the hand-written BPTT against central differences (float64)."""
    rng = np.random.default_rng(3)
    weights = ref.random_weights(rng, "simple", 2, 3, 2, 1)
    x = rng.normal(0.0, 1.0, (4, 5, 2))
    labels = rng.integers(0, 2, 4)
    totals, grads, _, _ = ref.simple_bptt("tanh", weights, x, labels)
    (differences,) = ref.finite_difference_state_grads("simple", "tanh", weights, x, labels)
    for layer in range(2):
        np.testing.assert_allclose(totals[layer], differences[layer], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(grads[layer][1], ref.finite_difference_weight_grad("simple", "tanh", weights, x, labels,
                                                                                       3 * layer + 1), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("cell, outputs", [("lstm", 1), ("gru", 3)])
def test_gated_cells_match_finite_differences(cell, outputs):
    depth, units, channels, steps = 2, 3, 2, 6
    network, probe, weights, rng = built(cell, depth, units, channels, outputs)
    x, x64, labels = batch(rng, 5, steps, channels, max(outputs, 2))
    # The numpy cell equations are Keras' own: same logits as the lab's model (float32).
    logits = ref.forward(cell, "tanh", weights, x64)[3]
    np.testing.assert_allclose(network.model(x).numpy(), logits, rtol=1e-5, atol=1e-6)
    reading = probe(x, labels.astype(np.int32))
    differences = ref.finite_difference_state_grads(cell, "tanh", weights, x64, labels)
    for layer in range(depth):
        np.testing.assert_allclose(reading.timesteps["state_grad_rms"][layer],
                                   ref.rms_over_samples(differences[0][layer]), rtol=RTOL, atol=1e-9)
        recurrent_index = 3 * layer + 1
        np.testing.assert_allclose(reading.kernel_grad_norms[layer], np.linalg.norm(
            ref.finite_difference_weight_grad(cell, "tanh", weights, x64, labels, recurrent_index)), rtol=RTOL)
        np.testing.assert_allclose(reading.bias_grad_norms[layer], np.linalg.norm(
            ref.finite_difference_weight_grad(cell, "tanh", weights, x64, labels, recurrent_index + 1)), rtol=RTOL)
    if cell == "lstm":
        carry = reading.timesteps["cell_grad_rms"]
        for layer in range(depth):
            np.testing.assert_allclose(carry[layer], ref.rms_over_samples(differences[1][layer]), rtol=RTOL, atol=1e-9)
        assert (carry > 0).all()  # c_T reaches the loss through h_T = o_T·tanh(c_T)
    else:
        assert np.isnan(reading.timesteps["cell_grad_rms"]).all()


def keras_reference_layers(cell, depth, units, weights):
    """Fresh Keras SimpleRNN / LSTM / GRU layers (return_sequences and return_state) and a Dense head, weights set."""
    import keras

    kinds = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    layers = [kinds[cell](units, return_sequences=True, return_state=True) for _ in range(depth)]
    head = keras.layers.Dense(weights[-1].shape[0])
    channels = weights[0].shape[0]
    sequence = np.zeros((1, 2, channels), np.float32)
    for index, layer in enumerate(layers):
        sequence = layer(sequence)[0]
        layer.set_weights([weight.astype(np.float32) for weight in weights[3 * index:3 * index + 3]])
    head(sequence[:, -1])
    head.set_weights([weight.astype(np.float32) for weight in weights[-2:]])
    return layers, head


def split_at(layer, inputs, t):
    """Run layer on inputs, cut after step t: (the output sequence, the carried-over state tensors).

    The sequence's step t is the state tensor itself, so a gradient at it is the total derivative: through the
    layer's later steps (the state is the second part's initial state) and through the layer above.
    """
    import tensorflow as tf

    first, *states = layer(inputs[:, :t])
    parts = [first[:, :-1], states[0][:, None, :]]
    if t < inputs.shape[1]:
        parts.append(layer(inputs[:, t:], initial_state=states)[0])
    return tf.concat(parts, axis=1), states


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_probe_matches_tape_over_keras_layers(cell):
    import keras
    import tensorflow as tf

    depth, units, channels, steps, outputs = 2, 4, 3, 7, 1
    network, probe, weights, rng = built(cell, depth, units, channels, outputs, seed=5)
    x, _, labels = batch(rng, 6, steps, channels, 2)
    reading = probe(x, labels.astype(np.int32))
    layers, head = keras_reference_layers(cell, depth, units, weights)
    targets = labels.reshape(-1, 1).astype(np.float32)

    # Loss and weight gradients: a plain tape over the Keras layers, Keras' own loss.
    with tf.GradientTape() as tape:
        sequence = tf.constant(x)
        for layer in layers:
            sequence = layer(sequence)[0]
        loss = keras.losses.BinaryCrossentropy(from_logits=True)(targets, head(sequence[:, -1]))
    cells = [layer.cell for layer in layers]
    kernel_grads = tape.gradient(loss, [c.recurrent_kernel for c in cells] + [head.kernel] + [c.bias for c in cells]
                                 + [head.bias])
    np.testing.assert_allclose(reading.loss, float(loss), rtol=1e-6)
    np.testing.assert_allclose(reading.kernel_grad_norms, [np.linalg.norm(g) for g in kernel_grads[:depth + 1]], rtol=1e-5)
    np.testing.assert_allclose(reading.bias_grad_norms, [np.linalg.norm(g) for g in kernel_grads[depth + 1:]], rtol=1e-5)

    # The total derivative at h_t (and c_t) of each layer, at the first, a middle and the last two steps.
    for layer_index in range(depth):
        for t in (1, steps // 2, steps - 1, steps):
            with tf.GradientTape() as tape:
                sequence, states = tf.constant(x), None
                for index, layer in enumerate(layers):
                    if index == layer_index:
                        sequence, states = split_at(layer, sequence, t)
                        tape.watch(states)
                    else:
                        sequence = layer(sequence)[0]
                losses = keras.losses.binary_crossentropy(targets, head(sequence[:, -1]), from_logits=True)
                total = tf.reduce_sum(losses)
            grads = tape.gradient(total, states, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            rms = [np.sqrt(np.mean(np.sum(g.numpy().astype(np.float64) ** 2, axis=1))) for g in grads]
            np.testing.assert_allclose(reading.timesteps["state_grad_rms"][layer_index, t - 1], rms[0], rtol=1e-4,
                                       err_msg=f"layer {layer_index + 1}, t = {t}")
            if cell == "lstm":
                np.testing.assert_allclose(reading.timesteps["cell_grad_rms"][layer_index, t - 1], rms[1], rtol=1e-4,
                                           atol=1e-12, err_msg=f"carry of layer {layer_index + 1}, t = {t}")


@pytest.mark.parametrize("cell, activation, bias_scale", [("simple", "tanh", 0.1), ("simple", "relu", 1.0),
                                                          ("lstm", "tanh", 2.0), ("gru", "tanh", 2.0)])
def test_unit_columns_match_numpy(cell, activation, bias_scale):
    """dead, saturated, activation mean/std and the histogrammed candidate pre-activations, pooled over (sample, t)."""
    from lab.training.measures import layer_rows

    depth, units, channels, steps = 2, 5, 2, 8
    network, probe, weights, rng = built(cell, depth, units, channels, 1, activation, seed=7, bias_scale=bias_scale,
                                         recurrent_scale=2.0)
    if activation == "relu":
        weights[2] = weights[2] - 3.0 * (np.arange(units) < 2)  # two units of layer 1 pushed below zero for good
        network.assign_weights(weights)
    x, x64, labels = batch(rng, 10, steps, channels, 2)
    reading = probe(x, labels.astype(np.int32))
    rows = layer_rows(reading, None, activation, 0.01, {"run_id": "r", "step": 0, "epoch": 0})
    states, gates, candidates, _ = ref.forward(cell, activation, weights, x64)
    for layer in range(depth):
        h, row = states[layer], rows[layer]
        np.testing.assert_allclose(reading.preactivations[layer], candidates[layer].reshape(-1, units), rtol=1e-4,
                                   atol=1e-5)
        assert row["dead_fraction"] == np.mean(np.all(h.reshape(-1, units) == 0.0, axis=0))
        np.testing.assert_allclose(row["activation_mean"], h.mean(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(row["activation_std"], h.std(), rtol=1e-4)
        if cell == "simple":
            expected = (np.mean(act.saturated_mask(activation, candidates[layer])) if activation in act.SATURATING
                        else np.nan)
            total = candidates[layer].size
        else:
            saturated = np.concatenate([act.saturated_mask("sigmoid", gates[layer]).ravel(),
                                        act.saturated_mask("tanh", candidates[layer]).ravel()])
            expected, total = saturated.mean(), saturated.size
        # float32 against float64 pre-activations: a value right at the threshold may fall either side.
        np.testing.assert_allclose(row["saturated_fraction"], expected, atol=1.5 / total, equal_nan=True)
    if activation == "relu":
        assert rows[0]["dead_fraction"] >= 2 / units
    if cell != "simple":
        assert 0 < rows[0]["saturated_fraction"] < 1  # large biases: some gates saturated, not all


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturation_onset_is_saturated_masks_threshold(name):
    from lab.training.recurrent_probes import saturation_onset

    onset = saturation_onset(name)
    grid = np.concatenate([np.linspace(-12, 12, 200_001), onset + np.arange(-3, 4) * np.spacing(onset)])
    np.testing.assert_array_equal(np.abs(grid) > onset, act.saturated_mask(name, grid))


def test_long_sequence_traces_once_and_non_finite_weights_give_nan():
    """T = 1000 at width 8 uses the same trace as T = 20 (a graph loop); NaN weights give NaN, never an error."""
    network, probe, weights, rng = built("lstm", 1, 8, 2, 1)
    for steps in (20, 1000):
        x, _, labels = batch(rng, 8, steps, 2, 2)
        reading = probe(x, labels.astype(np.int32))
        assert reading.timesteps["state_grad_rms"].shape == (1, steps)
        assert np.isfinite(reading.timesteps["state_grad_rms"]).all()
    assert probe.function.experimental_get_tracing_count() == 1
    weights[1][0, 0] = np.nan
    network.assign_weights(weights)
    reading = probe(x, labels.astype(np.int32))
    assert np.isnan(reading.loss) and np.isnan(reading.timesteps["state_grad_rms"]).any()
    assert np.isnan(reading.kernel_grad_norms[0])
