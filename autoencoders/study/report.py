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
    fmt,
    not_evaluated_table,
    statistics_note,
    test_images_phrase,
    times,
    to_html,
    verdict_summary,
    verdict_table,
)
from autoencoders.study import collapse, early_warning, theory, today
from autoencoders.study import collapse_rates as collapse_study
from autoencoders.study import figures as figs
from autoencoders.study.blog import BLOG_RESULTS
from autoencoders.study.speed import REACH_SHARE, epoch_words, median_epoch, reach_epoch, reach_test
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
    md = [
        "## 1. Is BCE wrong for targets in (0, 1)? Loss landscapes",
        "",
        "Per-pixel loss against the prediction p for six targets. The minimum of each loss is found numerically "
        "(bounded Brent search, no formula) and sits at p = y for BCE, MSE, MAE and log-cosh alike; BCE's minimum "
        "value is the target's binary entropy H(y), not 0.",
        "",
        f"![landscapes](figures/{path.name})",
        "",
        "| y | H(y) | BCE argmin | BCE min | MSE argmin | MAE argmin | log-cosh argmin | cont. Bernoulli argmin λ | its mean E[x] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    md += [
        f"| {r['y']:g} | {r['entropy']:.4f} | {r['bce_argmin']:.4f} | {r['bce_min']:.4f} | {r['mse_argmin']:.4f} | {r['mae_argmin']:.4f} "
        f"| {r['log_cosh_argmin']:.4f} | {r['continuous_bernoulli_argmin']:.4g} | {r['cb_mean_at_argmin']:.4f} |"
        for r in rows
    ]
    md += [
        "",
        "The continuous Bernoulli is the exception: its best λ for a pixel y is not y but the λ whose *mean* is y, "
        "so its outputs λ must be read through E[x] (section 5).",
        "",
        "**BCE's floor on the real test sets** (mean binary entropy of every pixel of the test set):",
        "",
        "| dataset | test images | image shape | BCE floor (nats/pixel) | pixels strictly between 0 and 1 | pixel MSE of an all-black output |",
        "|---|---|---|---|---|---|",
    ]
    md += [
        f"| {name} | {f['test_images']:,} | {'×'.join(map(str, f['image_shape']))} | {f['floor']:.4f} | {100 * f['grey_share']:.1f}% "
        f"| {f['zero_mse']:.4f} |"
        for name, f in floors.items()
    ]
    md += [
        "",
        "Share of the blog's MNIST BCE numbers that is just this floor (no model can go below it):",
        "",
        "| blog experiment | blog's BCE | floor | share that is floor |",
        "|---|---|---|---|",
    ]
    md += [f"| {b['arch']}: {b['text']} | {b['value']:g} | {floors['mnist']['floor']:.4f} | {100 * b['floor_share']:.0f}% |" for b in blog]
    if ours:
        md += [
            "",
            "The same split for our BCE-trained study runs (seed 0): test BCE = floor + excess.",
            "",
            "| run | test BCE | floor | excess (BCE − floor) | share that is floor |",
            "|---|---|---|---|---|",
        ]
        md += [f"| `{o['run']}` | {o['bce']:.4f} | {o['floor']:.4f} | {o['excess']:.4f} | {100 * o['floor_share']:.0f}% |" for o in ours]
    return md, {"targets": rows, "floors": floors, "blog": blog, "ours": ours}


# ----------------------------------------------------------------------------- 2. scale


