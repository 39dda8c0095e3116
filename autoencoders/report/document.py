"""The comparison report: figures, REPORT.md, a self-contained REPORT.html, summary.csv/json.

Every number in the Markdown comes from `summary.json`, written in the same call, and every
table names the runs behind it and the command that produced it. `write_report` gathers one
context per report (tables as `Table`s of formatted cells, verdict words from `comparison`);
`templates/report.md.j2` lays it out as REPORT.md, which `to_html` converts into
`templates/report.html.j2`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np

from autoencoders import plugins
from autoencoders.atomic import write_text
from autoencoders.evaluate.comparison import METRICS, WILCOXON_MIN_PAIRS, Difference, Group, compare_groups, own_tests
from autoencoders.evaluate.evaluation import Evaluation, Run
from autoencoders.report import plots
from autoencoders.train.device import cpu_model, phrase_counts, usable_cores
from autoencoders.train.device import here as device_here
from autoencoders.train.run_folder import EVALUATION

REPORT_MD, REPORT_HTML = "REPORT.md", "REPORT.html"
TEMPLATES = Path(__file__).parent / "templates"
VERDICT_COLUMNS = ["metric", "BCE-trained", "MSE-trained", "BCE − MSE (effect, 95% CI)", "p (paired t)", "p Holm", "p Wilcoxon", "verdict"]
RUN_COLUMNS = ["run", "arch", "dataset", "loss", "seed", "epochs", "status", "train s", "eval s"]


@dataclass
class Table:
    """A Markdown table's data: its column names and its rows of cells, already formatted."""

    columns: list[str]
    rows: list[list[str]]

    def lines(self) -> list[str]:
        """The table as Markdown lines, for reports still assembled in code (the study's);
        `report.md.j2`'s `table` macro lays it out the same way (tests/report/test_report.py checks)."""
        return [f"| {' | '.join(self.columns)} |", "|" + "---|" * len(self.columns), *(f"| {' | '.join(row)} |" for row in self.rows)]


@dataclass
class Comparison:
    """One numbered section of the report: a group of runs, its tables and its figures."""

    number: int
    title: str
    runs: list[str]  # run folder names
    verdicts: Table | None = None  # BCE against MSE, when the group has both
    only: str = ""  # the loss(es) of a group without a pair ("bce"), whose runs' metrics are then listed
    metrics: Table | None = None
    vae: Table | None = None
    figures: list[dict] = field(default_factory=list)  # {"subject": ..., "file": path relative to the report}


def fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def times(count: int) -> str:
    """'once', '2 times': a count in prose."""
    return "once" if count == 1 else f"{count} times"


