"""Tests of autoencoders.config: YAML -> validated, resolved, frozen dataclasses."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from autoencoders import config as C
from autoencoders.config import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    dump_yaml,
    load_config,
    parse_config,
    to_dict,
)
from autoencoders.models.architectures import ARCHITECTURES

REPO = Path(__file__).resolve().parents[2]
ARCHS = tuple(ARCHITECTURES)
DEFAULT_LATENT_DIM = {"dense": 32, "sparse_dense": 32, "deep_dense": 32, "vae": 2, "conv_vae": 2}
MNIST_CODE_SHAPE = {"conv": (4, 4, 8), "denoising_conv": (7, 7, 32), "res_conv": (7, 7, 4)}  # the blog's, and today's 7x7x4
# sweeps (configs/sweeps) are expanded and checked in test_sweep.py
SHIPPED_CONFIGS = sorted(p for p in REPO.glob("configs/**/*.yaml") if p.parent.name != "sweeps")


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, overrides=()) -> ExperimentConfig:
    return load_config(write(tmp_path, text), overrides)


def error_of(tmp_path: Path, text: str, overrides=()) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


def with_section(section: str, body: str) -> str:
    return f"name: t\n{section}:\n" + "".join(f"  {line}\n" for line in body.splitlines())


# ---------------------------------------------------------------- defaults


def test_minimal_config_gets_all_defaults(tmp_path):
    cfg = load_text(tmp_path, "name: minimal\n")
    assert to_dict(cfg) == {
        "name": "minimal",
        "seed": 0,
        "dataset": {
            "name": "mnist",
            "path": None,
            "color_mode": None,
            "image_size": None,
            "train_size": None,
            "test_size": None,
            "noise_factor": 0.0,
            "binarize": False,
        },
        "model": {
            "arch": "dense",
            "output": "sigmoid",
            "input_shape": [28, 28, 1],
            "latent_dim": 32,
            "intermediate_dim": 64,
            "activity_l1": 1e-4,
        },
        "loss": {"name": "bce", "reduction": "mean"},
        "training": {
            "epochs": 50,
            "batch_size": 256,
            "optimizer": "adam",
            "learning_rate": 0.001,
            "jit_compile": "auto",
            "eval_batch_size": 2048,
            "precision": "float32",
            "callbacks": [],
            "store_evaluation": True,
        },
    }


def test_full_config_values_are_kept(tmp_path):
    cfg = load_text(
        tmp_path,
        """
name: full-1.x_y
seed: 7
dataset: {name: fashion_mnist, train_size: 1000, test_size: 500, noise_factor: 0.5, binarize: true}
model: {arch: vae, latent_dim: 8, intermediate_dim: 128, activity_l1: 0}
loss: {name: mse, reduction: sum}
training: {epochs: 3, batch_size: 32, optimizer: rmsprop, learning_rate: 0.01, jit_compile: false,
           eval_batch_size: 100}
""",
    )
    assert cfg.seed == 7
    assert cfg.dataset == C.DatasetConfig("fashion_mnist", None, None, None, 1000, 500, 0.5, True)
    assert cfg.model == C.ModelConfig("vae", "sigmoid", (28, 28, 1), 8, 128, 0.0)
    assert cfg.loss == C.LossConfig("mse", "sum")
    assert cfg.training == C.TrainingConfig(3, 32, "rmsprop", 0.01, False, 100)


def test_empty_section_means_defaults(tmp_path):
    cfg = load_text(tmp_path, "name: t\ntraining:\n")
    assert cfg.training == C.TrainingConfig()


def test_configs_are_frozen(tmp_path):
    cfg = load_text(tmp_path, "name: t\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.training.epochs = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "u"  # type: ignore[misc]


def test_choice_tuples_match_the_type_hints():
    hints = typing.get_type_hints(C.LossConfig)
    assert typing.get_args(hints["name"]) == C.LOSSES == ("bce", "mse", "mae", "gaussian", "continuous_bernoulli")
    assert C.REDUCTIONS == ("mean", "sum")
    assert C.OPTIMIZERS == ("adam", "adadelta", "rmsprop", "sgd")


def test_dataset_and_arch_choices_are_the_registries_names():
    from autoencoders.data.datasets import DATASETS

    schemas = C.field_schemas()
    assert schemas["dataset.name"]["enum"] == list(DATASETS)
    assert schemas["model.arch"]["enum"] == list(ARCHS)
    assert {"mnist", "fashion_mnist", "natural_patches", "natural_patches_rgb", "npz", "image_folder"} <= set(DATASETS)


# ---------------------------------------------------------------- Literal fields

LITERAL_FIELDS = {
    "dataset.name": ["'mnist'", "'fashion_mnist'", "'natural_patches'", "'npz'", "'image_folder'"],
    "model.arch": [repr(a) for a in ARCHS],
    "model.output": ["'sigmoid'", "'linear'"],
    "loss.name": ["'bce'", "'mse'"],
    "loss.reduction": ["'mean'", "'sum'"],
    "training.optimizer": ["'adam'", "'adadelta'", "'rmsprop'", "'sgd'"],
    "training.precision": ["'float32'", "'mixed_bfloat16'"],
    "training.jit_compile": ["true", "false", "'auto'"],
    "dataset.color_mode": ["'grayscale'", "'rgb'", "null"],
}


def _literal_fields_in_schema() -> set[str]:
    """Keys whose value is a choice: an enum or a constant in one of the schema's alternatives."""
    return {
        key for key, schema in C.field_schemas().items() if any("enum" in alt or "const" in alt for alt in schema.get("anyOf", [schema]))
    }


