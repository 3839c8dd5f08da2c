"""Float64 numpy references for recurrent networks, written out by hand (no TensorFlow).

Weights follow the lab's order: per recurrent layer kernel (in, G·u), recurrent_kernel (u, G·u), bias; then the
head's kernel (u, out) and bias. Cell equations are Keras 3's (SimpleRNNCell; LSTMCell blocks i, f, c, o with
sigmoid gates; GRUCell reset_after with blocks z, r, h and bias rows (input, recurrent)).
"""
import numpy as np

GATES = {"simple": 1, "lstm": 4, "gru": 3}


def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def phi(name, x):
    """The simple cell's activation (tanh or relu)."""
    return np.tanh(x) if name == "tanh" else np.maximum(x, 0.0)


def phi_slope(name, x):
    """Its derivative (relu: 0 at 0, as TensorFlow's)."""
    return 1.0 - np.tanh(x) ** 2 if name == "tanh" else (x > 0).astype(np.float64)


def random_weights(rng, cell, depth, units, channels, outputs, recurrent_scale=1.0, bias_scale=0.1):
    """Weights in the lab's order, N(0, scale²/fan_in) kernels, N(0, bias_scale²) biases."""
    gates, weights = GATES[cell], []
    for layer in range(depth):
        fan_in = channels if layer == 0 else units
        weights.append(rng.normal(0.0, 1.0 / np.sqrt(fan_in), (fan_in, gates * units)))
        weights.append(rng.normal(0.0, recurrent_scale / np.sqrt(units), (units, gates * units)))
        weights.append(rng.normal(0.0, bias_scale, (2, 3 * units) if cell == "gru" else (gates * units,)))
    weights.append(rng.normal(0.0, 1.0 / np.sqrt(units), (units, outputs)))
    weights.append(rng.normal(0.0, bias_scale, (outputs,)))
    return [np.asarray(weight, np.float32).astype(np.float64) for weight in weights]  # what float32 variables hold


def cell_step(cell, activation, kernel, recurrent, bias, x, h, c, carry_eps=0.0):
    """One step: (new h, new c or None, gate pre-activations or None, candidate pre-activation).

    carry_eps (LSTM) is added to c_t before h_t = o·tanh(c_t) reads it.
    """
    units = h.shape[1]
    if cell == "simple":
        z = x @ kernel + h @ recurrent + bias
        return phi(activation, z), None, None, z
    if cell == "lstm":
        z = x @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g) + carry_eps
        return sigmoid(o) * np.tanh(c_new), c_new, np.concatenate([i, f, o], axis=1), g
    from_input, from_state = x @ kernel + bias[0], h @ recurrent + bias[1]
    gates = from_input[:, :2 * units] + from_state[:, :2 * units]
    update, reset = sigmoid(gates[:, :units]), sigmoid(gates[:, units:])
    candidate = from_input[:, 2 * units:] + reset * from_state[:, 2 * units:]
    return update * h + (1.0 - update) * np.tanh(candidate), None, gates, candidate


def forward(cell, activation, weights, x, state_eps=None, carry_eps=None):
    """Per-layer h sequences (N, T, u), gate and candidate pre-activations, and the logits.

    state_eps / carry_eps: optional (depth, N, T, u) perturbations of each step's h_t and (LSTM) c_t, as the
    probe defines them: c_t's before h_t reads it, h_t's after.
    """
    depth = (len(weights) - 2) // 3
    n, steps, _ = x.shape
    units = weights[1].shape[0]
    sequence, states, gates_all, candidates_all = x, [], [], []
    for layer in range(depth):
        kernel, recurrent, bias = weights[3 * layer:3 * layer + 3]
        h, c = np.zeros((n, units)), np.zeros((n, units))
        outputs, gates_seq, candidates = [], [], []
        for t in range(steps):
            h, c, gates, candidate = cell_step(cell, activation, kernel, recurrent, bias, sequence[:, t], h, c,
                                               0.0 if carry_eps is None else carry_eps[layer, :, t])
            if state_eps is not None:
                h = h + state_eps[layer, :, t]
            outputs.append(h)
            gates_seq.append(gates)
            candidates.append(candidate)
        sequence = np.stack(outputs, axis=1)
        states.append(sequence)
        gates_all.append(None if gates_seq[0] is None else np.stack(gates_seq, axis=1))
        candidates_all.append(np.stack(candidates, axis=1))
    logits = sequence[:, -1] @ weights[-2] + weights[-1]
    return states, gates_all, candidates_all, logits


