"""Reading configs: YAML safely parsed, overrides and --quick applied, errors made readable."""
from __future__ import annotations

import difflib
import hashlib
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lab.contract.config import CSV_TABLE_CONTEXT, EVERY_FIELD, ExperimentConfig
from lab.contract.csv_source import resolve_table
from lab.science.csv_data import CSV_DATASET, CsvDataError, CsvTable

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; anything huge is a mistake or an attack
MAX_NESTING = 20  # a sweep is four levels deep; deeper YAML is a mistake or an attack

# --quick: documented caps applied to the raw config before validation, so the written
# config.yaml reproduces the quick run exactly.
# data.sequence_length (issue #14): 100 keeps a sequence run a few seconds long at T up to 1000 while the classic
# sweep over T in {5, 10, 20, 50, 100} keeps every cell distinct under --quick (a cap of 50 would merge 100 into 50).
QUICK_CAPS = {"data.num_samples": 256, "probe.num_samples": 64, "training.epochs": 5, "training.batch_size": 64,
              "data.sequence_length": 100}

# Top-level keys of an experiment file that describe the preset instead of configuring the run: its claim
# (lab/readings/claims.py reads it). Dropped where the file's mapping is read, so they never reach validation,
# config.yaml or the run id; `--set claim=...` is still an unknown key, as before.
PRESET_METADATA_KEYS = ("claim",)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the field and what is allowed."""


# What PyYAML's constructors raise on some malformed scalars, instead of a YAMLError.
_CONSTRUCTOR_ERRORS = (ValueError, TypeError, LookupError, AttributeError)


class _Refused(Exception):
    """A YAML construct the config loader refuses; parse_yaml adds the file's name."""


class _NoAliasSafeLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects) that also refuses aliases ('billion laughs'), deep nesting and repeated keys."""

    nesting = 0  # how many nodes deep the composer is

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            raise _Refused(f"YAML aliases (*name) are not allowed{_where(self.peek_event().start_mark)}; write each value out")
        # Each level recurses in PyYAML: thousands of '[' would end in a RecursionError, not a message.
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                raise _Refused(f"nested deeper than {MAX_NESTING} levels{_where(self.peek_event().start_mark)}; "
                               "a config is sections of plain values")
            return super().compose_node(parent, index)
        finally:
            self.nesting -= 1

    def construct_object(self, node, deep=False):  # noqa: D401 - PyYAML hook
        # PyYAML's constructors raise plain Python errors on some scalars (2001-02-30, !!int abc,
        # !!bool maybe, an integer of 5000 digits): name the value and where it is instead.
        try:
            return super().construct_object(node, deep)
        except _CONSTRUCTOR_ERRORS as error:
            kind = node.tag.rsplit(":", 1)[-1]
            value = node.value if isinstance(node, yaml.ScalarNode) else f"a {node.id}"
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise _Refused(f"not valid YAML{_where(node.start_mark)}: {_shown(value)} is not a valid {kind} ({detail})") from None

    def construct_mapping(self, node, deep=False):  # noqa: D401 - PyYAML hook
        # PyYAML keeps the last of two equal keys silently: a config that says depth twice is a mistake.
        seen = {}
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise _Refused(f"key '{key}' is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                               "give each key once")
            seen.setdefault(key, key_node.start_mark.line)
        return super().construct_mapping(node, deep)


def _where(mark) -> str:
    """' at line L, column C' for a PyYAML mark (1-based), or nothing."""
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


class _ConfigDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """libyaml's emitter when present (same text, ~10x faster: a sweep hashes every run's config), resolving
    scalars as _NoAliasSafeLoader does, so a string it would read as a number (a name like 1e5) gets quotes."""


# YAML 1.1 (PyYAML) reads 1e-3 as a string; YAML 1.2 and every user read it as a number.
for _yaml_class in (_NoAliasSafeLoader, _ConfigDumper):
    _yaml_class.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def parse_yaml(text: str, what: str = "config") -> Any:
    """Parse YAML text with the safe loader; any YAML problem becomes a one-line ConfigError."""
    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_CONFIG_BYTES} bytes; a config is a short YAML file")
    try:
        return yaml.load(text, Loader=_NoAliasSafeLoader)  # noqa: S506 - the loader is a SafeLoader
    except _Refused as error:
        raise ConfigError(f"{what}: {error}") from None
    except _CONSTRUCTOR_ERRORS as error:  # a collection's constructor runs later, outside construct_object (!!set [1])
        raise ConfigError(f"{what}: not valid YAML: a value cannot be built ({str(error).splitlines()[0]})") from None
    except yaml.YAMLError as error:
        where = _where(getattr(error, "problem_mark", None))
        tag = re.search(r"constructor for the tag '([^']*)'", str(error))
        if tag:  # !!python/object/apply:os.system and friends: refused, never built
            shown = tag.group(1).replace("tag:yaml.org,2002:", "!!")
            raise ConfigError(f"{what}: not valid YAML{where}: the tag {shown} is not allowed; "
                              "a config holds plain values (numbers, text, lists, mappings)") from None
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{what}: not valid YAML{where}: {problem}") from None


def read_text(path: Path) -> str:
    """Read a config file as UTF-8 text, with one-line errors for missing, binary, special or huge files."""
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise ConfigError(f"{path}: is a folder, not a YAML file")
        if not stat.S_ISREG(status.st_mode):
            # /dev/zero never ends and a pipe blocks: only a regular file is read.
            raise ConfigError(f"{path}: not a regular file (a device, pipe or socket); expected a YAML file")
        with path.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)  # bounded: the file may grow between stat and read
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; a config is a short YAML file")
        return data.decode("utf-8")
    except ConfigError:
        raise
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"{path}: no such file") from None
    except PermissionError:
        raise ConfigError(f"{path}: not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; a config is YAML text in UTF-8") from None
    except ValueError as error:
        # os.stat refuses a NUL byte in a path with ValueError ("embedded null byte").
        raise ConfigError(f"{str(path)!r}: not a valid file name ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None


def source_to_mapping(source: Any) -> dict:
    """A path, YAML text, a mapping or a config, as a plain dict (an empty file is {})."""
    if isinstance(source, ExperimentConfig):
        return source.model_dump(mode="json")
    what = "config"
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        what = str(source)
        raw = parse_yaml(read_text(Path(source)), what=what)
    elif isinstance(source, str):
        raw = parse_yaml(source)
    elif isinstance(source, (Mapping, list, int, float)):  # a parsed YAML document; only a mapping passes below
        raw = source
    else:
        raise ConfigError(f"config: expected a path, YAML text or a mapping, got {type(source).__name__}")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{what}: must be a YAML mapping of sections (data:, model:, ...), got a {kind_of(raw)}")
    if "grid" in raw:  # a sweep: every key of it is validated, so a claim there stays an unknown key
        return _deep_copy(raw)
    return {key: _deep_copy(value) for key, value in raw.items() if key not in PRESET_METADATA_KEYS}


def _looks_like_path(text: str) -> bool:
    """YAML text has a colon or a newline; a file name ends in .yaml/.yml or exists."""
    if "\n" in text:
        return False
    try:
        return text.endswith((".yaml", ".yml")) or Path(text).exists()
    except OSError:  # e.g. a long line of YAML is "File name too long" to the OS: it is text
        return False


def kind_of(value: Any) -> str:
    """A user-facing name for a YAML value's type."""
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), type(value).__name__)


