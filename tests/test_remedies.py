"""Remedies (issue #7): each remedy preset bears out its claim (data in its YAML, read by lab.readings.claims)
against its counterpart, the same preset with the claim's counterpart overrides; the probes stay exact under
every remedy, the new config keys validate, re-initialisation resets every remedy variable, and configs without
remedies keep their run ids."""
import numpy as np
import pandas as pd
import pytest

from lab import ConfigError, ExperimentConfig, config_to_yaml, load_config, run, run_id_of
from lab.contract.config_io import flatten
from lab.readings.claims import evaluate, preset_claims
from tests.support.configs import tiny_config
from tests.support.presets import check_full_size, check_quick, measured, preset_names

REMEDY_PRESETS = preset_names(remedies=True)
AT_INITIALISATION = {"training.epochs": 0}


@pytest.mark.parametrize("name", REMEDY_PRESETS)
def test_remedy_preset_runs_quick_and_bears_out_its_claim(name):
    check_quick(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", REMEDY_PRESETS)
def test_remedy_preset_bears_out_its_claim_at_full_size(name):
    check_full_size(name)


def test_every_remedy_claim_compares_with_the_same_preset_with_exactly_its_remedy_off():
    for name in REMEDY_PRESETS:
        preset = preset_claims()[name]
        assert preset.claim.counterpart, f"{name}: a remedy's claim compares with the same net without the remedy"
        remedy, without = flatten(preset.config()), flatten(preset.counterpart_config())
        changed = {key for key, value in remedy.items() if without[key] != value}
        assert changed == set(preset.claim.counterpart), \
            f"{name}: the counterpart differs by exactly its claim's counterpart keys"


def test_remedy_presets_fit_the_hosted_caps():
    from lab.contract.resources import check_resources, hosted_limits

    for name in REMEDY_PRESETS:
        check_resources(preset_claims()[name].config(), hosted_limits())


def start_rows(result) -> pd.DataFrame:
    """Hidden-layer rows at step 0, indexed by layer."""
    layers = result.layers
    return layers[(layers["step"] == 0) & (layers["layer_kind"] == "hidden")].set_index("layer")


def test_a_claim_holds_only_on_the_runs_it_measured():
    claim = preset_claims()["remedies/gradient_clipping"].claim
    _, clipped, diverged = measured("remedies/gradient_clipping", True)
    assert evaluate(claim, clipped, diverged).holds and diverged.status == "diverged"
    assert "training.learning_rate" in diverged.summary["message"]  # the divergence names what to lower
    assert np.isnan(evaluate(claim, clipped, None).value) and not evaluate(claim, clipped, None).holds  # no counterpart run
    assert not evaluate(claim, diverged, diverged).holds  # a run that diverged bears out no claim but about its own status


# --- what the remedies do, beside their claims -----------------------------------------------------------

def test_batch_norm_leaves_the_dense_bias_before_it_no_gradient():
    # The mean that batch norm subtracts removes the Dense bias: its gradient is zero up to float32 rounding.
    hidden = start_rows(measured("remedies/batch_norm", True)[1])
    assert (hidden["bias_grad_norm"] < 1e-4 * hidden["grad_norm"]).all()


def test_the_probes_measure_the_raw_gradient_before_clipping():
    # At step 0 both runs record the same rows, clipped or not: only what the optimizer applies is clipped.
    _, clipped, unclipped = measured("remedies/gradient_clipping", True)
    pd.testing.assert_frame_equal(start_rows(clipped).drop(columns="run_id"), start_rows(unclipped).drop(columns="run_id"))


def test_selu_with_lecun_normal_keeps_every_layer_near_unit_scale():
    # Klambauer et al.'s fixed point is variance 1: measured 0.73-1.55 over seeds 0-9, where He's reaches 10-28.
    assert start_rows(measured("remedies/selu_lecun", True)[1])["activation_std"].between(0.5, 2.0).all()


# --- the probes stay exact under every remedy ---------------------------------------------------------

EXACT_CASES = {
    "batch_before": {"model.normalization": "batch"},
    "batch_after": {"model.normalization": "batch", "model.normalization_position": "after", "model.activation": "relu"},
    "layer_before": {"model.normalization": "layer", "model.activation": "sigmoid"},
    "layer_after": {"model.normalization": "layer", "model.normalization_position": "after"},
    # depth 4, every 2: the first skip starts at the 2 input features (a projection), the second is an identity.
    "residual": {"model.residual_every": 2, "model.depth": 4, "model.activation": "relu"},
    "residual_batch": {"model.residual_every": 1, "model.normalization": "batch", "model.activation": "selu"},
    "clip_norm": {"training.clip_norm": 0.01, "model.activation": "relu"},
    "clip_value": {"training.clip_value": 0.001},
    "rai": {"model.kernel_initializer": "rai", "model.activation": "relu", "data.dataset": "blobs", "data.num_classes": 3,
            "model.output_activation": "softmax"},
}
TF_ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "selu": "selu"}


