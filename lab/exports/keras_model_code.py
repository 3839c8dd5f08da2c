"""The model and step-0 parts of an exported Keras script: code text for an MLP or a recurrent network.

The model is plain Keras (Functional for the MLP, whose skips need it; Sequential for the recurrent network) with
the run's initial weights. Step 0 measures what lab.training.probes and lab.training.recurrent_probes put in
layers.csv at step 0, with a plain tf.GradientTape over the same layers:
- MLP rows: each Dense layer (the output last). grad_norm and bias_grad_norm are the norms of the mean loss's
  gradients; preact_grad_rms = sqrt(mean_i ||d loss_i / d z_i||^2) at the Dense output z, taken as the gradient
  of the summed loss (with batch normalisation that includes the samples' coupling, as the lab's probe).
- Recurrent rows: each recurrent layer (its recurrent kernel and the cell's bias), then the output Dense. The
  cells are stepped one time step at a time in Python, so the tape's gradient at h_t is the total derivative
  d loss_i / d h_t through every later step and every layer above (back-propagation through time), the quantity
  the lab's probe measures with a zero perturbation; preact_grad_rms is its root mean square over (sample, t).
The script's code reads the names of the inlined lab code (lab.exports.keras_script.INLINED_ROOTS).
"""
from __future__ import annotations

from lab.contract.config import ExperimentConfig

STEP0_COLUMNS = ("layer", "grad_norm", "bias_grad_norm", "preact_grad_rms", "weight_norm")
STEP0_HEADER = "step-0 numbers (as the lab's layers.csv at step 0):"


def model_code(config: ExperimentConfig) -> tuple[str, str]:
    """(explanation, code) of the model: built, then given the run's initial weights."""
    if config.model.kind == "rnn":
        return _recurrent_model_code(config)
    return _mlp_model_code(config)


def step0_code(config: ExperimentConfig) -> str:
    """Code computing the step-0 rows (a list of dicts `step0`) on the probe batch, then printing them as a table."""
    rows = _recurrent_step0_rows() if config.model.kind == "rnn" else _mlp_step0_rows()
    header = " ".join(f"{name:>16}" if name != "layer" else f"{name:>5}" for name in STEP0_COLUMNS)
    return rows + f'''
print(f"probe loss at step 0: {{float(total / count):.9e}}")
print({STEP0_HEADER!r})
print({header!r})
for row in step0:
    print(f"{{row['layer']:>5}} " + " ".join(f"{{row[name]:>16.9e}}" for name in {STEP0_COLUMNS[1:]!r}))
print()'''


def _mlp_model_code(config: ExperimentConfig) -> tuple[str, str]:
    model = config.model
    normalized = model.normalization != "none"
    before = normalized and model.normalization_position == "before"
    lines = [
        "activation = keras_activation(config.model.activation, config.model.leaky_alpha)",
        "dense = [keras.layers.Dense(config.model.width, name=f\"dense_{index + 1}\") for index in range(config.model.depth)]",
        "activations = [keras.layers.Activation(activation, name=f\"activation_{index + 1}\")",
        "               for index in range(config.model.depth)]",
        *(["normalizations = normalization_layers(config.model.normalization, config.model.depth)"] if normalized else []),
        *(["# Per block None or (source block, projection Dense or None, Add layer): the lab's skip_layers above.",
           "skips = skip_layers(config.model, dataset.num_features)"] if model.residual_every else []),
        "output = keras.layers.Dense(1 if BINARY else dataset.num_classes, name=\"output\")  # logits: the loss takes them",
        "",
        "",
        "def forward(x, training=None):",
        "    \"\"\"The network on x: (logits, each Dense layer's output z with the logits last), where the probe measures.\"\"\"",
        "    measured, block_outputs = [], [x]  # block_outputs[j]: the output of block j (0: the inputs)",
        "    for index in range(config.model.depth):",
        "        z = dense[index](block_outputs[-1])",
        "        measured.append(z)",
        *(["        z = normalizations[index](z, training=training)  # before the activation"] if before else []),
        "        h = activations[index](z)",
        *(["        h = normalizations[index](h, training=training)  # after the activation"]
          if normalized and not before else []),
        *(["        if skips[index] is not None:",
           "            source, projection, add = skips[index]",
           "            carried = block_outputs[source] if projection is None else projection(block_outputs[source])",
           "            h = add([h, carried])"] if model.residual_every else []),
        "        block_outputs.append(h)",
        "    logits = output(block_outputs[-1])",
        "    return logits, measured + [logits]",
        "",
        "",
        "inputs = keras.Input(shape=(dataset.num_features,), name=\"inputs\")",
        "model = keras.Model(inputs, forward(inputs)[0], name=\"mlp\")",
        "",
        "# The lab's initial weights: numpy draws from the run's seed, one stream per tensor (network_weights above).",
        "measured_layers = [*dense, output]",
        "shapes = [(tuple(layer.kernel.shape), tuple(layer.bias.shape)) for layer in measured_layers]",
        "initial = network_weights(shapes, config.model.kernel_initializer, config.model.bias_initializer, config.seed,",
        "                          config.model.sigma_w, config.model.sigma_b)",
        "for layer, kernel, bias in zip(measured_layers, initial[0::2], initial[1::2]):",
        "    layer.set_weights([kernel, bias])",
        *(["for index, skip in enumerate(skips):",
           "    if skip is not None and skip[1] is not None:  # a projection where the widths differ",
           "        skip[1].set_weights([projection_kernel(tuple(skip[1].kernel.shape), config.seed, index)])"]
          if model.residual_every else []),
    ]
    parts = ["Dense, then the activation" + (f" with {model.normalization} normalisation {model.normalization_position} it"
                                            if normalized else "")]
    if model.residual_every:
        parts.append(f"a skip connection every {model.residual_every} blocks (a linear projection where the widths differ)")
    explanation = (f"A plain Keras Functional model: each hidden block is {'; '.join(parts)}; the output layer gives "
                   "logits. `forward` is the model's own forward pass, which the step-0 probe calls too. Its weights "
                   "are the run's initial weights.")
    return explanation, "\n".join(lines)