def _deep_copy(value: Any) -> Any:
    """Copy nested mappings and lists so overrides never mutate the caller's object."""
    if isinstance(value, Mapping):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """'model.depth=20' -> ('model.depth', 20): the value is parsed as a YAML scalar."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. model.depth=20")
    return key.strip(), parse_yaml(value, what=f"--set {key.strip()}")


def apply_overrides(raw: dict, overrides: Mapping[str, Any] | None) -> dict:
    """Set dotted keys ('model.depth') in a raw config dict; unknown keys are caught by validation."""
    for dotted, value in (overrides or {}).items():
        parts = str(dotted).split(".")
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{'.'.join(parts[:depth + 1])}: is a value, so {dotted} cannot be set inside it")
            node = child
        node[parts[-1]] = value
    return raw


def apply_quick(raw: dict) -> dict:
    """Shrink a raw config to the QUICK_CAPS (taking defaults into account), before validation."""
    defaults = ExperimentConfig().model_dump(context={EVERY_FIELD: True})  # fields left out at their defaults too
    data = raw.get("data")
    csv = isinstance(data, dict) and data.get("dataset") == CSV_DATASET
    for dotted, cap in QUICK_CAPS.items():
        if csv and dotted == "data.num_samples":  # a csv's rows are the file's: --quick shortens training, not the data
            continue
        section, field = dotted.split(".")
        current = raw.get(section, {}).get(field, defaults[section][field]) if isinstance(raw.get(section, {}), dict) else None
        if isinstance(current, int) and not isinstance(current, bool) and current > cap:
            apply_overrides(raw, {dotted: cap})
    return raw


def validate(raw: Mapping, model: type[BaseModel] = ExperimentConfig, csv_table: CsvTable | None = None) -> Any:
    """Validate a raw dict into a frozen config, turning pydantic's errors into one readable line each.

    csv_table: the checked file of a data.dataset csv config (lab.contract.csv_source), which sizes its data section.
    """
    if model is ExperimentConfig and isinstance(raw, Mapping) and "grid" in raw:
        raise ConfigError("grid: a top-level grid makes this a sweep file, not an experiment; "
                          "run it with python -m lab sweep (or open it on the app's Sweeps page)")
    try:
        return model.model_validate(raw, context={CSV_TABLE_CONTEXT: csv_table})
    except ValidationError as error:
        raise ConfigError("; ".join(format_error(item, model) for item in error.errors())) from None


def format_error(item: dict, model: type[BaseModel]) -> str:
    """One pydantic error as 'field: what is wrong (got X)'."""
    location = [shorten(part) for part in item["loc"]]
    field = ".".join(location)
    kind = item["type"]
    given = _shown(item.get("input"))
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, location[:-1])
        close = difflib.get_close_matches(location[-1], allowed, n=1)
        hint = f" did you mean '{close[0]}'?" if close else ""
        return f"{field}: unknown key;{hint} allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{field}: required (this file has no {location[-1]}:)"
    if location and location[-1] == "[key]":  # a dict field's key of the wrong type, e.g. a number
        return f"{'.'.join(location[:-2])}: keys must be text (got {_shown(location[-2])})"
    if kind == "invalid_key":  # a section's key of the wrong type
        return f"{'.'.join(location[:-1]) or 'config'}: keys must be text (got {given})"
    if kind == "value_error":
        message = item["msg"].removeprefix("Value error, ")
        # A validator that names a deeper place (grid.model.depth) says it all: no prefix, no input dump.
        if not field or message.startswith(f"{field}."):
            return message
        return f"{field}: {message} (got {given})"
    if kind == "literal_error":
        return f"{field}: must be one of {item['ctx']['expected']} (got {given})"
    if kind == "string_pattern_mismatch":
        return f"{field}: must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit (got {given})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{field}: must be a mapping of keys, got a {kind_of(item.get('input'))}"
    message = item["msg"].replace("Input should", "must")
    return f"{field}: {message} (got {given})"


def _shown(value: Any, limit: int = 80) -> str:
    """repr of a user's value, cut short: a message stays one readable line even for a huge input."""
    return shorten(value, repr, limit)


