"""The problems a diagnosis can find: one registry entry per problem, holding its code, the rule
that finds it in the measures (`autoencoders.diagnose.measures`), and the words that explain it,
with the evidence and the advice filled in from the measures and from the study's own numbers
(`evidence.json`, written from the study's summary by `python -m autoencoders findings`).

The rules' thresholds are the study's where it has one (a run is locked dark when its pixel MSE is
within 1% of the all-dark output's, as in the study's collapse rates) and otherwise set so that no
healthy run of the false-alarm benchmark (`benchmarks/bench_diagnose.py`) trips them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

#: locked dark (or bright): pixel MSE within this share of the all-dark (all-bright) output's
LOCK_TOLERANCE = 0.01
#: ... and the outputs' mean below this share of the data's (above it, from 1, for bright)
LOCKED_MEAN = 0.1
#: one output for every input (judged at epoch ends: an untrained model's outputs are all alike too): the outputs vary across images less than this share of the targets
CONSTANT_SPREAD = 0.05
#: saturated on the wrong side: more than this share of pixels at p < 0.01 or p > 0.99 with |p - y| > 0.5
SATURATED_SHARE = 0.05
EVIDENCE_FILE = Path(__file__).with_name("evidence.json")


@dataclass(frozen=True)
class Problem:
    """One problem found: its code (for scripts), the message (for people) and the numbers it rests on."""

    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "evidence": self.evidence}


@dataclass(frozen=True)
class Kind:
    code: str
    found: Callable[[Mapping[str, Any]], bool]
    #: str.format template over the measures and the study's evidence (`study`)
    message: str
    #: the measures the message rests on, copied into the Problem's evidence
    evidence: tuple[str, ...]


def number(value: float) -> str:
    """A measure as a person reads it: 3 significant digits, scientific when tiny."""
    return f"{value:.1e}" if value and abs(value) < 1e-3 else f"{value:.3g}"


def locked_dark(m: Mapping[str, Any]) -> bool:
    """No better than the all-dark output, with the outputs near 0 (an untrained model's outputs
    near 0.5 are no better either, but they are not locked)."""
    return m.get("dark_share", math.nan) >= 1.0 - LOCK_TOLERANCE and m["output_mean"] <= LOCKED_MEAN * m["target_mean"]


def locked_bright(m: Mapping[str, Any]) -> bool:
    return m.get("bright_share", math.nan) >= 1.0 - LOCK_TOLERANCE and 1.0 - m["output_mean"] <= LOCKED_MEAN * (1.0 - m["target_mean"])


def unlocked(m: Mapping[str, Any]) -> bool:
    return not locked_dark(m) and not locked_bright(m)


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            "input_range",
            lambda m: m.get("data_min", 0.0) < 0.0 or m.get("data_max", 1.0) > 1.0,
            "input range: the images hold values from {data_min} to {data_max}, but BCE and a sigmoid output need "
            "[0, 1] (outside it BCE goes negative and the model cannot reach its targets). Divide 8-bit images by 255.",
            ("data_min", "data_max"),
        ),
        Kind(
            "dark_output",
            locked_dark,
            "output locked dark{after}: mean output {output_mean} against the data's {target_mean}, pixel MSE "
            "{dark_share_pct} of the all-dark output's{gradient}. In the study, MSE through a sigmoid locked dark in "
            "{study[mse_locked]} of {study[runs]} runs of {study[setting]}, BCE in {study[bce_locked]} of {study[runs]}; "
            "of the {study[dark_first]} full-length runs dark after their first epoch, {study[stayed_dark]} were still dark "
            "at their last.{advice}",
            ("output_mean", "target_mean", "dark_share", "logit_gradient", "bce_logit_gradient", "step"),
        ),
        Kind(
            "bright_output",
            locked_bright,
            "output locked bright{after}: mean output {output_mean} against the data's {target_mean}, pixel MSE "
            "{bright_share_pct} of the all-bright output's{gradient}. The same lock as the dark one, on the other side: "
            "use BCE, or a lower learning rate.",
            ("output_mean", "target_mean", "bright_share", "logit_gradient", "bce_logit_gradient", "step"),
        ),
        Kind(
            "kl_collapse",
            lambda m: m.get("epoch_end", True) and m.get("active_units") == 0,
            "posterior collapse{after}: 0 of {latent_dim} latent dimensions active, KL {kl} nats per image, so the decoder "
            "ignores the code. In the study's VAE, a per-pixel mean reconstruction loss gave {study[mean_active]} active "
            "dimensions and KL {study[mean_kl]}; the reconstruction summed over the pixels gave {study[sum_active]} and "
            "{study[sum_kl]}.{advice}",
            ("active_units", "latent_dim", "kl", "step"),
        ),
        Kind(
            "constant_output",
            lambda m: (
                m.get("epoch_end", True) and m.get("spread", math.inf) < CONSTANT_SPREAD and unlocked(m) and m.get("active_units") != 0
            ),
            "the same output for every input{after}: the outputs vary across images {spread_pct} as much as the images do. {advice}",
            ("spread", "output_mean", "target_mean", "step"),
        ),
        Kind(
            "saturated_wrong",
            lambda m: m.get("saturated_wrong", 0.0) > SATURATED_SHARE and unlocked(m),
            "{saturated_pct} of the pixels are saturated on the wrong side (output below 0.01 or above 0.99, more than 0.5 "
            "from the target){after}: through a sigmoid, MSE's gradient vanishes there and BCE's does not{gradient}.",
            ("saturated_wrong", "logit_gradient", "bce_logit_gradient", "step"),
        ),
    )
}


@cache
def study_evidence() -> dict[str, Any]:
    """The study's numbers the messages quote (empty where the file is missing: the messages then
    say so instead of quoting)."""
    try:
        return json.loads(EVIDENCE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def advice(code: str, study: Mapping[str, Any]) -> str:
    """What helps, as far as the study's numbers say it does (nothing where they do not)."""
    if code == "dark_output" and study:
        said = " Use BCE." if study["bce_locked"] < study["mse_locked"] else " BCE locked as often."
        rates = [f"{c['locked']} of {c['runs']} ({c['arch']})" for c in study.get("lower_rate", [])]
        if rates:
            said += f" With MSE at Adam {study['lower_rate'][0]['learning_rate']:g}, the study's runs locked " + " and ".join(rates) + "."
        return said
    if code == "kl_collapse" and study and study["sum_active"] > study["mean_active"]:
        return " Sum the reconstruction loss over the pixels (or weight the KL down)."
    if code == "constant_output":
        return "Lower the learning rate; for a VAE, look at its code's KL per dimension."
    return ""


