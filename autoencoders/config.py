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

This module imports only the standard library, PyYAML, pydantic and the two registries, so a bad
config fails in a fraction of a second, before TensorFlow is imported.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import re
import reprlib
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import pydantic
import yaml
from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from autoencoders.architectures import ARCHITECTURES, input_shape_problem
from autoencoders.datasets import DATASETS

__all__ = [
    "LOSSES",
    "NAME_PATTERN",
    "OPTIMIZERS",
    "REDUCTIONS",
    "SECTIONS",
    "ConfigError",
    "DatasetConfig",
    "ExperimentConfig",
    "LossConfig",
    "ModelConfig",
    "TrainingConfig",
    "apply_overrides",
    "dump_yaml",
    "json_schema",
    "known_image_shape",
    "load_config",
    "parse_config",
    "read_yaml",
    "replace",
    "set_value",
    "to_dict",
]

Loss = Literal["bce", "mse", "mae", "gaussian", "continuous_bernoulli"]
Reduction = Literal["mean", "sum"]
Optimizer = Literal["adam", "adadelta", "rmsprop", "sgd"]
LOSSES: tuple[str, ...] = get_args(Loss)
REDUCTIONS: tuple[str, ...] = get_args(Reduction)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
#: The registries' names, fixed when this module is imported (the registries are plain dicts filled
#: in by the modules that define them, which this module imports first).
DatasetName = Literal[tuple(DATASETS)]  # type: ignore[valid-type]
ArchName = Literal[tuple(ARCHITECTURES)]  # type: ignore[valid-type]
#: A run's folder name: the lock, log and config files beside it add a few characters, and file
#: systems allow 255 bytes, so at most 128.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
NAME_RULE = "letters, digits, '.', '_', '-', starting with a letter or digit, at most 128 characters; it is used as a folder name"


class ConfigError(ValueError):
    """A configuration problem; `str(e)` is the full user-facing message, one problem a line
    (`e.errors`), at most MAX_LINES of them: a file with thousands of bad keys is told about the first."""

    MAX_LINES = 20

    def __init__(self, message: str | Sequence[str]):
        lines = [message] if isinstance(message, str) else list(message)
        if len(lines) > self.MAX_LINES:
            lines = [*lines[: self.MAX_LINES], f"... and {len(lines) - self.MAX_LINES} more problems"]
        self.errors: list[str] = lines
        super().__init__("\n".join(lines))


#: Renders values of any size or depth in bounded time: a YAML file of a few hundred bytes can
#: hold a "billion laughs" of nested aliases, whose full repr would never finish.
BOUNDED_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
for limit, most in {
    "maxlevel": 3,
    "maxtuple": 6,
    "maxlist": 6,
    "maxdict": 4,
    "maxset": 4,
    "maxstring": 80,
    "maxother": 80,
    "maxlong": 40,
}.items():
    setattr(BOUNDED_REPR, limit, most)
SHOWN_LENGTH = 80


def show(value: Any) -> str:
    """A value as the user wrote it (YAML's spelling of booleans and null), at most SHOWN_LENGTH
    characters, in time bounded whatever the value holds."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    text = BOUNDED_REPR.repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def type_name(value: Any) -> str:
    return "mapping" if isinstance(value, Mapping) else type(value).__name__


def shown_with_type(value: Any) -> str:
    return "null" if value is None else f"{show(value)} ({type_name(value)})"


# --------------------------------------------------------------------------
# Leaf types: strict (YAML's true is not 1), with the two conversions a YAML file needs
# --------------------------------------------------------------------------

NUMERIC_STRING = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def as_float(value: Any) -> Any:
    """An int, or a numeric string such as '1e-3' (which PyYAML, following YAML 1.1, reads as a
    string), as the float it spells; anything else as given, for the strict check to refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and NUMERIC_STRING.match(value.strip()):
        return float(value.strip())
    return value


def as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def none_as_empty(value: Any) -> Any:
    return {} if value is None else value  # 'training:' with nothing under it: all defaults