def trained_trainer(overrides: dict):
    """A Trainer after one epoch (weights, batch-norm scales and moving statistics have moved)."""
    from lab.contract.run_data import prepare_data
    from lab.training.trainer import Trainer

    config = tiny_config(**{"training.epochs": 1, **overrides})
    dataset, probe_index = prepare_data(config)
    trainer = Trainer(config, dataset, probe_index, "reference")
    assert trainer.train()[0] == "ok"
    return trainer


def normalized(tf, kind: str, tensor, gamma, beta):
    """Textbook batch norm (batch statistics) or layer norm (each sample over its units), Keras' epsilon."""
    from lab.training.models import NORMALIZATION_EPSILON

    mean, variance = tf.nn.moments(tensor, axes=[0] if kind == "batch" else [1], keepdims=True)
    return (tensor - mean) / tf.sqrt(variance + NORMALIZATION_EPSILON) * gamma + beta


def textbook_signals(trainer):
    """The network written out with raw TensorFlow ops from the documented equations (not the Keras layers):
    logits, and per layer the activation input, the activation output and the summed loss's gradient at z."""
    import tensorflow as tf

    config, network = trainer.config, trainer.network
    model = config.model
    activation = getattr(tf.nn, TF_ACTIVATIONS[model.activation])
    norms = {layer.name.rsplit("_", 1)[-1]: layer for layer in network.model.layers if "normalization" in layer.name}
    projections = {layer.name.rsplit("_", 1)[-1]: layer.kernel for layer in network.model.layers
                   if layer.name.startswith("projection")}
    x = tf.constant(trainer.probe_inputs)
    with tf.GradientTape() as tape:
        outputs, zs, us, acts = [x], [], [], []
        for index, dense in enumerate(network.hidden_dense):
            block = index + 1
            z = tf.matmul(outputs[-1], dense.kernel) + dense.bias
            norm = norms.get(str(block))
            before = norm is not None and model.normalization_position == "before"
            after = norm is not None and not before
            u = normalized(tf, model.normalization, z, norm.gamma, norm.beta) if before else z
            a = activation(u)
            h = normalized(tf, model.normalization, a, norm.gamma, norm.beta) if after else a
            if model.residual_every and block % model.residual_every == 0:
                source = outputs[block - model.residual_every]
                h = h + (tf.matmul(source, projections[str(block)]) if str(block) in projections else source)
            zs.append(z)
            us.append(u)
            acts.append(a)
            outputs.append(h)
        logits = tf.matmul(outputs[-1], network.output_dense.kernel) + network.output_dense.bias
        labels = trainer.probe_labels
        if model.output_activation == "sigmoid":
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels.reshape(-1, 1).astype("float32"), logits=logits)
        else:
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        total = tf.reduce_sum(losses)
    deltas = tape.gradient(total, zs + [logits])
    return logits.numpy(), [u.numpy() for u in us], [a.numpy() for a in acts], [d.numpy() for d in deltas]


