"""Property tests over the config space: whatever a user writes, the lab either accepts it or says, in
one line, which field is wrong. And any valid tiny experiment runs, saves and loads back.

Strategies are derived from the pydantic schema (bounds, literals, defaults), then mixed with wild
values (None, booleans, huge integers, NaN and infinities, text, lists, mappings) and unknown keys.
"""
import string
import tempfile
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lab import ConfigError, ExperimentConfig, config_to_yaml, load_config, run
from lab.contract.config import OPTIMIZERS
from lab.contract.config_io import dump_yaml, flatten, parse_override
from lab.contract.result import FRAME_COLUMNS
from lab.runs import store
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.science.data import BINARY_ONLY, DATASETS, TWO_DIMENSIONAL
from lab.science.initializers import BIAS_INITIALIZER_NAMES, KERNEL_INITIALIZERS
from lab.sweeps.runner import plan_sweep
from lab.sweeps.sweep_config import GRID_KEYS

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECTIONS = {name: field.annotation for name, field in ExperimentConfig.model_fields.items()
            if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields")}
KEY_TEXT = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
GIANT_INTEGERS = st.builds(lambda bits: 2**bits, st.integers(14_500, 20_000))  # too long for Python to print
WILD = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), GIANT_INTEGERS, st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(KEY_TEXT, st.integers(), max_size=2),
)
# Pieces of YAML that PyYAML's constructors trip over, put together at random.
YAML_PIECES = ["name", "model", "depth", "grid", ": ", " ", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "? ", "<<: ", "'", '"',
               "#", "|", ">", "---", "...", "%YAML 1.1\n", "&a ", "*a", "!!int ", "!!float ", "!!bool ", "!!set ", "!!map ",
               "!!omap ", "!!pairs ", "!!timestamp ", "!!binary ", "!!str ", "!!python/name:os.system", "!local ",
               "2001-02-30", "2001-12-14 21:59:43", "0x" + "f" * 4000, "1" * 4400, "1e308", ".nan", "-.inf", "1:30", "abc", "3"]
YAML_TEXT = st.lists(st.sampled_from(YAML_PIECES), max_size=25).map("".join)


def bounds(field) -> tuple:
    """(low, high) from a field's ge/gt and le/lt constraints (None where unbounded)."""
    low = high = None
    for constraint in field.metadata:
        low = getattr(constraint, "ge", getattr(constraint, "gt", low))
        high = getattr(constraint, "le", getattr(constraint, "lt", high))
    return low, high


def near(annotation, field):
    """Values of the field's own type, around and across its allowed range."""
    if get_origin(annotation) is Literal:
        return st.sampled_from(get_args(annotation))
    if get_origin(annotation) is Union:
        return st.one_of(*(near(member, field) for member in get_args(annotation)))
    low, high = bounds(field)
    if annotation is int:
        return st.integers(None if low is None else low - 2, None if high is None else high + 2)
    if annotation is float:
        return st.floats(None if low is None else low - 1, None if high is None else high + 1)
    if field.default in BIAS_INITIALIZER_NAMES:  # the str branch of bias_initializer: its names, or not
        return st.one_of(st.sampled_from(BIAS_INITIALIZER_NAMES), st.text(max_size=12))
    return st.text(alphabet=string.ascii_letters + string.digits + "_.-/ ", max_size=70)


def value_of(field):
    """A field's value: often its default or one of its own type, sometimes anything."""
    return st.one_of(st.just(field.default), near(field.annotation, field), WILD)


def section(model):
    """A section mapping with any subset of its fields, now and then an unknown key; rarely not a mapping."""
    fields = st.fixed_dictionaries({}, optional={name: value_of(field) for name, field in model.model_fields.items()})
    with_unknown = st.builds(lambda known, unknown: {**known, **unknown}, fields, st.dictionaries(KEY_TEXT, WILD, max_size=1))
    return st.one_of(fields, fields, with_unknown, WILD)


CONFIGS = st.builds(
    lambda known, unknown: {**known, **unknown},
    st.fixed_dictionaries({}, optional={
        "name": value_of(ExperimentConfig.model_fields["name"]),
        "seed": value_of(ExperimentConfig.model_fields["seed"]),
        **{name: section(model) for name, model in SECTIONS.items()},
    }),
    st.dictionaries(KEY_TEXT, WILD, max_size=1),
)
SCHEMA_PLACES = set(flatten(ExperimentConfig())) | set(ExperimentConfig.model_fields)


def places(raw: dict) -> set:
    """Every dotted place a raw config names: the schema's fields and the keys it was given."""
    named = set(SCHEMA_PLACES)
    for key, value in raw.items():
        named.add(str(key))
        if isinstance(value, dict):
            named |= {f"{key}.{inner}" for inner in value}
    return named


def assert_names_a_field(message: str, raw: dict) -> None:
    """One line led by a place of the schema or of the input, as is every further error joined by '; '."""
    assert "\n" not in message, message
    parts = message.split("; ")
    assert parts[0].split(":", 1)[0] in places(raw), message
    for part in parts[1:]:
        location = part.split(":", 1)[0]
        if ":" in part and not any(character.isspace() for character in location):  # else a hint ("allowed here: ...")
            assert location in places(raw), (location, message)


@QUICK
@given(CONFIGS)
def test_every_config_dict_validates_or_names_the_field(raw):
    try:
        config = load_config(raw)
    except ConfigError as error:
        assert_names_a_field(str(error), raw)
        return
    assert isinstance(config, ExperimentConfig)
    assert load_config(config_to_yaml(config)) == config  # what validates also round-trips through YAML


