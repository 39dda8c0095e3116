"""Experiment configuration: YAML files -> validated, frozen dataclasses.

A config file is parsed with a safe YAML loader and checked against the
dataclasses below.  Validation is generic: it is driven by the type hints of
the dataclass fields (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``,
fixed-length ``tuple[int, ...]``, ``X | None``, nested section dataclasses) and by
per-field constraints kept in ``dataclasses.field(metadata=...)`` (``min``,
``max``, ``gt`` (exclusive minimum), ``pattern``, ``help``, and ``choices``: a
function returning the allowed strings, read at validation time, which is how
``dataset.name`` and ``model.arch`` follow their registries).  Every error is a :class:`ConfigError` whose
message names the file (or the ``--set`` override), the dotted key, the bad
value and what is allowed, e.g.::

    configs/x.yaml: training.epochs = 'ten' (str): expected an integer >= 1

The experiment ``name`` may hold ``{dotted.key}`` placeholders (optionally
with a format spec, ``{training.learning_rate:g}``), filled in from the
resolved config after overrides: ``name: blog-dense-{loss.name}-s{seed}``
with ``--set loss.name=mse`` gives ``blog-dense-mse-s0``.

The returned config is *resolved*: missing keys hold their defaults,
``model.latent_dim`` holds the architecture's default when it was left out, and
``model.input_shape`` the dataset's image shape where the dataset fixes it (for
the user's own files it is filled in from the data when training starts), so
``dump_yaml(cfg)`` is itself a complete config that reproduces the run.

This module deliberately imports only the standard library, PyYAML and the two
registries (themselves standard library only), so a bad config fails in
milliseconds, before TensorFlow is imported.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import re
import reprlib
import string
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

import yaml

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
    "known_image_shape",
    "load_config",
    "parse_config",
    "read_yaml",
    "replace",
    "set_value",
    "to_dict",
]

# --------------------------------------------------------------------------
# Choices (datasets and archs are the registries' names, read at validation time)
# --------------------------------------------------------------------------

Loss = Literal["bce", "mse", "mae", "gaussian", "continuous_bernoulli"]
Reduction = Literal["mean", "sum"]
Optimizer = Literal["adam", "adadelta", "rmsprop", "sgd"]
JitCompile = Union[bool, Literal["auto"]]  # noqa: UP007 - the type interpreter below reads typing.Union
Precision = Literal["float32", "mixed_bfloat16"]

LOSSES: tuple[str, ...] = get_args(Loss)
REDUCTIONS: tuple[str, ...] = get_args(Reduction)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
#: A run's folder name: the lock, log and config files beside it add a few characters, and file
#: systems allow 255 bytes, so at most 128.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class ConfigError(ValueError):
    """A configuration problem; ``str(e)`` is the full user-facing message.

    ``e.errors`` holds one line per problem (all problems found in one pass
    are reported together, one per line).
    """

    MAX_LINES = 20  # a file with thousands of bad keys is told about the first ones

    def __init__(self, message: str | Sequence[str]):
        lines = [message] if isinstance(message, str) else list(message)
        if len(lines) > self.MAX_LINES:
            lines = [*lines[: self.MAX_LINES], f"... and {len(lines) - self.MAX_LINES} more problems"]
        self.errors: list[str] = lines
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # pragma: no cover - trivial
        return "\n".join(self.errors)


class _Invalid(Exception):
    """A field-level problem; the message has no source prefix yet."""


# --------------------------------------------------------------------------
# Generic field checking
# --------------------------------------------------------------------------

_NUMERIC_STRING = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


#: Renders values of any size or depth in bounded time: a YAML file of a few hundred bytes can
#: hold a "billion laughs" of nested aliases, whose full repr would never finish.
_BOUNDED_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
for _limit, _value in {
    "maxlevel": 3,
    "maxtuple": 6,
    "maxlist": 6,
    "maxdict": 4,
    "maxset": 4,
    "maxstring": 80,
    "maxother": 80,
    "maxlong": 40,
}.items():
    setattr(_BOUNDED_REPR, _limit, _value)
SHOWN_LENGTH = 80


def show(value: Any) -> str:
    """Render a value the way the user wrote it (YAML spelling for bool/null), at most
    SHOWN_LENGTH characters, in time bounded whatever the value holds."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    text = _BOUNDED_REPR.repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    return type(value).__name__


