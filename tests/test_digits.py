"""data.dataset digits: scikit-learn's bundled 8×8 handwritten digits, a seeded subset, standardised like the others,
its config rules (64 features, 10 classes, softmax, no noise) one line each, and a tiny run that learns."""
import numpy as np
import pytest

from lab import ConfigError, config_to_yaml, load_config, run, run_id_of
from lab.contract.run_data import prepare_data
from lab.science.data import DIGITS_SAMPLES, make_dataset

DIGITS = {"data": {"dataset": "digits"}, "model": {"output_activation": "softmax"}}


def digits(num_samples=1024, seed=0, validation_split=0.2):
    """make_dataset for digits with its fixed sizes."""
    return make_dataset("digits", num_samples, 0.1, 64, 10, validation_split, seed)


def test_shapes_classes_and_dtypes():
    data = digits()
    assert data.x_train.shape == (819, 64) and data.x_val.shape == (205, 64)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert data.num_classes == 10 and set(np.unique(data.y_train)) == set(range(10))


def test_standardised_on_the_training_split():
    data = digits()
    mean, std = data.x_train.mean(axis=0), data.x_train.std(axis=0)
    constant = data.feature_std == 1.0  # pixels that never light up in the training split stay at 0
    assert constant.any() and (data.x_train[:, constant] == 0).all()
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std[~constant], 1.0, rtol=1e-4)


def test_the_subset_is_seeded():
    first, again, other = digits(seed=3), digits(seed=3), digits(seed=4)
    assert np.array_equal(first.x_train, again.x_train) and np.array_equal(first.y_train, again.y_train)
    assert not np.array_equal(first.x_train, other.x_train)


def test_every_image_once_when_all_are_asked_for():
    from sklearn.datasets import load_digits

    data = digits(num_samples=DIGITS_SAMPLES, validation_split=0.0)
    raw = data.x_train.astype(np.float64) * data.feature_std + data.feature_mean
    images = load_digits().data
    assert data.x_train.shape == (DIGITS_SAMPLES, 64)
    # The same rows, in another (shuffled) order.
    assert np.allclose(np.sort(raw.round(3), axis=0), np.sort(images, axis=0), atol=1e-3)
    assert np.bincount(data.y_train).tolist() == np.bincount(load_digits().target).tolist()


def test_features_and_classes_resolve_and_are_written_resolved():
    config = load_config(DIGITS)
    assert (config.data.num_features, config.data.num_classes, config.data.num_samples) == (64, 10, 1024)
    dumped = config_to_yaml(config)
    assert "num_features: 64" in dumped and "num_classes: 10" in dumped
    assert load_config(dumped) == config and run_id_of(load_config(dumped)) == run_id_of(config)
    explicit = load_config({"data": {"dataset": "digits", "num_features": 64, "num_classes": 10, "noise": 0.1},
                            "model": {"output_activation": "softmax"}})
    assert run_id_of(explicit) == run_id_of(config)


@pytest.mark.parametrize("overrides, field", [
    ({"data.num_samples": 1798}, "data.num_samples"),
    ({"data.num_features": 2}, "data.num_features"),
    ({"data.num_classes": 3}, "data.num_classes"),
    ({"data.noise": 0.3}, "data.noise"),
    ({"model.output_activation": "sigmoid"}, "model.output_activation"),
])
def test_each_refusal_is_one_line_naming_the_field(overrides, field):
    base = {"data.dataset": "digits", "model.output_activation": "softmax"}
    with pytest.raises(ConfigError) as refused:
        load_config({}, overrides={**base, **overrides})
    message = str(refused.value)
    assert message.startswith(f"{field}:") and "\n" not in message.strip(), message


def test_all_images_and_the_quick_mode_are_accepted():
    assert load_config({**DIGITS, "data": {"dataset": "digits", "num_samples": DIGITS_SAMPLES}}).data.num_samples == 1797


def test_the_runs_data_and_probe_come_from_digits():
    config = load_config({**DIGITS, "data": {"dataset": "digits", "num_samples": 256}, "probe": {"num_samples": 32}})
    dataset, probe = prepare_data(config)
    assert dataset.x_train.shape == (205, 64) and dataset.x_train[probe].shape == (32, 64)


def test_a_tiny_digits_run_trains_above_chance():
    config = load_config({
        "data": {"dataset": "digits", "num_samples": 512},
        "model": {"depth": 2, "width": 16, "activation": "relu", "output_activation": "softmax",
                  "kernel_initializer": "he_normal"},
        "training": {"epochs": 2, "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32},
        "probe": {"num_samples": 64},
    })
    result = run(config)
    assert result.summary["status"] == "ok"
    assert result.history["accuracy"].iloc[-1] > 0.1 + 0.2 and result.history["val_accuracy"].iloc[-1] > 0.1 + 0.2
    assert result.boundary.empty  # not a 2-D data set


def test_the_form_follows_digits_and_trains_it():
    from app import experiment_form as form
    from tests.support.app_test import experiment_page, press_train, set_small

    app = experiment_page()
    app.selectbox(key="w.data.dataset").set_value("digits").run()
    assert not app.exception
    features = app.number_input(key="w.data.num_features")
    assert features.value == 64 and features.disabled and app.number_input(key="w.data.noise").disabled
    assert app.selectbox(key="w.model.output_activation").options == ["softmax"]
    raw = form.raw_config("digits", 10, state=app.session_state)
    assert load_config(raw).data.num_classes == 10
    set_small(app)
    app = press_train(app)
    assert not app.exception, app.exception
    shown = app.session_state["runs"][app.session_state["current_run"]]
    assert shown.config.data.dataset == "digits" and shown.config.data.num_features == 64