def test_literal_field_list_covers_the_schema():
    assert _literal_fields_in_schema() == set(LITERAL_FIELDS)


@pytest.mark.parametrize("dotted", sorted(LITERAL_FIELDS))
def test_literal_field_rejects_bad_choice(tmp_path, dotted):
    section, key = dotted.split(".")
    message = error_of(tmp_path, with_section(section, f"{key}: bogus_choice"))
    path = str(tmp_path / "x.yaml")
    assert message.startswith(f"{path}: {dotted} = 'bogus_choice': must be ")
    for choice in LITERAL_FIELDS[dotted]:
        assert choice in message


def test_literal_message_exact_and_suggests(tmp_path):
    path = str(tmp_path / "x.yaml")
    assert error_of(tmp_path, with_section("loss", "name: l2")) == (
        f"{path}: loss.name = 'l2': must be one of 'bce', 'mse', 'mae', 'gaussian', 'continuous_bernoulli'"
    )
    assert "(did you mean 'conv_vae'?)" in error_of(tmp_path, with_section("model", "arch: conv_vea"))


def test_literal_rejects_non_string(tmp_path):
    message = error_of(tmp_path, with_section("loss", "name: 5"))
    assert "loss.name = 5 (int): must be one of 'bce', 'mse', 'mae', 'gaussian', 'continuous_bernoulli'" in message


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), ("auto", "auto")])
def test_jit_compile_accepts_bool_or_auto(tmp_path, text, expected):
    value = load_text(tmp_path, with_section("training", f"jit_compile: {text}")).training.jit_compile
    assert value == expected and type(value) is type(expected)


# ---------------------------------------------------------------- unknown keys


def test_unknown_top_level_key(tmp_path):
    path = str(tmp_path / "x.yaml")
    message = error_of(tmp_path, "name: t\nsed: 3\n")
    assert message == (
        f"{path}: unknown key 'sed' (did you mean 'seed'?); allowed at the top level: name, seed, dataset, model, loss, training"
    )


def test_unknown_nested_key_with_suggestion(tmp_path):
    path = str(tmp_path / "x.yaml")
    message = error_of(tmp_path, with_section("training", "epoch: 10"))
    assert message == (
        f"{path}: unknown key 'training.epoch' (did you mean 'training.epochs'?); "
        "allowed in 'training': epochs, batch_size, optimizer, learning_rate, jit_compile, eval_batch_size, precision, callbacks, store_evaluation"
    )


def test_unknown_key_without_close_match_lists_allowed(tmp_path):
    message = error_of(tmp_path, with_section("loss", "zzz: 1"))
    assert "unknown key 'loss.zzz'; allowed in 'loss': name, reduction" in message
    assert "did you mean" not in message


def test_key_in_wrong_section_suggests_right_section(tmp_path):
    message = error_of(tmp_path, "name: t\nlatent_dim: 8\n")
    assert "unknown key 'latent_dim' (did you mean 'model.latent_dim'?)" in message


def test_ambiguous_key_in_wrong_section_lists_candidates(tmp_path):
    message = error_of(tmp_path, with_section("training", "arch: conv"))
    assert "unknown key 'training.arch' (did you mean 'model.arch'?)" in message


def test_grid_is_an_unknown_key_for_now(tmp_path):
    assert "unknown key 'grid'" in error_of(tmp_path, "name: t\ngrid: {loss.name: [bce, mse]}\n")