def words(code: str, measures: Mapping[str, Any]) -> str:
    """The message of problem `code` for these measures."""
    study = study_evidence().get(code, {})
    m = dict(measures)
    gradient = ""
    if "logit_gradient" in m and m.get("loss") in ("mse", "mae"):
        gradient = (
            f", {m['loss'].upper()}'s logit gradient {number(m['logit_gradient'])} (BCE's would be {number(m['bce_logit_gradient'])})"
        )
    values = {key: number(value) if isinstance(value, float) else value for key, value in m.items()}
    values |= {
        "after": f" after {m['step']} steps" if m.get("step") is not None else "",
        "gradient": gradient,
        "dark_share_pct": f"{100 * m.get('dark_share', math.nan):.1f}%",
        "bright_share_pct": f"{100 * m.get('bright_share', math.nan):.1f}%",
        "spread_pct": f"{100 * m.get('spread', math.nan):.1f}%",
        "saturated_pct": f"{100 * m.get('saturated_wrong', math.nan):.1f}%",
        "advice": advice(code, study),
        "study": StudyNumbers(study),
    }
    return KINDS[code].message.format(**values)


class StudyNumbers(dict):
    """The study's numbers for a message; a missing one reads as 'n/a' rather than failing."""

    def __missing__(self, key: str) -> str:
        return "n/a"


def find_problems(measures: Mapping[str, Any]) -> list[Problem]:
    """Every problem whose rule the measures meet, in the registry's order."""
    return [
        Problem(kind.code, words(kind.code, measures), {key: measures[key] for key in kind.evidence if measures.get(key) is not None})
        for kind in KINDS.values()
        if kind.found(measures)
    ]