Number = Annotated[float, BeforeValidator(as_float), pydantic.Strict()]
Positive = Annotated[StrictInt, Field(ge=1)]
Pair = Annotated[tuple[Positive, Positive], BeforeValidator(as_tuple), pydantic.Strict()]
Triple = Annotated[tuple[Positive, Positive, Positive], BeforeValidator(as_tuple), pydantic.Strict()]
CHECKS = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False)


def section(key: str):
    """A frozen pydantic dataclass for the config's section `key`; constructing one directly is
    checked like a file, and its errors are a ConfigError with the dotted keys (no file name)."""

    def make(cls: type) -> type:
        cls.key = key
        built = pydantic.dataclasses.dataclass(frozen=True, config=CHECKS)(cls)
        validate = built.__init__

        @functools.wraps(validate)
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            try:
                validate(self, *args, **kwargs)
            except pydantic.ValidationError as exc:
                names = [f.name for f in dataclasses.fields(built)]
                given = dict(zip(names, args)) | kwargs
                raise ConfigError([message for _, message in problems(exc, built, given)]) from None

        built.__init__ = __init__
        return built

    return make


def problem(*messages: tuple[tuple[str, ...], str]) -> PydanticCustomError:
    """Checks that involve several keys: each problem with the keys it involves (the first one an
    override set is blamed on it)."""
    return PydanticCustomError("cross_check", "{count} problems", {"count": len(messages), "problems": messages})


# --------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------


@section("dataset")
class DatasetConfig:
    key: ClassVar[str]
    name: DatasetName = Field("mnist", description="which images (docs/data.md)")
    path: StrictStr | None = Field(
        None, description="your data: the .npz file (npz) or the folder (image_folder); relative to the current folder"
    )
    color_mode: Literal["grayscale", "rgb"] | None = Field(
        None, description="image_folder only: read images as grayscale (1 channel) or rgb (3); null = rgb, Keras's default"
    )
    image_size: Pair | None = Field(
        None, description="image_folder only: resize every image to [height, width]; null = keep the images' own size (one for all)"
    )
    train_size: StrictInt | None = Field(None, ge=1, description="the first N training images (null = all)")
    test_size: StrictInt | None = Field(None, ge=1, description="the first N test images (null = all)")
    noise_factor: Number = Field(0.0, ge=0, description="inputs = clip(x + f·N(0, 1), 0, 1); the targets stay clean")
    binarize: StrictBool = Field(False, description="threshold pixels at 0.5 (inputs and targets)")

    @model_validator(mode="after")
    def follows_the_dataset(self) -> DatasetConfig:
        spec, found = DATASETS[self.name], []
        if spec.path_kind and self.path is None:
            found.append(
                (
                    ("dataset.path", "dataset.name"),
                    f"dataset.path is required for dataset {spec.name!r}: the {spec.path_kind} with your images ({spec.description})",
                )
            )
        if not spec.path_kind and self.path is not None:
            users = " or ".join(name for name, other in DATASETS.items() if other.path_kind)
            found.append(
                (
                    ("dataset.path", "dataset.name"),
                    f"dataset.path = {show(self.path)}: dataset {spec.name!r} is built in and takes no path; "
                    f"for your own images set dataset.name to {users}",
                )
            )
        for option in ("color_mode", "image_size"):
            if getattr(self, option) is not None and option not in spec.options:
                takers = ", ".join(name for name, other in DATASETS.items() if option in other.options)
                found.append(
                    (
                        (f"dataset.{option}", "dataset.name"),
                        f"dataset.{option} = {show(getattr(self, option))}: only dataset {takers} takes it, not {spec.name!r}; leave it out (null)",
                    )
                )
        for option, available, what in (("train_size", spec.train_size, "training"), ("test_size", spec.test_size, "test")):
            if available is not None and (asked := getattr(self, option)) is not None and asked > available:
                found.append(
                    (
                        (f"dataset.{option}", "dataset.name"),
                        f"dataset.{option} = {asked}: must be between 1 and {available} ({spec.name} has {available} {what} images)",
                    )
                )
        if found:
            raise problem(*found)
        if "color_mode" in spec.options and self.color_mode is None:
            object.__setattr__(self, "color_mode", "rgb")  # Keras's default for image_dataset_from_directory
        return self