# ---------------------------------------------------------------- types


def test_str_for_int(tmp_path):
    path = str(tmp_path / "x.yaml")
    assert error_of(tmp_path, with_section("training", "epochs: ten")) == (
        f"{path}: training.epochs = 'ten' (str): expected an integer >= 1"
    )


def test_bool_is_not_an_int(tmp_path):
    message = error_of(tmp_path, with_section("training", "epochs: true"))
    assert "training.epochs = true (bool): expected an integer >= 1" in message


def test_integral_float_is_not_an_int(tmp_path):
    message = error_of(tmp_path, with_section("training", "epochs: 5.0"))
    assert "training.epochs = 5.0 (float): expected an integer >= 1" in message


def test_list_for_section(tmp_path):
    message = error_of(tmp_path, "name: t\ntraining: [1, 2]\n")
    assert "training = [1, 2] (list): expected a mapping" in message


def test_scalar_for_section(tmp_path):
    assert "model = 'dense' (str): expected a mapping" in error_of(tmp_path, "name: t\nmodel: dense\n")


def test_int_accepted_for_float_and_converted(tmp_path):
    cfg = load_text(tmp_path, "name: t\ntraining: {learning_rate: 1}\ndataset: {noise_factor: 0}\n")
    assert cfg.training.learning_rate == 1.0 and type(cfg.training.learning_rate) is float
    assert type(cfg.dataset.noise_factor) is float


@pytest.mark.parametrize("text,value", [("1e-3", 0.001), ("1E-4", 0.0001), ("'2.5e-2'", 0.025)])
def test_numeric_string_accepted_for_float_in_file(tmp_path, text, value):
    # PyYAML reads 1e-3 (no dot) as a string; float fields accept it.
    assert yaml.safe_load("1e-3") == "1e-3"
    cfg = load_text(tmp_path, with_section("training", f"learning_rate: {text}"))
    assert cfg.training.learning_rate == pytest.approx(value)
    assert type(cfg.training.learning_rate) is float


@pytest.mark.parametrize("text", ["abc", "true", "[0.1]", ".inf", "1e999"])
def test_non_numbers_rejected_for_float(tmp_path, text):
    message = error_of(tmp_path, with_section("training", f"learning_rate: {text}"))
    assert "training.learning_rate = " in message
    assert "> 0" in message


def test_non_bool_for_bool(tmp_path):
    message = error_of(tmp_path, with_section("dataset", "binarize: 1"))
    assert "dataset.binarize = 1 (int): expected true or false" in message


def test_numeric_name_must_be_quoted(tmp_path):
    message = error_of(tmp_path, "name: 2024\n")
    assert "name = 2024 (int): expected a string" in message
    assert "quote" in message
    assert load_text(tmp_path, "name: '2024'\n").name == "2024"


def test_optional_int_accepts_null(tmp_path):
    cfg = load_text(tmp_path, with_section("dataset", "train_size: null\ntest_size: 10000"))
    assert cfg.dataset.train_size is None and cfg.dataset.test_size == 10000


def test_all_errors_reported_together(tmp_path):
    message = error_of(tmp_path, "name: t\ntraining: {epochs: 0, batch_size: x}\nloss: {name: l1}\n")
    lines = message.splitlines()
    assert len(lines) == 3
    assert any("training.epochs" in line for line in lines)
    assert any("training.batch_size" in line for line in lines)
    assert any("loss.name" in line for line in lines)


# ---------------------------------------------------------------- ranges


def test_train_size_range_message(tmp_path):
    path = str(tmp_path / "x.yaml")
    assert error_of(tmp_path, with_section("dataset", "train_size: 0")) == f"{path}: dataset.train_size = 0: must be >= 1"
    assert error_of(tmp_path, with_section("dataset", "train_size: 70000")) == (
        f"{path}: dataset.train_size = 70000: must be between 1 and 60000 (mnist has 60000 training images)"
    )


@pytest.mark.parametrize(
    "section,body,expected",
    [
        ("dataset", "train_size: 60001", "dataset.train_size = 60001: must be between 1 and 60000"),
        ("dataset", "test_size: 10001", "dataset.test_size = 10001: must be between 1 and 10000"),
        ("dataset", "noise_factor: -0.1", "dataset.noise_factor = -0.1: must be >= 0"),
        ("model", "latent_dim: 0", "model.latent_dim = 0: must be >= 1"),
        ("model", "intermediate_dim: 0", "model.intermediate_dim = 0: must be >= 1"),
        ("model", "activity_l1: -1.0e-3", "model.activity_l1 = -0.001: must be >= 0"),
        ("training", "epochs: 0", "training.epochs = 0: must be >= 1"),
        ("training", "batch_size: -5", "training.batch_size = -5: must be >= 1"),
        ("training", "learning_rate: 0", "training.learning_rate = 0.0: must be > 0"),
        ("training", "eval_batch_size: 0", "training.eval_batch_size = 0: must be >= 1"),
    ],
)
def test_out_of_range(tmp_path, section, body, expected):
    assert expected in error_of(tmp_path, with_section(section, body))


