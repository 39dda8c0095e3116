"""The study: "why BCE and not MSE?", each answer people give turned into a figure and a number.

`python evaluate.py --study RUN_DIR... --out results/study` writes REPORT.md (+ html, figures,
summary.json) with nine sections, in the order of the claims (docs/findings.md answers from its summary):
1. loss landscapes: every loss is minimised at p = y; BCE's floor is the entropy H(y), and the
   test sets' floors explain most of the BCE numbers the blog reports;
2. scale: BCE > MSE always (Pinsker), so raw values compare nothing; what does compare;
3. gradients: the sigmoid-saturation argument in closed form and measured while training;
4. outcome over seeds: which loss wins on metrics neither was trained on;
5. VAE likelihoods: why BCE- and MSE-trained VAEs look different (the KL weighting);
6. binarized MNIST: the control where BCE is the exact likelihood;
7. the MSE collapse as a rate over 20 seeds per optimizer, learning rate and dataset, and what
   differs early in the runs that collapse (collapse_study.py; its runs come by `--collapse`);
8. how early and how rightly `DiagnosticsCallback` warns of that collapse (early_warning.py; its
   runs are read from OUT/early_warning, written by `python -m autoencoders early-warning`);
9. today's practice: sigmoid and linear heads, MSE and MAE, and the residual res_conv, against
   sigmoid + BCE (today.py; its runs come by `--today`).
The analytic parts need no runs; the others use whichever study runs are given (the
`configs/sweeps/study_*.yaml` sweeps) and say so when a part has none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np

from autoencoders import config as C
from autoencoders.atomic import write_text
from autoencoders.data.datasets import builtin
from autoencoders.data.loading import source_dataset
from autoencoders.evaluate.comparison import METRICS, Group, compare_groups, group_runs, holm_adjusted, own_tests, winner
from autoencoders.evaluate.evaluation import PRIOR_SAMPLES, Evaluation, Run
from autoencoders.models.architectures import ARCHITECTURES
from autoencoders.report import plots
from autoencoders.report.document import (
    REPORT_HTML,
    REPORT_MD,
    not_evaluated_table,
    statistics_note,
    test_images_phrase,
    to_html,
    verdict_summary,
    verdict_table,
)
from autoencoders.study import collapse, early_warning, theory, today
from autoencoders.study import collapse_rates as collapse_study
from autoencoders.study import figures as figs
from autoencoders.study.blog import BLOG_RESULTS
from autoencoders.study.speed import REACH_SHARE, reach_epoch, reach_test
from autoencoders.train.device import here as device_here

OUTCOME_ARCHS = ("dense", "deep_dense", "conv", "denoising_conv")
OUTCOME_METRICS = ("mse", "ssim", "psnr", "bce_excess")


@cache
def dataset_floor(dataset: C.DatasetConfig) -> dict[str, float]:
    """BCE's floor on a test set: the mean binary entropy of its pixels (nats); the share of its
    pixels strictly between 0 and 1; its mean pixel; the pixel MSE of an all-black output, the value a collapsed
    model is stuck at; and the set's size and image shape."""
    data = source_dataset(dataset)
    x = np.asarray(data.x_test, np.float64)  # images held as bytes are scaled as they are read
    return {
        "floor": float(theory.binary_entropy(x).mean()),
        "grey_share": float(np.mean((x > 0) & (x < 1))),
        "mean_pixel": float(x.mean()),
        "zero_mse": collapse.dark_output_mse(x),
        "test_images": len(x),
        "image_shape": list(data.image_shape),
        "train_images": len(data.x_train),
    }


def floors_by_dataset(evaluations: Sequence[Evaluation]) -> dict[str, dict[str, float]]:
    """`dataset_floor` of every built-in dataset, and of the user's data among the runs."""
    configs = {spec.name: C.DatasetConfig(name=spec.name) for spec in builtin()}
    for ev in evaluations:
        d = ev.run.config.dataset
        if d.path is not None:
            configs.setdefault(f"{d.name} {d.path}", d)
    return {name: dataset_floor(d) for name, d in configs.items()}


