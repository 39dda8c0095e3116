"""The published forms of the config schema: configs/schema.json (editors validate and complete
configs against it) and docs/config-reference.md, both generated from the config's dataclasses.

The schema is checked with `jsonschema`, a validator independent of pydantic that made it: it must
accept every shipped config and refuse what the loader refuses."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from autoencoders import config as C

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(REPO.glob("configs/*/*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schema.json"


def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / C.SCHEMA_FILE).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_and_reference_are_what_the_dataclasses_generate(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "autoencoders", "schema", "--json", tmp_path / "schema.json", "--docs", tmp_path / "reference.md"],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    fix = "regenerate with: python -m autoencoders schema --json configs/schema.json --docs docs/config-reference.md"
    assert (tmp_path / "schema.json").read_text() == (REPO / C.SCHEMA_FILE).read_text(), fix
    assert (tmp_path / "reference.md").read_text() == (REPO / C.REFERENCE_FILE).read_text(), fix


def test_reference_lists_every_key_once_with_its_default():
    page = (REPO / C.REFERENCE_FILE).read_text()
    keys = C.leaf_keys()
    assert len(keys) == 2 + sum(len(dataclasses.fields(cls)) for cls in C.SECTIONS.values())  # name and seed, then the sections'
    for key in keys:
        assert page.count(f"| `{key}` |") == 1, key
    assert "| `training.epochs` | `50` | an integer >= 1 |" in page
    assert "| `loss.name` | `bce` | one of 'bce', 'mse', 'mae', 'gaussian', 'continuous_bernoulli' |" in page


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(REPO)) for p in SHIPPED])
def test_every_shipped_config_points_editors_at_the_schema_and_passes_it(path):
    assert path.read_text().splitlines()[0] == SCHEMA_LINE
    assert (path.parent / SCHEMA_LINE.split("=", 1)[1]).resolve() == (REPO / C.SCHEMA_FILE).resolve()
    errors = [error.message for error in schema_validator().iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize(
    ("text", "loader_says"),
    [
        ("name: t\ntraining: {epochs: 0}\n", "training.epochs = 0: must be >= 1"),
        ("name: t\ntraining: {epochs: true}\n", "training.epochs = true (bool): expected an integer >= 1"),
        ("name: t\nloss: {name: l2}\n", "loss.name = 'l2': must be one of"),
        ("name: t\ntraining: {epoch: 3}\n", "unknown key 'training.epoch'"),
        ("seed: 1\n", "missing required key 'name'"),
        ("name: t\nmodel: {input_shape: [28, 28]}\n", "expected a list of 3 integers"),
        ("name: t\ndataset: {color_mode: cmyk}\n", "dataset.color_mode = 'cmyk': must be one of 'grayscale', 'rgb', null"),
        ("name: t\ntraining: {learning_rate: 0}\n", "training.learning_rate = 0.0: must be > 0"),
        ("name: t\ngrid: {training.epoch: [1, 2]}\n", None),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(tmp_path, text, loader_says):
    assert list(schema_validator().iter_errors(yaml.safe_load(text))), "the schema accepted a config the loader refuses"
    if loader_says is None:  # a sweep's grid: refused by the sweep expansion (tests/sweep/test_sweep.py)
        return
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(C.ConfigError) as info:
        C.load_config(path)
    assert loader_says in str(info.value)


def test_the_schema_accepts_a_full_config_the_loader_accepts(tmp_path):
    text = C.dump_yaml(C.parse_config({"name": "full", "model": {"arch": "vae"}, "training": {"jit_compile": False}}))
    assert list(schema_validator().iter_errors(yaml.safe_load(text))) == []