def _ci(s) -> str:
    return fmt(s.mean) + (f" [{fmt(s.ci_low)}, {fmt(s.ci_high)}]" if s.ci_low is not None else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def test_images_phrase(evaluations: Sequence[Evaluation]) -> str:
    """'the full test set (10,000 images)', or the sizes when the runs' test sets differ."""
    sizes = sorted({len(next(iter(ev.per_image.values()))) for ev in evaluations})
    return "the full test set (" + " or ".join(f"{n:,}" for n in sizes) + " images)" if sizes else "the full test set"


def group_figures(group: Group, fig_dir: Path, slug: str) -> dict[str, Path]:
    """Every figure of one comparison; the keys are the captions' subjects."""
    members = [ev for evs in group.by_loss().values() for ev in evs]
    first = members[0]
    figs: dict[str, Path] = {}
    rows = [(ev.run.label, ev.grid_images) for ev in members]
    columns = list(first.grid_titles)
    if group.config.dataset.noise_factor > 0:
        figs["denoising"] = plots.noisy_grid(
            first.grid_inputs,
            rows,
            fig_dir / f"{slug}-denoising.png",
            originals=first.grid_targets,
            title="Denoising: noisy input, outputs, clean target",
        )
    figs["reconstructions"] = plots.reconstruction_grid(
        first.grid_targets,
        rows,
        fig_dir / f"{slug}-grid.png",
        column_titles=columns,
        title=f"Test images ({'one per class' if first.labels is not None else 'evenly spaced, no labels'}), reconstructions and absolute errors",
    )
    coded = [(ev.run.label, ev.grid_codes) for ev in members if ev.grid_codes is not None]
    if coded:
        figs["codes"] = plots.code_grid(
            coded,
            fig_dir / f"{slug}-codes.png",
            column_titles=columns,
            title="Codes of the same test images, drawn as the blog does (code.reshape(h, w·c).T)",
        )
    histories = [(ev.run.label, ev.run.config.loss.name, ev.run.history) for ev in members]
    figs["loss curves"] = plots.loss_curves(histories, fig_dir / f"{slug}-loss.png", title="Each run's own training loss")
    figs["common scale"] = plots.common_scale_curves(histories, fig_dir / f"{slug}-common.png", title="Validation error on common scales")
    if first.labels is not None:  # per-class sections only when the data has labels
        per_class = []
        for loss, evs in group.by_loss().items():
            values = np.stack([ev.per_class("mse") for ev in evs])
            if len(evs) > 1:  # 95% t-interval over seeds
                from scipy import stats

                err = stats.t.ppf(0.975, len(evs) - 1) * values.std(0, ddof=1) / np.sqrt(len(evs))
            else:  # one seed: standard error over the class's test images
                ev = evs[0]
                err = np.array([_sem(ev.per_image["mse"][ev.labels == c]) for c in ev.classes])
            per_class.append((loss.upper(), loss, values.mean(0), np.nan_to_num(err)))
        figs["per-class error"] = plots.per_class_bars(
            per_class, fig_dir / f"{slug}-per-class.png", class_names=first.class_labels, metric="pixel MSE", title="Pixel MSE per class"
        )
    latent = [(loss.upper(), evs[0]) for loss, evs in group.by_loss().items() if evs[0].latent is not None]
    if latent:
        panels = [
            (f"{name} · seed {ev.run.config.seed}", ev.latent, ev.labels if ev.labels is not None else np.zeros(len(ev.latent), int))
            for name, ev in latent
        ]
        figs["latent plane"] = plots.latent_planes(
            panels,
            fig_dir / f"{slug}-latent.png",
            class_names=_latent_class_names(first),
            title="Test set in the 2-d latent space (posterior means)",
        )
        figs["manifold"] = plots.manifolds(
            [(f"{name} · seed {ev.run.config.seed}", ev.manifold) for name, ev in latent],
            fig_dir / f"{slug}-manifold.png",
            title="Decoded 15×15 grid of latent points",
        )
    return figs


def _latent_class_names(ev: Evaluation) -> list[str]:
    """Colour key of the latent plane: every class name (points are coloured by label value), or
    one entry when the data has no labels."""
    if ev.labels is None:
        return ["all test images"]
    return list(ev.class_names) if ev.class_names else [str(c) for c in range(int(ev.labels.max()) + 1)]


def _sem(values: np.ndarray) -> float:
    """Standard error of the mean (NaN for fewer than two values), from scipy."""
    from scipy import stats

    return float(stats.sem(values)) if len(values) > 1 else float("nan")


def skipped_runs(skipped: Sequence[Run]) -> Table:
    """The runs left out of a report, with their reason."""
    return Table(["run", "status", "reason"], [[f"`{r.path}`", r.status, str(r.reason)] for r in skipped])


def not_evaluated_table(skipped: Sequence[Run]) -> list[str]:
    """Markdown lines listing runs left out of a report with their reason (none: no lines)."""
    if not skipped:
        return []
    return ["## Runs not evaluated", "", *skipped_runs(skipped).lines(), ""]


def verdicts(diffs: Sequence[Difference]) -> Table:
    """One row per metric: both losses' means, the paired effect, the p-values and the verdict."""
    return Table(
        VERDICT_COLUMNS,
        [
            [
                f"{METRICS[d.metric][0]} {'↑' if METRICS[d.metric][1] else '↓'}",
                _ci(d.bce),
                _ci(d.mse),
                _ci(d.diff),
                fmt(d.p_value, 2),
                fmt(d.p_adjusted, 2),
                fmt(d.wilcoxon_p, 2),
                d.verdict,
            ]
            for d in diffs
        ],
    )


def verdict_table(diffs: Sequence[Difference]) -> list[str]:
    return verdicts(diffs).lines()


def statistics_note(diffs: Sequence[Difference], family: str) -> str:
    """The sentence that says what the p columns are and which family Holm's adjustment was over."""
    count = sum(d.p_value is not None for d in own_tests(diffs))
    if not count:
        return "With one seed per loss there is no test: the verdicts say so."
    shared = sorted({(d.metric, d.tested_as) for d in diffs if d.tested_as})
    twins = "".join(
        f" {METRICS[twin][0]} has the same paired differences as {METRICS[partner][0]} (the test set's floor is the same "
        f"for both losses), so it is shown with that test and not tested again."
        for twin, partner in shared
    )
    return (
        f"Effect = the mean BCE − MSE difference paired by seed, with its 95% t-interval; its percentage is of the MSE-trained runs' "
        f"mean over the same seeds. p (paired t) from `scipy.stats.ttest_rel`. "
        f"Verdicts use p Holm: Holm–Bonferroni adjusted (`statsmodels` `multipletests`) over the {count} paired t-tests of {family}, "
        f"at α = 0.05.{twins} p Wilcoxon: the signed-rank test of the same pairs (`scipy.stats.wilcoxon`), "
        f"shown from {WILCOXON_MIN_PAIRS} pairs on (with fewer it cannot reach 0.05)."
    )


def verdict_summary(titled: Sequence[tuple[str, Sequence[Difference]]]) -> list[str]:
    """One line per comparison: which loss is significantly better on what, by how much and at
    which Holm p, then the metrics with no significant difference; words from each difference's
    `winner`, the same rule as the tables. What a report opens with and `evaluate.py` prints."""
    lines = []
    for title, diffs in titled:
        parts = []
        for winner in ("bce", "mse"):
            won = [d for d in diffs if d.winner == winner]
            if won:
                parts.append(
                    f"{winner.upper()} better on "
                    + ", ".join(
                        f"{METRICS[d.metric][0]} ({d.relative:.1%}, Holm p = {d.p_adjusted:.2g}"
                        + (f", the test of {METRICS[d.tested_as][0]})" if d.tested_as else ")")
                        for d in won
                    )
                )
        rest = [METRICS[d.metric][0] for d in diffs if d.winner is None]
        if rest:
            why = "no significant difference" if any(d.p_adjusted is not None for d in diffs) else "not tested (one seed)"
            parts.append(f"{why} on " + ", ".join(rest))
        lines.append(f"- **{title}**: " + "; ".join(parts) + ".")
    return lines


def _run_cells(run: Run, ev: Evaluation | None) -> list[str]:
    c = run.config
    if c is None:
        return [f"`{run.path}`", "–", "–", "–", "–", "–", run.status, "–", "–"]
    return [
        *(f"`{run.path.name}`", c.model.arch, c.dataset.name, c.loss.name, f"{c.seed}", f"{len(run.history)}/{c.training.epochs}"),
        *(run.status, fmt(run.metrics.get("train_seconds"), 3), fmt(ev.seconds, 2) if ev else "–"),
    ]


def comparison(number: int, group: Group, diffs: Sequence[Difference] | None, fig_dir: Path) -> Comparison:
    """A group's section of the report (`diffs`: its BCE-vs-MSE differences, None without a pair);
    draws its figures into `fig_dir`."""
    members = [ev for evs in group.by_loss().values() for ev in evs]
    made = Comparison(number, group.title, [ev.run.path.name for ev in members])
    if diffs is not None:
        made.verdicts = verdicts(diffs)
    else:
        made.only = ", ".join(group.by_loss())
        made.metrics = Table(
            ["run", *(METRICS[m][0] for m in METRICS)], [[f"`{ev.run.path.name}`", *(fmt(ev.mean(m)) for m in METRICS)] for ev in members]
        )
    if vae := [ev for ev in members if ev.vae]:
        made.vae = Table(
            ["run", "reconstruction", "KL"], [[f"`{ev.run.path.name}`", fmt(ev.vae["reconstruction"]), fmt(ev.vae["kl"])] for ev in vae]
        )
    figures = group_figures(group, fig_dir, f"{number:02d}-{_slug(group.title)}")
    made.figures = [{"subject": subject, "file": f"figures/{path.name}"} for subject, path in figures.items()]
    return made


def write_report(
    out: Path, runs: Sequence[Run], groups: Sequence[Group], *, command: str, title: str = "BCE vs MSE", note: str = ""
) -> dict:
    """REPORT.md and REPORT.html, both from one context rendered by `report.md.j2`, its figures and
    summary.json/csv; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    evaluated = {id(ev.run): ev for g in groups for ev in g.members}
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    stored = sum(ev.stored for ev in evaluated.values())
    # Keras (to see the GPUs) is imported only if a model was evaluated in this process
    device = device_here() if stored < len(evaluated) else f"CPU {cpu_model()} ({usable_cores()} cores); no model was evaluated here"
    eval_seconds = sum(ev.seconds for ev in evaluated.values())
    train_seconds = [s for r in runs if (s := r.metrics.get("train_seconds")) is not None]
    summary: dict = {
        "command": command,
        "created": created,
        "device": device,
        "eval_seconds": eval_seconds,
        "train_seconds_total": sum(train_seconds),
        "runs": [],
        "groups": [],
    }
    # every comparison of the report is one family: its p-values are adjusted together
    pairs = [group for group in groups if group.is_pair]
    judged = {id(group): diffs for group, diffs in zip(pairs, compare_groups(pairs))}
    summary["verdicts"] = verdict_summary([(group.title, judged[id(group)]) for group in pairs])
    family = "this report (every comparison × metric)"
    context: dict = {  # everything REPORT.md (report.md.j2) says, and through it REPORT.html
        "title": title,
        "note": note,
        "verdicts": summary["verdicts"],
        "statistics": statistics_note([d for diffs in judged.values() for d in diffs], family) if pairs else None,
        "command": command,
        "created": created,
        "device": device,
        "test_images": test_images_phrase(list(evaluated.values())),
        "evaluated": len(evaluated),
        "eval_seconds": eval_seconds,
        "seconds_per_run": eval_seconds / max(len(evaluated), 1),
        "stored": stored,
        "stored_file": EVALUATION,
        "comparisons": [],
        "sections": [],
        "runs": Table(RUN_COLUMNS, [_run_cells(run, evaluated.get(id(run))) for run in runs]),
        "training": None,
        "skipped": skipped_runs([r for r in runs if id(r) not in evaluated]),
    }
    for i, group in enumerate(groups, 1):
        diffs = judged.get(id(group))
        context["comparisons"].append(comparison(i, group, diffs, out / "figures"))
        members = [str(ev.run.path) for evs in group.by_loss().values() for ev in evs]
        summary["groups"].append({"title": group.title, "runs": members, "differences": [asdict(d) for d in diffs or ()]})

    for name, section in plugins.entries(plugins.REPORT_SECTIONS).items():  # e.g. the study's blog table (plugins.py)
        if made := section(list(evaluated.values())):
            heading, lines, data = made
            summary[name] = data
            context["sections"].append({"heading": heading, "lines": lines})

    for run in runs:
        ev = evaluated.get(id(run))
        summary["runs"].append(
            {
                "path": str(run.path),
                "status": run.status,
                "reason": run.reason,
                "config": None if run.config is None else run.config.name,
                "eval_seconds": ev.seconds if ev else None,
                "train_seconds": run.metrics.get("train_seconds"),
                "device": run.metrics.get("device"),
                "metrics": {m: ev.mean(m) for m in METRICS} if ev else None,
                "per_class_mse": ev.per_class("mse").tolist() if ev else None,
                "vae": ev.vae if ev else None,
                "code_mean": ev.code_mean if ev else None,
            }
        )
    if train_seconds:
        total = sum(train_seconds)
        devices = phrase_counts(r.metrics.get("device") for r in runs)
        context["training"] = {"runs": len(train_seconds), "seconds": total, "hours": total / 3600, "devices": devices}

    text = render(context)
    write_text(out / REPORT_MD, text)
    write_text(out / REPORT_HTML, to_html(text, out, title))
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n")
    write_text(out / "summary.csv", summary_csv(summary))
    return summary


@cache
def environment():
    """Jinja2 over autoencoders/templates/, as `findings.environment`: a name the context lacks is an
    error (StrictUndefined), numbers are formatted by the filters `fmt` and `fixed`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    env.filters["fixed"] = lambda x, digits: f"{x:.{digits}f}"
    return env


def render(context: dict, template: str = "report.md.j2") -> str:
    """The report's Markdown (or another template of the report) for one context."""
    return environment().get_template(template).render(context)


def summary_csv(summary: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["group", "metric", "what", "n", "mean", "sd", "ci_low", "ci_high", "p_value", "p_holm", "family_size", "p_wilcoxon", "verdict"]
    )
    for g in summary["groups"]:
        for d in g["differences"]:
            for what in ("bce", "mse", "diff"):
                s = d[what]
                w.writerow(
                    [
                        g["title"],
                        d["metric"],
                        what if what != "diff" else "bce-mse",
                        s["n"],
                        s["mean"],
                        s["sd"],
                        s["ci_low"],
                        s["ci_high"],
                        *(
                            (d["p_value"], d["p_adjusted"], d["family_size"], d["wilcoxon_p"], d["verdict"])
                            if what == "diff"
                            else ("",) * 5
                        ),
                    ]
                )
    for r in summary["runs"]:
        for m, v in (r["metrics"] or {}).items():
            w.writerow([r["path"], m, "run", 1, v, "", "", "", "", "", "", "", r["status"]])
    return buf.getvalue()


def to_html(markdown_text: str, base: Path, title: str) -> str:
    """Markdown -> HTML (`report.html.j2`) with every figure embedded as a data URI: one file to send around."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])

    def embed(match: re.Match) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    return render({"title": title, "body": re.sub(r'src="([^"]+\.png)"', embed, body)}, "report.html.j2")
