"""The probe of a recurrent network: one compiled pass on the probe batch, layers.csv's rows and timesteps.csv's.

The gradient reaching time step t is the TOTAL derivative d loss_i / d h_t, through every later step and
every layer above, as back-propagation through time computes it (the gradient at a return_sequences output
is only the direct path). It is measured by adding a zero perturbation eps_t to the state each cell passes
on, h_t' = cell(x_t, h_{t-1}) + eps_t, and differentiating the summed loss with respect to eps_t. The cell
is the trained Keras cell itself (PerturbedCell wraps it), so what is trained is what is measured. For the
LSTM the carry gets its own perturbation, c_t' = c_t + eps_c_t, added before h_t = o_t·tanh(c_t') reads it:
d loss / d c_t is then the total derivative too (through h_t and through c_{t+1}), as a tape over Keras'
own LSTM gives it; that step is Keras' LSTMCell's written out with the cell's variables.

Per recurrent layer l and step t (t = 1..T):
- state_grad_rms = sqrt(mean_i ||d loss_i / d h_t||^2); cell_grad_rms the same for c_t (NaN unless LSTM);
  state_rms = sqrt(mean over (sample, unit) of h_t^2).
- layers.csv: grad_norm / weight_norm / update_ratio of the recurrent kernel; bias_grad_norm of the cell's
  bias; preact_grad_rms = sqrt(mean over (sample, t) of ||d loss_i / d h_t||^2); dead_fraction, activation
  mean/std over (unit, sample, t) of h; saturated_fraction over (unit, sample, t) of the simple cell's
  pre-activation, or of every gate and candidate pre-activation of a gated cell (sigmoid gates, tanh
  candidate). The histograms hold the candidate pre-activations (the simple cell's z) pooled over t.
The pre-activations are recomputed from each layer's input and state sequences with the cell's weights,
after the loop, so the loop itself stays the trained cell's.
"""
from __future__ import annotations

import functools

import numpy as np

from lab.science import activations as act
from lab.training.probes import ProbeReading
from lab.training.recurrent_models import RecurrentNetwork
from lab.training.runtime import import_tensorflow
from lab.training.steps import per_sample_loss


def saturation_onset(name: str) -> float:
    """The largest |z| at which act.saturated_mask(name, z) is still False (sigmoid, tanh: f' falls with |z|).

    So |z| > saturation_onset(name) is exactly act.saturated_mask's test, for a float64 z, and the gated
    cells' saturation can be counted in the graph without carrying every gate's value to numpy.
    """
    def saturated(value: float) -> bool:
        return bool(act.saturated_mask(name, np.array([value]))[0])

    low, high = 0.0, 1.0
    while not saturated(high):
        low, high = high, 2 * high
    while True:
        middle = (low + high) / 2
        if middle in (low, high):
            return low
        low, high = (low, middle) if saturated(middle) else (middle, high)


@functools.cache
def perturbed_cell_class():
    """The Keras layer class PerturbedCell (defined once; Keras is imported lazily, as it is: the Keras callback uses it
    in a user's process, whose TensorFlow settings are the user's)."""
    import keras

    class PerturbedCell(keras.layers.Layer):
        """A trained cell whose new state gets a perturbation from its input: [x_t, eps_t(, eps_c_t)]."""

        def __init__(self, cell, input_width: int, **kwargs):
            super().__init__(**kwargs)
            self.cell, self.input_width, self.units = cell, input_width, cell.units
            self.carries = cell.__class__.__name__ == "LSTMCell"
            self.state_size = [cell.units, cell.units] if self.carries else cell.units
            self.output_size = cell.units

        def build(self, input_shape):
            self.built = True  # the wrapped cell is built and trained already

        def call(self, inputs, states):
            width, units = self.input_width, self.units
            x, state_eps = inputs[:, :width], inputs[:, width:width + units]
            if self.carries:
                return self.lstm_step(x, states, state_eps, inputs[:, width + units:])
            output, _ = self.cell(x, states)
            state = output + state_eps
            return state, [state]

        def lstm_step(self, x, states, state_eps, carry_eps):
            """Keras' LSTMCell step (implementation 2, its default) with eps_c added to c_t before h_t = o·tanh(c_t).

            The carry's perturbation must enter before h_t reads it, for d loss / d c_t to be the total derivative
            (through h_t as well as c_{t+1}); Keras' cell computes both inside one call, so its step is written
            out here with the cell's own variables and activations (the tests hold it to Keras' LSTM).
            """
            cell = self.cell
            h_previous, c_previous = states
            z = keras.ops.add(keras.ops.matmul(x, cell.kernel), keras.ops.matmul(h_previous, cell.recurrent_kernel))
            z = keras.ops.add(z, cell.bias)
            z_i, z_f, z_c, z_o = keras.ops.split(z, 4, axis=1)
            i, f, o = cell.recurrent_activation(z_i), cell.recurrent_activation(z_f), cell.recurrent_activation(z_o)
            carry = f * c_previous + i * cell.activation(z_c) + carry_eps
            state = o * cell.activation(carry) + state_eps
            return state, [state, carry]

    return PerturbedCell


