"""Issue #13's initializers against their definitions: gaussian and orthogonal kernels scaled by sigma_w, gaussian biases
scaled by sigma_b; the config keys left out at their defaults and each refusal one line naming its field."""
import numpy as np
import pytest
from scipy import stats

from lab import ConfigError, ExperimentConfig, config_to_yaml, load_config, run_id_of
from lab.contract.config_io import parse_override
from lab.science import theory
from lab.science.initializers import initial_values, network_weights, orthogonal


def test_gaussian_kernel_is_normal_with_variance_sigma_w_squared_over_fan_in():
    for sigma_w, shape in ((1.0, (300, 200)), (2.5, (64, 500)), (0.3, (500, 40))):
        values = initial_values("gaussian", shape, np.random.default_rng(5), sigma=sigma_w).astype(np.float64).ravel()
        scale = sigma_w / np.sqrt(shape[0])
        assert stats.kstest(values, stats.norm(0.0, scale).cdf).pvalue > 1e-3, (sigma_w, shape)
        assert values.dtype == np.float64 and np.abs(values).max() > 3 * scale  # not truncated


def test_gaussian_bias_is_normal_with_variance_sigma_b_squared():
    for sigma_b in (0.05, 1.0, 3.0):
        values = initial_values("gaussian", (20_000,), np.random.default_rng(6), sigma=sigma_b).astype(np.float64)
        assert stats.kstest(values, stats.norm(0.0, sigma_b).cdf).pvalue > 1e-3, sigma_b
    zero = initial_values("gaussian", (100,), np.random.default_rng(6), sigma=0.0)
    assert (zero == 0).all() and not np.signbit(zero).any()  # sigma_b 0: zeros, not -0.0


@pytest.mark.parametrize("shape", [(64, 64), (16, 128), (128, 16), (2, 32), (32, 1)],
                         ids=["square", "widening", "narrowing", "input_layer", "binary_output"])
@pytest.mark.parametrize("sigma_w", [1.0, 1.7])
def test_orthogonal_is_scaled_semi_orthogonal(shape, sigma_w):
    fan_in, fan_out = shape
    kernel = orthogonal(np.random.default_rng(7), shape, sigma_w)
    expected = sigma_w**2 * max(1.0, fan_out / fan_in)
    # Orthonormal columns when the layer keeps or narrows the width, orthonormal rows when it widens.
    gram = kernel @ kernel.T if fan_in < fan_out else kernel.T @ kernel
    np.testing.assert_allclose(gram, expected * np.eye(min(shape)), atol=1e-12 * expected * max(shape))
    as_float32 = initial_values("orthogonal", shape, np.random.default_rng(7), sigma=sigma_w)
    assert as_float32.dtype == np.float32 and np.array_equal(as_float32, kernel.astype(np.float32))


@pytest.mark.parametrize("initializer", ["orthogonal", "gaussian"])
@pytest.mark.parametrize("shape", [(32, 32), (8, 64), (64, 8)], ids=["square", "widening", "narrowing"])
def test_preactivation_second_moment_is_sigma_w_squared_norm_over_fan_in(initializer, shape):
    """E[z_i²] = σw²||x||²/fan_in over seeds, for a fixed input x (Monte Carlo, 4000 draws of the kernel)."""
    sigma_w, fan_in = 1.3, shape[0]
    x = np.random.default_rng(0).standard_normal(fan_in)
    draws = np.stack([x @ initial_values(initializer, shape, np.random.default_rng(seed), sigma=sigma_w).astype(np.float64)
                      for seed in range(4000)])
    expected = sigma_w**2 * (x @ x) / fan_in
    # 4000 × fan_out samples of z²; their mean is within a few percent of its expectation.
    assert np.mean(draws**2) == pytest.approx(expected, rel=0.05)
    assert abs(np.mean(draws)) < 0.05 * np.sqrt(expected)


def test_the_seed_gives_the_same_weights_twice_and_different_seeds_differ():
    shapes = [((2, 16), (16,)), ((16, 16), (16,)), ((16, 3), (3,))]
    for kernel in ("gaussian", "orthogonal"):
        first = network_weights(shapes, kernel, "gaussian", seed=3, sigma_w=1.5, sigma_b=0.2)
        again = network_weights(shapes, kernel, "gaussian", seed=3, sigma_w=1.5, sigma_b=0.2)
        other = network_weights(shapes, kernel, "gaussian", seed=4, sigma_w=1.5, sigma_b=0.2)
        assert all(np.array_equal(a, b) for a, b in zip(first, again))
        assert all(not np.array_equal(a, b) for a, b in zip(first[:-1], other[:-1]))  # every tensor but the output bias
        assert (first[-1] == 0).all() and (first[1] != 0).all()  # the output bias stays zero, hidden biases are drawn