def known_image_shape(dataset: DatasetConfig) -> tuple[int, int, int] | None:
    """The (H, W, C) of a dataset's images when its config fixes it; None when only the user's
    files can tell (an npz, or an image folder kept at its own size)."""
    spec = DATASETS[dataset.name]
    if spec.image_shape is not None:
        return spec.image_shape
    if dataset.image_size is not None:
        return (*dataset.image_size, 1 if dataset.color_mode == "grayscale" else 3)
    return None


@section("model")
class ModelConfig:
    key: ClassVar[str]
    arch: ArchName = Field("dense", description="model architecture")
    input_shape: Triple | None = Field(
        None, description="[height, width, channels] of the images; null = the dataset's (filled in, and saved in the run's config.yaml)"
    )
    latent_dim: StrictInt | None = Field(
        None,
        ge=1,
        description="code size; null = the arch's default (32 for the dense family, 2 for the VAEs); conv archs have a fixed code, so null",
    )
    intermediate_dim: StrictInt = Field(64, ge=1, description="hidden width of the dense VAE")
    activity_l1: Number = Field(1e-4, ge=0, description="L1 activity regulariser of the sparse_dense code")

    @model_validator(mode="after")
    def follows_the_arch(self) -> ModelConfig:
        arch, found = ARCHITECTURES[self.arch], []
        if arch.latent_dim is None and self.latent_dim is not None:
            found.append(
                (
                    ("model.latent_dim", "model.arch"),
                    f"model.latent_dim = {show(self.latent_dim)}: arch {arch.name!r} has a code shape set by its conv/pool "
                    "layers (and the image size), so latent_dim must be left out (null)",
                )
            )
        if self.input_shape is not None and (why := input_shape_problem(self.input_shape)):
            found.append((("model.input_shape",), f"model.input_shape = {show(self.input_shape)}: {why}"))
        if found:
            raise problem(*found)
        if self.latent_dim is None:
            object.__setattr__(self, "latent_dim", arch.latent_dim)
        return self

    @property
    def code_shape(self) -> tuple[int, ...]:
        """Shape of the code (without batch axis); needs the input shape for conv archs."""
        return ARCHITECTURES[self.arch].code_shape(self)


@section("loss")
class LossConfig:
    key: ClassVar[str]
    name: Loss = Field("bce", description="reconstruction loss (docs/training.md, The losses)")
    reduction: Reduction = Field("mean", description="per-pixel mean, or summed over the image's pixels")


@section("training")
class TrainingConfig:
    key: ClassVar[str]
    epochs: StrictInt = Field(50, ge=1, description="training epochs")
    batch_size: StrictInt = Field(256, ge=1, description="training batch size")
    optimizer: Optimizer = Field("adam", description="optimizer")
    learning_rate: Number = Field(0.001, gt=0, description="optimizer learning rate")
    jit_compile: StrictBool | Literal["auto"] = Field(
        "auto", description="XLA; auto = the per-arch choice measured on CPU (XLA for the dense models and the dense VAE)"
    )
    eval_batch_size: StrictInt = Field(2048, ge=1, description="batch size of validation / evaluation passes")
    precision: Literal["float32", "mixed_bfloat16"] = Field(
        "float32", description="compute dtype policy; mixed_bfloat16 is faster on CPUs with AVX512_BF16, at some accuracy cost"
    )
    probe_gradients: StrictBool = Field(
        False, description="log the output-logit gradient and the wrong-side saturated share at each epoch end (the study)"
    )
    store_evaluation: StrictBool = Field(
        True,
        description="evaluate the finished run as evaluate.py would and keep the result in its evaluation.npz, which reports read; "
        "false: reports evaluate the run themselves",
    )