def _preactivations(tf, kind: str, cell, layer_input, states):
    """(gate pre-activations or None, candidate pre-activations) of every step, from the input and state sequences."""
    previous = tf.concat([tf.zeros_like(states[:, :1]), states[:, :-1]], axis=1)  # h_{t-1}, h_0 = 0
    from_input = tf.tensordot(layer_input, cell.kernel, axes=1)
    from_state = tf.tensordot(previous, cell.recurrent_kernel, axes=1)
    units = cell.units
    if kind == "simple":
        return None, from_input + from_state + cell.bias
    if kind == "lstm":
        z = from_input + from_state + cell.bias  # blocks i, f, c, o
        gates = tf.concat([z[..., :2 * units], z[..., 3 * units:]], axis=-1)
        return gates, z[..., 2 * units:3 * units]
    # GRU, reset_after: bias row 0 is the input bias, row 1 the recurrent one; the reset gate scales the latter's h part.
    from_input, from_state = from_input + cell.bias[0], from_state + cell.bias[1]
    gates = from_input[..., :2 * units] + from_state[..., :2 * units]  # update z, reset r
    reset = tf.sigmoid(gates[..., units:])
    return gates, from_input[..., 2 * units:] + reset * from_state[..., 2 * units:]


def perturbed_loops(cells, input_width: int) -> list:
    """Per trained cell a keras RNN running it with the state perturbations as extra inputs (whole sequences out)."""
    import keras

    perturbed = perturbed_cell_class()
    widths = [input_width] + [cell.units for cell in cells[:-1]]
    return [keras.layers.RNN(perturbed(cell, width), return_sequences=True, name=f"perturbed_{index + 1}")
            for index, (cell, width) in enumerate(zip(cells, widths))]


def zero_perturbations(tf, inputs, cells, carries: bool) -> tuple[list, list]:
    """(state eps, carry eps): zeros of shape (N, T, units) per layer, to be watched by the tape (carry: LSTM only)."""
    shape = tf.shape(inputs)
    state = [tf.zeros(tf.stack([shape[0], shape[1], cell.units])) for cell in cells]
    return state, ([tf.zeros(tf.stack([shape[0], shape[1], cell.units])) for cell in cells] if carries else [])


def perturbed_forward(tf, loops, inputs, state_eps, carry_eps) -> tuple[list, list]:
    """(each layer's input sequence, each layer's state sequence h_1..h_T) with the perturbations added."""
    layer_inputs, sequences, sequence = [], [], inputs
    for index, loop in enumerate(loops):
        layer_inputs.append(sequence)
        sequence = loop(tf.concat([sequence, state_eps[index], *carry_eps[index:index + 1]], axis=-1))
        sequences.append(sequence)
    return layer_inputs, sequences


def time_measures(tf, kind: str, cells, layer_inputs, sequences, state_grads, carry_grads) -> dict:
    """The recurrent layers' measures in the graph, from d loss_i / d h_t (and d loss_i / d c_t) per layer.

    state_grads, carry_grads: per layer (N, T, units) per-sample derivatives. Returns per layer the layers.csv signal
    (preact_rms over (sample, t)), timesteps.csv's state_grad_rms / state_rms / cell_grad_rms (layers, T), the candidate
    pre-activations, and the gated cells' saturated shares (counted here, see saturation_onset).
    """
    sigmoid_onset, tanh_onset = saturation_onset("sigmoid"), saturation_onset("tanh")
    squared = [tf.reduce_sum(tf.square(grad), axis=2) for grad in state_grads]  # (N, T) per layer
    candidates, saturated = [], []
    for cell, layer_input, states in zip(cells, layer_inputs, sequences):
        gates, candidate = _preactivations(tf, kind, cell, layer_input, states)
        candidates.append(candidate)
        if gates is not None:
            # Exactly act.saturated_mask's test on the float64 values (see saturation_onset), counted here.
            beyond = tf.reduce_sum(tf.cast(tf.abs(tf.cast(gates, tf.float64)) > sigmoid_onset, tf.float64))
            beyond += tf.reduce_sum(tf.cast(tf.abs(tf.cast(candidate, tf.float64)) > tanh_onset, tf.float64))
            saturated.append(beyond / tf.cast(tf.size(gates) + tf.size(candidate), tf.float64))
    return {
        "preact_rms": [tf.sqrt(tf.reduce_mean(value)) for value in squared],
        "state_grad_rms": tf.stack([tf.sqrt(tf.reduce_mean(value, axis=0)) for value in squared]),
        "cell_grad_rms": (tf.stack([tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=2), axis=0))
                                    for grad in carry_grads]) if carry_grads else tf.zeros([0])),
        "state_rms": tf.stack([tf.sqrt(tf.reduce_mean(tf.square(value), axis=[0, 2])) for value in sequences]),
        "candidates": candidates,
        "saturated": tf.stack(saturated) if saturated else tf.zeros([0], tf.float64),
    }