def _mlp_step0_rows() -> str:
    return '''inputs, labels = tf.constant(x_probe), tf.constant(y_probe)
# Training mode, as the lab's probe: batch normalisation uses the probe batch's statistics; its moving averages
# are put back afterwards (measuring is not training).
moving = [(variable, variable.numpy()) for variable in model.non_trainable_variables]
with tf.GradientTape() as tape:
    logits, outputs = forward(inputs, training=True)
    total = tf.reduce_sum(per_sample_loss(logits, labels, BINARY))  # summed: its gradient at z_i is d loss_i / d z_i
kernels = [layer.kernel for layer in measured_layers]
biases = [layer.bias for layer in measured_layers]
kernel_grads, bias_grads, output_grads = tape.gradient(
    total, [kernels, biases, outputs], unconnected_gradients=tf.UnconnectedGradients.ZERO)
for variable, value in moving:
    variable.assign(value)
count = tf.cast(tf.shape(inputs)[0], tf.float32)
step0 = [
    {
        "layer": index + 1,
        "grad_norm": float(tf.norm(kernel_grads[index] / count)),  # of the mean loss, as in training
        "bias_grad_norm": float(tf.norm(bias_grads[index] / count)),
        "preact_grad_rms": float(tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(output_grads[index]), axis=1)))),
        "weight_norm": float(np.linalg.norm(layer.kernel.numpy().astype(np.float64))),
    }
    for index, layer in enumerate(measured_layers)
]'''


def _recurrent_model_code(config: ExperimentConfig) -> tuple[str, str]:
    code = '''activation = keras_activation(config.model.activation, config.model.leaky_alpha)
# The lab's recurrent_layer above: SimpleRNN, LSTM or GRU (reset_after), lower layers returning their whole sequence.
recurrent = [recurrent_layer(config.model.cell, config.model.width, activation, f"recurrent_{index + 1}",
                             index + 1 < config.model.depth) for index in range(config.model.depth)]
output_units = 1 if BINARY else dataset.num_classes
output = keras.layers.Dense(output_units, name="output")  # logits on the last step's state
model = keras.Sequential([keras.Input(shape=(None, dataset.num_features), name="inputs"), *recurrent, output],
                         name=f"rnn_{config.model.cell}")

# The lab's initial weights: numpy draws from the run's seed, one stream per tensor (recurrent_weights above):
# per recurrent layer kernel, recurrent kernel and bias, then the output layer's kernel and bias.
initial = recurrent_weights(config.model.cell, config.model.depth, config.model.width, dataset.num_features, output_units,
                            config.model.kernel_initializer, config.model.recurrent_initializer,
                            config.model.spectral_radius, config.model.bias_initializer, config.seed, config.model.sigma_w,
                            config.model.sigma_b)
for index, layer in enumerate(recurrent):
    layer.set_weights(initial[3 * index:3 * index + 3])
output.set_weights(initial[-2:])'''
    explanation = (f"A plain Keras Sequential model: {config.model.depth} stacked {config.model.cell} recurrent layer(s) "
                   "of the lab's recurrent_layer, then a Dense layer giving logits from the last time step's state. Its "
                   "weights are the run's initial weights.")
    return explanation, code


def _recurrent_step0_rows() -> str:
    return '''inputs, labels = tf.constant(x_probe), tf.constant(y_probe)
with tf.GradientTape() as tape:
    # Each cell stepped one time step at a time: the tape's gradient at h_t is then the total derivative
    # d loss_i / d h_t through every later step and every layer above (back-propagation through time).
    sequence, states = inputs, []
    for layer in recurrent:
        state = [tf.zeros((tf.shape(inputs)[0], layer.cell.units))] * (2 if config.model.cell == "lstm" else 1)
        steps = []
        for t in range(inputs.shape[1]):
            h, state = layer.cell(sequence[:, t, :], state)
            steps.append(h)
        states.append(steps)
        sequence = tf.stack(steps, axis=1)
    logits = output(steps[-1])
    total = tf.reduce_sum(per_sample_loss(logits, labels, BINARY))  # summed: its gradient at h_t of sample i is d loss_i / d h_t
kernels = [layer.cell.recurrent_kernel for layer in recurrent] + [output.kernel]  # each row's kernel
biases = [layer.cell.bias for layer in recurrent] + [output.bias]
kernel_grads, bias_grads, state_grads, logit_grads = tape.gradient(
    total, [kernels, biases, states, logits], unconnected_gradients=tf.UnconnectedGradients.ZERO)
count = tf.cast(tf.shape(inputs)[0], tf.float32)
# Per layer the root mean square over (sample, t) of ||d loss_i / d h_t||; for the output row, at the logits.
signal = [tf.sqrt(tf.reduce_mean(tf.stack([tf.reduce_sum(tf.square(grad), axis=1) for grad in grads], axis=1)))
          for grads in state_grads]
signal.append(tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(logit_grads), axis=1))))
step0 = [
    {
        "layer": index + 1,
        "grad_norm": float(tf.norm(kernel_grads[index] / count)),  # of the mean loss, as in training
        "bias_grad_norm": float(tf.norm(bias_grads[index] / count)),
        "preact_grad_rms": float(signal[index]),
        "weight_norm": float(np.linalg.norm(kernel.numpy().astype(np.float64))),
    }
    for index, kernel in enumerate(kernels)
]'''