def rendered(template: str, **context) -> list[str]:
    """A section's Markdown lines from its template (`templates/`): every number and word that
    depends on the runs comes from `context`."""
    from autoencoders.study.findings import environment

    return environment().get_template(template).render(**context).rstrip("\n").split("\n")


def _label(cfg: C.ExperimentConfig) -> str:
    return f"{figs.LOSS_LABELS.get(cfg.loss.name, cfg.loss.name)} ({cfg.loss.reduction})"


# ----------------------------------------------------------------------------- 1. landscapes


def landscape_section(fig_dir: Path, evaluations: Sequence[Evaluation]) -> tuple[list[str], dict]:
    rows = []
    for y in theory.TARGETS:
        row = {"y": y, "entropy": float(theory.binary_entropy(y))}
        for loss in ("bce", "mse", "mae", "log_cosh", "continuous_bernoulli"):
            row[f"{loss}_argmin"], row[f"{loss}_min"] = theory.numerical_minimum(theory.PIXEL_LOSSES[loss], y)
        row["cb_mean_at_argmin"] = float(theory.cb_mean(row["continuous_bernoulli_argmin"]))
        rows.append(row)
    floors = floors_by_dataset(evaluations)
    blog = [
        {"arch": b.arch, "value": b.value, "text": b.text, "floor_share": floors["mnist"]["floor"] / b.value}
        for b in BLOG_RESULTS
        if b.quantity == "val_loss"
    ]
    ours = []
    for ev in evaluations:
        c = ev.run.config
        if c.loss.name == "bce" and c.model.arch in OUTCOME_ARCHS and not c.dataset.binarize and c.seed == 0:
            floor = float(np.mean(ev.per_image["bce"] - ev.per_image["bce_excess"]))
            ours.append(
                {
                    "run": ev.run.path.name,
                    "bce": ev.mean("bce"),
                    "floor": floor,
                    "excess": ev.mean("bce_excess"),
                    "floor_share": floor / ev.mean("bce"),
                }
            )
    path = figs.landscapes(fig_dir / "1-landscapes.png")
    summary = {"targets": rows, "floors": floors, "blog": blog, "ours": ours}
    return rendered("landscapes.md.j2", figure=path.name, **summary), summary


# ----------------------------------------------------------------------------- 2. scale


def scale_section(fig_dir: Path, evaluations: Sequence[Evaluation]) -> tuple[list[str], dict]:
    pairs = theory.random_pairs_experiment()
    summary: dict = {"random_pairs": pairs, "real": []}
    panels = []
    for ev in evaluations:
        c = ev.run.config
        if c.model.arch in OUTCOME_ARCHS and c.loss.name in ("bce", "mse") and c.seed == 0 and not c.dataset.binarize:
            pi = ev.per_image
            ratio = pi["bce"] / pi["mse"]
            summary["real"].append(
                {
                    "run": ev.run.path.name,
                    "corr_bce_mse": float(np.corrcoef(pi["bce"], pi["mse"])[0, 1]),
                    "corr_excess_mse": float(np.corrcoef(pi["bce_excess"], pi["mse"])[0, 1]),
                    "ratio_p05": float(np.quantile(ratio, 0.05)),
                    "ratio_p95": float(np.quantile(ratio, 0.95)),
                }
            )
            if c.model.arch == "dense" and c.dataset.name == "mnist" and c.loss.name == "bce":
                panels = [
                    ("per test image: BCE vs MSE", pi["mse"], pi["bce"], "pixel MSE", "pixel BCE"),
                    ("BCE − floor vs MSE", pi["mse"], pi["bce_excess"], "pixel MSE", "BCE − target entropy"),
                ]
    figure = None
    if panels:
        figure = figs.scatter(panels, fig_dir / "2-scale.png", title="Dense autoencoder, BCE-trained, MNIST test set").name
    return rendered("scale.md.j2", pairs=pairs, real=summary["real"], figure=figure), summary


# ----------------------------------------------------------------------------- 3. gradients