def _shown_with_type(value: Any) -> str:
    if value is None:
        return "null"
    return f"{show(value)} ({_type_name(value)})"


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _alternatives(tp: Any) -> tuple[list[Any], bool]:
    """Split a type into its non-None alternatives and whether None is allowed."""
    if _is_union(tp):
        args = get_args(tp)
        optional = type(None) in args
        alts: list[Any] = []
        for arg in args:
            if arg is type(None):
                continue
            sub, sub_optional = _alternatives(arg)
            alts.extend(sub)
            optional = optional or sub_optional
        return alts, optional
    return [tp], False


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _is_int_tuple(tp: Any) -> bool:
    """A fixed-length tuple of ints, e.g. tuple[int, int, int] (written as a YAML list)."""
    return get_origin(tp) is tuple and all(arg is int for arg in get_args(tp))


def _with_choices(tp: Any, meta: Mapping[str, Any]) -> Any:
    """A str field whose metadata has ``choices`` behaves as a Literal of the choices of now."""
    if "choices" not in meta:
        return tp
    choices = Literal[tuple(meta["choices"]())]  # type: ignore[valid-type]
    return choices | None if _alternatives(tp)[1] else choices


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _fmt_num(x: Any) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def _constraint(meta: Mapping[str, Any]) -> str:
    """Human phrase for the numeric constraints in a field's metadata."""
    lo, hi, gt = meta.get("min"), meta.get("max"), meta.get("gt")
    if lo is not None and hi is not None:
        return f"between {_fmt_num(lo)} and {_fmt_num(hi)}"
    parts = []
    if gt is not None:
        parts.append(f"> {_fmt_num(gt)}")
    if lo is not None:
        parts.append(f">= {_fmt_num(lo)}")
    if hi is not None:
        parts.append(f"<= {_fmt_num(hi)}")
    return " and ".join(parts)