def scale_section(fig_dir: Path, evaluations: Sequence[Evaluation]) -> tuple[list[str], dict]:
    pairs = theory.random_pairs_experiment()
    md = [
        '## 2. "BCE returns a higher loss than MSE, so it penalises errors more"? Scale',
        "",
        f"The Data Science SE answer's experiment (BCE and MSE of 10 random (y, p) pairs), repeated 10,000 times "
        f"({pairs['pairs']:,} pairs, uniform on [0, 1]):",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| share of pairs with BCE > MSE | {100 * pairs['bce_greater_share']:.1f}% |",
        f"| mean BCE / mean MSE / mean H(y) | {pairs['bce_mean']:.3f} / {pairs['mse_mean']:.3f} / {pairs['entropy_mean']:.3f} |",
        f"| BCE / MSE ratio of a 10-pair draw: median [5%, 95%] | {pairs['ratio_median']:.2f} [{pairs['ratio_p05']:.2f}, {pairs['ratio_p95']:.2f}] |",
        f"| correlation of BCE with MSE over draws | {pairs['corr_bce_mse']:.2f} |",
        f"| correlation of BCE − H(y) with MSE over draws | {pairs['corr_excess_mse']:.2f} |",
        "",
        "BCE > MSE for every pair, not by chance: BCE(y, p) − H(y) is KL(y‖p) ≥ 2(y − p)² (Pinsker's inequality, "
        "tested in `tests/study/test_theory.py`), so BCE ≥ H(y) + 2·MSE per pixel. A larger number is a different unit, "
        "not a harsher penalty: the optimiser (Adam here) is invariant to the loss's scale, and what shapes training is "
        "how the gradient is spread over pixels (section 3). Raw BCE and MSE values therefore cannot be compared; "
        "pixel MSE, MAE, PSNR, SSIM and BCE − floor, computed the same way for every model, can (section 4).",
    ]
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
    if summary["real"]:
        md += [
            "",
            "On real reconstructions (each model's whole test set, seed 0): how well does an image's BCE track its MSE?",
            "",
            "| run | r(BCE, MSE) over images | r(BCE − floor, MSE) | BCE / MSE per image [5%, 95%] |",
            "|---|---|---|---|",
        ]
        md += [
            f"| `{r['run']}` | {r['corr_bce_mse']:.2f} | {r['corr_excess_mse']:.2f} | [{r['ratio_p05']:.1f}, {r['ratio_p95']:.1f}] |"
            for r in summary["real"]
        ]
    if panels:
        path = figs.scatter(panels, fig_dir / "2-scale.png", title="Dense autoencoder, BCE-trained, MNIST test set")
        md += ["", f"![scale](figures/{path.name})"]
    return md, summary


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
    z = np.array([-10.0, -5.0, -2.0, 0.0, 2.0])
    md = [
        "## 3. Does MSE's gradient saturate? Logit gradients, in closed form and measured",
        "",
        "With a sigmoid output p = σ(z), d BCE / dz = p − y while d MSE / dz = 2 (p − y) p (1 − p) (both checked "
        "against `tf.GradientTape`). A pixel saturated on the wrong side gets BCE's full gradient and almost none of MSE's:",
        "",
        f"![closed-form logit gradients](figures/{path.name})",
        "",
        "| target y = 1, logit z | " + " | ".join(f"{v:g}" for v in z) + " |",
        "|---|" + "---|" * len(z),
    ]
    md += [
        f"| \\|d {figs.LOSS_LABELS[loss]} / dz\\| | "
        + " | ".join(f"{abs(float(theory.logit_gradient(loss, v, 1.0))):.2g}" for v in z)
        + " |"
        for loss in ("bce", "mse")
    ]
    summary: dict = {"measured": []}
    probed = [g for g in groups if g.is_pair and any("logit_grad" in r for ev in g.members for r in ev.run.history)]
    if not probed:
        return md + ["", "(No runs with `training.callbacks: [probe_gradients]` were given, so nothing was measured.)"], summary
    md += [
        "",
        "**Measured while training** (study runs with `training.callbacks: [probe_gradients]`): at every epoch end, on a fixed "
        "probe of 1,024 training images, the mean |d loss_pixel / dz| of the run's own loss, and the share of pixels "
        "saturated on the wrong side (p < 0.01 or p > 0.99 with |p − y| > 0.5), the pixels where MSE's gradient vanishes. "
        "Mean over seeds.",
        "",
        "| model · dataset | loss | \\|dℓ/dz\\| epoch 1 | \\|dℓ/dz\\| last | wrong-side saturated, epoch 1 | last | collapsed: validation pixel MSE within 1% of an all-black output's (Wilson 95% CI) |",
        "|---|---|---|---|---|---|---|",
    ]
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
            md.append(
                f"| {title} | {loss.upper()} | {entry['grad_first']:.3g} | {entry['grad_last']:.3g} | {100 * entry['saturated_first']:.3f}% "
                f"| {100 * entry['saturated_last']:.3f}% | {rate} |"
            )
    for test, p_holm in zip(reach_tests, holm_adjusted([t["p"] for t in reach_tests]), strict=True):
        test["p_holm"] = p_holm
    summary["reach"] = reach_tests
    md += [
        "",
        f"**Which loss learns faster?** For each seed, the first epoch at which the validation pixel MSE falls to {REACH_SHARE:.0%} "
        "of an all-black output's (a target neither loss sets), BCE run against MSE run of the same seed; a sign test "
        "(`scipy.stats.binomtest`) over the seeds where one was sooner (a run that never got there is later than one that did), "
        f"Holm-adjusted over the {sum(t['p'] is not None for t in reach_tests)} tests of this table.",
        "",
        "| model · dataset | target MSE | median epoch, BCE | median epoch, MSE | BCE sooner | MSE sooner | tie | p (sign) | p Holm |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    md += [
        f"| {t['group']} | {t['target']:.4g} | {epoch_words(median_epoch(t['bce']))} | {epoch_words(median_epoch(t['mse']))} | {t['bce_sooner']} "
        f"| {t['mse_sooner']} | {t['ties']} | {fmt(t['p'], 2)} | {fmt(t['p_holm'], 2)} |"
        for t in reach_tests
    ]
    p1 = figs.measured_gradients(grad_panels, fig_dir / "3-measured-gradients.png", "logit_grad", "mean |d loss_pixel / dz| (probe)")
    p2 = figs.measured_gradients(sat_panels, fig_dir / "3-saturated.png", "saturated_wrong", "share of pixels saturated, wrong side")
    md += ["", f"![measured logit gradients](figures/{p1.name})", "", f"![wrong-side saturated pixels](figures/{p2.name})"]
    return md, summary


