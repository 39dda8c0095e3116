"""Section 9 of the study: does "use BCE" survive today's practice?

The collapse the study measures is MSE *through a sigmoid*. Many of today's image autoencoders
(those inside latent-diffusion models, for instance) end in a linear output, train with L2 or L1,
and use residual blocks with normalisation. The `configs/sweeps/today_*.yaml` sweeps train four settings (`SETTINGS`: sigmoid + BCE, sigmoid + MSE,
linear + MSE, linear + MAE) on three models (dense, conv, res_conv) and three datasets, the same
seeds for every setting. Each run keeps only config.yaml, history.csv and metrics.json: its
evaluation on the full test set (reconstructions clipped to [0, 1], so every head is judged on one
scale) is stored in metrics.json when it finishes (`store_run_evaluation`), so the section is
remade from the committed folders without the models.

Each setting is compared with sigmoid + BCE (`REFERENCE`, the blog's choice) paired by seed
(`comparison.paired_test`), on the study's outcome metrics; the tests of one model and dataset
are one family (Holm). The cost of a setting is its training time per run and the epoch its
validation pixel MSE first reaches the speed target of section 3 (`speed.REACH_SHARE` of the
all-dark output's), and a run whose validation output is dark (section 7's rule) is counted after
its first epoch and at its last, and a run with one output for every input (its recorded
`output_spread` under the diagnosis's `CONSTANT_SPREAD`: an output that is the same image, dark or
not) at its end. The `today_collapse_*` sweeps measure the collapse as section 7
does (one epoch, 20 seeds a cell) for the linear heads and for res_conv with a sigmoid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.diagnose.measures import SPREAD_IMAGES
from autoencoders.diagnose.problems import CONSTANT_SPREAD
from autoencoders.evaluate.comparison import ALPHA, METRICS, first_better, holm_adjusted, paired_test, significant, summarize
from autoencoders.study import collapse
from autoencoders.study.collapse_rates import DATASETS, Cell, CollapseRun, by_cell, load_runs, rate_text, rates
from autoencoders.study.speed import REACH_SHARE, median_epoch, reach_epoch

PREFIX = "today-"
SWEEPS = "configs/sweeps/today_{sigmoid,linear}*.yaml"
ARCHS = ("dense", "conv", "res_conv")
RUNS, COLLAPSE = "runs", "collapse"  # the two folders under --today: outcome runs, one-epoch collapse-rate runs
COLLAPSE_PREFIX = "collapse-today-"
COLLAPSE_SWEEPS = "configs/sweeps/today_collapse_*.yaml"
COLLAPSE_SETTINGS = (("adam", 0.001), ("adam", 0.01))


@dataclass(frozen=True)
class Setting:
    """An output head and the loss trained on it."""

    head: str
    loss: str

    @property
    def label(self) -> str:
        return f"{self.head} + {self.loss.upper()}"


SETTINGS = (Setting("sigmoid", "bce"), Setting("sigmoid", "mse"), Setting("linear", "mse"), Setting("linear", "mae"))
REFERENCE = SETTINGS[0]  # the blog's choice: every other setting is compared with it


def optimizer_words(optimizer: str, learning_rate: float) -> str:
    """'Adam 1e-3': an optimizer and its rate as the Findings write them."""
    mantissa, _, exponent = f"{learning_rate:.0e}".partition("e")
    return f"{optimizer.capitalize()} {mantissa}e{int(exponent)}"


def setting_of(run: CollapseRun) -> Setting:
    return Setting(run.config.model.output, run.config.loss.name)


def evaluation_of(run: CollapseRun, metric: str) -> float:
    """The run's per-image mean of `metric` over the full test set, as training stored it."""
    return float(run.metrics["evaluation"][metric])


def verdict(metric: str, diff: float, p_holm: float | None) -> str | None:
    """'better' or 'worse' than the reference when the Holm-adjusted p is below α (the rule of every
    table, `comparison.significant`), the direction from the sign of setting − reference; else None."""
    if not significant(p_holm):
        return None
    return "better" if first_better(metric, diff) else "worse"