@section("")
class ExperimentConfig:
    key: ClassVar[str]
    name: StrictStr = Field(
        description=f"experiment name: {NAME_RULE}; {{dotted.key}} placeholders are filled in from the resolved config, "
        "e.g. blog-dense-{loss.name}-s{seed}"
    )
    seed: StrictInt = Field(0, ge=0, description="seeds the weights, the shuffling, the noise and the VAE's sampling")
    dataset: Annotated[DatasetConfig, BeforeValidator(none_as_empty)] = Field(default_factory=DatasetConfig)
    model: Annotated[ModelConfig, BeforeValidator(none_as_empty)] = Field(default_factory=ModelConfig)
    loss: Annotated[LossConfig, BeforeValidator(none_as_empty)] = Field(default_factory=LossConfig)
    training: Annotated[TrainingConfig, BeforeValidator(none_as_empty)] = Field(default_factory=TrainingConfig)

    @model_validator(mode="after")
    def resolved(self) -> ExperimentConfig:
        template = self.name
        try:
            object.__setattr__(self, "name", checked_name(expand_name(template, functools.partial(value_at, self))))
        except ValueError as exc:
            raise problem((("name", *placeholders(template)), str(exc))) from None
        known = known_image_shape(self.dataset)
        if known is not None and self.model.input_shape is not None and tuple(self.model.input_shape) != known:
            raise problem(
                (
                    ("model.input_shape", "dataset.name"),
                    f"model.input_shape = {show(self.model.input_shape)}: the images of dataset {self.dataset.name!r} are "
                    f"{show(known)}; leave model.input_shape out (null) to take the dataset's",
                )
            )
        if self.model.input_shape is None and known is not None:
            object.__setattr__(self, "model", dataclasses.replace(self.model, input_shape=known))
        return self


#: Section name -> section dataclass (top-level keys whose value is a mapping).
SECTIONS: dict[str, type] = {cls.key: cls for cls in (DatasetConfig, ModelConfig, LossConfig, TrainingConfig)}


def fields_of(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def leaf_keys(cls: type = ExperimentConfig, prefix: str = "") -> list[str]:
    """Every dotted key of a leaf value, in declaration order."""
    return [
        key
        for name in fields_of(cls)
        for key in (leaf_keys(SECTIONS[name], f"{name}.") if name in SECTIONS and not prefix else [prefix + name])
    ]


@functools.cache
def json_schema() -> dict[str, Any]:
    """The configs' JSON Schema (draft 2020-12), generated from the dataclasses above."""
    return pydantic.TypeAdapter(ExperimentConfig).json_schema()


@functools.cache
def field_schemas() -> dict[str, dict[str, Any]]:
    """Dotted key -> the JSON Schema of its value: what the messages say is allowed."""
    schema = json_schema()
    out = {}
    for name, prop in schema["properties"].items():
        if name in SECTIONS:
            definition = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
            out |= {f"{name}.{key}": sub for key, sub in definition["properties"].items()}
        else:
            out[name] = prop
    return out


# --------------------------------------------------------------------------
# The experiment name: placeholders filled in from the resolved config
# --------------------------------------------------------------------------


def value_at(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return []


def checked_name(name: str, template: str | None = None) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        expanded = f" (expanded from {show(template)})" if template not in (None, name) else ""
        raise ValueError(f"name = {show(name)}: must match {NAME_PATTERN} ({NAME_RULE}){expanded}")
    return name


def expand_name(template: str, lookup: Any) -> str:
    """Fill `{dotted.key}` / `{dotted.key:spec}` placeholders; ValueError with the message on errors."""
    if "{" not in template and "}" not in template:
        return template
    choices = [key for key in leaf_keys() if key != "name"]
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"name = {show(template)}: bad placeholder syntax ({exc}); write placeholders as {{dotted.key}}, e.g. {{loss.name}}"
        ) from None
    out: list[str] = []
    for literal, placeholder, spec, conversion in parsed:
        out.append(literal)
        if placeholder is None:
            continue
        if placeholder not in choices or conversion:
            close = difflib.get_close_matches(placeholder, choices, n=1, cutoff=0.6)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            raise ValueError(
                f"name = {show(template)}: unknown placeholder {{{placeholder}}}{hint}; a placeholder names a config key, one of {', '.join(choices)}"
            )
        value = lookup(placeholder)
        try:
            out.append(format(value, spec) if spec else show(value) if isinstance(value, bool) or value is None else str(value))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"name = {show(template)}: cannot format {{{placeholder}:{spec}}}: {exc}") from None
    return checked_name("".join(out), template)