def _curves(group: Group, key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for loss, evs in group.by_loss().items():
        rows = [[r[key] for r in ev.run.history if key in r] for ev in evs]
        n = min(len(r) for r in rows)
        if n:
            out[loss] = (np.arange(1, n + 1), np.array([r[:n] for r in rows], dtype=float))
    return out


def gradient_section(fig_dir: Path, groups: Sequence[Group]) -> tuple[list[str], dict]:
    path = figs.logit_gradients(fig_dir / "3-logit-gradients.png")
    z = [-10.0, -5.0, -2.0, 0.0, 2.0]
    closed_form = [
        {"label": figs.LOSS_LABELS[loss], "gradients": [abs(float(theory.logit_gradient(loss, v, 1.0))) for v in z]}
        for loss in ("bce", "mse")
    ]
    context: dict = {"figure": path.name, "z": z, "closed_form": closed_form, "reach_share": REACH_SHARE}
    summary: dict = {"measured": []}
    probed = [g for g in groups if g.is_pair and any("logit_grad" in r for ev in g.members for r in ev.run.history)]
    if not probed:
        return rendered("gradients.md.j2", probed=False, **context), summary
    measured = []
    grad_panels, sat_panels, reach_tests = [], [], []
    for g in probed:
        c = g.config
        dark = collapse_study.dark_mse(c.dataset)  # on the validation images the runs were validated on
        stuck = {ev.run.path.name for ev in g.members if collapse.is_collapsed(ev.run.history[-1]["val_pixel_mse"], dark)}
        title = f"{c.model.arch} · {c.dataset.name}" + (" · binarized" if c.dataset.binarize else "")
        grads, sats = _curves(g, "logit_grad"), _curves(g, "saturated_wrong")
        grad_panels.append((title, grads))
        sat_panels.append((title, sats))
        by_loss = g.by_loss()
        if {"bce", "mse"} <= set(by_loss):
            reached = {
                loss: {ev.run.config.seed: reach_epoch(ev.run.history, REACH_SHARE * dark) for ev in by_loss[loss]}
                for loss in ("bce", "mse")
            }
            reach_tests.append(reach_test(g.title, REACH_SHARE * dark, reached["bce"], reached["mse"]))
        for loss, evs in by_loss.items():
            if loss not in grads:
                continue
            vals = grads[loss][1]
            sat = sats[loss][1]
            n_stuck = sum(ev.run.path.name in stuck for ev in evs)
            rate = collapse.collapse_rate(n_stuck, len(evs))
            entry = {
                "group": g.title,
                "loss": loss,
                "stuck": n_stuck,
                "runs": len(evs),
                "stuck_ci": [rate.low, rate.high],
                "grad_first": float(vals[:, 0].mean()),
                "grad_last": float(vals[:, -1].mean()),
                "saturated_first": float(sat[:, 0].mean()),
                "saturated_last": float(sat[:, -1].mean()),
            }
            summary["measured"].append(entry)
            measured.append({"title": title, "entry": entry, "rate": str(rate)})
    for test, p_holm in zip(reach_tests, holm_adjusted([t["p"] for t in reach_tests]), strict=True):
        test["p_holm"] = p_holm
    summary["reach"] = reach_tests
    p1 = figs.measured_gradients(grad_panels, fig_dir / "3-measured-gradients.png", "logit_grad", "mean |d loss_pixel / dz| (probe)")
    p2 = figs.measured_gradients(sat_panels, fig_dir / "3-saturated.png", "saturated_wrong", "share of pixels saturated, wrong side")
    context |= {"measured": measured, "reach": reach_tests, "measured_figure": p1.name, "saturated_figure": p2.name}
    return rendered("gradients.md.j2", probed=True, **context), summary


# ----------------------------------------------------------------------------- 4. outcome


def raw_winner(d) -> str:
    """Who a test would call the winner on its unadjusted p (what a table without correction says)."""
    return winner(d.metric, d.diff.mean, d.p_value) or "none"


def outcome_section(groups: Sequence[Group], metrics: Sequence[str] = OUTCOME_METRICS, binarized: bool = False) -> tuple[list[str], dict]:
    chosen = [g for g in groups if g.is_pair and g.config.model.arch in OUTCOME_ARCHS and g.config.dataset.binarize == binarized]
    context: dict = {"binarized": binarized, "groups": [], "metrics": list(metrics), "labels": {m: METRICS[m][0] for m in metrics}}
    summary = []
    if not chosen:
        return rendered("outcome.md.j2", **context), {"groups": summary}
    judged = compare_groups(chosen, metrics)  # the table's tests are one family
    wins: dict[str, int] = {"bce": 0, "mse": 0, "none": 0}
    raw_wins = dict(wins)
    for g, diffs in zip(chosen, judged):
        for d in own_tests(diffs):  # a metric shown with another's test is not counted twice
            wins[d.winner or "none"] += 1
            raw_wins[raw_winner(d)] += 1
        others = {
            loss: {m: float(np.mean([ev.mean(m) for ev in evs])) for m in metrics}
            for loss, evs in g.by_loss().items()
            if loss not in ("bce", "mse")
        }
        context["groups"].append(
            {
                "title": g.title,
                "counts": ", ".join(f"{len(v)} {k.upper()}" for k, v in g.by_loss().items()),
                "table": verdict_table(diffs),
                "others": [{"loss": loss, "means": means} for loss, means in others.items()],
            }
        )
        summary.append(
            {
                "title": g.title,
                "differences": [
                    {
                        "metric": d.metric,
                        "bce": d.bce.mean,
                        "mse": d.mse.mean,
                        "diff": d.diff.mean,
                        "ci": [d.diff.ci_low, d.diff.ci_high],
                        "p": d.p_value,
                        "p_holm": d.p_adjusted,
                        "family_size": d.family_size,
                        "p_wilcoxon": d.wilcoxon_p,
                        "seeds": d.diff.n,
                        "relative": d.relative,
                        "tested_as": d.tested_as,
                        "winner": d.winner,
                    }
                    for d in diffs
                ],
                "others": others,
            }
        )
    context |= {
        "statistics": statistics_note([d for diffs in judged for d in diffs], "this section (every model × dataset × metric below)"),
        "wins": wins,
        "raw_wins": raw_wins,
    }
    verdicts = verdict_summary([(g.title, diffs) for g, diffs in zip(chosen, judged)])
    return rendered("outcome.md.j2", **context), {
        "groups": summary,
        "verdicts": verdicts,
        "wins": wins,
        "wins_unadjusted": raw_wins,
        "family_size": sum(len(own_tests(diffs)) for diffs in judged),
        "correction": "holm",
    }


# ----------------------------------------------------------------------------- 5. VAE


def vae_section(fig_dir: Path, evaluations: Sequence[Evaluation]) -> tuple[list[str], dict]:
    vaes = sorted(
        [ev for ev in evaluations if ARCHITECTURES[ev.run.config.model.arch].vae and ev.latent is not None],
        key=lambda ev: (ev.run.config.loss.reduction != "sum", C.LOSSES.index(ev.run.config.loss.name), ev.run.config.seed),
    )
    if not vaes:
        return rendered("vae.md.j2", rows={}), {}
    pixels = " or ".join(sorted({f"{math.prod(ev.run.config.model.input_shape):,}" for ev in vaes}))
    summary = {}
    recon_rows, sample_panels, latent_panels, manifold_panels = [], [], [], []
    for ev in vaes:
        c = ev.run.config
        label = _label(c)
        active = int(np.sum(ev.latent.var(0) > 0.01))
        summary[label] = {
            "kl": ev.vae["kl"],
            "reconstruction": ev.vae["reconstruction"],
            **{m: ev.mean(m) for m in ("mse", "ssim", "bce_excess")},
            "active_dims": active,
        }
        images, samples, manifold = ev.grid_images, ev.prior_samples, ev.manifold
        if c.loss.name == "continuous_bernoulli":  # λ is not the mean: show E[x] as the image
            images, samples, manifold = (theory.cb_mean(a).astype(np.float32) for a in (images, samples, manifold))
            label += ", E[x]"
        recon_rows.append((label, images))
        sample_panels.append((label, samples))
        # unlabelled data: one class
        latent_panels.append((label, ev.latent, ev.labels if ev.labels is not None else np.zeros(len(ev.latent), int)))
        manifold_panels.append((label, manifold))
    first = vaes[0]
    paths = [
        (
            "reconstructions",
            plots.reconstruction_grid(
                first.grid_targets,
                recon_rows,
                fig_dir / "5-vae-reconstructions.png",
                title="Test images and each VAE's reconstruction (posterior mean decoded)",
            ),
        ),
        (
            "samples from the prior",
            plots.manifolds(
                sample_panels,
                fig_dir / "5-vae-samples.png",
                grid_size=math.isqrt(PRIOR_SAMPLES),
                latent_axes=False,
                max_columns=3,
                title="The same 64 draws z ~ N(0, I), decoded by each VAE",
            ),
        ),
        (
            "latent plane",
            plots.latent_planes(latent_panels, fig_dir / "5-vae-latent.png", title="Test set in latent space (posterior means)"),
        ),
        (
            "manifold",
            plots.manifolds(manifold_panels, fig_dir / "5-vae-manifold.png", max_columns=3, title="Decoded 15×15 grid of latent points"),
        ),
    ]
    figures = [(subject, path.name) for subject, path in paths]
    return rendered("vae.md.j2", rows=summary, pixels=pixels, figures=figures), summary


# ----------------------------------------------------------------------------- the report


def write_study(
    out: Path,
    runs: Sequence[Run],
    evaluations: Sequence[Evaluation],
    *,
    command: str,
    collapse_folder: Path | None = None,
    today_folder: Path | None = None,
    published: Path | None = None,
) -> dict:
    """The study into `out`; `published` is the folder it is then moved to, when `out` is a staging
    copy (evaluate.py's): section 8's runs are read from `published`/early_warning, where
    `python -m autoencoders early-warning` wrote them."""
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    groups = group_runs(evaluations)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    device = device_here()
    summary: dict = {
        "command": command,
        "created": created,
        "device": device,
        "runs": len(evaluations),
        "train_seconds_total": sum(r.metrics.get("train_seconds") or 0 for r in runs),
    }
    sections = [
        ("landscapes", landscape_section(fig_dir, evaluations)),
        ("scale", scale_section(fig_dir, evaluations)),
        ("gradients", gradient_section(fig_dir, groups)),
        ("outcome", outcome_section(groups)),
        ("vae", vae_section(fig_dir, evaluations)),
        ("binarized", outcome_section(groups, metrics=tuple(METRICS), binarized=True)),
        (
            "collapse",
            collapse_study.section(
                fig_dir,
                collapse_folder,
                collapse_study.persistence(
                    [
                        (ev.run.history, collapse_study.dark_mse(ev.run.config.dataset))
                        for ev in evaluations
                        if "val_pixel_mse" in (ev.run.history or [{}])[0]
                    ]
                ),
            ),
        ),
        ("early_warning", early_warning.section((published or out) / early_warning.FOLDER, collapse_folder)),
        ("today", today.section(today_folder, OUTCOME_METRICS)),
    ]
    for key, (lines, data) in sections:
        summary[key] = data
    # the answer first: section 4's verdicts, as a comparison report opens
    md = rendered(
        "study.md.j2",
        command=command,
        created=created,
        device=device,
        runs=len(evaluations),
        train_seconds=summary["train_seconds_total"],
        test_images=test_images_phrase(evaluations),
        verdicts=summary["outcome"].get("verdicts"),
        family_size=summary["outcome"].get("family_size"),
    )
    md.append("")
    for key, (lines, data) in sections:
        md += [*lines, ""]
    md += not_evaluated_table([r for r in runs if r.status != "completed"])
    text = "\n".join(md)
    write_text(out / REPORT_MD, text)
    write_text(out / REPORT_HTML, to_html(text, out, "Why BCE and not MSE? The study"))
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n")
    return summary
