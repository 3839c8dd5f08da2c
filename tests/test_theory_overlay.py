"""Theory beside one run: pinned to the run's last hidden layer, following lab.science.theory's relative profile."""
import numpy as np

from lab.charts import run_charts as charts
from lab.readings.theory_overlay import theory_profile
from lab.science import theory
from tests.support.configs import tiny_config


def test_overlay_is_anchored_at_the_last_hidden_layer_and_follows_theory():
    from lab import run

    config = tiny_config(**{"model.depth": 4, "model.activation": "sigmoid", "training.epochs": 0})
    result = run(config)
    overlay = theory_profile(result.layers, config, "preact_grad_rms")
    measured_last = result.layers.query("step == 0 and layer == 4")["preact_grad_rms"].iloc[0]
    assert overlay.set_index("layer").loc[4, "plotted"] == measured_last
    profile = theory.predicted_profile("sigmoid", "glorot_uniform", 4, config.model.width, config.data.num_features)
    np.testing.assert_allclose(np.log10(overlay["plotted"] / measured_last), profile["log10_signal_relative"], rtol=1e-9)
    spec = charts.gradient_profile_chart(result.layers, "preact_grad_rms", theory=overlay).to_dict()
    assert "strokeDash" in str(spec)
    assert theory_profile(result.layers, config, "update_ratio") is None