def test_negative_seed(tmp_path):
    assert "seed = -1: must be >= 0" in error_of(tmp_path, "name: t\nseed: -1\n")


def test_range_bounds_are_inclusive(tmp_path):
    cfg = load_text(tmp_path, with_section("dataset", "train_size: 60000\ntest_size: 1"))
    assert (cfg.dataset.train_size, cfg.dataset.test_size) == (60000, 1)


# ---------------------------------------------------------------- name


def test_name_is_required(tmp_path):
    message = error_of(tmp_path, "seed: 1\n")
    assert message.startswith(f"{tmp_path / 'x.yaml'}: missing required key 'name'")


@pytest.mark.parametrize("bad", ["a b", "-x", ".hidden", "../up", "a/b", "''", "é"])
def test_name_pattern_rejected(tmp_path, bad):
    message = error_of(tmp_path, f"name: {bad}\n")
    assert "name = " in message and "must match" in message and C.NAME_PATTERN in message


@pytest.mark.parametrize("good", ["a", "A1", "bce-vs-mse_1.0", "0start"])
def test_name_pattern_accepted(tmp_path, good):
    assert load_text(tmp_path, f"name: '{good}'\n").name == good


# ---------------------------------------------------------------- name templates


def test_name_template_filled_from_resolved_config(tmp_path):
    cfg = load_text(
        tmp_path,
        "name: run-{dataset.name}-{loss.name}-{model.arch}-l{model.latent_dim}-s{seed}\nmodel: {arch: vae}\n",
    )
    assert cfg.name == "run-mnist-bce-vae-l2-s0"


def test_name_template_sees_overrides(tmp_path):
    text = "name: quick-{loss.name}-s{seed}\n"
    assert load_text(tmp_path, text, ["loss.name=mse", "seed=4"]).name == "quick-mse-s4"
    assert load_text(tmp_path, text).name == "quick-bce-s0"


def test_name_template_via_override(tmp_path):
    cfg = load_text(tmp_path, "name: plain\n", ["name=o-{loss.name}", "loss.name=mse"])
    assert cfg.name == "o-mse"
    message = error_of(tmp_path, "name: plain\n", ["name=o-{loss.nme}"])
    assert message.startswith("--set name=o-{loss.nme}: name = 'o-{loss.nme}': unknown placeholder")


def test_name_template_format_spec(tmp_path):
    cfg = load_text(tmp_path, "name: lr{training.learning_rate:g}-e{training.epochs:03d}\n")
    assert cfg.name == "lr0.001-e050"


def test_name_template_unknown_placeholder(tmp_path):
    message = error_of(tmp_path, "name: x-{loss.nme}\n")
    assert message.startswith(f"{tmp_path / 'x.yaml'}: name = 'x-{{loss.nme}}': unknown placeholder {{loss.nme}}")
    assert "(did you mean {loss.name}?)" in message


@pytest.mark.parametrize("bad", ["x-{seed", "x-}", "x-{seed:q}", "x-{name}", "x-{model}"])
def test_name_template_bad_placeholder(tmp_path, bad):
    message = error_of(tmp_path, f"name: '{bad}'\n")
    assert message.startswith(f"{tmp_path / 'x.yaml'}: name = {bad!r}: ")


def test_name_template_result_must_match_pattern(tmp_path):
    message = error_of(tmp_path, "name: 'a {seed}'\n")
    assert "name = 'a 0': must match" in message and "(expanded from 'a {seed}')" in message


def test_name_template_dumped_expanded(tmp_path):
    cfg = load_text(tmp_path, "name: t-{loss.name}\n", ["loss.name=mse"])
    dumped = dump_yaml(cfg)
    assert "name: t-mse\n" in dumped
    assert load_config(write(tmp_path, dumped, "r.yaml")) == cfg


def test_name_template_in_direct_construction():
    cfg = ExperimentConfig(name="d-{model.arch}-{model.latent_dim}", model=C.ModelConfig(arch="conv_vae"))
    assert cfg.name == "d-conv_vae-2"


