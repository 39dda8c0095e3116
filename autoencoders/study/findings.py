"""The Findings: the study's answers, rendered whole from its summary.json by one template.

Every number *and every comparative word* of docs/findings.md and of the README's answer table
comes from here: `context` reads the summary and decides each direction ("BCE better", "sooner",
"no significant difference") with the rule the report's tables use (`comparison.winner`: the
Holm-adjusted p against α, the sign of the paired difference), and the templates in
`autoencoders/templates/` only lay the words out. The templates hold no digits of their own
(a test checks), so every number in the document is the summary's.

`python -m autoencoders findings results/study/summary.json` prints the page; `--out` and
`--readme` write it and the README's answer table (what `make study` does).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

from autoencoders.data.datasets import DATASETS
from autoencoders.evaluate.comparison import ALPHA, METRICS, significant, winner
from autoencoders.report.document import fmt, times
from autoencoders.study.collapse import collapse_rate
from autoencoders.study.collapse_rates import DATASETS as COLLAPSE_DATASETS
from autoencoders.study.collapse_rates import EARLY_STEPS
from autoencoders.study.speed import REACH_SHARE, epoch_words, median_epoch
from autoencoders.study.today import ARCHS as TODAY_ARCHS

TEMPLATES = Path(__file__).parent / "templates"
ANSWER_START, ANSWER_END = "<!-- answer-table:start -->", "<!-- answer-table:end -->"

ARCH_WORDS = {"dense": "dense", "deep_dense": "deep dense", "conv": "conv", "denoising_conv": "denoising conv", "res_conv": "res_conv"}
SETTING_WORDS = {
    ("adam", 0.001): "Adam 1e-3",
    ("adam", 0.01): "Adam 1e-2",
    ("adam", 0.0001): "Adam 1e-4",
    ("adadelta", 1.0): "Adadelta (lr 1.0)",
}
#: where each answer's details are in the study report: its section and its figure (study.py's headings)
STUDY = {
    "landscapes": {"section": 1, "figure": "1-landscapes.png"},
    "scale": {"section": 2, "figure": "2-scale.png"},
    "gradients": {"section": 3, "figure": "3-saturated.png"},
    "outcome": {"section": 4, "figure": None},
    "vae": {"section": 5, "figure": "5-vae-reconstructions.png"},
    "binarized": {"section": 6, "figure": None},
    "collapse": {"section": 7, "figure": "7-collapse-rates.png"},
    "today": {"section": 9, "figure": None},
}
VERDICT_WORDS = {"bce": "BCE better", "mse": "MSE better", None: "no significant difference"}
SOONER_WORDS = {"bce": "BCE sooner", "mse": "MSE sooner", None: "no significant difference"}


def sci(value: float) -> str:
    """2 significant digits, exponent without padding: 2.6e-6 (Python's own 2.6e-06 reads worse)."""
    mantissa, _, exponent = f"{value:.2g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def upper_bound(value: float) -> str:
    """An upper bound in 2 significant digits, rounded up so that it still bounds: 0.00205 -> 0.0021."""
    digits = 1 - math.floor(math.log10(abs(value))) if value else 0
    bound = math.ceil(value * 10**digits) / 10**digits
    return sci(bound)


def listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return "" if not items else items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def family_name(arch: str, dataset: str) -> str:
    """'conv · Fashion-MNIST': a model and a dataset as every table of the page names them."""
    return f"{ARCH_WORDS.get(arch, arch)} · {DATASETS[dataset].title}"


def group_parts(title: str) -> tuple[str, str]:
    """A group's model and dataset, the first two parts of its title ("dense · mnist · 30 epochs")."""
    arch, dataset = title.split(" · ")[:2]
    return arch, dataset


def judged(entry: dict) -> dict:
    """An outcome difference of the summary with its verdict decided afresh from its numbers."""
    won = winner(entry["metric"], entry["diff"], entry["p_holm"])
    twin = entry["tested_as"]  # a summary older than one test per quantity is refused: its relative effects are unpaired
    return {
        **entry,
        "label": METRICS[entry["metric"]][0],
        "won": won,
        "words": VERDICT_WORDS[won],
        "tested_as": twin,
        "tested_as_label": METRICS[twin][0] if twin else None,
    }


def cell(summary: dict, arch: str, dataset: str, loss: str, optimizer: str = "adam", learning_rate: float = 0.001) -> dict:
    """One collapse-rate cell (study section 7) with its rate in words and its Wilson interval."""
    [c] = [
        c
        for c in summary["collapse"]["cells"]
        if (c["arch"], c["dataset"], c["loss"], c["optimizer"], c["learning_rate"]) == (arch, dataset, loss, optimizer, learning_rate)
    ]
    return {**c, "words": str(collapse_rate(c["collapsed"], c["runs"])), "setting": SETTING_WORDS[(optimizer, learning_rate)]}


def median_or_never(epochs: list) -> str:
    """`study.median_epoch` in words: "never" when the median run never reached the target."""
    return epoch_words(median_epoch(epochs))


def landscapes(summary: dict) -> dict:
    land = summary["landscapes"]
    floors = [{"title": DATASETS[name].title, **floor} for name, floor in land["floors"].items()]
    minimisers = {loss: max(abs(t[f"{loss}_argmin"] - t["y"]) for t in land["targets"]) for loss in ("bce", "mse", "mae", "log_cosh")}
    [ours] = [o for o in land["ours"] if o["run"].startswith("study-dense-mnist-bce-")]
    return {
        "floors": floors,
        "mnist": land["floors"]["mnist"],
        "blog": land["blog"],
        "blog_dense": land["blog"][0],
        "ours": ours,
        "targets": len(land["targets"]),
        "farthest_minimiser": sci(max(minimisers.values())),
    }


def outcome(summary: dict, section: str = "outcome") -> dict:
    """The outcome table (study section 4, or the binarized control): each comparison's verdicts."""
    groups = []
    for g in summary[section]["groups"]:
        arch, dataset = group_parts(g["title"])
        diffs = [judged(d) for d in g["differences"]]
        groups.append(
            {
                "arch": arch,
                "dataset": dataset,
                "name": family_name(arch, dataset),
                "seeds": min(d["seeds"] for d in diffs),
                "diffs": diffs,
                "by_metric": {d["metric"]: d for d in diffs},
                "others": g.get("others", {}),
            }
        )
    counted = [d for g in groups for d in g["diffs"] if not d.get("tested_as")]
    tally = {won: sum(d["won"] == won for d in counted) for won in ("bce", "mse", None)}
    raw = {won: sum(winner(d["metric"], d["diff"], d["p"]) == won for d in counted) for won in ("bce", "mse", None)}
    metrics = list(dict.fromkeys(d["metric"] for g in groups for d in g["diffs"]))
    per_metric = [
        {
            "label": METRICS[m][0],
            "count": {won: sum(d["won"] == won for g in groups for d in g["diffs"] if d["metric"] == m) for won in ("bce", "mse", None)},
        }
        for m in metrics
    ]
    own_objective = {
        "bce": sum(d["won"] == "bce" and d["metric"] in ("bce", "bce_excess") for d in counted),
        "mse": sum(d["won"] == "mse" and d["metric"] == "mse" for d in counted),
    }
    return {
        "groups": groups,
        "tests": len(counted),
        "tally": tally,
        "own_objective": own_objective,
        "raw": raw,
        "per_metric": per_metric,
        "metrics": [METRICS[m][0] for m in metrics],
    }


def speed(summary: dict) -> dict:
    """Which loss reaches the fixed target sooner, per comparison (study section 3's sign tests)."""
    rows = []
    for t in summary["gradients"].get("reach", []):
        arch, dataset = group_parts(t["group"])
        sooner = ("bce" if t["bce_sooner"] > t["mse_sooner"] else "mse") if significant(t["p_holm"]) else None
        binarized = " (binarized)" if "binarized" in t["group"] else ""
        rows.append(
            {
                **t,
                "name": family_name(arch, dataset) + binarized,
                "bce_median": median_or_never(t["bce"]),
                "mse_median": median_or_never(t["mse"]),
                "sooner": sooner,
                "words": "every seed tied: no test" if t["p"] is None else SOONER_WORDS[sooner],
            }
        )
    tested = [r for r in rows if r["p"] is not None]
    return {
        "scored_on_parameter": any(r["name"].startswith("continuous Bernoulli") for r in rows),
        "rows": rows,
        "count": {won: sum(r["sooner"] == won for r in rows) for won in ("bce", "mse", None)},
        "tested": len(tested),
        "untested": len(rows) - len(tested),
        "seeds_bce_sooner": sum(r["bce_sooner"] for r in rows),
        "seeds_mse_sooner": sum(r["mse_sooner"] for r in rows),
    }


def collapse(summary: dict) -> dict:
    cells = summary["collapse"]["cells"]
    bce = [c for c in cells if c["loss"] == "bce"]
    dense_mse = [c for c in cells if c["arch"] == "dense" and c["loss"] == "mse"]
    contrast = {
        r["measure"]: {**r, "mse_median": float(np.median(r["mse"])), "bce_median": float(np.median(r["bce"]))}
        for r in summary["collapse"]["loss_contrast"]
        if (r["arch"], r["dataset"], r["optimizer"], r["learning_rate"]) == ("conv", "mnist", "adam", 0.001)
    }
    locked = max(c["collapsed"] / c["runs"] for c in cells if c["loss"] == "mse")
    conv = {
        key: cell(summary, "conv", dataset, loss, *setting)
        for key, (dataset, loss, setting) in {
            "mnist": ("mnist", "mse", ("adam", 0.001)),
            "mnist_fast": ("mnist", "mse", ("adam", 0.01)),
            "mnist_slow": ("mnist", "mse", ("adam", 0.0001)),
            "mnist_adadelta": ("mnist", "mse", ("adadelta", 1.0)),
            "fashion": ("fashion_mnist", "mse", ("adam", 0.001)),
            "natural": ("natural_patches", "mse", ("adam", 0.001)),
            "mnist_bce": ("mnist", "bce", ("adam", 0.001)),
        }.items()
    }
    grid = [
        {
            "name": family_name(arch, dataset),
            "cells": [cell(summary, arch, dataset, "mse", *setting) for setting in SETTING_WORDS],
        }
        for arch in ("conv", "denoising_conv", "dense")
        for dataset in ("mnist", "fashion_mnist", "natural_patches")
        if sum((c["arch"], c["dataset"], c["loss"]) == (arch, dataset, "mse") for c in cells) == len(SETTING_WORDS)
    ]
    return {
        "conv": conv,
        "grid": grid,
        "settings": list(SETTING_WORDS.values()),
        "bce_collapsed": sum(c["collapsed"] for c in bce),
        "bce_runs": sum(c["runs"] for c in bce),
        "bce_settings": len(bce),
        "dense_collapsed": sum(c["collapsed"] for c in dense_mse),
        "dense_runs": sum(c["runs"] for c in dense_mse),
        "total_runs": summary["collapse"]["runs"],
        "worst_mse_share": locked,
        "step50": {m: contrast[f"{m}_step50"] for m in ("mean_output", "logit_grad", "dead_units")},
        "step50_p_holm": max(contrast[f"{m}_step50"]["p_holm"] for m in ("mean_output", "logit_grad", "dead_units")),
        "persistence": summary["collapse"]["persistence"],
    }


def today(summary: dict) -> dict:
    """Today's practice (study section 9): each setting against sigmoid + BCE, counted over the
    model × dataset families; the short answer names the settings that beat it more often than they
    lost (none: it stands). Dark runs and the cost are per setting, from the same rows."""
    section = summary.get("today") or {}
    families = section.get("families") or []
    if not families:
        return {"families": [], "runs": 0}
    tally = section["tally"]
    settings = section["settings"]
    rows = [
        {
            "name": family_name(f["arch"], f["dataset"]),
            "seeds": min(r["runs"] for r in f["rows"] if r["runs"]),
            "cells": [
                {
                    "setting": r["setting"],
                    "mse": (r["metrics"]["mse"] or {}).get("mean"),
                    "ssim": (r["metrics"]["ssim"] or {}).get("mean"),
                    "runs": r["runs"],
                    "dark": r["dark_last"],
                    "constant": r["constant"],
                    "better": sum(c["verdict"] == "better" for c in r["contrasts"].values()),
                    "worse": sum(c["verdict"] == "worse" for c in r["contrasts"].values()),
                    "tests": sum(c["p"] is not None for c in r["contrasts"].values()),
                }
                for r in f["rows"]
            ],
        }
        for f in families
    ]
    all_rows = [r for f in families for r in f["rows"]]
    dark = {
        label: {
            "dark": sum(r["dark_last"] for r in all_rows if r["setting"] == label),
            "runs": sum(r["runs"] for r in all_rows if r["setting"] == label),
        }
        for label in settings
    }
    constant = {
        label: None
        if any(r["constant"] is None for r in all_rows if r["setting"] == label and r["runs"])
        else sum(r["constant"] for r in all_rows if r["setting"] == label and r["runs"])
        for label in settings
    }
    archs = list(dict.fromkeys(c["arch"] for c in section["cost"]))
    cost = [
        {
            "arch": ARCH_WORDS.get(arch, arch),
            "by_setting": {c["setting"]: {**c, "reach": epoch_words(c["reach_epoch"])} for c in section["cost"] if c["arch"] == arch},
        }
        for arch in archs
    ]
    rated_cells = (section.get("collapse") or {}).get("rows", [])

    def pooled_counts(head: str, loss: str | None = None) -> dict:
        """Dark and constant runs over every cell of `head` (and `loss`) that was trained."""
        cells = [x for r in rated_cells if r["head"] == head and loss in (None, r["loss"]) for x in r["rates"] if "runs" in x]
        constant = None if any(x["constant"] is None for x in cells) else sum(x["constant"] for x in cells)
        return {"collapsed": sum(x["collapsed"] for x in cells), "constant": constant, "runs": sum(x["runs"] for x in cells)}

    return {
        "collapse": {
            "rows": [{**r, "name": family_name(r["arch"], r["dataset"])} for r in rated_cells],
            "settings": (section.get("collapse") or {}).get("settings", []),
            "untrained_families": [
                family_name(a, d)
                for a in TODAY_ARCHS
                for d in COLLAPSE_DATASETS
                if not any((r["arch"], r["dataset"]) == (a, d) for r in rated_cells)
            ],
            "untrained_cells": any(rate.get("runs") is None for r in rated_cells for rate in r["rates"]),
            "trained_archs": [ARCH_WORDS.get(a, a) for a in TODAY_ARCHS if any(r["arch"] == a for r in rated_cells)],
            "linear": pooled_counts("linear"),
            "linear_by_loss": {loss: pooled_counts("linear", loss) for loss in ("mse", "mae")},
            "sigmoid_mse": pooled_counts("sigmoid", "mse"),
            "sigmoid_bce": pooled_counts("sigmoid", "bce"),
        },
        "runs": section["runs"],
        "reference": section["reference"],
        "training": section["training"],
        "settings": settings,
        "families": rows,
        "tally": tally,
        "ahead": [t for t in tally if t["better"] > t["worse"]],
        "dark": dark,
        "constant": constant,
        "constant_settings": [label for label in settings if constant[label]],
        "constant_spread": section["constant_spread"],
        "cost": cost,
        "missing": [family_name(*group_parts(name)) for name in section["missing"]],
        "mostly_neither": [t["setting"] for t in tally if t["None"] > t["better"] + t["worse"]],
        "epochs": max(r["epochs"] for f in families for r in f["rows"]),
        "metrics": [METRICS[m][0] for m in section["metrics"]],
        "seeds": sorted({row["seeds"] for row in rows}),
    }


def scale(summary: dict) -> dict:
    [fashion] = [r for r in summary["scale"]["real"] if r["run"].startswith("study-dense-fashion_mnist-bce-")]
    return {"random": summary["scale"]["random_pairs"], "fashion": fashion}


def vae(summary: dict) -> dict:
    rows = [{"name": name, **v, "collapsed": v["active_dims"] == 0} for name, v in summary["vae"].items()]
    collapsed = [r for r in rows if r["collapsed"]]
    return {
        "scored_on_parameter": any(r["name"].startswith("continuous Bernoulli") for r in rows),
        "rows": rows,
        "collapsed": collapsed,
        "healthy": [r for r in rows if not r["collapsed"]],
        "max_collapsed_kl": sci(max(r["kl"] for r in collapsed)) if collapsed else None,
    }


def verdict_words(diffs: list[dict]) -> str:
    """'BCE better on SSIM; no significant difference on pixel MSE and PSNR', from the verdicts."""
    own = [d for d in diffs if not d.get("tested_as")]  # a metric shown with another's test is not a second verdict
    parts = [
        f"{VERDICT_WORDS[won]} on {listed([d['label'] for d in own if d['won'] == won])}"
        for won in ("bce", "mse", None)
        if any(d["won"] == won for d in own)
    ]
    return "; ".join(parts)


def context(summary: dict) -> dict:
    """Everything the templates say, computed from the study's summary."""
    out = outcome(summary)
    binar = outcome(summary, "binarized")
    dense_mnist = next(g for g in out["groups"] if (g["arch"], g["dataset"]) == ("dense", "mnist"))
    natural = [g for g in out["groups"] if g["dataset"] == "natural_patches"]
    mse_own = [(g, g["by_metric"]["mse"]) for g in out["groups"] if g["by_metric"]["mse"]["won"] == "mse"]
    return {
        "alpha": ALPHA,
        "summary": summary,
        "study": STUDY,
        "early_steps": EARLY_STEPS,
        "reach_share": REACH_SHARE,
        "landscapes": landscapes(summary),
        "outcome": out,
        "binarized": binar,
        "binarized_words": verdict_words(binar["groups"][0]["diffs"]) if binar["groups"] else "",
        "grey_dense_words": verdict_words(dense_mnist["diffs"]),
        "dense_mnist": dense_mnist,
        "natural": [{**g, "words": verdict_words(g["diffs"])} for g in natural],
        "mse_own_metric": [{"name": g["name"], **d} for g, d in mse_own],
        "speed": speed(summary),
        "collapse": collapse(summary),
        "scale": scale(summary),
        "vae": vae(summary),
        "today": today(summary),
        "mae": {"mnist": dense_mnist, "mae_mse": dense_mnist["others"].get("mae", {}).get("mse")},
        "sci": sci,
        "listed": listed,
    }


#: with `render(..., mark=True)` each value a template prints is wrapped in these, so a test can
#: tell the page's computed text from the template's own words
MARK_START, MARK_END = "\x02", "\x03"


def environment(mark: bool = False):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=(lambda value: f"{MARK_START}{value}{MARK_END}") if mark else None,
    )
    env.filters["sci"] = sci
    env.filters["bound"] = upper_bound
    env.filters["epoch_words"] = epoch_words
    env.filters["pct"] = lambda x, digits=0: f"{100 * x:.{digits}f}%"
    env.filters["capitalize_first"] = lambda text: text[:1].upper() + text[1:]
    env.filters["f"] = format  # {{ x | f(".4f") }} is f"{x:.4f}"
    env.filters["fmt"] = fmt
    env.filters["times"] = times
    env.filters["median_epoch"] = median_epoch
    return env


