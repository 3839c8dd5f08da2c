"""Config validation: defaults, round trips, and a clear message naming the field for each bad input."""
import subprocess
import sys

import pytest
import yaml

from lab import ConfigError, ExperimentConfig, config_to_yaml, load_config, run_id_of
from lab.contract.config_io import QUICK_CAPS, parse_override

SCHEMA_EXAMPLE = """
name: sigmoid_deep
seed: 0
data:     {dataset: moons, num_samples: 1024, noise: 0.1, num_features: 2, num_classes: 2, validation_split: 0.2}
model:    {depth: 10, width: 32, activation: sigmoid, leaky_alpha: 0.01, output_activation: sigmoid,
           kernel_initializer: glorot_uniform, bias_initializer: zeros}
training: {optimizer: sgd, momentum: 0.9, learning_rate: 0.1, batch_size: 64, epochs: 30, record_every: epoch}
probe:    {num_samples: 256}
"""


def test_empty_file_is_a_valid_experiment_with_the_documented_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    config = load_config(path)
    example = yaml.safe_load(SCHEMA_EXAMPLE)
    dumped = config.model_dump()
    for section in ("data", "model", "training", "probe"):
        assert dumped[section] == example[section], section
    assert config.seed == 0


def test_schema_example_loads_and_round_trips():
    config = load_config(SCHEMA_EXAMPLE)
    assert config.name == "sigmoid_deep"
    again = load_config(config_to_yaml(config))
    assert again == config
    assert config_to_yaml(again) == config_to_yaml(config)
    assert run_id_of(again) == run_id_of(config) and len(run_id_of(config)) == 12


@pytest.mark.parametrize("bias", [-1.0, 0.5, "zeros", "he_normal"])
@pytest.mark.parametrize("record_every", ["epoch", 7])
def test_round_trip_keeps_union_fields(bias, record_every):
    config = load_config({"model": {"bias_initializer": bias}, "training": {"record_every": record_every}})
    assert load_config(config_to_yaml(config)) == config
    assert config.model.bias_initializer == bias and config.training.record_every == record_every


def test_configs_are_frozen():
    config = load_config({})
    with pytest.raises(ValueError, match="frozen"):  # pydantic's ValidationError
        config.model.depth = 3


def test_overrides_set_dotted_keys_and_do_not_mutate_the_source():
    source = {"model": {"depth": 4}}
    config = load_config(source, overrides={"model.depth": 20, "training.learning_rate": 0.01})
    assert config.model.depth == 20 and config.training.learning_rate == 0.01
    assert source == {"model": {"depth": 4}}


@pytest.mark.parametrize("text, expected", [
    ("model.depth=20", ("model.depth", 20)),
    ("training.learning_rate=1e-3", ("training.learning_rate", 0.001)),
    ("model.activation=relu", ("model.activation", "relu")),
    ("model.bias_initializer=-1.0", ("model.bias_initializer", -1.0)),
])
def test_set_values_are_parsed_as_yaml_scalars(text, expected):
    assert parse_override(text) == expected


def test_quick_caps_sizes_and_keeps_smaller_values():
    config = load_config({"data": {"num_samples": 100}}, quick=True)
    assert config.data.num_samples == 100  # already below the cap
    config = load_config({}, quick=True)
    assert config.data.num_samples == QUICK_CAPS["data.num_samples"]
    assert config.probe.num_samples == QUICK_CAPS["probe.num_samples"]
    assert config.training.epochs == QUICK_CAPS["training.epochs"]


# Each bad config, and a fragment the message must contain (the field, and what is allowed).
BAD_CONFIGS = [
    ({"modle": {}}, ["modle", "did you mean 'model'"]),
    ({"model": {"dept": 3}}, ["model.dept", "did you mean 'depth'"]),
    ({"model": {"depth": 0}}, ["model.depth", "greater than or equal to 1"]),
    ({"model": {"depth": 1000}}, ["model.depth", "less than or equal to 100"]),
    ({"model": {"depth": "ten"}}, ["model.depth", "integer"]),
    ({"model": {"depth": 2.5}}, ["model.depth", "integer"]),
    ({"model": {"width": True}}, ["model.width", "integer"]),
    ({"model": {"activation": "relux"}}, ["model.activation", "'relu'", "'leaky_relu'"]),
    ({"model": {"kernel_initializer": "xavier"}}, ["model.kernel_initializer", "'classic'"]),
    ({"model": {"bias_initializer": "minus_one"}}, ["model.bias_initializer", "a number"]),
    ({"model": {"bias_initializer": [1]}}, ["model.bias_initializer", "a number"]),
    ({"training": {"learning_rate": float("nan")}}, ["training.learning_rate", "finite"]),
    ({"training": {"learning_rate": float("inf")}}, ["training.learning_rate", "finite"]),
    ({"training": {"learning_rate": 1e308}}, ["training.learning_rate", "less than or equal to 10"]),
    ({"training": {"learning_rate": 0}}, ["training.learning_rate", "greater than 0"]),
    ({"training": {"epochs": -1}}, ["training.epochs", "greater than or equal to 0"]),
    ({"training": {"record_every": 0}}, ["training.record_every", "'epoch' or a whole number"]),
    ({"training": {"optimizer": "adamw"}}, ["training.optimizer", "'rmsprop'"]),
    ({"data": {"dataset": "mnist"}}, ["data.dataset", "'spirals'"]),
    ({"data": {"dataset": "moons", "num_classes": 3}, "model": {"output_activation": "softmax"}},
     ["data.num_classes", "moons has 2 classes"]),
    ({"data": {"dataset": "blobs", "num_classes": 3}}, ["model.output_activation", "softmax"]),
    ({"data": {"num_features": 1}}, ["data.num_features", "at least 2"]),
    ({"probe": {"num_samples": 5000}}, ["probe.num_samples", "at most the training set"]),
    ({"training": {"batch_size": 2000}}, ["training.batch_size", "at most the training set"]),
    ({"name": "../escape"}, ["name", "letters, digits"]),
    ({"name": "/abs/path"}, ["name", "letters, digits"]),
    ({"model": 5}, ["model", "must be a mapping"]),
    ({"seed": -1}, ["seed", "greater than or equal to 0"]),
]


@pytest.mark.parametrize("raw, fragments", BAD_CONFIGS)
def test_bad_config_names_the_field_and_what_is_allowed(raw, fragments):
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("text, fragment", [
    ("model: {depth: 3", "not valid YAML at line"),
    ("- a\n- b\n", "must be a YAML mapping"),
    ("just a string\n", "must be a YAML mapping"),
    ("!!python/object/apply:os.system ['echo hacked']\n", "not valid YAML"),
    ("a: &a [1, 2]\nb: *a\n", "aliases"),
])
def test_bad_yaml_text_is_refused_with_one_line(text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config(text + "\n")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_config(binary)


def test_importing_lab_and_validating_does_not_import_tensorflow():
    code = (
        "import sys, lab; lab.load_config({'model': {'depth': 3}}); "
        "from lab import store, report, cli; "
        "print(any(name.split('.')[0] in ('tensorflow', 'keras') for name in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_experiment_config_is_the_validated_type():
    assert isinstance(load_config(None), ExperimentConfig)
