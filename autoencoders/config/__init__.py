"""Experiment configuration: YAML files -> validated, resolved, frozen dataclasses.

The schema is the four section dataclasses below, checked by pydantic (v2, strict leaves: YAML's
`true` is not an integer and `5.0` not an epoch count). Pydantic's errors are rewritten into one
line per problem naming the file (or the `--set` override), the dotted key, the value and what is
allowed, e.g.::

    configs/x.yaml: training.epochs = 'ten' (str): expected an integer >= 1

and what is allowed is read from the same JSON Schema that `configs/schema.json` publishes and the
config reference (docs/config-reference.md) is generated from, so the three never disagree.

The experiment `name` may hold `{dotted.key}` placeholders (optionally with a format spec,
`{training.learning_rate:g}`), filled in from the resolved config after overrides:
`name: blog-dense-{loss.name}-s{seed}` with `--set loss.name=mse` gives `blog-dense-mse-s0`.

The returned config is *resolved*: missing keys hold their defaults, `model.latent_dim` the arch's
default when it was left out, and `model.input_shape` the dataset's image shape where the dataset
fixes it (for the user's own files training fills it in from the data), so `dump_yaml(cfg)` is
itself a complete config that reproduces the run.

The package imports only the standard library, PyYAML, pydantic and the two registries, so a bad
config fails in a fraction of a second, before TensorFlow is imported. Its modules: `schema` (the
dataclasses and their checks), `messages` (the words of errors), `files` (YAML within bounds,
`--set`, shipped configs by name, YAML out), `published` (configs/schema.json and the config
reference page).
"""

from autoencoders.config.files import (
    MAX_CONFIG_BYTES,
    MAX_FLOW_DEPTH,
    RECORD_ONLY_KEYS,
    apply_overrides,
    config_path,
    dump_yaml,
    load_config,
    read_yaml,
    replace,
    set_value,
    shipped_configs,
    to_dict,
    to_flat_dict,
)
from autoencoders.config.messages import ConfigError, show
from autoencoders.config.published import REFERENCE_FILE, SCHEMA_FILE, file_schema, render_reference, schema_main
from autoencoders.config.schema import (
    LOSSES,
    NAME_PATTERN,
    OPTIMIZERS,
    REDUCTIONS,
    SECTIONS,
    DatasetConfig,
    ExperimentConfig,
    LossConfig,
    ModelConfig,
    TrainingConfig,
    field_schemas,
    json_schema,
    known_image_shape,
    leaf_keys,
    parse_config,
)

__all__ = [
    "LOSSES",
    "MAX_CONFIG_BYTES",
    "MAX_FLOW_DEPTH",
    "NAME_PATTERN",
    "OPTIMIZERS",
    "RECORD_ONLY_KEYS",
    "REDUCTIONS",
    "REFERENCE_FILE",
    "SCHEMA_FILE",
    "SECTIONS",
    "ConfigError",
    "DatasetConfig",
    "ExperimentConfig",
    "LossConfig",
    "ModelConfig",
    "TrainingConfig",
    "apply_overrides",
    "config_path",
    "dump_yaml",
    "field_schemas",
    "file_schema",
    "json_schema",
    "known_image_shape",
    "leaf_keys",
    "load_config",
    "parse_config",
    "read_yaml",
    "render_reference",
    "replace",
    "schema_main",
    "set_value",
    "shipped_configs",
    "show",
    "to_dict",
    "to_flat_dict",
]