# ---------------------------------------------------------------- files


def test_broken_yaml_reports_line_and_column(tmp_path):
    path = str(tmp_path / "x.yaml")
    message = error_of(tmp_path, "name: t\ntraining:\n  epochs: [1, 2\n  batch_size: 3\n")
    assert message.startswith(f"{path}: invalid YAML at line ")
    assert "column" in message


def test_bad_indentation_yaml(tmp_path):
    message = error_of(tmp_path, "name: t\ntraining:\n  epochs: 3\n batch_size: 4\n")
    assert "invalid YAML at line 4, column 2" in message


def test_duplicate_keys_rejected(tmp_path):
    message = error_of(tmp_path, "name: t\ntraining:\n  epochs: 3\n  epochs: 4\n")
    assert "duplicate key 'epochs'" in message and "line 4" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: config file not found"


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"])
def test_empty_file(tmp_path, text):
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'x.yaml'}: config file is empty")


@pytest.mark.parametrize("text,kind", [("- a\n- b\n", "list"), ("just a string\n", "str")])
def test_non_mapping_file(tmp_path, text, kind):
    message = error_of(tmp_path, text)
    assert message == f"{tmp_path / 'x.yaml'}: the config must be a mapping of keys to values, got {kind}"


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_parse_config_source_and_non_mapping():
    with pytest.raises(ConfigError, match=r"^<config>: the config must be a mapping"):
        parse_config([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^here.yaml: unknown key 'x'"):
        parse_config({"name": "t", "x": 1}, source="here.yaml")


def test_config_error_is_value_error():
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------- overrides


def test_overrides_parse_types(tmp_path):
    cfg = load_text(
        tmp_path,
        "name: t\nmodel: {arch: vae, latent_dim: 8}\n",
        [
            "training.epochs=5",
            "loss.name=mse",
            "model.latent_dim=null",
            "dataset.binarize=true",
            "training.jit_compile=false",
            "seed=3",
        ],
    )
    assert cfg.training.epochs == 5 and type(cfg.training.epochs) is int
    assert cfg.loss.name == "mse"
    assert cfg.model.latent_dim == DEFAULT_LATENT_DIM["vae"]  # null -> arch default
    assert cfg.dataset.binarize is True
    assert cfg.training.jit_compile is False
    assert cfg.seed == 3


@pytest.mark.parametrize("text,value", [("1e-3", 0.001), ("1E-4", 0.0001), ("0.5", 0.5), ("2", 2.0)])
def test_override_numeric_string_to_float(tmp_path, text, value):
    cfg = load_text(tmp_path, "name: t\n", [f"training.learning_rate={text}"])
    assert cfg.training.learning_rate == pytest.approx(value)
    assert type(cfg.training.learning_rate) is float


def test_override_float_rejects_abc(tmp_path):
    message = error_of(tmp_path, "name: t\n", ["training.learning_rate=abc"])
    assert message == ("--set training.learning_rate=abc: training.learning_rate = 'abc' (str): expected a number > 0")


def test_override_creates_section(tmp_path):
    cfg = load_text(tmp_path, "name: t\n", ["loss.name=mse"])
    assert cfg.loss == C.LossConfig(name="mse", reduction="mean")


def test_apply_overrides_returns_new_dict():
    data = {"name": "t", "training": {"epochs": 3}}
    out = apply_overrides(data, ["training.epochs=7", "loss.reduction=sum", "training.learning_rate=1e-3"])
    assert out == {
        "name": "t",
        "training": {"epochs": 7, "learning_rate": 0.001},
        "loss": {"reduction": "sum"},
    }
    assert data == {"name": "t", "training": {"epochs": 3}}


def test_later_override_wins_and_beats_file(tmp_path):
    cfg = load_text(tmp_path, "name: t\ntraining: {epochs: 9}\n", ["training.epochs=1", "training.epochs=2"])
    assert cfg.training.epochs == 2


def test_override_fixes_bad_file_value(tmp_path):
    cfg = load_text(tmp_path, "name: t\ntraining: {epochs: ten}\n", ["training.epochs=10"])
    assert cfg.training.epochs == 10


def test_override_bad_value_names_the_override(tmp_path):
    message = error_of(tmp_path, "name: t\n", ["training.epochs=abc"])
    assert message == "--set training.epochs=abc: training.epochs = 'abc' (str): expected an integer >= 1"


def test_override_bad_choice_names_the_override(tmp_path):
    message = error_of(tmp_path, "name: t\n", ["loss.name=l2"])
    assert message == "--set loss.name=l2: loss.name = 'l2': must be one of 'bce', 'mse', 'mae', 'gaussian', 'continuous_bernoulli'"


@pytest.mark.parametrize("bad", ["training.epochs", "=5", "training..epochs=5", "training.=5"])
def test_malformed_override(bad):
    with pytest.raises(ConfigError) as info:
        apply_overrides({"name": "t"}, [bad])
    assert str(info.value).startswith(f"--set {bad}: malformed")


def test_override_unknown_key(tmp_path):
    message = error_of(tmp_path, "name: t\n", ["training.epoch=5"])
    assert message.startswith("--set training.epoch=5: unknown key 'training.epoch'")
    assert "(did you mean 'training.epochs'?)" in message
    assert "allowed in 'training': epochs," in message


def test_override_unknown_section(tmp_path):
    message = error_of(tmp_path, "name: t\n", ["trainig.epochs=5"])
    assert message.startswith("--set trainig.epochs=5: unknown key 'trainig' (did you mean 'training'?)")


def test_override_cannot_replace_a_whole_section():
    with pytest.raises(ConfigError, match=r"^--set training=\{epochs: 3\}: 'training' is a section"):
        apply_overrides({"name": "t"}, ["training={epochs: 3}"])


def test_override_into_leaf_is_rejected():
    with pytest.raises(ConfigError, match=r"'seed' is a single value, not a section"):
        apply_overrides({"name": "t"}, ["seed.x=3"])


def test_override_unparsable_yaml_value():
    with pytest.raises(ConfigError, match=r"^--set name=\[oops: cannot parse the value"):
        apply_overrides({"name": "t"}, ["name=[oops"])


def test_override_value_may_contain_equals():
    with pytest.raises(ConfigError, match=r"name = 'a=b': must match"):
        apply_overrides({"name": "t"}, ["name=a=b"])


# ---------------------------------------------------------------- latent_dim


@pytest.mark.parametrize("arch", ARCHS)
def test_latent_dim_resolved_to_arch_default(tmp_path, arch):
    cfg = load_text(tmp_path, f"name: t\nmodel: {{arch: {arch}}}\n")
    assert cfg.model.latent_dim == DEFAULT_LATENT_DIM.get(arch)
    if arch in MNIST_CODE_SHAPE:
        assert cfg.model.latent_dim is None
        assert cfg.model.code_shape == MNIST_CODE_SHAPE[arch]
    else:
        assert cfg.model.code_shape == (DEFAULT_LATENT_DIM[arch],)


def test_default_latent_dims_are_the_registry_entries():
    assert {name: a.latent_dim for name, a in ARCHITECTURES.items() if a.latent_dim} == DEFAULT_LATENT_DIM
    assert {name for name, a in ARCHITECTURES.items() if a.latent_dim is None} == set(MNIST_CODE_SHAPE)


def test_explicit_latent_dim_kept(tmp_path):
    assert load_text(tmp_path, "name: t\nmodel: {arch: conv_vae, latent_dim: 16}\n").model.latent_dim == 16


@pytest.mark.parametrize("arch", ["conv", "denoising_conv"])
def test_latent_dim_rejected_for_conv(tmp_path, arch):
    message = error_of(tmp_path, f"name: t\nmodel: {{arch: {arch}, latent_dim: 16}}\n")
    assert message.startswith(f"{tmp_path / 'x.yaml'}: model.latent_dim = 16: ")
    assert f"arch {arch!r} has a code shape set by its conv/pool layers" in message


def test_conv_rule_via_override_names_the_override(tmp_path):
    message = error_of(tmp_path, "name: t\nmodel: {arch: conv}\n", ["model.latent_dim=8"])
    assert message.startswith("--set model.latent_dim=8: model.latent_dim = 8: arch 'conv'")


def test_conv_latent_dim_null_is_fine(tmp_path):
    assert load_text(tmp_path, "name: t\nmodel: {arch: conv, latent_dim: null}\n").model.latent_dim is None


# ---------------------------------------------------------------- dump / round trip


@pytest.mark.parametrize("arch", ARCHS)
def test_dump_load_round_trip(tmp_path, arch):
    cfg = load_text(
        tmp_path,
        f"name: rt-{arch}\nmodel: {{arch: {arch}}}\ntraining: {{learning_rate: 1e-4, jit_compile: true}}\n"
        "dataset: {train_size: 100, noise_factor: 0.3}\nloss: {name: mse, reduction: sum}\n",
    )
    dumped = dump_yaml(cfg)
    path = write(tmp_path, dumped, "resolved.yaml")
    again = load_config(path)
    assert again == cfg
    assert dump_yaml(again) == dumped


def test_dump_keeps_declared_order_and_real_latent_dim(tmp_path):
    cfg = load_text(tmp_path, "name: t\nmodel: {arch: vae}\n")
    data = yaml.safe_load(dump_yaml(cfg))
    assert list(data) == ["name", "seed", "dataset", "model", "loss", "training"]
    assert list(data["training"]) == [
        "epochs",
        "batch_size",
        "optimizer",
        "learning_rate",
        "jit_compile",
        "eval_batch_size",
        "precision",
        "callbacks",
        "store_evaluation",
    ]
    assert data["model"]["latent_dim"] == 2
    assert data["training"]["jit_compile"] == "auto"


def test_round_trip_of_odd_but_valid_names(tmp_path):
    for name in ["1e3", "123", "true", "null", "1.0"]:
        cfg = parse_config({"name": name})
        again = load_config(write(tmp_path, dump_yaml(cfg), "r.yaml"))
        assert again.name == name


# ---------------------------------------------------------------- direct construction and helpers


def test_direct_construction_is_validated_and_resolved():
    cfg = ExperimentConfig(name="t", model=C.ModelConfig(arch="vae"))
    assert cfg.model.latent_dim == 2
    with pytest.raises(ConfigError, match=r"training.epochs = 0: must be >= 1"):
        C.TrainingConfig(epochs=0)
    with pytest.raises(ConfigError, match=r"code shape set by its conv/pool layers"):
        C.ModelConfig(arch="conv", latent_dim=3)


def test_replace_helper(tmp_path):
    cfg = load_text(tmp_path, "name: t\n")
    new = C.replace(cfg, {"training.epochs": 3, "loss.name": "mse"})
    assert (new.training.epochs, new.loss.name) == (3, "mse")
    assert cfg.training.epochs == 50
    assert C.replace(cfg, {"model.arch": "conv"}).model.latent_dim is None
    assert C.replace(cfg, {"model.arch": "vae"}).model.latent_dim == 2
    with pytest.raises(ConfigError, match="unknown key 'training.epoch'"):
        C.replace(cfg, {"training.epoch": 3})


# ---------------------------------------------------------------- import weight


def test_config_module_does_not_import_tensorflow():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import autoencoders.config, sys; print('tensorflow' in sys.modules, 'keras' in sys.modules, 'numpy' in sys.modules)",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False False False"


# ---------------------------------------------------------------- shipped configs


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=[str(p.relative_to(REPO)) for p in SHIPPED_CONFIGS])
def test_shipped_config_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)