# --------------------------------------------------------------------------
# Messages: pydantic's errors, one line per problem, in the user's words
# --------------------------------------------------------------------------

RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def number_text(x: Any) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def constraint(schema: Mapping[str, Any]) -> str:
    """'between 1 and 10', '>= 1', '> 0': the bounds a JSON Schema sets on a number."""
    low, high, above = schema.get("minimum"), schema.get("maximum"), schema.get("exclusiveMinimum")
    if low is not None and high is not None:
        return f"between {number_text(low)} and {number_text(high)}"
    return " and ".join(f"{sign} {number_text(bound)}" for sign, bound in ((">", above), (">=", low), ("<=", high)) if bound is not None)


def alternatives(schema: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """A field's schema as its non-null alternatives, and whether null is allowed."""
    alts = schema.get("anyOf", [schema])
    return [alt for alt in alts if alt.get("type") != "null"], any(alt.get("type") == "null" for alt in alts)


def choices_of(alt: Mapping[str, Any]) -> list[Any] | None:
    if "enum" in alt or "const" in alt:
        return alt.get("enum", [alt.get("const")])
    return [True, False] if alt.get("type") == "boolean" else None


def expected(schema: Mapping[str, Any]) -> str:
    """What a field accepts, e.g. 'an integer >= 1 or null'."""
    alts, optional = alternatives(schema)
    names = {"integer": "an integer", "number": "a number", "boolean": "true or false", "string": "a string"}
    parts = []
    for alt in alts:
        if "enum" in alt or "const" in alt:
            parts.append("one of " + ", ".join(show(choice) for choice in choices_of(alt)))
        elif alt.get("type") == "array":
            items = alt["prefixItems"]
            bounds = constraint(items[0])
            parts.append(f"a list of {len(items)} integers" + (f", each {bounds}" if bounds else ""))
        else:
            parts.append(" ".join(filter(None, [names[alt["type"]], constraint(alt)])))
    return " or ".join(parts + ["null"] * optional)


def join_or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def value_message(key: str, value: Any, errors: Sequence[Mapping[str, Any]]) -> str:
    """The line for one key whose value pydantic refused (`errors`: its errors, deeper ones included)."""
    schema = field_schemas()[key]
    alts, optional = alternatives(schema)
    if all(error["type"] in RANGE_ERRORS for error in errors):
        if isinstance(value, (list, tuple)):
            return f"{key} = {show(value)}: each value must be {constraint(alts[0]['prefixItems'][0])}"
        return f"{key} = {show(errors[0]['input'])}: must be {constraint(alts[0])}"
    if errors[0]["type"] == "finite_number":
        return f"{key} = {show(errors[0]['input'])}: must be a finite number {constraint(alts[0])}".rstrip()
    choices = [choices_of(alt) for alt in alts]
    if all(found is not None for found in choices) and any("enum" in alt or "const" in alt for alt in alts):
        spelled = [show(choice) for found in choices for choice in found] + ["null"] * optional
        message = f"{key} = {show(value) if isinstance(value, str) else shown_with_type(value)}: must be " + (
            "one of " + ", ".join(spelled) if len(alts) == 1 else join_or(spelled)
        )
        words = [choice for found in choices for choice in found if isinstance(choice, str)]
        close = difflib.get_close_matches(value, words, n=1, cutoff=0.6) if isinstance(value, str) else []
        return message + (f" (did you mean {close[0]!r}?)" if close else "")
    quote = (
        " (quote it so that YAML reads it as a string)"
        if any(alt.get("type") == "string" for alt in alts) and isinstance(value, (int, float))
        else ""
    )
    return f"{key} = {shown_with_type(value)}: expected {expected(schema)}{quote}"


def unknown_key_message(cls: type, prefix: str, key: Any) -> str:
    """ "unknown key 'training.epoch' (did you mean 'training.epochs'?); allowed in 'training': ..."."""
    names = fields_of(cls)
    where = f"in {prefix[:-1]!r}" if prefix else "at the top level"
    if not isinstance(key, str):  # YAML allows any value as a key
        return f"key {show(key)} ({type_name(key)}) {where}: keys are names, one of {', '.join(names)}"
    dotted = prefix + key
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6) if len(key) <= SHOWN_LENGTH else []
    # else the right key in the wrong section, e.g. top-level 'epochs'
    candidates = [prefix + close[0]] if close else [k for k in leaf_keys() if k.rsplit(".", 1)[-1] == key and k != dotted]
    hint = f" (did you mean {join_or([repr(k) for k in candidates])}?)" if candidates else ""
    return f"unknown key {show(dotted)}{hint}; allowed {where}: {', '.join(names)}"


