"""Signal propagation (probe.propagation): q, c and the Jacobians J_l = dz_l/dz_1 of the hidden layers.

Measured on one probe reading (lab.training.probes), so at exactly the weights and pre-activations of
that record. Normalisation is refused with propagation (lab.contract.config), so each hidden block is
z_l = o_{l-1} W_l + b_l, o_l = phi(z_l) [+ o_{l-k} on a skip], and the Jacobian of a block is exact
from the recorded kernels and the activation's slopes at z_l:

    J_1 = I,   K_l = do_l/dz_1 = diag(phi'(z_l)) J_l [+ K_{l-k}],   J_{l+1} = W_{l+1}^T K_l.

A skip from the network's inputs (block 0) carries nothing that depends on z_1, so it adds nothing.
The slopes phi'(z) come from TensorFlow's tape on the model's own Activation layer (so an activation
with a custom gradient, like step's exact zero, is differentiated as training differentiates it); the
chain and the singular values are numpy float64. Non-finite weights or slopes give NaN, never an error.
"""
from __future__ import annotations

import numpy as np

from lab.contract.result import frame_from_columns
from lab.training.runtime import import_tensorflow


def make_slopes(activation_layer):
    """A compiled function: pre-activations (any shape, float32) -> the activation's derivative there (numpy)."""
    tf = import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)], autograph=False)
    def slopes(values):
        with tf.GradientTape() as tape:
            tape.watch(values)
            outputs = activation_layer(values)
        # The activation is elementwise, so the gradient of its sum is the diagonal of its Jacobian.
        return tape.gradient(outputs, values, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def read(values: np.ndarray) -> np.ndarray:
        shape = values.shape
        flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1, shape[-1])
        return slopes(flat).numpy().astype(np.float64).reshape(shape)

    read.function = slopes  # for lab.training.run.release_run
    return read


def skip_sources(blocks) -> tuple:
    """Per hidden block, the block whose output its skip adds (0 = the inputs), or None without a skip."""
    if not blocks.skips:
        return (None,) * len(blocks.hidden_dense)
    return tuple(None if skip is None else skip[0] for skip in blocks.skips)


def overlap_stats(z: np.ndarray) -> tuple[float, float]:
    """(q, c) of one layer's pre-activations z (samples x units), in float64.

    q = mean over samples of mean_i z_i^2; c = mean over distinct sample pairs of the cosine of z_a and z_b,
    via sum over pairs = ||sum_a u_a||^2 - sum_a ||u_a||^2 for the unit vectors u_a. A zero vector has no
    angle: its pairs are left out (a sample whose units all died below). NaN with fewer than two samples
    left, or with a non-finite z.
    """
    z = z.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        q = float(np.mean(np.square(z)))
        if not np.all(np.isfinite(z)):
            return q, float("nan")
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        kept = norms[:, 0] > 0
        count = int(kept.sum())
        if count < 2:
            return q, float("nan")
        units = z[kept] / norms[kept]
        total = units.sum(axis=0)
        c = float((total @ total - np.sum(np.square(units))) / (count * (count - 1)))
    return q, c


def singular_values(jacobians: np.ndarray) -> np.ndarray:
    """Descending singular values of each matrix of a stack (samples x w x w); NaN for a non-finite matrix."""
    values = np.full(jacobians.shape[:2], np.nan)
    finite = np.all(np.isfinite(jacobians), axis=(1, 2))
    if finite.any():
        try:
            values[finite] = np.linalg.svd(jacobians[finite], compute_uv=False)
        except np.linalg.LinAlgError:  # SVD did not converge: leave NaN rather than stop the run
            pass
    return values


def jacobian_spectra(kernels, slopes, sources) -> list[np.ndarray]:
    """Singular values (samples x w, descending) of J_l = dz_l/dz_1 for each hidden layer l.

    kernels: the hidden Dense kernels (in x out); slopes: per hidden layer phi'(z_l) (samples x w);
    sources: per block the source block of its skip (skip_sources), None without one.
    """
    count, width = slopes[0].shape
    spectra, block_jacobians = [], {}  # block_jacobians[l] = K_l = do_l/dz_1, kept for the skips that add it
    needed = {source for source in sources if source}
    jacobian = np.broadcast_to(np.eye(width), (count, width, width))
    block_output = jacobian  # K_l of the block below, set at each layer before the next reads it
    with np.errstate(over="ignore", invalid="ignore"):
        for index, slope in enumerate(slopes):
            if index:
                jacobian = np.matmul(kernels[index].astype(np.float64).T, block_output)
            spectra.append(singular_values(jacobian))
            block_output = slope[:, :, None] * jacobian
            if sources[index]:  # a skip from block 0 (the inputs) carries nothing that depends on z_1
                block_output = block_output + block_jacobians[sources[index]]
            if index + 1 in needed:
                block_jacobians[index + 1] = block_output
    return spectra


def propagation_columns(reading, slopes_of, sources, samples: int, context: dict) -> tuple[dict, dict]:
    """The propagation and spectrum columns of one probe reading (hidden layers only)."""
    depth = len(reading.activations)
    zs = reading.preactivations[:depth]  # without normalisation, the activation's input is z = Dense(h)
    slopes = slopes_of(np.stack([z[:samples] for z in zs]))
    spectra = jacobian_spectra(reading.kernels[:depth], list(slopes), sources)
    undefined = np.zeros(len(slopes[0]), dtype=bool)
    for z, values in zip(zs, spectra):  # no derivative at a non-finite point, nor anywhere above it
        undefined |= ~np.all(np.isfinite(z[:samples]), axis=1)
        values[undefined] = np.nan
    stats = [overlap_stats(z) for z in zs]
    with np.errstate(over="ignore", invalid="ignore"):
        propagation = {
            **{key: np.repeat(np.asarray([value]), depth) for key, value in context.items()},
            "layer": np.arange(1, depth + 1),
            "q": [q for q, _ in stats],
            "c": [c for _, c in stats],
            "jac_mean_sq": [float(np.mean(np.square(values))) for values in spectra],
            "jac_max": [float(np.mean(values[:, 0])) for values in spectra],
            "jac_min": [float(np.mean(values[:, -1])) for values in spectra],
        }
    count, width = spectra[0].shape
    rows = depth * count * width
    spectrum = {
        **{key: np.repeat(np.asarray([value]), rows) for key, value in context.items()},
        "layer": np.repeat(np.arange(1, depth + 1), count * width),
        "sample": np.tile(np.repeat(np.arange(1, count + 1), width), depth),
        "index": np.tile(np.arange(1, width + 1), depth * count),
        "singular_value": np.concatenate([values.ravel() for values in spectra]),
    }
    return propagation, spectrum


def frames_of(chunks: list[tuple[dict, dict]]) -> tuple:
    """The propagation and spectrum frames of the recorded chunks, in record order."""
    from lab.contract.result import frame

    if not chunks:
        return frame("propagation"), frame("spectrum")
    joined = []
    for position, name in enumerate(("propagation", "spectrum")):
        columns = {key: np.concatenate([np.asarray(chunk[position][key]) for chunk in chunks]) for key in chunks[0][position]}
        joined.append(frame_from_columns(name, columns))
    return tuple(joined)
