"""Numerical faults end in clear outcomes: underflow reported as exactly 0, divergence kept and shown in the app."""
from __future__ import annotations

import numpy as np

from lab.contract.run_data import prepare_data
from lab.readings.report import verdict
from tests.support.app_test import experiment_page, press_train, set_small
from tests.support.configs import tiny_config
from tests.support.numpy_reference import numpy_backward

SMALLEST_FLOAT32 = float(np.finfo(np.float32).smallest_subnormal)


def test_float32_underflow_is_reported_as_exactly_zero_where_float64_is_tiny_but_not_zero():
    from lab.training.trainer import Trainer

    config = tiny_config(**{"model.activation": "sigmoid", "model.depth": 100, "model.width": 4, "training.epochs": 0})
    dataset, probe_index = prepare_data(config)
    trainer = Trainer(config, dataset, probe_index, "underflow")
    assert trainer.train()[0] == "ok"
    first = trainer.layer_rows[0]
    assert first["layer"] == 1 and first["grad_norm"] == 0.0 and first["preact_grad_rms"] == 0.0
    # The independent float64 pass: the true gradient is not zero, only below what float32 can hold.
    kernel_grads, _, _ = numpy_backward(trainer)
    true_norm = float(np.linalg.norm(kernel_grads[0]))
    assert 0.0 < true_norm < SMALLEST_FLOAT32
    import pandas as pd

    sentences = " ".join(verdict(pd.DataFrame(trainer.layer_rows), config.model.depth))
    assert "exactly 0" in sentences and "float32 underflow" in sentences


def test_a_diverging_run_in_the_app_says_so_and_keeps_its_charts():
    app = experiment_page()
    set_small(app, **{"w.training.learning_rate": 10.0, "w.model.width": 32, "w.training.epochs": 20})
    app.selectbox(key="w.model.activation").set_value("relu")
    app.selectbox(key="w.model.kernel_initializer").set_value("he_normal")
    app = press_train(app)
    assert not app.exception
    errors = " ".join(error.value for error in app.error)
    assert "diverged" in errors and "training.learning_rate" in errors
    assert app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")  # the records before the fault are drawn
