"""The words of config errors: values shown as the user wrote them, in bounded time, and what a
key accepts, read from its JSON Schema (the same schema configs/schema.json publishes), so the
messages, the schema and the config reference never disagree."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any


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
        elif alt.get("type") == "array" and "items" in alt:
            parts.append(f"a list, each {expected(alt['items'])}")
        elif alt.get("type") == "array":
            items = alt["prefixItems"]
            bounds = constraint(items[0])
            parts.append(f"a list of {len(items)} integers" + (f", each {bounds}" if bounds else ""))
        else:
            parts.append(" ".join(filter(None, [names[alt["type"]], constraint(alt)])))
    return " or ".join(parts + ["null"] * optional)


def join_or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def value_message(key: str, schema: Mapping[str, Any], value: Any, errors: Sequence[Mapping[str, Any]]) -> str:
    """The line for `key` (whose JSON Schema is `schema`) when pydantic refused its `value` (`errors`:
    its errors, deeper ones included)."""
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