# ---------------------------------------------------------------- datasets, paths and image shapes


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("{name: npz}", "dataset.path is required for dataset 'npz'"),
        ("{name: image_folder}", "dataset.path is required for dataset 'image_folder'"),
        (
            "{name: mnist, path: x.npz}",
            "dataset 'mnist' is built in and takes no path; for your own images set dataset.name to npz or image_folder",
        ),
        ("{name: npz, path: x.npz, color_mode: rgb}", "dataset.color_mode = 'rgb': only dataset image_folder takes it, not 'npz'"),
        ("{name: mnist, image_size: [32, 32]}", "dataset.image_size = [32, 32]: only dataset image_folder takes it"),
        ("{name: image_folder, path: d, image_size: [32]}", "dataset.image_size = [32] (list): expected a list of 2 integers, each >= 1"),
        ("{name: image_folder, path: d, image_size: [0, 32]}", "dataset.image_size = [0, 32]: each value must be >= 1"),
        (
            "{name: natural_patches, train_size: 40365}",
            "dataset.train_size = 40365: must be between 1 and 40364 (natural_patches has 40364 training images)",
        ),
        ("{name: natural_patches_rgb, test_size: 9041}", "dataset.test_size = 9041: must be between 1 and 9040"),
        ("{name: mnist_rgb}", "dataset.name = 'mnist_rgb': must be one of 'mnist', 'fashion_mnist', 'natural_patches'"),
    ],
)
def test_dataset_keys_are_checked_against_the_dataset_entry(tmp_path, dataset, expected):
    message = error_of(tmp_path, f"name: t\ndataset: {dataset}\n")
    assert expected in message
    assert message.startswith(str(tmp_path / "x.yaml"))