@QUICK
@given(CONFIGS)
def test_a_config_file_gives_the_same_outcome_as_its_dict(raw):
    try:
        text = dump_yaml(raw)
    except ValueError:  # PyYAML cannot write an integer too long for Python to print: no file to compare
        assume(False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        outcomes = []
        for source in (raw, path):
            try:
                outcomes.append(load_config(source))
            except ConfigError as error:
                outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("name", ["1e5", "0E0", "1_000", "0x1f", "0o17", "1.5", "2001-12-14", "true", "null", "yes", "1e-3"])
def test_names_that_look_like_numbers_survive_the_written_config(name):
    """config.yaml must read back as written: a name like 1e5 is quoted, not turned into a number."""
    config = load_config({"name": name})
    assert load_config(config_to_yaml(config)).name == name


@QUICK
@given(st.text(max_size=200) | YAML_TEXT)
def test_any_text_validates_or_gets_one_line(text):
    try:
        load_config(text + "\n")  # the newline makes it YAML text, never a file name
    except ConfigError as error:
        assert "\n" not in str(error)


@QUICK
@given(st.binary(max_size=200))
def test_any_file_validates_or_gets_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_bytes(data)
        try:
            load_config(path)
        except ConfigError as error:
            assert "\n" not in str(error)


@QUICK
@given(st.lists(st.tuples(st.sampled_from(sorted(SCHEMA_PLACES)) | KEY_TEXT, st.text(max_size=12)), max_size=3))
def test_any_set_overrides_validate_or_name_the_field(pairs):
    try:
        overrides = dict(parse_override(f"{key}={value}") for key, value in pairs)
        load_config({}, overrides=overrides)
    except ConfigError as error:
        message = str(error)
        given = {".".join(key.split(".")[:length]) for key, _ in pairs for length in range(1, key.count(".") + 2)}
        assert "\n" not in message
        # Led by --set, or by a field or key given (a value's own keys may follow after a dot).
        leaders = [f"{place}{mark}" for place in SCHEMA_PLACES | given for mark in ":."]
        assert message.startswith(("--set ", *leaders)), message


@QUICK
@given(
    st.dictionaries(st.sampled_from(GRID_KEYS) | KEY_TEXT, st.lists(WILD | st.integers(1, 4), max_size=3), max_size=3),
    st.one_of(st.integers(-2, 4), st.lists(st.integers(-1, 5), max_size=3), WILD),
)
def test_any_sweep_plans_or_names_the_problem(grid, seeds):
    sweep = {"name": "s", "base": {"data": {"num_samples": 64}, "training": {"epochs": 0, "batch_size": 16},
                                   "probe": {"num_samples": 8}}, "grid": grid, "seeds": seeds}
    try:
        planned_sweep, _, planned = plan_sweep(sweep)
    except ConfigError as error:
        assert "\n" not in str(error)
        assert str(error).startswith(("grid:", "grid.", "grid cell ", "seeds:")), str(error)
        return
    assert len(planned) == planned_sweep.run_count and all(isinstance(item.config, ExperimentConfig) for item in planned)


@st.composite
def tiny_configs(draw) -> dict:
    """A valid experiment small enough to train in well under a second."""
    dataset = draw(st.sampled_from([name for name in DATASETS if name != "digits"]))  # fixed sizes: tests/test_digits.py
    classes = 2 if dataset in BINARY_ONLY else draw(st.integers(2, 3))
    output = draw(st.sampled_from(["sigmoid", "softmax"])) if classes == 2 else "softmax"
    return {
        "name": "prop", "seed": draw(st.integers(0, 2**31 - 1)),
        "data": {"dataset": dataset, "num_classes": classes, "num_samples": draw(st.integers(32, 64)),
                 "num_features": draw(st.integers(2 if dataset in TWO_DIMENSIONAL else 1, 3)),
                 "noise": draw(st.floats(0.0, 0.5)), "validation_split": draw(st.sampled_from([0.0, 0.25]))},
        "model": {"depth": draw(st.integers(1, 3)), "width": draw(st.integers(2, 4)),
                  "activation": draw(st.sampled_from(HIDDEN_ACTIVATIONS)), "output_activation": output,
                  "kernel_initializer": draw(st.sampled_from(KERNEL_INITIALIZERS)),
                  "bias_initializer": draw(st.sampled_from(BIAS_INITIALIZER_NAMES) | st.floats(-1.0, 1.0))},
        "training": {"optimizer": draw(st.sampled_from(OPTIMIZERS)), "learning_rate": draw(st.floats(1e-3, 10.0)),
                     "batch_size": draw(st.integers(4, 16)), "epochs": draw(st.integers(0, 1)),
                     "record_every": draw(st.sampled_from(["epoch", 1, 3]))},
        "probe": {"num_samples": draw(st.integers(1, 8))},
    }


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a diverging run overflows on purpose
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_configs())
def test_a_valid_tiny_experiment_runs_saves_and_loads_back(raw):
    config = load_config(raw)
    result = run(config)
    depth = config.model.depth
    if result.status == "diverged":
        assert "\n" not in result.summary["message"] and "training.learning_rate" in result.summary["message"]
    else:
        assert result.status == "ok", result.summary["message"]
    assert set(result.layers["layer"]) == set(range(1, depth + 2))  # every layer measured, the output included
    with tempfile.TemporaryDirectory() as folder:
        loaded = store.load(store.save(result, folder))
    assert loaded.config == config and loaded.summary == result.summary
    for name in FRAME_COLUMNS:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(result, name), check_exact=True)
