"""The lab's probe for a user's Keras model: the layers called one by one on the probe batch, with the model's own loss.

What it measures is what lab.training.probes measures on the lab's own networks (its docstring has the definitions),
so the same numbers come out for the same weights (tests/test_keras_callback.py holds them equal):
- the loss is the model's compiled loss (`model.compute_loss`, regularisation included), its value the mean over the
  probe batch for Keras' default reduction; kernel and bias gradients are of that value;
- the signal at a Dense layer's pre-activation z = xW + b is sqrt(mean_i ||d loss_i / d z_i||^2): for a mean-reduced
  loss, N times the gradient of the mean at row i (with batch normalisation, d(sum_j loss_j)/d z_i, as the lab's);
- Dropout is off; batch normalisation runs in training mode on the probe batch, its moving statistics put back;
- recurrent layers at the front (SimpleRNN, LSTM, GRU) are measured as lab.training.recurrent_probes measures the lab's
  own: the total derivative d loss_i / d h_t at every step (timesteps.csv), their recurrent kernels as the rows' kernels.
TensorFlow is imported plainly: the user's process keeps its own thread and determinism settings.
"""
from __future__ import annotations

import numpy as np

from lab.keras.model_rows import RecurrentRow, Row
from lab.training.measures import saturated_fraction
from lab.training.probes import ProbeReading
from lab.training.recurrent_probes import (
    perturbed_forward,
    perturbed_loops,
    pooled,
    time_measures,
    timesteps_of,
    zero_perturbations,
)

# Reductions under which the compiled loss is the mean over the batch (Keras' default is sum_over_batch_size).
MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def per_sample_scale(model, count: int) -> float:
    """What turns d(compiled loss)/dz_i into d loss_i/dz_i: N for a mean-reduced loss, 1 for a summed one."""
    import keras

    loss = model.loss
    reduction = loss.reduction if isinstance(loss, keras.losses.Loss) else "sum_over_batch_size"
    return float(count) if reduction in MEAN_REDUCTIONS else 1.0


def make_keras_probe(model, recurrent: list[RecurrentRow], rows: list[Row], inputs: np.ndarray, labels: np.ndarray):
    """A function read() -> ProbeReading measuring the model on this probe batch now (one compiled call).

    recurrent: SimpleRNN / LSTM / GRU rows at the front (their cells run with zero state perturbations, as the lab's
    recurrent probe runs its own: lab.training.recurrent_probes), then the Dense rows on the last one's h_T.
    """
    import tensorflow as tf

    cells = [row.layer.cell for row in recurrent]
    kind = recurrent[0].cell if recurrent else None
    carries = kind == "lstm"
    loops = perturbed_loops(cells, inputs.shape[-1]) if recurrent else []
    kernels = [cell.recurrent_kernel for cell in cells] + [row.dense.kernel for row in rows]
    biases = [cell.bias for cell in cells] + [row.dense.bias for row in rows if row.dense.use_bias]
    moving = [variable for row in rows for kind_after, layer in row.after if kind_after == "norm"
              for variable in layer.non_trainable_variables]
    scale = per_sample_scale(model, len(inputs))
    x = tf.constant(inputs)
    y = tf.constant(labels)
    model.compute_loss(x=x, y=y, y_pred=model(x, training=False), training=False)  # builds the compiled loss eagerly

    @tf.function
    def probe():
        saved = [tf.identity(variable) for variable in moving]
        state_eps, carry_eps = zero_perturbations(tf, x, cells, carries) if recurrent else ([], [])
        with tf.GradientTape() as tape:
            tape.watch(state_eps + carry_eps)
            hidden, layer_inputs, sequences = x, [], []
            if recurrent:
                layer_inputs, sequences = perturbed_forward(tf, loops, x, state_eps, carry_eps)
                hidden = sequences[-1][:, -1, :]  # the head reads h_T
            dense_outputs, activation_inputs, activation_outputs = [], [], []
            for row in rows:
                hidden = tf.matmul(hidden, row.dense.kernel)  # Keras' Dense: matmul, add the bias, activate
                if row.dense.use_bias:
                    hidden = hidden + row.dense.bias
                dense_outputs.append(hidden)
                activation_input = activation_output = None
                for kind_after, layer in row.after:
                    if kind_after == "act":
                        activation_input = hidden
                        hidden = (row.activation if layer is None else layer)(hidden)
                        activation_output = hidden
                    elif kind_after == "norm":
                        hidden = layer(hidden, training=True)
                    # "skip" (Dropout): off in the probe, the identity
                activation_inputs.append(hidden if activation_input is None else activation_input)
                activation_outputs.append(hidden if activation_output is None else activation_output)
            loss = model.compute_loss(x=x, y=y, y_pred=hidden, training=True)
        kernel_grads, bias_grads, signal, state_grads, carry_grads = tape.gradient(
            loss, [kernels, biases, dense_outputs, state_eps, carry_eps], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for variable, value in zip(moving, saved):
            variable.assign(value)
        preact_rms = [tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grad * scale), axis=1))) for grad in signal]
        measured = {}
        if recurrent:
            measured = time_measures(tf, kind, cells, layer_inputs, sequences, [grad * scale for grad in state_grads],
                                     [grad * scale for grad in carry_grads])
            preact_rms = measured["preact_rms"] + preact_rms
        kernel_norms = tf.stack([tf.norm(grad) for grad in kernel_grads])
        bias_norms = tf.stack([tf.norm(grad) for grad in bias_grads]) if bias_grads else tf.zeros([0])
        preactivations = [*measured.get("candidates", []), *activation_inputs[:-1], dense_outputs[-1]]  # output: logits
        values = [tf.identity(kernel) for kernel in kernels]
        return (loss, kernel_norms, bias_norms, tf.stack(preact_rms), values, preactivations,
                [*sequences, *activation_outputs[:-1]], measured)

    with_bias = [True] * len(recurrent) + [row.dense.use_bias for row in rows]
    names = [(row.activation_name, row.leaky_alpha) for row in (*recurrent, *rows[:-1])]

    def read() -> ProbeReading:
        loss, kernel_norms, bias_norms, preact_rms, values, preactivations, outputs, measured = probe()
        bias_norms = iter(bias_norms.numpy().astype(np.float64))
        count = len(recurrent)
        zs = (*pooled(preactivations[:count]), *(value.numpy() for value in preactivations[count:]))
        saturated = [saturated_fraction(name, z, alpha) for (name, alpha), z in zip(names, zs)]
        if count and kind != "simple":  # the gated cells' shares, counted in the graph over every gate and candidate
            saturated[:count] = measured["saturated"].numpy().tolist()
        return ProbeReading(
            loss=float(loss),
            kernel_grad_norms=kernel_norms.numpy().astype(np.float64),
            bias_grad_norms=np.array([next(bias_norms) if has else np.nan for has in with_bias]),
            preact_grad_rms=preact_rms.numpy().astype(np.float64),
            kernels=tuple(value.numpy() for value in values),
            preactivations=zs,
            activations=(*pooled(outputs[:count]), *(value.numpy() for value in outputs[count:])),
            saturated_fractions=np.array(saturated),
            timesteps=timesteps_of(measured, carries) if count else None,
        )

    read.function = probe  # so the callback can release the traced graph
    return read