def test_output_kernel_follows_the_hidden_rule_with_sigma_w():
    shapes = [((2, 64), (64,)), ((64, 64), (64,)), ((64, 1), (1,))]
    weights = network_weights(shapes, "orthogonal", "zeros", seed=0, sigma_w=2.0)
    output = weights[-2].astype(np.float64)
    assert output.T @ output == pytest.approx(np.array([[4.0]]), rel=1e-6)  # one unit column of norm σw


def test_other_initializers_draw_what_they_drew_before():
    """sigma_w and sigma_b scale only gaussian and orthogonal: the old names ignore them (no run changes)."""
    shapes = [((2, 8), (8,)), ((8, 8), (8,)), ((8, 2), (2,))]
    for kernel, bias in (("he_normal", "random_normal"), ("glorot_uniform", "zeros"), ("classic", "he_uniform")):
        plain = network_weights(shapes, kernel, bias, seed=1)
        scaled = network_weights(shapes, kernel, bias, seed=1, sigma_w=3.0, sigma_b=2.0)
        assert all(np.array_equal(a, b) for a, b in zip(plain, scaled))


# The config: new keys left out at their defaults, each refusal one line naming its field.

DEFAULT_MODEL_YAML = """
name: old
data: {dataset: blobs, num_classes: 3}
model: {depth: 3, width: 8, activation: tanh, output_activation: softmax, kernel_initializer: he_normal}
"""


def test_defaults_are_left_out_of_config_yaml():
    config = load_config(DEFAULT_MODEL_YAML)
    dumped = config_to_yaml(config)
    assert "sigma_w" not in dumped and "sigma_b" not in dumped
    assert config.model.sigma_w == 1.0 and config.model.sigma_b == 0.0
    spelled_out = load_config(DEFAULT_MODEL_YAML.replace("he_normal}", "he_normal, sigma_w: 1.0, sigma_b: 0.0}"))
    assert config_to_yaml(spelled_out) == dumped and run_id_of(spelled_out) == run_id_of(config)
    assert "sigma_w" not in config_to_yaml(ExperimentConfig())


def test_values_off_their_defaults_are_written_and_read_back():
    config = load_config({"model": {"kernel_initializer": "orthogonal", "sigma_w": 1.5, "bias_initializer": "gaussian",
                                    "sigma_b": 0.3}})
    dumped = config_to_yaml(config)
    assert "sigma_w: 1.5" in dumped and "sigma_b: 0.3" in dumped
    assert load_config(dumped) == config and run_id_of(load_config(dumped)) == run_id_of(config)
    # gaussian biases at sigma_b 0 are zeros, and only the non-default key is written
    assert "sigma_b" not in config_to_yaml(load_config({"model": {"bias_initializer": "gaussian"}}))


@pytest.mark.parametrize("overrides, field", [
    ({"model.sigma_w": 2.0}, "model.sigma_w"),
    ({"model.kernel_initializer": "rai", "model.sigma_w": 0.5}, "model.sigma_w"),
    ({"model.sigma_b": 0.1}, "model.sigma_b"),
    ({"model.bias_initializer": "random_normal", "model.sigma_b": 0.1}, "model.sigma_b"),
    ({"model.kernel_initializer": "gaussian", "model.sigma_w": 0.0}, "model.sigma_w"),
    ({"model.kernel_initializer": "gaussian", "model.sigma_w": 10.5}, "model.sigma_w"),
    ({"model.bias_initializer": "gaussian", "model.sigma_b": -0.1}, "model.sigma_b"),
    ({"model.bias_initializer": "gaussian", "model.sigma_b": 11.0}, "model.sigma_b"),
])
def test_each_refusal_is_one_line_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as refused:
        load_config({}, overrides=overrides)
    message = str(refused.value)
    assert field in message and "\n" not in message.strip(), message


def test_sigma_at_the_edges_is_accepted():
    load_config({}, overrides={"model.kernel_initializer": "gaussian", "model.sigma_w": 10.0})
    load_config({}, overrides={"model.bias_initializer": "gaussian", "model.sigma_b": 10.0})


def test_theory_covers_the_new_activations_and_sigma_initializers_only_for_a_caller_that_passes_sigma():
    """covers() alone still refuses gaussian/orthogonal kernels and a random bias: a caller that left σw, σb out would
    draw the σw = 1, σb = 0 profile. The sweep's depth view passes them (next test), as the experiment page does."""
    base = {"model.activation": "tanh"}
    assert theory.covers(load_config({}, overrides=base).model)
    for name in ("linear", "hard_tanh", "softsign"):
        assert theory.covers(load_config({}, overrides={"model.activation": name}).model)
    for kernel in ("gaussian", "orthogonal"):
        assert not theory.covers(load_config({}, overrides={"model.kernel_initializer": kernel}).model)
    random_bias = {"model.bias_initializer": "gaussian", "model.sigma_b": 0.5}
    assert not theory.covers(load_config({}, overrides=random_bias).model)
    assert theory.covers(load_config({}, overrides={"model.bias_initializer": "gaussian"}).model)  # sigma_b 0: zeros