def problems(exc: pydantic.ValidationError, root: type, data: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Pydantic's errors for `data` checked as `root` -> [(keys involved, message)], in order."""
    prefix = f"{root.key}." if root.key else ""
    found: list[tuple[tuple[str, ...], str]] = []
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    values: dict[str, Any] = {}
    for error in exc.errors():
        cls, node, path, loc = root, data, prefix, list(error["loc"])
        while loc and isinstance(loc[0], str) and loc[0] in SECTIONS and cls is ExperimentConfig:
            name = loc.pop(0)
            cls, node, path = SECTIONS[name], node.get(name) if isinstance(node, Mapping) else None, f"{name}."
        if error["type"] == "cross_check":
            found += [(tuple(keys), message) for keys, message in error["ctx"]["problems"]]
        elif error["type"] in ("unexpected_keyword_argument", "invalid_key"):
            found.append(((path + str(loc[-1]),), unknown_key_message(cls, path, loc[-1])))
        elif not loc:  # a section given something other than a mapping
            key = path[:-1]
            found.append(
                ((key,), f"{key} = {shown_with_type(error['input'])}: expected a mapping (section) with keys {', '.join(fields_of(cls))}")
            )
        elif error["type"] == "missing" and len(loc) == 1:
            description = field_schemas()[path + loc[0]].get("description", "")
            found.append(((path + loc[0],), f"missing required key {path + loc[0]!r} ({description})"))
        else:
            key = path + loc[0]
            if key not in by_key:
                by_key[key] = []
                values[key] = node.get(loc[0]) if isinstance(node, Mapping) and len(loc) > 1 else error["input"]
                found.append(((key,), key))  # filled in below, once all of the key's errors are known
            by_key[key].append(error)
    return [(keys, value_message(text, values[text], by_key[text]) if text in by_key else text) for keys, text in found]


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def parse(data: Any, source: str, origins: Mapping[str, str] | None = None) -> ExperimentConfig:
    """Check `data` as a config; each problem is blamed on the override that set one of its keys,
    else on `source`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values, got {type_name(data)}")
    origins = origins or {}
    try:
        return pydantic.TypeAdapter(ExperimentConfig).validate_python(dict(data))
    except pydantic.ValidationError as exc:
        found = problems(exc, ExperimentConfig, data)
    raise ConfigError([f"{next((origins[k] for k in keys if k in origins), source)}: {message}" for keys, message in found])


def parse_config(data: Mapping[str, Any], *, source: str = "<config>") -> ExperimentConfig:
    """Validate a mapping (e.g. from `yaml.safe_load`) and return the resolved config; `source`
    names the origin in error messages (normally the file path). All problems found are reported
    together in one ConfigError."""
    return parse(data, source)


# --------------------------------------------------------------------------
# YAML files
# --------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of keeping the last one."""


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
    package = Path(__file__).parent
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


@functools.cache
def leaf_check(cls: type, name: str) -> pydantic.TypeAdapter:
    info = cls.__pydantic_fields__[name]
    return pydantic.TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)