def render(summary: dict, template: str = "findings.md.j2", mark: bool = False) -> str:
    """The page (or, with "answers.md.j2", the README's answer table) for one study summary."""
    text = environment(mark).get_template(template).render(**context(summary))
    return re.sub(r"\n{3,}", "\n\n", text)


def with_answer_table(readme: str, table: str) -> str:
    """`readme` with the block between the answer-table markers replaced by `table`; ValueError
    when it lacks them, in order."""
    head, start, rest = readme.partition(ANSWER_START)
    _, end, tail = rest.partition(ANSWER_END)
    if not (start and end):
        raise ValueError(f"has no answer table to replace: it needs a line {ANSWER_START} and, after it, {ANSWER_END}")
    return f"{head}{ANSWER_START}\n{table.strip()}\n{ANSWER_END}{tail}"


#: the collapse-rate setting whose numbers the diagnosis quotes for a dark lock: the blog's conv
#: model on MNIST at Keras's default Adam rate, one epoch
LOCK_SETTING = {"arch": "conv", "dataset": "mnist", "optimizer": "adam", "learning_rate": 0.001}


def diagnosis_evidence(summary: dict) -> dict:
    """The study's numbers that `autoencoders.diagnose` quotes (its evidence.json): the library
    reads them as data, so it never imports the study."""
    cells = summary["collapse"]["cells"]

    def cell(loss: str, **setting) -> dict:
        return next(c for c in cells if c["loss"] == loss and all(c[key] == value for key, value in (LOCK_SETTING | setting).items()))

    mse, bce = cell("mse"), cell("bce")
    lower = [cell("mse", arch=arch, learning_rate=0.0001) for arch in ("conv", "denoising_conv")]
    persistence, vae = summary["collapse"]["persistence"], summary["vae"]
    return {
        "source": "results/study/summary.json",
        "dark_output": {
            "setting": f"the blog's conv autoencoder on MNIST, Adam {LOCK_SETTING['learning_rate']:g}, one epoch",
            "mse_locked": mse["collapsed"],
            "bce_locked": bce["collapsed"],
            "runs": mse["runs"],
            "dark_first": persistence["dark_first"],
            "stayed_dark": persistence["dark_first_and_last"],
            "lower_rate": [
                {"arch": c["arch"], "learning_rate": c["learning_rate"], "locked": c["collapsed"], "runs": c["runs"]} for c in lower
            ],
        },
        "kl_collapse": {
            "mean_active": vae["MSE (mean)"]["active_dims"],
            "mean_kl": f"{vae['MSE (mean)']['kl']:.1e}",
            "sum_active": vae["MSE (sum)"]["active_dims"],
            "sum_kl": f"{vae['MSE (sum)']['kl']:.3g}",
        },
    }


