"""Config files: YAML read within fixed bounds (a config is a few lines of plain values, so a
hostile file is refused before it costs time or memory), `--set` overrides checked key by key, the
shipped configs found by name, and the resolved config written back as YAML."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from autoencoders.config.messages import ConfigError, shown_with_type, type_name
from autoencoders.config.schema import SECTIONS, ExperimentConfig, fields_of, leaf_value, parse, parse_config, unknown_key_message

# --------------------------------------------------------------------------
# YAML files
# --------------------------------------------------------------------------


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that rejects duplicate keys instead of keeping the last one; libyaml's (in C) where
    PyYAML has it, so a hostile file of thousands of lines stays within the CLI's second (2,500 keys
    parsed in 0.045 s against pure Python's 0.32 s, measured once here on 2026-12-06)."""


def construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: SafeLoader reports it below
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first at line {seen[key].line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)


def yaml_error(source: str, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return ConfigError(f"{source}: invalid YAML{where}: {detail}")


#: Configs are small files of plain values (the shipped ones are under 1 KiB). Anything larger is
#: refused before parsing, which bounds the time (PyYAML reads about a MiB a second) and memory
#: any file can cost: see benchmarks/bench_hostile_config.py.
MAX_CONFIG_BYTES = 32 * 1024


#: PyYAML's scanner slows down with the square of the flow nesting ([[[...]]]), so deeper files are
#: refused before parsing (a config needs two or three levels).
MAX_FLOW_DEPTH = 32


def flow_depth(text: str) -> int:
    """The deepest nesting of [ ] and { } outside quoted strings: one pass, no parsing."""
    depth = deepest = 0
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def shipped_configs() -> Path | None:
    """The folder of the configs that ship with the package: `autoencoders/configs` in an
    installed package (the build copies the repository's configs/ there), or the checkout's
    configs/ beside the package (an editable install, or a run from the repository)."""
    package = Path(__file__).parents[1]
    return next((folder for folder in (package / "configs", package.parent / "configs") if folder.is_dir()), None)


def config_path(given: str | Path) -> Path:
    """`given` when such a file exists; else the shipped config of that name, so `blog/dense` or
    `sweeps/quick_dense` (with or without `.yaml`, with or without a leading `configs/`) works from
    any folder after a plain `pip install`. A name that is neither stays as given, and reading it
    says the file is not found."""
    given = Path(given)
    folder = shipped_configs()
    if given.exists() or folder is None or given.is_absolute():
        return given
    name = given.relative_to("configs") if given.parts[:1] == ("configs",) else given
    for candidate in (folder / name, folder / name.with_name(name.name + ".yaml")):
        if candidate.is_file():
            return candidate
    return given


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file into a plain mapping; no schema validation yet."""
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as f:  # at most one byte past the limit, whatever the file is (/dev/zero included)
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config file: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: the file is over {MAX_CONFIG_BYTES // 1024} KiB; a config is a few lines of plain values")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not a text file (not UTF-8 at byte {exc.start})") from None
    if flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError(f"{source}: values nested more than {MAX_FLOW_DEPTH} levels deep; a config is a few lines of plain values")
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise yaml_error(source, exc) from None
    except RecursionError:
        raise ConfigError(f"{source}: values nested too deeply to be a config") from None
    if data is None:
        raise ConfigError(f"{source}: config file is empty (it needs at least 'name: ...')")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values, got {type_name(data)}")
    return data


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, override (``dotted.key=value`` strings, as from ``--set``), validate and resolve."""
    data = read_yaml(path)
    data, origins = apply_overrides_with_origins(data, overrides)
    return parse(data, str(path), origins)


# --------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------


def set_value(data: dict[str, Any], dotted: str, value: Any, *, source: str = "<override>") -> dict[str, Any]:
    """Set `data[a][b] = value` for `dotted = 'a.b'`, checking key and value against the schema.

    Missing sections are created. The value is checked (and converted, e.g. '1e-3' -> 0.001) like a
    value from a file; errors are prefixed with `source`. Mutates and returns `data`.
    """
    parts = [part.strip() for part in dotted.split(".")]
    if not dotted or not all(parts):
        raise ConfigError(f"{source}: malformed key {dotted!r} (expected e.g. training.epochs)")
    cls, node, prefix = ExperimentConfig, data, ""
    for last, part in enumerate(parts, start=1 - len(parts)):
        if part not in fields_of(cls):
            raise ConfigError(f"{source}: {unknown_key_message(cls, prefix, part)}")
        key, is_section = prefix + part, cls is ExperimentConfig and part in SECTIONS
        if last == 0 and is_section:
            raise ConfigError(f"{source}: {key!r} is a section; set its keys one by one, e.g. {key}.{fields_of(SECTIONS[part])[0]}=...")
        if last == 0:
            node[part] = leaf_value(cls, part, key, value, source)
            return data
        if not is_section:
            raise ConfigError(f"{source}: {key!r} is a single value, not a section; use --set {key}=...")
        child = node.get(part)
        if child is not None and not isinstance(child, Mapping):
            raise ConfigError(f"{source}: cannot set {dotted!r}: {key} = {shown_with_type(child)} in the config is not a mapping")
        node[part] = node = dict(child or {})
        cls, prefix = SECTIONS[part], key + "."
    return data  # pragma: no cover - the loop always returns


def parse_override(override: str) -> tuple[str, Any, str]:
    source = f"--set {override}"
    if not isinstance(override, str) or "=" not in override:
        raise ConfigError(f"{source}: malformed override, expected dotted.key=value (e.g. training.epochs=10)")
    key, raw = override.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"{source}: malformed override, the key before '=' is empty")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: cannot parse the value {raw!r} as YAML: {problem}") from None
    return key, value, source