def test_the_sweep_depth_view_draws_theory_for_sigma_w_and_sigma_b():
    """Formerly skipped (theory.covers without σ). A linear net has χ = σw² at every hidden layer, so theory's signal
    ratio is (depth - 1)·log10 σw whatever q is: a closed form. Cells of one line that theory tells apart (two σw at one
    depth) get no dashed value; σb reaches the prediction (tanh: it changes q, hence χ)."""
    from lab.sweeps.runner import plan_sweep
    from lab.sweeps.theory_views import depth_theory

    base = {"data": {"dataset": "gaussian", "num_features": 8, "num_samples": 128}, "model": {"width": 8},
            "training": {"epochs": 0}, "probe": {"num_samples": 16}}
    linear = {"model.activation": "linear", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.5}
    tanh = {"model.activation": "tanh", "model.kernel_initializer": "orthogonal", "model.sigma_w": 1.2,
            "model.bias_initializer": "gaussian", "model.sigma_b": 0.8}
    point = [{**linear, "model.bias_initializer": "zeros", "model.sigma_b": 0.0}, tanh]
    _, _, planned = plan_sweep({"name": "s", "base": base, "grid": {"model.depth": [2, 6], "point": point}})
    theory_rows = depth_theory(planned).set_index(["model.activation", "model.depth"])
    for depth in (2, 6):
        expected = (depth - 1) * np.log10(1.5)
        assert theory_rows.loc[("linear", depth), "log10_signal_ratio"] == pytest.approx(expected, rel=1e-9)
    without_bias = theory.predicted_ratios("tanh", "orthogonal", 6, 8, 8, 1, sigma_w=1.2, sigma_b=0.0)
    assert abs(theory_rows.loc[("tanh", 6), "log10_signal_ratio"] - without_bias["log10_signal_ratio"]) > 0.1
    two_sigmas = {"model.depth": [4], "model.kernel_initializer": ["gaussian"], "model.sigma_w": [1.0, 2.0]}
    _, _, planned = plan_sweep({"name": "s", "base": base, "grid": two_sigmas})
    assert np.isnan(depth_theory(planned)["log10_signal_ratio"]).all()


def test_theory_of_the_new_activations_against_closed_forms():
    """linear: q grows by width·σ² a layer and χ = width·σ²; hard_tanh: E[f'(z)²] = P(|z| <= 1) with its kinks as edges."""
    profile = theory.predicted_profile("linear", "lecun_normal", depth=4, width=16, num_features=16, num_outputs=1)
    np.testing.assert_allclose(profile["preact_variance"], 1.0, rtol=1e-12)  # lecun: σ² = 1/fan_in keeps q = 1
    np.testing.assert_allclose(profile["signal_factor"][:-1], 1.0, rtol=1e-12)
    q = 2.7
    slope = theory.gaussian_expectation(lambda z: (np.abs(z) <= 1).astype(float), 0.0, q, breakpoints=(-1.0, 0.0, 1.0))
    assert slope == pytest.approx(stats.norm(0, np.sqrt(q)).cdf(1) * 2 - 1, abs=1e-12)
    hard = theory.predicted_profile("hard_tanh", "lecun_normal", depth=2, width=16, num_features=16, num_outputs=1)
    first_q = hard["preact_variance"][0]
    assert hard["signal_factor"][0] == pytest.approx(2 * stats.norm(0, np.sqrt(first_q)).cdf(1) - 1, abs=1e-12)


def test_a_link_with_sigma_opens_in_the_form_and_trains_the_same_run():
    from app import experiment_form as form
    from tests.support.app_test import experiment_page

    link = {"model.kernel_initializer": "orthogonal", "model.sigma_w": "1.5", "model.bias_initializer": "gaussian",
            "model.sigma_b": "0.25", "model.activation": "softsign", "model.depth": "2", "model.width": "4",
            "training.epochs": "1", "data.num_samples": "128", "probe.num_samples": "32"}
    app = experiment_page(**link)
    assert not app.exception
    assert app.number_input(key="w.model.sigma_w").value == 1.5 and app.number_input(key="w.model.sigma_b").value == 0.25
    expected = load_config({}, overrides=dict(parse_override(f"{key}={value}") for key, value in link.items()))
    raw = form.raw_config(app.selectbox(key="w.data.dataset").value, 2, state=app.session_state)
    assert run_id_of(load_config(raw)) == run_id_of(expected)