# ----------------------------------------------------------------------------- 4. outcome


def raw_winner(d) -> str:
    """Who a test would call the winner on its unadjusted p (what a table without correction says)."""
    return winner(d.metric, d.diff.mean, d.p_value) or "none"


def outcome_section(groups: Sequence[Group], metrics: Sequence[str] = OUTCOME_METRICS, binarized: bool = False) -> tuple[list[str], dict]:
    chosen = [g for g in groups if g.is_pair and g.config.model.arch in OUTCOME_ARCHS and g.config.dataset.binarize == binarized]
    if binarized:
        md = [
            "## 6. Control: binarized MNIST, where every target is 0 or 1",
            "",
            "Thresholded at 0.5, the targets are binary, BCE's floor is 0 and BCE is exactly the Bernoulli likelihood: "
            "the setting BCE was made for. Same dense model, BCE vs MSE over seeds:",
        ]
    else:
        md = [
            "## 4. Which loss gives better reconstructions? Outcome over seeds",
            "",
            "Each model trained with BCE and with MSE, same seeds, then judged on metrics computed afresh on the full test set; "
            "BCE − MSE is paired by seed.",
        ]
    summary = []
    if not chosen:
        return md + ["", "(No such runs were given.)"], {"groups": summary}
    judged = compare_groups(chosen, metrics)  # the table's tests are one family
    md += ["", statistics_note([d for diffs in judged for d in diffs], "this section (every model × dataset × metric below)")]
    wins: dict[str, int] = {"bce": 0, "mse": 0, "none": 0}
    raw_wins = dict(wins)
    for g, diffs in zip(chosen, judged):
        md += ["", f"**{g.title}** ({', '.join(f'{len(v)} {k.upper()}' for k, v in g.by_loss().items())} runs)", "", *verdict_table(diffs)]
        for d in own_tests(diffs):  # a metric shown with another's test is not counted twice
            wins[d.winner or "none"] += 1
            raw_wins[raw_winner(d)] += 1
        others = {k: v for k, v in g.by_loss().items() if k not in ("bce", "mse")}
        for loss, evs in others.items():
            md += [
                "",
                f"{loss.upper()}-trained runs of the same model: "
                + ", ".join(f"{METRICS[m][0]} {fmt(float(np.mean([ev.mean(m) for ev in evs])))}" for m in metrics)
                + ".",
            ]
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
                "others": {loss: {m: float(np.mean([ev.mean(m) for ev in evs])) for m in metrics} for loss, evs in others.items()},
            }
        )
    md += [
        "",
        f"Tally over these comparisons and metrics, after Holm's correction: BCE significantly better {times(wins['bce'])}, "
        f"MSE {times(wins['mse'])}, no significant difference {times(wins['none'])} (on unadjusted p: {raw_wins['bce']}, "
        f"{raw_wins['mse']} and {raw_wins['none']}).",
    ]
    verdicts = verdict_summary([(g.title, diffs) for g, diffs in zip(chosen, judged)])
    return md, {
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
    md = ["## 5. Why do BCE- and MSE-trained VAEs look different? Likelihoods and the KL weight", ""]
    if not vaes:
        return md + ["(No VAE runs with a 2-d latent space were given.)"], {}
    pixels = " or ".join(sorted({f"{math.prod(ev.run.config.model.input_shape):,}" for ev in vaes}))
    md += [
        "The same VAE (the blog's, latent 2) trained with different reconstruction terms. The VAE loss is reconstruction + KL, "
        f"so the reconstruction term's scale *is* the weight of the data against the prior: BCE summed over the {pixels} pixels is a "
        "Bernoulli log-likelihood; MSE summed is a Gaussian log-likelihood with σ² = 1/2 up to a constant, i.e. far less "
        f"confident than the pixels' real error; MSE or BCE averaged over pixels divides the data term by {pixels}, so KL wins "
        "and codes collapse toward the prior. The σ-VAE learns σ (σ² = the batch's MSE), the continuous Bernoulli "
        "normalises BCE for grey pixels.",
        "",
        "| loss (pixel reduction) | KL (nats) | reconstruction term | pixel MSE | SSIM | BCE − floor | active latent dims (var of posterior mean > 0.01) |",
        "|---|---|---|---|---|---|---|",
    ]
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
        md.append(
            f"| {label} | {ev.vae['kl']:.3g} | {ev.vae['reconstruction']:.4g} | {ev.mean('mse'):.4f} | {ev.mean('ssim'):.3f} | {ev.mean('bce_excess'):.4f} | {active} |"
        )
        images, samples, manifold = ev.grid_images, ev.prior_samples, ev.manifold
        if c.loss.name == "continuous_bernoulli":  # λ is not the mean: show E[x] as the image
            images, samples, manifold = (theory.cb_mean(a).astype(np.float32) for a in (images, samples, manifold))
            label += ", E[x]"
        recon_rows.append((label, images))
        sample_panels.append((label, samples))
        latent_panels.append(
            (label, ev.latent, ev.labels if ev.labels is not None else np.zeros(len(ev.latent), int))
        )  # unlabelled data: one class
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
    for subject, path in paths:
        md += ["", f"**{subject.capitalize()}**", "", f"![{subject}](figures/{path.name})"]
    return md, summary


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
    md = [
        "# Why BCE and not MSE? The study",
        "",
        f"Made by `{command}` on {created}; device: {device}. {len(evaluations)} runs evaluated; their training took "
        f"{summary['train_seconds_total'] / 60:.0f} min in all (each run's own `train_seconds`). Every metric is computed afresh "
        f"from each saved model on {test_images_phrase(evaluations)}.",
        "",
    ]
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
    if summary["outcome"].get("verdicts"):  # the answer first: section 4's verdicts, as a comparison report opens
        md += [
            "## Verdicts",
            "",
            "Which loss gives the better reconstructions, per model and dataset (section 4; Holm-adjusted over its "
            f"{summary['outcome']['family_size']} tests). The answers to each question, from this report's summary.json: "
            "[the Findings](../../docs/findings.md).",
            "",
            *summary["outcome"]["verdicts"],
            "",
        ]
    for key, (lines, data) in sections:
        md += [*lines, ""]
    md += not_evaluated_table([r for r in runs if r.status != "completed"])
    text = "\n".join(md)
    write_text(out / REPORT_MD, text)
    write_text(out / REPORT_HTML, to_html(text, out, "Why BCE and not MSE? The study"))
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n")
    return summary