def timesteps_of(measured: dict, carries: bool) -> dict:
    """timesteps.csv's arrays (layers, T) from time_measures' values (numpy after the call)."""
    state_grad_rms = measured["state_grad_rms"].numpy().astype(np.float64)
    return {
        "state_grad_rms": state_grad_rms,
        "state_rms": measured["state_rms"].numpy().astype(np.float64),
        "cell_grad_rms": (measured["cell_grad_rms"].numpy().astype(np.float64) if carries
                          else np.full_like(state_grad_rms, np.nan)),
    }


def pooled(values) -> tuple:
    """(N, T, units) sequences flattened to (N·T, units): the per-unit measures then pool over (sample, t)."""
    return tuple(value.numpy().reshape(-1, value.shape[-1]) for value in values)


def make_recurrent_probe(network: RecurrentNetwork, num_features: int, binary: bool):
    """A compiled function probe(x (N, T, C), y) -> ProbeReading with timesteps, for this network."""
    tf = import_tensorflow()

    kind = network.cell_kind
    carries = kind == "lstm"
    cells = network.cells
    loops = perturbed_loops(cells, num_features)
    kernels, biases = list(network.measured_kernels), list(network.measured_biases)

    @tf.function(input_signature=[tf.TensorSpec([None, None, num_features], tf.float32), tf.TensorSpec([None], tf.int32)])
    def probe(inputs, labels):
        state_eps, carry_eps = zero_perturbations(tf, inputs, cells, carries)
        with tf.GradientTape() as tape:
            tape.watch(state_eps + carry_eps)
            layer_inputs, sequences = perturbed_forward(tf, loops, inputs, state_eps, carry_eps)
            logits = network.output_dense(sequences[-1][:, -1, :])
            # Summed loss: its gradient at eps_t of sample i is d loss_i / d h_t (the samples do not interact).
            total = tf.reduce_sum(per_sample_loss(logits, labels, binary))
        kernel_grads, bias_grads, logit_grads, state_grads, carry_grads = tape.gradient(
            total, [kernels, biases, logits, state_eps, carry_eps], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        count = tf.cast(tf.shape(inputs)[0], tf.float32)
        kernel_norms = tf.stack([tf.norm(grad / count) for grad in kernel_grads])
        bias_norms = tf.stack([tf.norm(grad / count) for grad in bias_grads])
        measured = time_measures(tf, kind, cells, layer_inputs, sequences, state_grads, carry_grads)
        preact_rms = tf.stack(measured["preact_rms"] + [tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(logit_grads), axis=1)))])
        kernel_values = [tf.identity(kernel) for kernel in kernels]
        return (total / count, kernel_norms, bias_norms, preact_rms, kernel_values, measured["candidates"] + [logits],
                sequences, measured)

    def read(inputs: np.ndarray, labels: np.ndarray) -> ProbeReading:
        loss, kernel_norms, bias_norms, preact_rms, kernel_values, zs, hs, measured = probe(inputs, labels)
        return ProbeReading(
            loss=float(loss),
            kernel_grad_norms=kernel_norms.numpy().astype(np.float64),
            bias_grad_norms=bias_norms.numpy().astype(np.float64),
            preact_grad_rms=preact_rms.numpy().astype(np.float64),
            kernels=tuple(value.numpy() for value in kernel_values),
            preactivations=(*pooled(zs[:-1]), zs[-1].numpy()),
            activations=pooled(hs),
            saturated_fractions=measured["saturated"].numpy() if carries or kind == "gru" else None,
            timesteps=timesteps_of(measured, carries),
        )

    read.function = probe  # for lab.training.run.release_run
    return read