def findings_main(argv: list[str] | None = None) -> int:
    """Each way in which the inputs can be wrong is said with the file it concerns, exit 2, and
    nothing is written unless everything was rendered."""
    import jinja2

    from autoencoders.atomic import write_text

    parser = argparse.ArgumentParser(prog="python -m autoencoders findings", description="Render the Findings from a study's summary.json.")
    parser.add_argument("summary", type=Path, help="the study's summary.json, e.g. results/study/summary.json")
    parser.add_argument("--out", type=Path, help="write the page there (e.g. docs/findings.md) instead of printing it")
    parser.add_argument("--readme", type=Path, help="also rewrite the answer table between the markers of this README")
    parser.add_argument("--evidence", type=Path, help="also write the numbers the diagnosis quotes (autoencoders/diagnose/evidence.json)")
    args = parser.parse_args(argv)

    def refuse(path: Path, problem: str) -> int:
        print(f"error: {path}: {problem}", file=sys.stderr)
        return 2

    try:
        summary = json.loads(args.summary.read_text())
    except (OSError, ValueError) as e:
        return refuse(args.summary, f"cannot be read as JSON ({type(e).__name__}: {e})")
    try:
        page, table = render(summary), render(summary, "answers.md.j2")
        evidence = json.dumps(diagnosis_evidence(summary), indent=2) + "\n"
    except (ValueError, KeyError, TypeError, StopIteration, jinja2.UndefinedError) as e:
        return refuse(args.summary, f"not a study summary this version can read ({type(e).__name__}: {e})")
    readme = None
    if args.readme:
        try:
            readme = with_answer_table(args.readme.read_text(), table)
        except (OSError, ValueError) as e:
            return refuse(args.readme, str(e) if isinstance(e, ValueError) else f"cannot be read ({e.strerror or e})")
    try:
        if args.out:
            write_text(args.out, page)
        else:
            sys.stdout.write(page)
        if readme is not None:
            write_text(args.readme, readme)
        if args.evidence:
            write_text(args.evidence, evidence)
    except OSError as e:
        return refuse(Path(e.filename or args.out or args.readme), f"cannot be written ({e.strerror or e})")
    return 0
