"""Reading configs: YAML safely parsed, overrides and --quick applied, errors made readable."""
from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from lab.config import ExperimentConfig

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; anything huge is a mistake or an attack

# --quick: documented caps applied to the raw config before validation, so the written
# config.yaml reproduces the quick run exactly.
QUICK_CAPS = {"data.num_samples": 256, "probe.num_samples": 64, "training.epochs": 5, "training.batch_size": 64}


class ConfigError(ValueError):
    """A config that cannot be used; the message names the field and what is allowed."""


class _NoAliasSafeLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects) that also refuses anchors/aliases: blocks 'billion laughs'."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            raise ConfigError("YAML aliases (*name) are not allowed in a config")
        return super().compose_node(parent, index)


# YAML 1.1 (PyYAML) reads 1e-3 as a string; YAML 1.2 and every user read it as a number.
_NoAliasSafeLoader.add_implicit_resolver(
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
    except ConfigError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{what}: not valid YAML{where}: {problem}") from None


def read_text(path: Path) -> str:
    """Read a config file as UTF-8 text, with one-line errors for missing, binary or huge files."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; a config is a short YAML file")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a YAML file") from None
    except PermissionError:
        raise ConfigError(f"{path}: not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None


def source_to_mapping(source: Any) -> dict:
    """A path, YAML text, a mapping or a config, as a plain dict (an empty file is {})."""
    if isinstance(source, ExperimentConfig):
        return source.model_dump(mode="json")
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        raw = parse_yaml(read_text(path), what=str(path))
    elif isinstance(source, str):
        raw = parse_yaml(source)
    elif isinstance(source, Mapping):
        raw = source
    else:
        raise ConfigError(f"config: expected a path, YAML text or a mapping, got {type(source).__name__}")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config: must be a YAML mapping of sections (data:, model:, ...), got a {_kind(raw)}")
    return _deep_copy(raw)


def _looks_like_path(text: str) -> bool:
    """YAML text has a colon or a newline; a file name ends in .yaml/.yml or exists."""
    if "\n" in text:
        return False
    return text.endswith((".yaml", ".yml")) or Path(text).exists()


def _kind(value: Any) -> str:
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
    defaults = ExperimentConfig().model_dump()
    for dotted, cap in QUICK_CAPS.items():
        section, field = dotted.split(".")
        current = raw.get(section, {}).get(field, defaults[section][field]) if isinstance(raw.get(section, {}), dict) else None
        if isinstance(current, int) and not isinstance(current, bool) and current > cap:
            apply_overrides(raw, {dotted: cap})
    return raw


def validate(raw: Mapping, model: type[BaseModel] = ExperimentConfig) -> Any:
    """Validate a raw dict into a frozen config, turning pydantic's errors into one readable line each."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError("; ".join(format_error(item, model) for item in error.errors())) from None


def format_error(item: dict, model: type[BaseModel]) -> str:
    """One pydantic error as 'field: what is wrong (got X)'."""
    location = [str(part) for part in item["loc"]]
    field = ".".join(location)
    kind = item["type"]
    given = item.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, location[:-1])
        close = difflib.get_close_matches(location[-1], allowed, n=1)
        hint = f" did you mean '{close[0]}'?" if close else ""
        return f"{field}: unknown key;{hint} allowed here: {', '.join(allowed)}"
    if kind == "value_error":
        message = item["msg"].removeprefix("Value error, ")
        return message if not field else f"{field}: {message} (got {given!r})"
    if kind == "literal_error":
        return f"{field}: must be one of {item['ctx']['expected']} (got {given!r})"
    if kind == "string_pattern_mismatch":
        return f"{field}: must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit (got {given!r})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{field}: must be a mapping of keys, got a {_kind(given)}"
    message = item["msg"].replace("Input should", "must")
    return f"{field}: {message} (got {given!r})"


def _allowed_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    """The field names of the (nested) section at path."""
    for part in path:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def load_config(source: Any = None, overrides: Mapping[str, Any] | None = None, quick: bool = False) -> ExperimentConfig:
    """A validated experiment config from a path, YAML text, a dict or a config, plus dotted overrides."""
    raw = apply_overrides(source_to_mapping({} if source is None else source), overrides)
    if quick:
        raw = apply_quick(raw)
    return validate(raw)


def config_to_yaml(config: BaseModel) -> str:
    """The resolved config as YAML: every default filled in, fields in schema order."""
    # libyaml's emitter when present (same text, ~10x faster: a sweep hashes every run's config).
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(config.model_dump(mode="json"), Dumper=dumper, sort_keys=False, default_flow_style=False)


def flatten(config: BaseModel) -> dict:
    """{'model.depth': 10, ...} for every field of a config (sections flattened with dots)."""
    flat = {}
    for key, value in config.model_dump(mode="json").items():
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
