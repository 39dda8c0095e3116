"""The schema's published forms, both generated from the config's dataclasses so neither is typed
by hand: configs/schema.json (editors validate and complete configs against it) and the docs' config
reference page (`python -m autoencoders schema`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from autoencoders.config.files import dump_yaml
from autoencoders.config.messages import expected
from autoencoders.config.schema import SECTIONS, field_schemas, json_schema, leaf_keys, parse_config

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
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|")
    example = dump_yaml(parse_config({"name": "my-run"}))
    return env.get_template("reference.md.j2").render(sections=reference_sections(), schema_file=SCHEMA_FILE, example=example)


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