def shorten(value: Any, to_text=str, limit: int = 80) -> str:
    """to_text(value) cut to limit characters; Python refuses to print an int of over 4300 digits, so say that."""
    try:
        text = to_text(value)
    except ValueError:
        return "a number of more than 4300 digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    """The field names of the (nested) section at path."""
    for part in path:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def load_config(source: Any = None, overrides: Mapping[str, Any] | None = None, quick: bool = False,
                csv_table: CsvTable | None = None) -> ExperimentConfig:
    """A validated experiment config from a path, YAML text, a dict or a config, plus dotted overrides.

    data.dataset csv: the file is data.path (relative to a config file's folder, else to the working folder), or
    csv_table (an upload, checked by lab.contract.csv_source.read_upload), or the data.csv beside a run folder's
    config.yaml; a config given as an ExperimentConfig keeps its own file.
    """
    if csv_table is None and isinstance(source, ExperimentConfig):
        csv_table = source.data.csv_table
    raw = apply_overrides(source_to_mapping({} if source is None else source), overrides)
    if quick:
        raw = apply_quick(raw)
    is_file = isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source))
    try:
        table = resolve_table(raw, Path(source).parent if is_file else None, csv_table)
    except CsvDataError as error:
        raise ConfigError(str(error)) from None
    if table is not None:  # read and dropped: the resolved config records the bytes' sha256, not where they were
        raw["data"] = {key: value for key, value in raw["data"].items() if key != "path"}
    return validate(raw, csv_table=table)


def config_to_yaml(config: BaseModel) -> str:
    """The resolved config as YAML: every default filled in, fields in schema order.

    Remedies that are off (normalization none, residual_every 0, clip_* null) are left out, so configs
    from before the remedies keep their bytes and run ids (see lab.contract.config.RemedyFieldsOff).
    """
    return dump_yaml(config.model_dump(mode="json"), default_flow_style=False)


def dump_yaml(document: Any, **options) -> str:
    """YAML that parse_yaml reads back equal (keys in the document's order)."""
    return yaml.dump(document, Dumper=_ConfigDumper, sort_keys=False, **options)


def flatten(config: BaseModel) -> dict:
    """{'model.depth': 10, ...} for every field of a config (sections flattened with dots), remedies off included."""
    flat = {}
    for key, value in config.model_dump(mode="json", context={EVERY_FIELD: True}).items():
        if isinstance(value, dict):
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return flat


def run_id_of(config: BaseModel) -> str:
    """The first 12 hex digits of sha256 of the resolved config.yaml: the same experiment, the same id."""
    return run_id_of_yaml(config_to_yaml(config))


def run_id_of_yaml(text: str) -> str:
    """run_id_of for a config already dumped by config_to_yaml."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