def per_sample_loss(logits, labels):
    """Cross-entropy from logits: sigmoid for one output unit, softmax otherwise."""
    if logits.shape[1] == 1:
        z = logits[:, 0]
        return np.maximum(z, 0) - z * labels + np.log1p(np.exp(-np.abs(z)))
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def logit_gradient(logits, labels):
    """d loss_i / d logits_i."""
    if logits.shape[1] == 1:
        return sigmoid(logits) - labels[:, None]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return p


def simple_bptt(activation, weights, x, labels):
    """Back-propagation through time of a stacked simple RNN by hand.

    Returns (per layer the total d loss_i / d h_t (N, T, u), per layer (dKernel, dRecurrent, dBias) of the
    mean loss, (dHeadKernel, dHeadBias), d loss_i / d logits).
    """
    depth = (len(weights) - 2) // 3
    states, _, candidates, logits = forward("simple", activation, weights, x)
    n, steps, _ = x.shape
    delta_logits = logit_gradient(logits, labels)
    head = (states[-1][:, -1].T @ delta_logits / n, delta_logits.sum(axis=0) / n)
    # From above: the gradient each layer's h_t receives directly (for the top layer only at T, from the head).
    from_above = np.zeros_like(states[-1])
    from_above[:, -1] = delta_logits @ weights[-2].T
    totals, grads = [None] * depth, [None] * depth
    for layer in reversed(range(depth)):
        kernel, recurrent, _ = weights[3 * layer:3 * layer + 3]
        layer_input = x if layer == 0 else states[layer - 1]
        h = states[layer]
        total = np.zeros_like(h)
        deltas = np.zeros_like(h)
        carried = np.zeros((n, h.shape[2]))  # d loss / d h_t through h_{t+1}
        for t in reversed(range(steps)):
            total[:, t] = from_above[:, t] + carried
            deltas[:, t] = total[:, t] * phi_slope(activation, candidates[layer][:, t])
            carried = deltas[:, t] @ recurrent.T
        previous = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
        grads[layer] = (np.einsum("ntc,ntg->cg", layer_input, deltas) / n,
                        np.einsum("ntu,ntg->ug", previous, deltas) / n, deltas.sum(axis=(0, 1)) / n)
        totals[layer] = total
        from_above = np.einsum("ntg,cg->ntc", deltas, kernel)
    return totals, grads, head, delta_logits


def finite_difference_state_grads(cell, activation, weights, x, labels, step=1e-6):
    """Central differences of each loss_i w.r.t. a perturbation of h_t (and c_t): (depth, N, T, u) arrays.

    Every sample is perturbed at once (the samples do not interact), one (layer, t, unit) at a time.
    """
    depth = (len(weights) - 2) // 3
    n, steps, _ = x.shape
    units = weights[1].shape[0]
    shape = (depth, n, steps, units)
    results = []
    for which in ("state", "carry") if cell == "lstm" else ("state",):
        grads = np.zeros(shape)
        for layer in range(depth):
            for t in range(steps):
                for unit in range(units):
                    losses = []
                    for sign in (1.0, -1.0):
                        eps = np.zeros(shape)
                        eps[layer, :, t, unit] = sign * step
                        kwargs = {"state_eps": eps} if which == "state" else {"carry_eps": eps}
                        losses.append(per_sample_loss(forward(cell, activation, weights, x, **kwargs)[3], labels))
                    grads[layer, :, t, unit] = (losses[0] - losses[1]) / (2 * step)
        results.append(grads)
    return results


def finite_difference_weight_grad(cell, activation, weights, x, labels, index, step=1e-6):
    """Central differences of the mean loss w.r.t. every entry of weights[index]."""
    grad = np.zeros_like(weights[index])
    for position in np.ndindex(grad.shape):
        values = []
        for sign in (1.0, -1.0):
            moved = [weight.copy() for weight in weights]
            moved[index][position] += sign * step
            values.append(per_sample_loss(forward(cell, activation, moved, x)[3], labels).mean())
        grad[position] = (values[0] - values[1]) / (2 * step)
    return grad


def rms_over_samples(grads):
    """sqrt(mean_i ||g_{i,t}||^2) per t, for (N, T, u) gradients."""
    return np.sqrt(np.mean(np.sum(grads ** 2, axis=2), axis=0))
