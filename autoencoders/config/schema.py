"""The config's schema: four frozen pydantic dataclasses (strict leaves: YAML's `true` is not an
integer, `5.0` not an epoch count), the checks that involve several keys, the experiment name's
`{dotted.key}` placeholders, and pydantic's errors rewritten into one line per problem."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import string
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

import pydantic
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from autoencoders import plugins
from autoencoders.config.messages import SHOWN_LENGTH, ConfigError, join_or, show, shown_with_type, type_name, value_message
from autoencoders.data.datasets import DATASETS
from autoencoders.models.architectures import ARCHITECTURES, input_shape_problem
from autoencoders.models.heads import HEADS

Loss = Literal["bce", "mse", "mae", "gaussian", "continuous_bernoulli"]
Reduction = Literal["mean", "sum"]
Optimizer = Literal["adam", "adadelta", "rmsprop", "sgd"]
LOSSES: tuple[str, ...] = get_args(Loss)
REDUCTIONS: tuple[str, ...] = get_args(Reduction)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
#: A run's folder name: the lock, log and config files beside it add a few characters, and file
#: systems allow 255 bytes, so at most 128.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
NAME_RULE = "letters, digits, '.', '_', '-', starting with a letter or digit, at most 128 characters; it is used as a folder name"


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


def registered(names: Callable[[], Collection[str]], what: str) -> Any:
    """A name among `names()`, read when a config is checked (not when this module is imported), so
    an entry registered later (a plug-in, a test) is a valid name at once; the schema lists the
    names there are when it is generated."""

    def check(name: str) -> str:
        if name not in names():
            raise PydanticCustomError("literal_error", "not a registered {what}", {"what": what})
        return name

    return Annotated[StrictStr, AfterValidator(check), Field(json_schema_extra=lambda schema: schema.update(enum=list(names())))]


DatasetName = registered(lambda: DATASETS, "dataset")
ArchName = registered(lambda: ARCHITECTURES, "arch")
HeadName = registered(lambda: HEADS, "output head")
CallbackName = registered(lambda: plugins.names(plugins.TRAINING_CALLBACKS), "training callback")
CallbackNames = Annotated[tuple[CallbackName, ...], BeforeValidator(as_tuple), pydantic.Strict()]


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
    output: HeadName = Field(
        "sigmoid",
        description="output head: " + "; ".join(f"{head.name} = {head.summary} (takes {join_or(head.losses)})" for head in HEADS.values()),
    )
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
    callbacks: CallbackNames = Field(
        (),
        description="training callbacks by name, from the autoencoders.training_callbacks entry points (the study's "
        "probe_gradients: the output-logit gradient and the wrong-side saturated share at each epoch end); "
        "they add columns to history.csv",
    )
    store_evaluation: StrictBool = Field(
        True,
        description="evaluate the finished run as evaluate.py would and keep the result in its evaluation.npz, which reports read; "
        "false: reports evaluate the run themselves",
    )

    @model_validator(mode="before")
    @classmethod
    def renamed(cls, data: Any) -> Any:
        """Run folders written before 2026-12-07 say `probe_gradients: true` (or false) where
        `callbacks: [probe_gradients]` (or none) is meant; they are read as such."""
        if isinstance(data, Mapping) and isinstance(data.get("probe_gradients"), bool) and "callbacks" not in data:
            data = dict(data)
            data["callbacks"] = ["probe_gradients"] if data.pop("probe_gradients") else []
        return data


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
        head = HEADS[self.model.output]
        if self.loss.name not in head.losses:
            raise problem(
                (
                    ("loss.name", "model.output"),
                    f"loss.name = {show(self.loss.name)}: the {head.name} output head takes {join_or(head.losses)}"
                    + (
                        "; BCE on a linear output read as logits is the sigmoid head's BCE, so for BCE set model.output to sigmoid"
                        if self.loss.name == "bce"
                        else ""
                    ),
                )
            )
        callbacks = plugins.entries(plugins.TRAINING_CALLBACKS) if self.training.callbacks else {}
        for name in self.training.callbacks:
            if not (callback := callbacks[name]).works_with(head.name):
                why = f" ({callback.why})" if callback.why else ""
                raise problem(
                    (
                        ("training.callbacks", "model.output"),
                        f"training.callbacks = {show(self.training.callbacks)}: {name} works with model.output "
                        f"{join_or(callback.heads)}{why}, and model.output is {head.name!r}; "
                        f"set model.output to {join_or(callback.heads)} or leave {name} out",
                    )
                )
        if self.model.input_shape is None and known is not None:
            object.__setattr__(self, "model", dataclasses.replace(self.model, input_shape=known))
        return self


#: checks a whole config (built once: building it costs milliseconds)
CHECKER = pydantic.TypeAdapter(ExperimentConfig)
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


def json_schema() -> dict[str, Any]:
    """The configs' JSON Schema (draft 2020-12), generated from the dataclasses above (each time:
    the registries' names are read when it is made)."""
    return CHECKER.json_schema()


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
            # past the lines ConfigError shows, only counted: a file of thousands of unknown keys is
            # refused within the second the CLI promises, without a suggestion worked out for each
            shown = len(found) < ConfigError.MAX_LINES
            found.append(((path + str(loc[-1]),), unknown_key_message(cls, path, loc[-1]) if shown else "unknown key"))
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
    return [
        (keys, value_message(text, field_schemas()[text], values[text], by_key[text]) if text in by_key else text) for keys, text in found
    ]


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
        raise ConfigError(
            f"{source}: {value_message(key, field_schemas()[key], value if errors[0]['loc'] else errors[0]['input'], errors)}"
        ) from None
    if key == "name" and not ("{" in checked or "}" in checked):
        try:
            checked_name(checked)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return checked


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
        return CHECKER.validate_python(dict(data))
    except pydantic.ValidationError as exc:
        found = problems(exc, ExperimentConfig, data)
    raise ConfigError([f"{next((origins[k] for k in keys if k in origins), source)}: {message}" for keys, message in found])


def parse_config(data: Mapping[str, Any], *, source: str = "<config>") -> ExperimentConfig:
    """Validate a mapping (e.g. from `yaml.safe_load`) and return the resolved config; `source`
    names the origin in error messages (normally the file path). All problems found are reported
    together in one ConfigError."""
    return parse(data, source)