def test_user_data_sizes_have_no_upper_bound_until_the_data_is_read(tmp_path):
    cfg = load_text(tmp_path, "name: t\ndataset: {name: npz, path: mine.npz, train_size: 1000000}\n")
    assert cfg.dataset.train_size == 1_000_000
    assert cfg.model.input_shape is None  # only the file can tell; training fills it in


@pytest.mark.parametrize(
    ("dataset", "shape"),
    [
        ("{name: mnist}", [28, 28, 1]),
        ("{name: natural_patches}", [28, 28, 1]),
        ("{name: natural_patches_rgb}", [32, 32, 3]),
        ("{name: image_folder, path: d, image_size: [40, 30], color_mode: grayscale}", [40, 30, 1]),
        ("{name: image_folder, path: d, image_size: [40, 30]}", [40, 30, 3]),  # rgb, Keras's default
    ],
)
def test_input_shape_is_resolved_from_the_dataset_where_the_config_fixes_it(tmp_path, dataset, shape):
    cfg = load_text(tmp_path, f"name: t\ndataset: {dataset}\n")
    assert list(cfg.model.input_shape) == shape
    assert yaml.safe_load(dump_yaml(cfg))["model"]["input_shape"] == shape
    assert load_config(write(tmp_path, dump_yaml(cfg), "again.yaml")) == cfg