@pytest.mark.parametrize("case", sorted(EXACT_CASES))
def test_probes_match_a_plain_tape_and_the_textbook_network_under_each_remedy(case):
    import keras
    import tensorflow as tf

    trainer = trained_trainer(EXACT_CASES[case])
    network, config = trainer.network, trainer.config
    moving = [variable.numpy().copy() for variable in network.model.non_trainable_variables]
    trainer.record()  # measure again, now, on the trained weights
    after = [variable.numpy() for variable in network.model.non_trainable_variables]
    assert all(np.array_equal(first, second) for first, second in zip(moving, after)), "the probe moved batch norm's statistics"
    rows = trainer.layer_rows[-len(network.dense_layers):]  # that record's rows, layer 1 first
    x, y = trainer.probe_inputs, trainer.probe_labels

    # 1. A plain tape on the Keras model in training mode, with Keras' own loss (mean over the batch).
    dense = network.dense_layers
    with tf.GradientTape() as tape:
        logits = network.model(x, training=True)
        if config.model.output_activation == "sigmoid":
            loss = keras.losses.BinaryCrossentropy(from_logits=True)(y.reshape(-1, 1).astype("float32"), logits)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    grads = tape.gradient(loss, [layer.kernel for layer in dense] + [layer.bias for layer in dense])
    # 2. The textbook network, for the signal at each z and the activation inputs and outputs.
    text_logits, text_inputs, text_outputs, deltas = textbook_signals(trainer)
    np.testing.assert_allclose(text_logits, logits.numpy(), rtol=1e-4, atol=1e-5)  # the same network
    histograms = pd.DataFrame(trainer.histogram_chunks[-1])
    for index, row in enumerate(rows):
        kernel_norm, bias_norm = np.linalg.norm(grads[index].numpy()), np.linalg.norm(grads[len(dense) + index].numpy())
        np.testing.assert_allclose(row["grad_norm"], kernel_norm, rtol=2e-5, atol=1e-9)
        # Under batch norm 'before' the bias gradient is float32 rounding around 0: compare on the kernel's scale.
        np.testing.assert_allclose(row["bias_grad_norm"], bias_norm, rtol=2e-5, atol=1e-6 * kernel_norm + 1e-9)
        signal = np.sqrt(np.mean(np.sum(deltas[index] ** 2, axis=1)))
        np.testing.assert_allclose(row["preact_grad_rms"], signal, rtol=1e-4, atol=1e-9)
        if row["layer_kind"] == "output":
            continue
        counts = histograms[histograms["layer"] == index + 1]["count"].to_numpy()
        np.testing.assert_array_equal(counts, np.histogram(np.clip(text_inputs[index], -8, 8), bins=np.linspace(-8, 8, 65))[0])
        assert row["dead_fraction"] == np.mean((text_outputs[index] == 0).all(axis=0))
        np.testing.assert_allclose(row["activation_mean"], text_outputs[index].mean(), rtol=1e-4, atol=1e-6)
    if case.startswith("clip"):
        # Raw, not clipped: the measured gradient is larger than anything the optimizer was allowed to apply.
        kernel_and_bias = [row["grad_norm"] for row in rows] + [row["bias_grad_norm"] for row in rows]
        limit = config.training.clip_norm or config.training.clip_value
        assert np.sqrt(np.sum(np.square(kernel_and_bias))) > limit


