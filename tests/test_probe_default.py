"""The probe batch left out of a config is 256 samples, or the whole training set if that is smaller."""
import pytest
import yaml

from lab import ConfigError, config_to_yaml, load_config, run


def test_a_small_data_set_alone_gets_a_probe_of_its_whole_training_set():
    config = load_config({"data": {"num_samples": 256}})
    train = config.num_train_samples
    assert train == 256 - round(256 * 0.2) < 256
    assert config.probe.num_samples == train
    # Written resolved, so config.yaml says which probe the run used and reloading it gives the same config.
    assert yaml.safe_load(config_to_yaml(config))["probe"] == {"num_samples": train}
    assert load_config(config_to_yaml(config)) == config


def test_a_large_enough_training_set_keeps_256():
    assert load_config({}).probe.num_samples == 256
    assert load_config({"data": {"num_samples": 321}}).probe.num_samples == 256  # 257 training samples


def test_an_explicit_probe_larger_than_the_training_set_is_still_refused():
    with pytest.raises(ConfigError, match="probe.num_samples: at most the training set, 205 samples"):
        load_config({"data": {"num_samples": 256}, "probe": {"num_samples": 256}})


def test_the_small_experiment_trains_and_measures_on_every_training_sample():
    config = load_config({"data": {"num_samples": 64}, "model": {"depth": 2, "width": 4},
                          "training": {"epochs": 1, "batch_size": 16}})
    result = run(config)
    histogram = result.histograms
    first = histogram[(histogram["step"] == 0) & (histogram["layer"] == 1)]
    # Every probe sample's pre-activation at every unit is counted once: probe size x width.
    assert int(first["count"].sum()) == config.num_train_samples * config.model.width