def _join_or(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _choices(alts: Sequence[Any]) -> list[str]:
    """Spelled-out choices when every alternative is a bool or a Literal."""
    out: list[str] = []
    for alt in alts:
        if alt is bool:
            out += ["true", "false"]
        else:
            out += [show(a) for a in get_args(alt)]
    return out


def _expected(tp: Any, meta: Mapping[str, Any]) -> str:
    """What a field accepts, e.g. 'an integer between 1 and 60000 or null'."""
    alts, optional = _alternatives(tp)
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    parts = []
    for alt in alts:
        if _is_literal(alt):
            parts.append("one of " + ", ".join(show(a) for a in get_args(alt)))
        elif _is_int_tuple(alt):
            text = f"a list of {len(get_args(alt))} integers"
            if _constraint(meta):
                text += f", each {_constraint(meta)}"
            parts.append(text)
        else:
            text = names.get(alt, getattr(alt, "__name__", str(alt)))
            if alt in (int, float) and _constraint(meta):
                text += " " + _constraint(meta)
            if alt is str and meta.get("pattern"):
                text += f" matching {meta['pattern']}"
            parts.append(text)
    if optional:
        parts.append("null")
    return " or ".join(parts)


def _convert(alt: Any, value: Any) -> tuple[bool, Any]:
    """Try to read ``value`` as type ``alt``; returns (ok, converted)."""
    if alt is bool:
        return isinstance(value, bool), value
    if alt is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if alt is float:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, float(value)
        if isinstance(value, float):
            return math.isfinite(value), value
        # PyYAML (YAML 1.1) reads '1e-3' (no dot) as a string: accept numeric strings.
        if isinstance(value, str) and _NUMERIC_STRING.match(value.strip()):
            number = float(value.strip())
            return math.isfinite(number), number
        return False, value
    if alt is str:
        return isinstance(value, str), value
    if _is_int_tuple(alt):
        ok = (
            isinstance(value, (list, tuple))
            and len(value) == len(get_args(alt))
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        )
        return ok, tuple(value) if ok else value
    if _is_literal(alt):
        for choice in get_args(alt):
            if type(value) is type(choice) and value == choice:
                return True, choice
        return False, value
    raise TypeError(f"unsupported field type {alt!r}")  # a bug in the schema, not in a config


def _check(tp: Any, meta: Mapping[str, Any], value: Any, key: str) -> Any:
    """Validate and convert one leaf value; raise _Invalid with a full message."""
    tp = _with_choices(tp, meta)
    alts, optional = _alternatives(tp)
    if value is None and optional:
        return None
    for alt in alts:
        ok, converted = _convert(alt, value)
        if ok:
            break
    else:
        if any(_is_literal(a) for a in alts) and all(_is_literal(a) or a is bool for a in alts):
            choices = _choices(alts) + (["null"] if optional else [])
            shown = show(value) if isinstance(value, str) else _shown_with_type(value)
            phrase = ("one of " + ", ".join(choices)) if len(alts) == 1 else _join_or(choices)
            msg = f"{key} = {shown}: must be {phrase}"
            if isinstance(value, str):
                options = [c for a in alts if _is_literal(a) for c in get_args(a)]
                close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
                if close:
                    msg += f" (did you mean {close[0]!r}?)"
            raise _Invalid(msg)
        if float in alts and isinstance(value, float) and not math.isfinite(value):
            raise _Invalid(f"{key} = {show(value)}: must be a finite number {_constraint(meta)}".rstrip())
        msg = f"{key} = {_shown_with_type(value)}: expected {_expected(tp, meta)}"
        if str in alts and isinstance(value, (int, float, bool)):
            msg += " (quote it so that YAML reads it as a string)"
        raise _Invalid(msg)

    numbers = converted if isinstance(converted, tuple) else (converted,)
    for number in numbers:
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            lo, hi, gt = meta.get("min"), meta.get("max"), meta.get("gt")
            if (lo is not None and number < lo) or (hi is not None and number > hi) or (gt is not None and number <= gt):
                each = "each value " if isinstance(converted, tuple) else ""
                raise _Invalid(f"{key} = {show(converted)}: {each}must be {_constraint(meta)}")
    if isinstance(converted, str) and meta.get("pattern") and alt is str:
        if not re.fullmatch(meta["pattern"], converted):
            hint = meta.get("pattern_help") or meta.get("help")
            hint = f" ({hint})" if hint else ""
            raise _Invalid(f"{key} = {show(converted)}: must match {meta['pattern']}{hint}")
    return converted


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _format_for_name(value: Any, spec: str) -> str:
    if spec:
        return format(value, spec)
    if isinstance(value, bool) or value is None:
        return show(value)
    return repr(value) if isinstance(value, float) else str(value)


def _expand_template(template: str, lookup: Any, key: str, choices: Sequence[str]) -> str:
    """Fill ``{dotted.key}`` / ``{dotted.key:spec}`` placeholders; raise _Invalid on errors.

    ``lookup(dotted)`` returns the (resolved) value of a leaf key; ``choices``
    are the keys a placeholder may name.
    """
    if "{" not in template and "}" not in template:
        return template
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _Invalid(
            f"{key} = {show(template)}: bad placeholder syntax ({exc}); write placeholders as {{dotted.key}}, e.g. {{loss.name}}"
        ) from None
    for literal, placeholder, spec, conversion in parsed:
        out.append(literal)
        if placeholder is None:
            continue
        if placeholder not in choices or conversion:
            msg = f"{key} = {show(template)}: unknown placeholder {{{placeholder}}}"
            close = difflib.get_close_matches(placeholder, choices, n=1, cutoff=0.6)
            if close:
                msg += f" (did you mean {{{close[0]}}}?)"
            raise _Invalid(f"{msg}; a placeholder names a config key, one of {', '.join(choices)}")
        try:
            out.append(_format_for_name(lookup(placeholder), spec or ""))
        except (ValueError, TypeError) as exc:
            raise _Invalid(f"{key} = {show(template)}: cannot format {{{placeholder}:{spec}}}: {exc}") from None
    return "".join(out)


class _Validated:
    """Mixin: validate (and convert) every field on construction.

    Constructing a config dataclass directly therefore gives the same
    guarantees as parsing a file (errors carry no file name then).
    """

    _section: ClassVar[str] = ""  # dotted prefix of this section, "" at the top

    @classmethod
    def _key(cls, name: str) -> str:
        return f"{cls._section}.{name}" if cls._section else name

    @classmethod
    def _cross_check(cls, values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """Checks that involve several fields: [(dotted keys involved, message)]."""
        return []

    def _resolve(self) -> None:
        """Fill in derived defaults (runs after validation)."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        errors: list[str] = []
        templated = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            tp, value = hints[f.name], getattr(self, f.name)
            if _is_section(tp):
                if not isinstance(value, tp):
                    errors.append(f"{self._key(f.name)}: expected a {tp.__name__}, got {_type_name(value)}")
                continue
            if f.metadata.get("template") and isinstance(value, str):
                templated.append(f)  # filled in once the other fields are known
                continue
            try:
                object.__setattr__(self, f.name, _check(tp, f.metadata, value, self._key(f.name)))
            except _Invalid as exc:
                errors.append(str(exc))
        if not errors:
            for f in templated:
                try:
                    value = _check_templated(type(self), f, hints[f.name], getattr(self, f.name), functools.partial(_get_path, self))
                    object.__setattr__(self, f.name, value)
                except _Invalid as exc:
                    errors.append(str(exc))
        if not errors:
            values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
            errors += [msg for _, msg in self._cross_check(values)]
        if errors:
            raise ConfigError(errors)
        self._resolve()


def _get_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _template_keys(cls: type) -> list[str]:
    """Keys a placeholder may name: every leaf key except the templated ones."""
    return [k for k in _all_leaf_keys(cls) if not _fields_by_key(cls)[k].metadata.get("template")]


def _check_templated(cls: type, f: dataclasses.Field, tp: Any, raw: str, lookup: Any) -> Any:
    """Expand the placeholders of a templated string field, then check the result."""
    key = cls._key(f.name)
    expanded = _expand_template(raw, lookup, key, _template_keys(cls))
    try:
        return _check(tp, f.metadata, expanded, key)
    except _Invalid as exc:
        if expanded != raw:
            raise _Invalid(f"{exc} (expanded from {show(raw)})") from None
        raise


# --------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------


def _meta(help: str, **constraints: Any) -> dict[str, Any]:
    return {"help": help, **constraints}


@dataclass(frozen=True)
class DatasetConfig(_Validated):
    _section: ClassVar[str] = "dataset"

    name: str = field(default="mnist", metadata=_meta("which dataset", choices=lambda: tuple(DATASETS)))
    path: str | None = field(
        default=None, metadata=_meta("your data: the .npz file (npz) or the folder (image_folder); relative to the current folder")
    )
    color_mode: Literal["grayscale", "rgb"] | None = field(
        default=None, metadata=_meta("image_folder only: read images as grayscale (1 channel) or rgb (3); null = rgb, Keras's default")
    )
    image_size: tuple[int, int] | None = field(
        default=None,
        metadata=_meta("image_folder only: resize every image to [height, width]; null = keep the images' own size (one for all)", min=1),
    )
    train_size: int | None = field(default=None, metadata=_meta("the first N training images (null = all)", min=1))
    test_size: int | None = field(default=None, metadata=_meta("the first N test images (null = all)", min=1))
    noise_factor: float = field(default=0.0, metadata=_meta("std of Gaussian noise added to inputs; targets stay clean", min=0))
    binarize: bool = field(default=False, metadata=_meta("threshold pixels at 0.5"))

    @classmethod
    def _cross_check(cls, values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        spec = DATASETS[values.get("name", "mnist")]
        problems = []
        path = values.get("path")
        if spec.path_kind and path is None:
            problems.append(
                (
                    ("dataset.path", "dataset.name"),
                    f"dataset.path is required for dataset {spec.name!r}: the {spec.path_kind} with your images ({spec.description})",
                )
            )
        if not spec.path_kind and path is not None:
            users = " or ".join(name for name, other in DATASETS.items() if other.path_kind)
            problems.append(
                (
                    ("dataset.path", "dataset.name"),
                    f"dataset.path = {show(path)}: dataset {spec.name!r} is built in and takes no path; "
                    f"for your own images set dataset.name to {users}",
                )
            )
        for option in ("color_mode", "image_size"):
            if values.get(option) is not None and option not in spec.options:
                takers = ", ".join(name for name, other in DATASETS.items() if option in other.options)
                problems.append(
                    (
                        (f"dataset.{option}", "dataset.name"),
                        f"dataset.{option} = {show(values[option])}: only dataset {takers} takes it, not {spec.name!r}; leave it out (null)",
                    )
                )
        for key, available, what in (("train_size", spec.train_size, "training"), ("test_size", spec.test_size, "test")):
            if available is not None and values.get(key) is not None and values[key] > available:
                problems.append(
                    (
                        (f"dataset.{key}", "dataset.name"),
                        f"dataset.{key} = {values[key]}: must be between 1 and {available} ({spec.name} has {available} {what} images)",
                    )
                )
        return problems

    def _resolve(self) -> None:
        if "color_mode" in DATASETS[self.name].options and self.color_mode is None:
            object.__setattr__(self, "color_mode", "rgb")  # Keras's default for image_dataset_from_directory


def known_image_shape(dataset: DatasetConfig) -> tuple[int, int, int] | None:
    """The (H, W, C) of a dataset's images when its config fixes it; None when only the user's
    files can tell (an npz, or an image folder kept at its own size)."""
    spec = DATASETS[dataset.name]
    if spec.image_shape is not None:
        return spec.image_shape
    if dataset.image_size is not None:
        return (*dataset.image_size, 1 if dataset.color_mode == "grayscale" else 3)
    return None


@dataclass(frozen=True)
class ModelConfig(_Validated):
    _section: ClassVar[str] = "model"

    arch: str = field(default="dense", metadata=_meta("model architecture", choices=lambda: tuple(ARCHITECTURES)))
    input_shape: tuple[int, int, int] | None = field(
        default=None, metadata=_meta("[height, width, channels] of the images; null = the dataset's", min=1)
    )
    latent_dim: int | None = field(
        default=None,
        metadata=_meta("code size; null = the arch's default (must stay null for conv archs)", min=1),
    )
    intermediate_dim: int = field(default=64, metadata=_meta("hidden width of the dense VAE", min=1))
    activity_l1: float = field(default=1e-4, metadata=_meta("L1 activity regulariser of the sparse_dense code", min=0))

    @classmethod
    def _cross_check(cls, values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        arch = ARCHITECTURES[values.get("arch", "dense")]
        latent_dim, shape = values.get("latent_dim"), values.get("input_shape")
        problems = []
        if arch.latent_dim is None and latent_dim is not None:
            problems.append(
                (
                    ("model.latent_dim", "model.arch"),
                    f"model.latent_dim = {show(latent_dim)}: arch {arch.name!r} has a code shape set by its conv/pool "
                    "layers (and the image size), so latent_dim must be left out (null)",
                )
            )
        if shape is not None and (problem := input_shape_problem(shape)):
            problems.append((("model.input_shape",), f"model.input_shape = {show(shape)}: {problem}"))
        return problems

    def _resolve(self) -> None:
        if self.latent_dim is None:
            object.__setattr__(self, "latent_dim", ARCHITECTURES[self.arch].latent_dim)

    @property
    def code_shape(self) -> tuple[int, ...]:
        """Shape of the code (without batch axis); needs the input shape for conv archs."""
        return ARCHITECTURES[self.arch].code_shape(self)


@dataclass(frozen=True)
class LossConfig(_Validated):
    _section: ClassVar[str] = "loss"

    name: Loss = field(default="bce", metadata=_meta("reconstruction loss"))
    reduction: Reduction = field(default="mean", metadata=_meta("per-pixel mean, or summed over the image's pixels"))


@dataclass(frozen=True)
class TrainingConfig(_Validated):
    _section: ClassVar[str] = "training"

    epochs: int = field(default=50, metadata=_meta("training epochs", min=1))
    batch_size: int = field(default=256, metadata=_meta("training batch size", min=1))
    optimizer: Optimizer = field(default="adam", metadata=_meta("optimizer"))
    learning_rate: float = field(default=0.001, metadata=_meta("optimizer learning rate", gt=0))
    jit_compile: JitCompile = field(default="auto", metadata=_meta("XLA; 'auto' = the per-arch choice made by measurement"))
    eval_batch_size: int = field(default=2048, metadata=_meta("batch size of validation / evaluation passes", min=1))
    precision: Precision = field(
        default="float32",
        metadata=_meta("compute dtype policy; mixed_bfloat16 is faster on CPUs with AVX512_BF16, at some accuracy cost"),
    )
    probe_gradients: bool = field(
        default=False,
        metadata=_meta("log the output-logit gradient and the wrong-side saturated share at each epoch end (the study)"),
    )
    store_evaluation: bool = field(
        default=True,
        metadata=_meta(
            "evaluate the finished run as evaluate.py would and keep the result in its evaluation.npz, which reports read; "
            "false: reports evaluate the run themselves"
        ),
    )


@dataclass(frozen=True)
class ExperimentConfig(_Validated):
    _section: ClassVar[str] = ""

    name: str = field(
        metadata=_meta(
            "experiment name, used as a folder name: letters, digits, '.', '_', '-', "
            "starting with a letter or digit; {dotted.key} placeholders are filled in "
            "from the resolved config, e.g. blog-dense-{loss.name}-s{seed}",
            pattern=NAME_PATTERN,
            pattern_help="letters, digits, '.', '_', '-', starting with a letter or digit, at most 128 characters; "
            "it is used as a folder name",
            template=True,
        )
    )
    seed: int = field(default=0, metadata=_meta("random seed", min=0))
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @classmethod
    def _cross_check(cls, values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        dataset, model = values.get("dataset") or DatasetConfig(), values.get("model") or ModelConfig()
        known = known_image_shape(dataset)
        if known is not None and model.input_shape is not None and tuple(model.input_shape) != known:
            return [
                (
                    ("model.input_shape", "dataset.name"),
                    f"model.input_shape = {show(model.input_shape)}: the images of dataset {dataset.name!r} are "
                    f"{show(known)}; leave model.input_shape out (null) to take the dataset's",
                )
            ]
        return []

    def _resolve(self) -> None:
        known = known_image_shape(self.dataset)
        if self.model.input_shape is None and known is not None:
            object.__setattr__(self, "model", dataclasses.replace(self.model, input_shape=known))


#: Section name -> section dataclass (top-level keys whose value is a mapping).
SECTIONS: dict[str, type] = {
    name: _hints(ExperimentConfig)[name] for name in _fields(ExperimentConfig) if _is_section(_hints(ExperimentConfig)[name])
}


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


class _Context:
    """Where values came from, and the errors found so far."""

    def __init__(self, source: str, origins: Mapping[str, str] | None = None):
        self.source = source
        self.origins = dict(origins or {})
        self.errors: list[str] = []

    def error(self, keys: str | Sequence[str], message: str) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        src = next((self.origins[k] for k in keys if k in self.origins), self.source)
        self.errors.append(f"{src}: {message}")


def _all_leaf_keys(cls: type = ExperimentConfig, prefix: str = "") -> list[str]:
    out = []
    for name in _fields(cls):
        tp = _hints(cls)[name]
        if _is_section(tp):
            out += _all_leaf_keys(tp, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def _fields_by_key(cls: type = ExperimentConfig, prefix: str = "") -> dict[str, dataclasses.Field]:
    out: dict[str, dataclasses.Field] = {}
    for name, f in _fields(cls).items():
        tp = _hints(cls)[name]
        if _is_section(tp):
            out.update(_fields_by_key(tp, f"{prefix}{name}."))
        else:
            out[prefix + name] = f
    return out


def _unknown_key_message(cls: type, prefix: str, key: Any) -> str:
    """'unknown key 'training.epoch' (did you mean 'training.epochs'?); allowed in ...'."""
    names = list(_fields(cls))
    if not isinstance(key, str):  # YAML allows any value as a key
        return f"key {show(key)} ({_type_name(key)}) {'in ' + repr(prefix[:-1]) if prefix else 'at the top level'}: keys are names, one of {', '.join(names)}"
    dotted = f"{prefix}{key}"
    msg = f"unknown key {show(dotted)}"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6) if len(key) <= SHOWN_LENGTH else []
    if close:
        msg += f" (did you mean {prefix + close[0]!r}?)"
    else:
        # the right key in the wrong section, e.g. top-level 'epochs'
        elsewhere = [k for k in _all_leaf_keys() if k.rsplit(".", 1)[-1] == str(key) and k != dotted]
        if elsewhere:
            msg += f" (did you mean {_join_or([repr(k) for k in elsewhere])}?)"
    where = f"in {prefix[:-1]!r}" if prefix else "at the top level"
    return f"{msg}; allowed {where}: {', '.join(names)}"


def _build(cls: type, data: Mapping[str, Any], prefix: str, ctx: _Context) -> Any:
    """Validate ``data`` against dataclass ``cls``; returns an instance, or None on errors."""
    hints, fields_ = _hints(cls), _fields(cls)
    n_errors = len(ctx.errors)
    for key in data:
        if key not in fields_:
            ctx.error(f"{prefix}{key}", _unknown_key_message(cls, prefix, key))
    kwargs: dict[str, Any] = {}
    templated: list[dataclasses.Field] = []
    for name, f in fields_.items():
        dotted = prefix + name
        if name not in data:
            if _is_required(f):
                ctx.error(dotted, f"missing required key {dotted!r} ({f.metadata.get('help', '')})")
            continue
        tp, value = hints[name], data[name]
        if _is_section(tp):
            if value is None:  # 'training:' with nothing under it -> all defaults
                value = {}
            if not isinstance(value, Mapping):
                ctx.error(
                    dotted,
                    f"{dotted} = {_shown_with_type(value)}: expected a mapping (section) with keys {', '.join(_fields(tp))}",
                )
                continue
            kwargs[name] = _build(tp, value, dotted + ".", ctx)
        elif f.metadata.get("template") and isinstance(value, str):
            templated.append(f)  # filled in once the other fields are known
        else:
            try:
                kwargs[name] = _check(tp, f.metadata, value, dotted)
            except _Invalid as exc:
                ctx.error(dotted, str(exc))
    if len(ctx.errors) > n_errors:
        return None
    for f in templated:
        try:
            lookup = functools.partial(_lookup_built, cls, kwargs)
            kwargs[f.name] = _check_templated(cls, f, hints[f.name], data[f.name], lookup)
        except _Invalid as exc:
            # blame an override if the template or a key it names came from one
            keys = [prefix + f.name] + [k for k in ctx.origins if "{" + k in data[f.name]]
            ctx.error(keys, str(exc))
    if len(ctx.errors) > n_errors:
        return None
    for keys, message in cls._cross_check(kwargs):
        ctx.error(keys, message)
    if len(ctx.errors) > n_errors:
        return None
    return cls(**kwargs)


def _lookup_built(cls: type, kwargs: Mapping[str, Any], dotted: str) -> Any:
    """Value of ``dotted`` from validated ``kwargs`` of ``cls``, defaults for what is missing."""
    first, _, rest = dotted.partition(".")
    if first in kwargs:
        obj = kwargs[first]
    else:
        f = _fields(cls)[first]
        obj = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return _get_path(obj, rest) if rest else obj


def _parse(data: Any, ctx: _Context) -> ExperimentConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{ctx.source}: the config must be a mapping of keys to values, got {_type_name(data)}")
    cfg = _build(ExperimentConfig, data, "", ctx)
    if ctx.errors:
        raise ConfigError(ctx.errors)
    return cfg


def parse_config(data: Mapping[str, Any], *, source: str = "<config>") -> ExperimentConfig:
    """Validate a mapping (e.g. from ``yaml.safe_load``) and return the resolved config.

    ``source`` names the origin in error messages (normally the file path).
    All problems found are reported together in one :class:`ConfigError`.
    """
    return _parse(data, _Context(source))


# --------------------------------------------------------------------------
# YAML files
# --------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
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


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_error(source: str, exc: yaml.YAMLError) -> ConfigError:
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


def _flow_depth(text: str) -> int:
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
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError(f"{source}: values nested more than {MAX_FLOW_DEPTH} levels deep; a config is a few lines of plain values")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None
    except RecursionError:
        raise ConfigError(f"{source}: values nested too deeply to be a config") from None
    if data is None:
        raise ConfigError(f"{source}: config file is empty (it needs at least 'name: ...')")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values, got {_type_name(data)}")
    return data


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, override (``dotted.key=value`` strings, as from ``--set``), validate and resolve."""
    data = read_yaml(path)
    data, origins = _apply_overrides(data, overrides)
    return _parse(data, _Context(str(path), origins))


# --------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------


def set_value(data: dict[str, Any], dotted: str, value: Any, *, source: str = "<override>") -> dict[str, Any]:
    """Set ``data[a][b] = value`` for ``dotted = 'a.b'``, checking key and value against the schema.

    Missing sections are created.  The value is validated (and converted, e.g.
    ``'1e-3'`` -> ``0.001``) like a value from a file; errors are prefixed
    with ``source``.  Mutates and returns ``data``.
    """
    parts = dotted.split(".")
    if not dotted or any(not p.strip() for p in parts):
        raise ConfigError(f"{source}: malformed key {dotted!r} (expected e.g. training.epochs)")
    parts = [p.strip() for p in parts]
    cls: type = ExperimentConfig
    node = data
    prefix = ""
    for i, part in enumerate(parts):
        fields_ = _fields(cls)
        if part not in fields_:
            raise ConfigError(f"{source}: {_unknown_key_message(cls, prefix, part)}")
        tp = _hints(cls)[part]
        key = prefix + part
        last = i == len(parts) - 1
        if last:
            if _is_section(tp):
                raise ConfigError(f"{source}: {key!r} is a section; set its keys one by one, e.g. {key}.{next(iter(_fields(tp)))}=...")
            meta = fields_[part].metadata
            if meta.get("template") and isinstance(value, str) and ("{" in value or "}" in value):
                node[part] = value  # placeholders are filled in (and checked) by parse_config
                return data
            try:
                node[part] = _check(tp, meta, value, key)
            except _Invalid as exc:
                raise ConfigError(f"{source}: {exc}") from None
            return data
        if not _is_section(tp):
            raise ConfigError(f"{source}: {key!r} is a single value, not a section; use --set {key}=...")
        child = node.get(part)
        if child is None:
            child = {}
        elif not isinstance(child, Mapping):
            raise ConfigError(f"{source}: cannot set {dotted!r}: {key} = {_shown_with_type(child)} in the config is not a mapping")
        node[part] = child = dict(child)
        node, cls, prefix = child, tp, key + "."
    return data  # pragma: no cover - loop always returns


def _parse_override(override: str) -> tuple[str, Any, str]:
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


def _apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    if isinstance(overrides, str):
        overrides = [overrides]
    out = copy.deepcopy(dict(data))
    origins: dict[str, str] = {}
    for override in overrides:
        key, value, source = _parse_override(override)
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
    return _apply_overrides(data, overrides)[0]


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