def test_reinitialize_resets_every_variable_as_a_fresh_build():
    from lab.training.models import build_network, reinitialize

    config = tiny_config(**{"model.normalization": "batch", "model.residual_every": 1, "model.kernel_initializer": "rai",
                            "model.activation": "relu"})
    used = build_network(config.model, 2, 2, seed=1)
    rng = np.random.default_rng(0)
    for variable in used.model.weights:  # as if trained: every kernel, scale and moving statistic moved
        variable.assign(rng.normal(size=variable.shape).astype(np.float32))
    reinitialize(used, config.model, seed=4)
    fresh = build_network(config.model, 2, 2, seed=4)
    assert [variable.path for variable in used.model.weights] == [variable.path for variable in fresh.model.weights]
    assert len(used.model.weights) == 2 * (3 + 1) + 1 + 4 * 3  # Dense kernels and biases, 1 projection, 4 per batch norm
    for mine, theirs in zip(used.model.weights, fresh.model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_fast_path_equals_building_a_fresh_model_for_each_seed_with_remedies():
    from lab.sweeps.worker import run_one

    for overrides in ({"model.normalization": "batch", "model.residual_every": 2, "model.kernel_initializer": "rai",
                       "model.activation": "relu"},
                      {"model.normalization": "layer", "model.normalization_position": "after", "model.residual_every": 1}):
        for seed in (0, 1, 2):  # the 2nd and 3rd reuse the model built for the 1st
            config = tiny_config(**{**overrides, **AT_INITIALISATION, "seed": seed})
            fast, fresh = run_one(config, fast=True), run(config)
            for name in ("layers", "histograms", "boundary"):
                pd.testing.assert_frame_equal(getattr(fast, name), getattr(fresh, name), check_exact=True)


def test_rai_draws_one_beta_entry_per_unit_anywhere_among_its_weights_and_bias():
    from scipy import stats

    from lab.science.initializers import RAI_SIGMA, network_weights, rai_layer

    fan_in, units = 100, 20_000
    kernel, bias = rai_layer(np.random.default_rng(0), (fan_in, units))
    joint = np.vstack([kernel, bias[None, :]]).astype(np.float64)  # (fan_in + 1, units): column j is unit j's incoming entries
    scale = RAI_SIGMA / np.sqrt(fan_in)
    # Above 0.5 (8.3 standard deviations of the symmetric part) only the Beta(2, 1) entry can be, and it is there
    # with probability 1 - 0.5^2 = 0.75: so each unit has at most one such entry, in about 75% of the units.
    large = joint > 0.5
    assert large.sum(axis=0).max() == 1
    assert large.any(axis=0).mean() == pytest.approx(0.75, abs=0.015)
    values = joint[large]
    assert stats.kstest(values, lambda x: (x**2 - 0.25) / 0.75).pvalue > 1e-3  # Beta(2, 1) above 0.5: F(x) = x^2
    # Its position is uniform over the fan_in weights and the bias (row fan_in).
    rows = np.nonzero(large)[0]
    assert stats.chisquare(np.bincount(rows, minlength=fan_in + 1)).pvalue > 1e-3
    found = large.any(axis=0)  # the units whose Beta entry is identified: the rest of their entries are symmetric
    symmetric = joint[:, found][~large[:, found]]
    assert np.std(symmetric) == pytest.approx(scale, rel=0.01) and abs(np.mean(symmetric)) < 0.01 * scale
    # In a network: the hidden layers draw their biases with their weights; the output layer keeps a zero bias.
    weights = network_weights([((2, 8), (8,)), ((8, 8), (8,)), ((8, 1), (1,))], "rai", "zeros", seed=3)
    assert (weights[1] != 0).all() and (weights[3] != 0).all() and (weights[5] == 0).all()
    again = network_weights([((2, 8), (8,)), ((8, 8), (8,)), ((8, 1), (1,))], "rai", "zeros", seed=3)
    assert all(np.array_equal(first, second) for first, second in zip(weights, again))


# --- the config keys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"model.normalization": "bn"}, "model.normalization: must be one of 'none', 'batch' or 'layer' (got 'bn')"),
    ({"model.normalization_position": "middle"},
     "model.normalization_position: must be one of 'before' or 'after' (got 'middle')"),
    ({"model.residual_every": -1}, "model.residual_every: must be greater than or equal to 0 (got -1)"),
    ({"model.residual_every": 1.5}, "model.residual_every: must be a valid integer (got 1.5)"),
    ({"model.residual_every": 11}, ("model.residual_every: a skip every 11 blocks needs at least that many hidden layers "
                                    "(model.depth is 10); use 0 (no skips) up to 10")),
    ({"model.kernel_initializer": "raii"}, ("model.kernel_initializer: must be one of 'glorot_uniform', 'glorot_normal', "
                                            "'he_normal', 'he_uniform', 'lecun_normal', 'classic', 'rai', 'gaussian' or "
                                            "'orthogonal' (got 'raii')")),
    ({"model.kernel_initializer": "rai", "model.bias_initializer": -1.0},
     ("model.bias_initializer: rai draws each unit's bias together with its weights (Lu et al. 2019), so leave "
      "bias_initializer at zeros (got -1.0)")),
    ({"training.clip_norm": 0}, "training.clip_norm: must be null (off) or a number > 0 and at most 1e+06 (got 0)"),
    ({"training.clip_value": -1.0}, "training.clip_value: must be null (off) or a number > 0 and at most 1e+06 (got -1.0)"),
    ({"training.clip_norm": "big"}, "training.clip_norm: must be null (off) or a number > 0 and at most 1e+06 (got 'big')"),
    ({"training.clip_norm": True}, "training.clip_norm: must be null (off) or a number > 0 and at most 1e+06 (got True)"),
    ({"training.clip_value": float("inf")},
     "training.clip_value: must be null (off) or a number > 0 and at most 1e+06 (got inf)"),
    ({"training.clip_norm": 1.0, "training.clip_value": 0.5},
     ("training.clip_value: set at most one of training.clip_norm and training.clip_value (Keras optimizers clip one way): "
      "clip_norm rescales the whole gradient, clip_value clips each element")),
])
def test_bad_remedy_values_name_the_field_and_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError) as caught:
        load_config({}, overrides=overrides)
    assert str(caught.value) == message