def test_image_folder_color_mode_defaults_to_rgb_like_keras(tmp_path):
    assert load_text(tmp_path, "name: t\ndataset: {name: image_folder, path: d}\n").dataset.color_mode == "rgb"
    assert load_text(tmp_path, "name: t\ndataset: {name: mnist}\n").dataset.color_mode is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("{input_shape: [28, 28, 2]}", "model.input_shape = [28, 28, 2]: 2 channels; allowed: 1 (grey) or 3 (RGB)"),
        ("{input_shape: [15, 28, 1]}", "model.input_shape = [15, 28, 1]: images of 15x28; height and width must be at least 16"),
        ("{input_shape: [28, 28]}", "model.input_shape = [28, 28] (list): expected a list of 3 integers"),
        ("{input_shape: [32, 32, 3]}", "the images of dataset 'mnist' are [28, 28, 1]; leave model.input_shape out (null)"),
    ],
)
def test_bad_input_shapes(tmp_path, model, expected):
    assert expected in error_of(tmp_path, f"name: t\nmodel: {model}\n")


def test_replace_derives_the_input_shape_again_when_the_data_changes(tmp_path):
    cfg = load_text(tmp_path, "name: t\n")
    rgb = C.replace(cfg, {"dataset.name": "natural_patches_rgb"})
    assert rgb.model.input_shape == (32, 32, 3)
    assert C.replace(rgb, {"model.input_shape": [32, 32, 3], "training.epochs": 2}).model.input_shape == (32, 32, 3)


def test_set_override_takes_a_dataset_with_a_path(tmp_path):
    cfg = load_text(tmp_path, "name: t-{dataset.name}\n", ["dataset.name=npz", "dataset.path=data/mine.npz"])
    assert (cfg.name, cfg.dataset.path) == ("t-npz", "data/mine.npz")


@pytest.mark.parametrize(
    ("shape", "code"), [((28, 28, 1), (4, 4, 8)), ((32, 32, 3), (5, 5, 8)), ((21, 26, 1), (4, 4, 8)), ((20, 20, 1), (3, 3, 8))]
)
def test_conv_code_shape_follows_the_padding_rule(shape, code):
    """conv pads each side up to the next 8k - 4 (28 needs nothing); its code is k x k x 8."""
    assert C.ModelConfig(arch="conv", input_shape=shape).code_shape == code


@pytest.mark.parametrize(("shape", "code"), [((28, 28, 1), (7, 7, 32)), ((32, 32, 3), (8, 8, 32)), ((21, 26, 1), (6, 7, 32))])
def test_denoising_code_shape_follows_the_padding_rule(shape, code):
    """denoising_conv pads each side up to a multiple of 4; its code is a quarter of that."""
    assert C.ModelConfig(arch="denoising_conv", input_shape=shape).code_shape == code


@pytest.mark.parametrize(("shape", "code"), [((28, 28, 1), (7, 7, 4)), ((32, 32, 3), (8, 8, 4)), ((21, 26, 1), (6, 7, 4))])
def test_res_conv_code_shape_follows_the_padding_rule(shape, code):
    """res_conv pads each side up to a multiple of 4 (docs/training.md); its code is a quarter of
    that, with 4 channels."""
    assert C.ModelConfig(arch="res_conv", input_shape=shape).code_shape == code