def leaf_value(cls: type, name: str, key: str, value: Any, source: str) -> Any:
    """One value checked and converted as its key's field would (placeholders in a name are left
    for the whole config's check to fill in)."""
    try:
        checked = leaf_check(cls, name).validate_python(value)
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        raise ConfigError(f"{source}: {value_message(key, value if errors[0]['loc'] else errors[0]['input'], errors)}") from None
    if key == "name" and not ("{" in checked or "}" in checked):
        try:
            checked_name(checked)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return checked


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


# Settings that only add records (a gradient-probe callback at epoch ends, a stored copy of the
# evaluation after the run): they change no weight and no reported number, so runs differing only
# in them share compiled functions (training.compiled_key) and are compared (comparison.IGNORED_KEYS).
RECORD_ONLY_KEYS = ("training.probe_gradients", "training.store_evaluation")


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


# --------------------------------------------------------------------------
# Published forms of the schema: configs/schema.json and the docs' config reference
# --------------------------------------------------------------------------

SCHEMA_FILE = "configs/schema.json"
REFERENCE_FILE = "docs/config-reference.md"


def file_schema() -> dict[str, Any]:
    """The JSON Schema of a config file as train.py reads it: an experiment, and optionally a
    `grid` of dotted keys to lists of values (a sweep). Editors read it through the
    `# yaml-language-server: $schema=...` line at the top of each shipped config."""
    schema = copy.deepcopy(json_schema())
    schema["properties"]["grid"] = {
        "description": "a sweep: dotted keys -> lists of values; one run per combination (see docs/sweeps.md)",
        "type": "object",
        "propertyNames": {"enum": leaf_keys()},
        "additionalProperties": {"type": "array", "minItems": 1},
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "autoencoders experiment config"}


def yaml_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def reference_sections() -> list[dict[str, Any]]:
    """The config reference's content: per section, each key with its default, what it accepts and
    what it does, all read from the schema."""
    out = []
    for title in ("", *SECTIONS):
        keys = [key for key in field_schemas() if (key.rsplit(".", 1)[0] if "." in key else "") == title]
        rows = [
            {
                "key": key,
                "default": "(required)" if key == "name" else yaml_text(field_schemas()[key].get("default")),
                "accepts": expected(field_schemas()[key]),
                "description": field_schemas()[key].get("description", ""),
            }
            for key in keys
        ]
        out.append({"title": title or "top level", "rows": rows})
    return out


def render_reference() -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|")
    return env.get_template("config-reference.md.j2").render(sections=reference_sections(), schema_file=SCHEMA_FILE)


def schema_main(argv: Sequence[str]) -> int:
    """`python -m autoencoders schema [--json FILE] [--docs FILE]`: write the configs' JSON Schema
    and the config reference page (both generated, so neither is typed by hand); with neither
    option, print the schema."""
    import argparse
    import json

    from autoencoders.atomic import write_text

    parser = argparse.ArgumentParser(prog="python -m autoencoders schema", description=schema_main.__doc__)
    parser.add_argument("--json", metavar="FILE", help=f"write the JSON Schema here (the repository's: {SCHEMA_FILE})")
    parser.add_argument("--docs", metavar="FILE", help=f"write the config reference here (the repository's: {REFERENCE_FILE})")
    args = parser.parse_args(argv)
    text = json.dumps(file_schema(), indent=2) + "\n"
    if args.json:
        write_text(args.json, text)
    if args.docs:
        write_text(args.docs, render_reference())
    if not (args.json or args.docs):
        print(text, end="")
    return 0