def test_remedies_round_trip_and_only_remedies_that_are_on_are_written():
    plain = load_config({})
    remedied = load_config({}, overrides={"model.normalization": "layer", "model.normalization_position": "after",
                                          "model.residual_every": 2, "model.kernel_initializer": "rai", "training.clip_norm": 1})
    text = config_to_yaml(remedied)
    for line in ("normalization: layer", "normalization_position: after", "residual_every: 2", "kernel_initializer: rai",
                 "clip_norm: 1.0"):
        assert f"  {line}\n" in text
    assert "clip_value" not in text and load_config(text) == remedied and run_id_of(remedied) != run_id_of(plain)
    # Off: not written, so the text (and the run id) is the one written before the remedies existed.
    assert not any(key in config_to_yaml(plain) for key in ("normalization", "residual_every", "clip_norm", "clip_value"))
    spelled_out = load_config({"model": {"normalization": "none", "normalization_position": "before", "residual_every": 0},
                               "training": {"clip_norm": None, "clip_value": None}})
    assert config_to_yaml(spelled_out) == config_to_yaml(plain)
    # A position without a normalisation does nothing, but it was asked for: it is written (a different id).
    assert "normalization_position: after" in config_to_yaml(load_config({}, overrides={"model.normalization_position": "after"}))
    # Every field, remedies off included, is a place a sweep grid or the app can set.
    from lab.sweeps.sweep_config import GRID_KEYS

    remedy_keys = {"model.normalization", "model.normalization_position", "model.residual_every", "training.clip_norm",
                   "training.clip_value"}
    assert remedy_keys <= set(flatten(plain)) and remedy_keys <= set(GRID_KEYS)
    assert flatten(plain)["training.clip_norm"] is None and flatten(plain)["model.normalization"] == "none"


# Recorded with the code before the remedies existed (git HEAD 1e420e9): the same configs must keep their ids.
RUN_IDS_BEFORE_THE_REMEDIES = {
    "dead_at_birth": ("bee065512f9e", "efdbf1969780"), "dying_relu_training": ("648c4f32d899", "fd2f5becb908"),
    "leaky_relu_rescue": ("640027124527", "0cf5759fc67f"), "relu_glorot_deep": ("b644c151c0eb", "a071bbd6dfb3"),
    "relu_he": ("a73e445898ff", "568ffe058083"), "sigmoid_vanishing": ("1cb7777c5201", "73dfe6fb7d38"),
    "softmax_multiclass": ("a5d6a45a59e1", "c086e5e0e78a"), "step_zero_gradient": ("455d7075752a", "7450c89eee76"),
    "tanh_vs_sigmoid": ("f29b6d876613", "853133459c10"),
}
# sha256 (12 digits) of each sweep preset's expanded sweep.yaml, and of its runs' ids joined by commas (full size).
SWEEPS_BEFORE_THE_REMEDIES = {
    "born_dead": ("8394b1c5371b", "6efbb3036845"), "depth_vs_activation": ("08e25b2a5d0a", "52047bae9ca6"),
    "xavier_vs_he": ("e48ed286b142", "99e6d57d84a1"),
}


def test_configs_without_remedies_keep_their_run_ids():
    import hashlib

    from lab.contract.presets import REMEDY_PRESETS as REMEDIES
    from lab.sweeps.sweep_config import expand, expanded_yaml, load_sweep

    experiments = REMEDIES.parent
    assert run_id_of(ExperimentConfig()) == "b85bb760b071"
    for name, (full, quick) in RUN_IDS_BEFORE_THE_REMEDIES.items():
        path = experiments / f"{name}.yaml"
        assert (run_id_of(load_config(path)), run_id_of(load_config(path, quick=True))) == (full, quick), name

    def digest(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    for name, (sweep_yaml, run_ids) in SWEEPS_BEFORE_THE_REMEDIES.items():
        sweep, base = load_sweep(experiments / "sweeps" / f"{name}.yaml")
        planned = expand(sweep, base)
        assert digest(expanded_yaml(sweep, base, planned)) == sweep_yaml, name  # a sweep folder written before still resumes
        assert digest(",".join(run_id_of(item.config) for item in planned)) == run_ids, name


def test_a_remedy_preset_loaded_in_the_app_keeps_its_remedy_through_train():
    from tests.support.app_test import experiment_page, press_train, set_small

    app = experiment_page()
    app.selectbox(key="w.preset").set_value("remedies/batch_norm")
    (load,) = [button for button in app.button if button.label == "Load preset"]
    app = load.click().run()
    assert not app.exception
    assert app.selectbox(key="w.model.normalization").value == "batch"
    set_small(app)
    app.number_input(key="w.training.clip_norm").set_value(0.5)
    app = press_train(app)
    assert not app.exception and not app.error
    # The URL carries what differs from the defaults: the remedy and the clipping reached the trained config.
    assert app.query_params["model.normalization"] == "batch" and app.query_params["training.clip_norm"] == "0.5"