def apply_overrides_with_origins(data: Mapping[str, Any], overrides: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    if isinstance(overrides, str):
        overrides = [overrides]
    out = copy.deepcopy(dict(data))
    origins: dict[str, str] = {}
    for override in overrides:
        key, value, source = parse_override(override)
        set_value(out, key, value, source=source)
        origins[".".join(p.strip() for p in key.split("."))] = source
    return out, origins


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``dotted.key=value`` overrides applied.

    Values are parsed with ``yaml.safe_load`` ("5" -> 5, "null" -> None,
    "mse" -> "mse") and checked against the schema at once; errors name the
    override, e.g. ``--set training.epochs=abc: training.epochs = 'abc' (str):
    expected an integer >= 1``.  Later overrides win.  ``data`` is not modified.
    """
    return apply_overrides_with_origins(data, overrides)[0]


# --------------------------------------------------------------------------
# Output and helpers
# --------------------------------------------------------------------------


def to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """Plain nested dict, keys in declaration order; tuples become lists (as YAML writes them)."""
    return dataclasses.asdict(cfg, dict_factory=lambda items: {k: list(v) if isinstance(v, tuple) else v for k, v in items})


def dump_yaml(cfg: ExperimentConfig) -> str:
    """The resolved config as YAML; loading it back gives an equal config."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)


# Settings that only add records (training callbacks such as the study's gradient probe, a stored
# copy of the evaluation after the run): they change no weight and no reported number, so runs differing only
# in them share compiled functions (training.compiled_key) and are compared (comparison.IGNORED_KEYS).
RECORD_ONLY_KEYS = ("training.callbacks", "training.store_evaluation")


def to_flat_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as ``{'dotted.key': value}``, e.g. ``{'training.epochs': 50, ...}``."""

    def walk(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(walk(value, f"{prefix}{key}.") if isinstance(value, Mapping) else {prefix + key: value})
        return out

    return walk(to_dict(cfg), "")


def replace(cfg: ExperimentConfig, changes: Mapping[str, Any]) -> ExperimentConfig:
    """A new, re-validated config with ``{'dotted.key': value}`` changes applied.

    Values derived from others are derived again: when ``model.arch`` changes
    and ``model.latent_dim`` is not given, the latent_dim goes back to the new
    arch's default; when a ``dataset.*`` key changes and ``model.input_shape``
    is not given, the input shape is taken from the new data.
    """
    data = to_dict(cfg)
    if "model.arch" in changes and "model.latent_dim" not in changes:
        data["model"]["latent_dim"] = None
    if any(key.startswith("dataset.") for key in changes) and "model.input_shape" not in changes:
        data["model"]["input_shape"] = None
    for key, value in changes.items():
        set_value(data, key, value, source=f"replace({key}={value!r})")
    return parse_config(data, source="<replace>")