def family(arch: str, dataset: str, members: Sequence[CollapseRun], metrics: Sequence[str]) -> dict:
    """One model on one dataset: each setting's metrics over seeds, and each setting against the
    reference paired by seed, the family's tests Holm-adjusted together."""
    by_setting = {s: {r.config.seed: r for r in members if setting_of(r) == s} for s in SETTINGS}
    reference = by_setting[REFERENCE]
    contrasts = []
    for setting in SETTINGS[1:]:
        seeds = sorted(set(by_setting[setting]) & set(reference))
        for metric in metrics:
            mine = [evaluation_of(by_setting[setting][s], metric) for s in seeds]
            theirs = [evaluation_of(reference[s], metric) for s in seeds]
            diff, p, _ = paired_test(mine, theirs)
            contrasts.append(
                {
                    "setting": setting.label,
                    "metric": metric,
                    "seeds": len(seeds),
                    "diff": diff.mean,
                    "ci": [diff.ci_low, diff.ci_high],
                    "p": p,
                }
            )
    family_size = sum(c["p"] is not None for c in contrasts)
    for c, p_holm in zip(contrasts, holm_adjusted([c["p"] for c in contrasts]), strict=True):
        c.update(p_holm=p_holm, family_size=family_size, verdict=verdict(c["metric"], c["diff"], p_holm))
    rows = []
    for setting in SETTINGS:
        runs = list(by_setting[setting].values())
        values = {m: summarize([evaluation_of(r, m) for r in runs]) if runs else None for m in metrics}
        rows.append(
            {
                "setting": setting.label,
                "head": setting.head,
                "loss": setting.loss,
                "runs": len(runs),
                "metrics": {m: None if s is None else {"mean": s.mean, "ci": [s.ci_low, s.ci_high]} for m, s in values.items()},
                "train_seconds": float(np.median([r.metrics["train_seconds"] for r in runs])) if runs else None,
                "reach_epoch": median_epoch([reach_epoch(r.history, REACH_SHARE * r.dark_mse) for r in runs]) if runs else None,
                "dark_first": sum(collapse.is_collapsed(r.history[0]["val_pixel_mse"], r.dark_mse) for r in runs),
                "dark_last": sum(collapse.is_collapsed(r.history[-1]["val_pixel_mse"], r.dark_mse) for r in runs),
                "constant": constant_outputs(runs),
                "epochs": max((len(r.history) for r in runs), default=0),
                "contrasts": {c["metric"]: c for c in contrasts if c["setting"] == setting.label},
            }
        )
    return {"arch": arch, "dataset": dataset, "rows": rows, "contrasts": contrasts}


def constant_outputs(runs: Sequence[CollapseRun]) -> int | None:
    """How many of `runs` ended with one output for every input: their `output_spread` (recorded
    by training) under the diagnosis's `CONSTANT_SPREAD`. None when a run lacks the measure."""
    if not runs or any("output_spread" not in r.metrics for r in runs):
        return None
    # a diverged run's spread is NaN, stored as null: not one output for every input
    return sum(r.metrics["output_spread"] is not None and r.metrics["output_spread"] < CONSTANT_SPREAD for r in runs)


def cost(found: Sequence[CollapseRun]) -> list[dict]:
    """Per model and setting, over all its runs (every dataset): the median training seconds per
    run, and the median epoch its validation pixel MSE first reached the speed target (inf: the
    median run never did)."""
    out = []
    for arch in ARCHS:
        for setting in SETTINGS:
            runs = [r for r in found if r.config.model.arch == arch and setting_of(r) == setting]
            if runs:
                out.append(
                    {
                        "arch": arch,
                        "setting": setting.label,
                        "runs": len(runs),
                        "seconds": float(np.median([r.metrics["train_seconds"] for r in runs])),
                        "reach_epoch": median_epoch([reach_epoch(r.history, REACH_SHARE * r.dark_mse) for r in runs]),
                    }
                )
    return out


def tally(families: Sequence[dict]) -> list[dict]:
    """Per setting, how many of its tests against the reference came out better, worse or neither."""
    out = []
    for setting in SETTINGS[1:]:
        verdicts = [c["verdict"] for f in families for c in f["contrasts"] if c["setting"] == setting.label and c["p"] is not None]
        out.append({"setting": setting.label, "tests": len(verdicts), **{str(v): verdicts.count(v) for v in ("better", "worse", None)}})
    return out


def collapse_rates(folder: Path) -> dict:
    """Section 7's collapse rate (one epoch, 20 seeds, Wilson 95% intervals) for each model, dataset,
    head and loss of the `today_collapse_*` sweeps, at each of `COLLAPSE_SETTINGS`."""
    found, problems = load_runs(folder, COLLAPSE_PREFIX) if folder.is_dir() else ([], [])
    cells = by_cell(found)
    cell_rates = rates(cells)
    rows = []
    for arch in ARCHS:
        for dataset in DATASETS:
            for setting in SETTINGS:
                keys = [Cell(arch, dataset, optimizer, lr, setting.loss, setting.head) for optimizer, lr in COLLAPSE_SETTINGS]
                if not any(k in cell_rates for k in keys):
                    continue
                rates_here = []
                for k in keys:
                    r, diverged = cell_rates.get(k), sum(run.diverged for run in cells.get(k, []))
                    constant = constant_outputs(cells.get(k, []))
                    rates_here.append(
                        {
                            "text": rate_text(r, diverged),
                            "constant": constant,
                            "constant_text": None if constant is None else rate_text(collapse.collapse_rate(constant, r.runs)),
                        }
                        | (
                            {}
                            if r is None
                            else {"collapsed": r.collapsed, "runs": r.runs, "rate": r.rate, "ci": [r.low, r.high], "diverged": diverged}
                        )
                    )
                rows.append(
                    {
                        "arch": arch,
                        "dataset": dataset,
                        "setting": setting.label,
                        "head": setting.head,
                        "loss": setting.loss,
                        "rates": rates_here,
                    }
                )
    return {
        "folder": str(folder),
        "sweeps": COLLAPSE_SWEEPS,
        "runs": len(found),
        "not_used": problems,
        "settings": [optimizer_words(optimizer, lr) for optimizer, lr in COLLAPSE_SETTINGS],
        "rows": rows,
    }


def section(folder: Path | None, metrics: Sequence[str]) -> tuple[list[str], dict]:
    """Section 9 from `folder` (results/study/today): its `runs/` for the outcome table and the
    cost, its `collapse/` for the collapse rates."""
    from autoencoders.study.findings import environment

    runs_folder = None if folder is None else folder / RUNS
    found, problems = load_runs(runs_folder, PREFIX) if runs_folder is not None and runs_folder.is_dir() else ([], [])
    problems += [
        f"{r.path.name}: metrics.json holds no evaluation (training stores it as the run ends)"
        for r in found
        if "evaluation" not in r.metrics
    ]
    found = [r for r in found if "evaluation" in r.metrics]
    families = []
    first: dict[tuple, CollapseRun] = {}
    for r in found:
        key = (r.config.model.arch, r.config.dataset.name, setting_of(r), r.config.seed)
        if key in first:
            problems.append(f"{r.path.name}: the same model, data, setting and seed as {first[key].path.name}; only one is compared")
        else:
            first[key] = r
    found = list(first.values())
    for arch in ARCHS:
        for dataset in DATASETS:
            members = [r for r in found if (r.config.model.arch, r.config.dataset.name) == (arch, dataset)]
            if members:
                families.append(family(arch, dataset, members, metrics))
    summary = {
        "folder": None if runs_folder is None else str(runs_folder),
        "sweeps": SWEEPS,
        "runs": len(found),
        "not_used": problems,
        "reference": REFERENCE.label,
        "settings": [s.label for s in SETTINGS],
        "metrics": list(metrics),
        "reach_share": REACH_SHARE,
        "constant_spread": CONSTANT_SPREAD,
        "spread_images": SPREAD_IMAGES,
        "alpha": ALPHA,
        "training": sorted(
            {f"{optimizer_words(t.optimizer, t.learning_rate)}, batch {t.batch_size}" for t in (r.config.training for r in found)}
        ),
        "families": families,
        "tally": tally(families),
        "cost": cost(found),
        "missing": [f"{a} · {d}" for a in ARCHS for d in DATASETS if not any((f["arch"], f["dataset"]) == (a, d) for f in families)],
        "collapse": collapse_rates(folder / COLLAPSE) if folder is not None else None,
    }
    labels = {m: METRICS[m][0] for m in metrics}
    text = environment().get_template("today.md.j2").render(s=summary, labels=labels)
    return text.rstrip("\n").split("\n"), summary
