"""The numbers of the README's Findings, computed from the study's summary.json.

Each entry is a phrase exactly as the README words it, numbers filled in from the summary; a test
checks that every phrase is in the README (whitespace aside), so prose and data cannot drift apart:
when the study is remade, the failing phrases are the sentences to update.
"""

from __future__ import annotations

import numpy as np

from autoencoders.collapse import collapse_rate
from autoencoders.collapse_study import DATASETS as COLLAPSE_DATASETS
from autoencoders.collapse_study import OPTIMIZER_SETTINGS
from autoencoders.comparison import ALPHA, METRICS
from autoencoders.datasets import DATASETS
from autoencoders.report import times


def sci(value: float) -> str:
    """2 significant digits, exponent without padding: 2.6e-6 (Python's own 2.6e-06 reads worse)."""
    mantissa, _, exponent = f"{value:.2g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def measured(summary: dict, arch: str, dataset: str, loss: str) -> dict:
    """The gradient section's entry for one model, dataset (not binarized) and loss."""
    [entry] = [e for e in summary["gradients"]["measured"]
               if e["group"].split(" · ")[:2] == [arch, dataset] and "binarized" not in e["group"] and e["loss"] == loss]
    return entry


def arch_and_dataset(group: dict) -> tuple[str, str]:
    """An outcome group's model and dataset, the first two parts of its title ("dense · mnist · 30 epochs")."""
    arch, dataset = group["title"].split(" · ")[:2]
    return arch, dataset


def outcome(summary: dict, arch: str, dataset: str) -> dict:
    """The outcome section's group for one model and dataset: metric -> its difference entry, and `others`."""
    [group] = [g for g in summary["outcome"]["groups"] if arch_and_dataset(g) == (arch, dataset)]
    return {**{d["metric"]: d for d in group["differences"]}, "others": group.get("others", {})}


def collapse_cell(summary: dict, arch: str, dataset: str, loss: str, optimizer: str = "adam", learning_rate: float = 0.001) -> str:
    """The collapse rate of one cell of the collapse-rate sweeps (study section 7), as `Rate` words it."""
    [cell] = [c for c in summary["collapse"]["cells"] if (c["arch"], c["dataset"], c["loss"], c["optimizer"], c["learning_rate"])
              == (arch, dataset, loss, optimizer, learning_rate)]
    return str(collapse_rate(cell["collapsed"], cell["runs"]))


#: how the Findings name an optimizer setting of the collapse sweeps (`collapse_study.OPTIMIZER_SETTINGS`)
SETTING_WORDS = {("adam", 0.001): "Adam 1e-3", ("adam", 0.01): "Adam 1e-2", ("adam", 0.0001): "Adam 1e-4", ("adadelta", 1.0): "Adadelta (lr 1.0)"}
assert set(SETTING_WORDS) == set(OPTIMIZER_SETTINGS)


def listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def trained_cells(summary: dict, arch: str) -> str:
    """Every trained collapse cell of one model, by loss: each dataset where some runs collapsed
    with its rate at each setting, then the datasets where none did, together, with the rate they
    share at each setting (a full grid lists 24 cells; this keeps the sentence readable without
    pooling cells into one rate). The README's sentence for a model whose grid may be partly trained."""
    cells = {(c["dataset"], c["optimizer"], c["learning_rate"], c["loss"]): c for c in summary["collapse"]["cells"] if c["arch"] == arch}
    parts = []
    for loss in ("mse", "bce"):
        pieces, clear = [], {}
        for dataset in COLLAPSE_DATASETS:
            done = [(setting, cells[(dataset, *setting, loss)]) for setting in OPTIMIZER_SETTINGS if (dataset, *setting, loss) in cells]
            if any(c["collapsed"] for _, c in done):
                pieces.append(f"on {DATASETS[dataset].title} in "
                              + listed([f"{collapse_rate(c['collapsed'], c['runs'])} at {SETTING_WORDS[s]}" for s, c in done]))
            elif done:
                clear.setdefault((tuple(s for s, _ in done), done[0][1]["runs"]), []).append(DATASETS[dataset].title)
        for (settings, runs), titles in clear.items():
            where = ("each of the four optimizer settings" if len(settings) == len(OPTIMIZER_SETTINGS)
                     else f"each of {listed([SETTING_WORDS[s] for s in settings])}" if len(settings) > 1 else SETTING_WORDS[settings[0]])
            pieces.append(f"in {collapse_rate(0, runs)} at {where} on {listed(titles)}")
        if pieces:
            parts.append(f"under {loss.upper()} " + "; ".join(pieces))
    grid = len(COLLAPSE_DATASETS) * len(OPTIMIZER_SETTINGS) * 2
    missing = f"; the other {grid - len(cells)} of its {grid} settings are not yet trained" if len(cells) < grid else ""
    return "; ".join(parts) + missing


def contrast(summary: dict, measure: str, arch: str = "conv", dataset: str = "mnist", optimizer: str = "adam", learning_rate: float = 0.001) -> dict:
    """One row of section 7's MSE-against-BCE table (same seeds, replayed), with its medians."""
    [row] = [r for r in summary["collapse"]["loss_contrast"] if (r["arch"], r["dataset"], r["optimizer"], r["learning_rate"], r["measure"])
             == (arch, dataset, optimizer, learning_rate, measure)]
    return {**row, "mse_median": float(np.median(row["mse"])), "bce_median": float(np.median(row["bce"]))}


def mechanism(summary: dict, arch: str, dataset: str, optimizer: str, learning_rate: float) -> dict:
    """Section 7's collapsed-against-healthy tests of one MSE cell (replayed seeds), by measure."""
    return {m["measure"]: m for m in summary["collapse"]["mechanism"]
            if (m["arch"], m["dataset"], m["optimizer"], m["learning_rate"], m["loss"]) == (arch, dataset, optimizer, learning_rate, "mse")}


def differs(test: dict) -> str:
    """A collapsed-against-healthy test of section 7 in words, by its Holm-adjusted p."""
    return "does not differ" if test["p_holm"] >= ALPHA else "already differs"


ARCH_WORDS = {"dense": "dense", "deep_dense": "deep", "conv": "conv", "denoising_conv": "denoising"}
METRIC_WORDS = {"mse": "pixel MSE", "ssim": "SSIM", "psnr": "PSNR", "bce_excess": "BCE − floor"}


def verdicts(summary: dict, arch: str, dataset: str) -> str:
    """Which loss won each outcome metric of one model and dataset after Holm's correction, in words."""
    by_winner: dict[str, list[str]] = {}
    for metric, entry in outcome(summary, arch, dataset).items():
        if metric in METRIC_WORDS:
            by_winner.setdefault(entry["winner"] or "none", []).append(METRIC_WORDS[metric])
    parts = [f"{winner.upper()} better on {listed(by_winner[winner])}" for winner in ("bce", "mse") if winner in by_winner]
    if "none" in by_winner:
        parts.append(f"no significant difference on {listed(by_winner['none'])}")
    return "; ".join(parts)


def verdicts_by_arch(summary: dict, dataset: str, archs: tuple[str, ...]) -> str:
    """`verdicts` of several models on one dataset, each after the model's word: "deep: ...; conv: ..."."""
    return "; ".join(f"{ARCH_WORDS[arch]}: {verdicts(summary, arch, dataset)}" for arch in archs)


def mean_reach(entry: dict) -> float:
    return float(np.mean([epoch for epoch, _ in entry["reach"]]))


def stayed_dark(counts: dict) -> str:
    """A persistence count of section 7 (`collapse_study.Persistence`, summed or not) in words."""
    still = "all" if counts["dark_first_and_last"] == counts["dark_first"] else counts["dark_first_and_last"]
    return (f"the {counts['dark_first']} that were dark after their first epoch were {still} still dark at their last, "
            f"and {counts['dark_later'] or 'none'} of the other {counts['healthy_first']} went dark later")


def long_runs(summary: dict) -> str:
    """The long runs that check the one-epoch verdict outside Adam 1e-3 (study section 7), in
    words: each model's runs, the counts summed over them, and each cell named where a run
    recovered or went dark late."""
    cells = summary["collapse"].get("persistence_long", [])
    if not cells:
        return "no long runs were made at 1e-4, 1e-2 or under Adadelta"
    total = {key: sum(c[key] for c in cells) for key in ("runs", "dark_first", "dark_first_and_last", "healthy_first", "dark_later")}
    groups = []
    for model in dict.fromkeys((c["arch"], c["dataset"]) for c in cells):
        members = [c for c in cells if (c["arch"], c["dataset"]) == model]
        settings = listed([SETTING_WORDS[s] for s in SETTING_WORDS if any((c["optimizer"], c["learning_rate"]) == s for c in members)])
        seeds = listed([str(n) for n in sorted({c["runs"] for c in members})])
        groups.append(f"{sum(c['runs'] for c in members)} runs of the {ARCH_WORDS[model[0]]} model on {DATASETS[model[1]].title} "
                      f"for {max(c['longest'] for c in members)} epochs ({seeds} seeds per loss) at {settings}")
    exceptions = [f"{ARCH_WORDS[c['arch']]}, {c['loss'].upper()} at {SETTING_WORDS[(c['optimizer'], c['learning_rate'])]}: "
                  f"{c['dark_first'] - c['dark_first_and_last']} recovered, {c['dark_later']} went dark later"
                  for c in cells if c["dark_later"] or c["dark_first_and_last"] < c["dark_first"]]
    return f"{listed(groups)} say the same: {stayed_dark(total)}" + (f" ({'; '.join(exceptions)})" if exceptions else "")


def facts(summary: dict) -> dict[str, str]:
    floors = summary["landscapes"]["floors"]
    mnist, fashion = floors["mnist"], floors["fashion_mnist"]
    blog_share = {row["arch"]: row["floor_share"] for row in summary["landscapes"]["blog"]}
    dense_m, dense_f = outcome(summary, "dense", "mnist"), outcome(summary, "dense", "fashion_mnist")
    conv = outcome(summary, "conv", "mnist")
    denoising_mse = measured(summary, "denoising_conv", "mnist", "mse")  # every seed collapsed: its means describe a collapse
    denoising = outcome(summary, "denoising_conv", "mnist")
    differences = [d for g in summary["outcome"]["groups"] for d in g["differences"]]
    floor_diffs = [d for d in differences if d["metric"] == "bce_excess"]
    mse_wins = [(*arch_and_dataset(g), d) for g in summary["outcome"]["groups"] for d in g["differences"]
                if d["metric"] == "mse" and d["winner"] == "mse"]  # MSE training better on its own metric
    out = {
        "study size": f"{summary['runs']} runs, {summary['train_seconds_total'] / 60:.0f} minutes of training",
        "MNIST floor": f"{mnist['floor']:.4f} nats per pixel on the MNIST test set ({mnist['grey_share']:.1%} of its pixels are grey)",
        "Fashion floor": f"{fashion['floor']:.4f} on Fashion-MNIST ({fashion['grey_share']:.1%} grey)",
        "blog floor share": f"{blog_share['dense']:.0%} of the blog's \"loss ≈ 0.09\"",
        "MAE on MNIST": f"pixel MSE of {dense_m['others']['mae']['mse']:.4f} on MNIST against {dense_m['mse']['bce']:.4f} (BCE) and "
                        f"{dense_m['mse']['mse']:.4f} (MSE), with {measured(summary, 'dense', 'mnist', 'mae')['saturated_last']:.1%} of the pixels",
        "MAE on Fashion": f"{dense_f['others']['mae']['mse']:.4f} vs {dense_f['mse']['bce']:.4f} / {dense_f['mse']['mse']:.4f} on Fashion-MNIST",
        "denoising collapse": f"the denoising conv on MNIST collapsed in {collapse_rate(denoising_mse['stuck'], denoising_mse['runs'])} seeds",
        "collapsed pixels": f"the {denoising_mse['saturated_first']:.1%} of pixels that should be white sit saturated",
        "collapsed gradient": f"the logit gradient is {sci(denoising_mse['grad_first'])} and falls to {sci(denoising_mse['grad_last'])}",
        "collapsed MSE": f"pixel MSE stays at {denoising['mse']['mse']:.3f}, exactly that of predicting 0 everywhere (BCE: {denoising['mse']['bce']:.4f})",
        "collapsed SSIM": f"SSIM {denoising['ssim']['mse']:.3f} against {denoising['ssim']['bce']:.3f}",
        "conv t-test": f"give p = {conv['mse']['p']:.2g} before and {conv['mse']['p_holm']:.2g} after correction",
        "floor wins": f"lower under BCE training in {sum(d['diff'] < 0 for d in floor_diffs)} of {len(floor_diffs)} and significantly so in "
                      f"{sum(d['winner'] == 'bce' for d in floor_diffs)}",
        "MSE own metric": f"MSE training wins {len(mse_wins)} of {sum(d['metric'] == 'mse' for d in differences)} ("
                          + "; ".join(f"{ARCH_WORDS[arch]} on {DATASETS[dataset].title}, by {abs(d['diff']) / d['mse']:.1%}, Holm p = {d['p_holm']:.2g}"
                                      for arch, dataset, d in mse_wins) + ")",
        "dense saturation": f"{measured(summary, 'dense', 'mnist', 'mse')['saturated_first']:.2%} under MSE vs "
                            f"{measured(summary, 'dense', 'mnist', 'bce')['saturated_first']:.2%} under BCE for dense on MNIST, "
                            f"{measured(summary, 'deep_dense', 'mnist', 'mse')['saturated_first']:.2%} vs "
                            f"{measured(summary, 'deep_dense', 'mnist', 'bce')['saturated_first']:.2%} for deep",
        "dense reach": f"in *fewer* epochs ({mean_reach(measured(summary, 'dense', 'mnist', 'mse')):.0f} vs "
                       f"{mean_reach(measured(summary, 'dense', 'mnist', 'bce')):.0f} on MNIST, "
                       f"{mean_reach(measured(summary, 'dense', 'fashion_mnist', 'mse')):.0f} vs "
                       f"{mean_reach(measured(summary, 'dense', 'fashion_mnist', 'bce')):.0f} on Fashion-MNIST",
        "deep reach": f"gets there sooner with BCE ({mean_reach(measured(summary, 'deep_dense', 'mnist', 'bce')):.1f} vs "
                      f"{mean_reach(measured(summary, 'deep_dense', 'mnist', 'mse')):.1f} epochs)",
        "SSIM dense": f"({dense_m['ssim']['bce']:.3f} vs {dense_m['ssim']['mse']:.3f} on MNIST)",
    }
    lasting = summary["collapse"]["persistence"]
    out["collapse persists"] = f"of the study's {lasting['runs']} full-length runs (up to {lasting['longest']} epochs), {stayed_dark(lasting)}"
    out["collapse persists long"] = long_runs(summary)
    out["collapse conv MNIST"] = f"at Adam 1e-3 on MNIST, MSE training collapsed the conv model in {collapse_cell(summary, 'conv', 'mnist', 'mse')} seeds"
    out["collapse conv lr"] = (f"at Adam 1e-2 in {collapse_cell(summary, 'conv', 'mnist', 'mse', learning_rate=0.01)} and at Adam 1e-4 in "
                               f"{collapse_cell(summary, 'conv', 'mnist', 'mse', learning_rate=0.0001)}")
    out["collapse conv data"] = (f"on Fashion-MNIST in {collapse_cell(summary, 'conv', 'fashion_mnist', 'mse')}, on natural patches in "
                                 f"{collapse_cell(summary, 'conv', 'natural_patches', 'mse')}")
    out["collapse conv BCE"] = (f"BCE training: {collapse_cell(summary, 'conv', 'mnist', 'bce')} on MNIST, "
                                f"{collapse_cell(summary, 'conv', 'fashion_mnist', 'bce')} on Fashion-MNIST, "
                                f"{collapse_cell(summary, 'conv', 'natural_patches', 'bce')} on natural patches")
    output, grad, dead = (contrast(summary, f"{m}_step50") for m in ("mean_output", "logit_grad", "dead_units"))
    out["collapse first steps"] = (f"after 50 steps the MSE runs' mean output is {output['mse_median']:.5f} against BCE's {output['bce_median']:.3f} "
                                   f"(median over {len(output['mse'])} seeds; MNIST's mean pixel is {summary['landscapes']['floors']['mnist']['mean_pixel']:.3f}), "
                                   f"their logit gradient {sci(grad['mse_median'])} against {sci(grad['bce_median'])}, and "
                                   f"{dead['mse_median']:.0%} of the units feeding the output are dead against {dead['bce_median']:.0%} "
                                   f"(Wilcoxon paired by seed, Holm p ≤ {max(r['p_holm'] for r in (output, grad, dead)):.2g})")
    natural = outcome(summary, "dense", "natural_patches")
    mse_ahead = [m for m in METRIC_WORDS if (natural[m]["mse"] > natural[m]["bce"]) == METRICS[m][1]]  # METRICS: (label, higher is better)
    raw_p = [natural[m]["p"] for m in METRIC_WORDS]
    out["natural dense"] = (f"MSE training is ahead on {len(mse_ahead)} of {len(METRIC_WORDS)} metrics (pixel MSE {natural['mse']['mse']:.5f} vs "
                            f"{natural['mse']['bce']:.5f}, SSIM {natural['ssim']['mse']:.3f} vs {natural['ssim']['bce']:.3f}; unadjusted p from "
                            f"{min(raw_p):.2g} to {max(raw_p):.2g}), and after correction there is {verdicts(summary, 'dense', 'natural_patches')}")
    collapse_archs = sorted({c["arch"] for c in summary["collapse"]["cells"]})
    out["collapse runs"] = (f"plus {summary['collapse']['runs']} one-epoch runs of the {listed(collapse_archs)} model{'s' if len(collapse_archs) > 1 else ''} "
                            "for the collapse")
    out["natural others"] = verdicts_by_arch(summary, "natural_patches", ("deep_dense", "conv", "denoising_conv"))
    natural_groups = [g for g in summary["outcome"]["groups"] if arch_and_dataset(g)[1] == "natural_patches"]
    natural_diffs = [d for g in natural_groups for d in g["differences"]]
    pixel = [abs(d["diff"]) / d["mse"] for d in natural_diffs if d["metric"] == "mse"]
    significant = sum(d["winner"] is not None for d in natural_diffs)
    out["natural significant"] = (f"{significant or 'none'} of the {len(natural_diffs)} tests on natural patches "
                                  f"({len(natural_groups)} models) survive{'s' if significant == 1 else ''} the correction, "
                                  f"and pixel MSE differs between the losses by at most {max(pixel):.1%}")
    ssim = [d for d in differences if d["metric"] == "ssim"]
    out["SSIM wins"] = (f"BCE training has the significantly better SSIM in {sum(d['winner'] == 'bce' for d in ssim)} of {len(ssim)} comparisons, "
                        f"MSE training in {sum(d['winner'] == 'mse' for d in ssim)}")
    out["collapse conv adadelta"] = f"under the blog's Adadelta (lr 1.0) in {collapse_cell(summary, 'conv', 'mnist', 'mse', 'adadelta', 1.0)}"
    bce_cells = [c for c in summary["collapse"]["cells"] if c["loss"] == "bce"]
    dense_mse = [c for c in summary["collapse"]["cells"] if c["arch"] == "dense" and c["loss"] == "mse"]
    out["collapse dense"] = (f"the dense model collapsed in {sum(c['collapsed'] for c in dense_mse)} of its {sum(c['runs'] for c in dense_mse)} "
                             f"MSE runs ({len(dense_mse)} settings: {len({c['dataset'] for c in dense_mse})} datasets × "
                             f"{len({(c['optimizer'], c['learning_rate']) for c in dense_mse})} optimizer settings)")
    if any(c["arch"] == "denoising_conv" for c in summary["collapse"]["cells"]):
        out["collapse denoising"] = f"the denoising conv model collapsed (one epoch, 20 seeds per setting) {trained_cells(summary, 'denoising_conv')}"
    out["natural rgb"] = f"On the colour patches ({verdicts_by_arch(summary, 'natural_patches_rgb', ('dense', 'conv'))})"
    out["collapse BCE total"] = (f"BCE training collapsed {sum(c['collapsed'] for c in bce_cells)} of its {sum(c['runs'] for c in bce_cells)} "
                                 f"collapse-rate runs ({len(bce_cells)} settings)")
    split = mechanism(summary, "conv", "mnist", "adadelta", 1.0)
    output50, dead50, output0 = split["mean_output_step50"], split["dead_units_step50"], split["mean_output_step0"]
    out["adadelta split"] = (f"after 50 steps the {len(output50['collapsed'])} that locked have a mean output of {min(output50['collapsed']):.3f} to {max(output50['collapsed']):.3f} "
                             f"against a median of {np.median(output50['healthy']):.2f} for the {len(output50['healthy'])} that did not (Mann–Whitney, "
                             f"Holm p = {output50['p_holm']:.2g}), and {min(dead50['collapsed']):.0%} to {max(dead50['collapsed']):.0%} of the units "
                             f"feeding the output dead (median {np.median(dead50['healthy']):.0%}); at initialisation their mean output "
                             f"{differs(output0)} (p = {output0['p']:.2g}, Holm p = {output0['p_holm']:.2g})")
    late = contrast(summary, "mean_output_step50", "denoising_conv", learning_rate=0.0001)
    out["denoising late lock"] = (f"after 50 steps its MSE runs' mean output is {late['mse_median']:.3f} against BCE's {late['bce_median']:.3f} "
                                  f"(median over {len(late['mse'])} seeds)")
    natural_cells = [c for c in summary["collapse"]["cells"] if c["dataset"] == "natural_patches"]
    out["collapse natural"] = (f"on natural patches {sum(c['collapsed'] for c in natural_cells) or 'none'} of the {sum(c['runs'] for c in natural_cells)} "
                               f"collapse-rate runs ({listed(sorted({ARCH_WORDS[c['arch']] for c in natural_cells}))} models, both losses, "
                               f"{len({(c['optimizer'], c['learning_rate']) for c in natural_cells})} optimizer settings) ended dark")
    fashion = mechanism(summary, "denoising_conv", "fashion_mnist", "adam", 0.01)
    output50, output0 = fashion["mean_output_step50"], fashion["mean_output_step0"]
    out["denoising fashion split"] = (f"after 50 steps the {len(output50['collapsed'])} that locked have a mean output below {sci(max(output50['collapsed']))} "
                                      f"against a median of {np.median(output50['healthy']):.2f} for the {len(output50['healthy'])} that did not "
                                      f"(Mann–Whitney, Holm p = {output50['p_holm']:.2g}); at initialisation their mean output "
                                      f"{differs(output0)} (Holm p = {output0['p_holm']:.2g})")
    seeds: dict[int, list[str]] = {}
    for group in summary["outcome"]["groups"]:
        arch = ARCH_WORDS[arch_and_dataset(group)[0]]
        count = min(d["seeds"] for d in group["differences"])
        if arch not in seeds.setdefault(count, []):
            seeds[count].append(arch)
    out["outcome seeds"] = "; ".join(f"{count} seeds per dataset for {listed(archs)}" for count, archs in sorted(seeds.items(), reverse=True))
    wins = summary["outcome"]["wins"]
    out["tally"] = (f"after Holm's correction over its {summary['outcome']['family_size']} tests: BCE significantly better {times(wins['bce'])}, "
                    f"MSE {times(wins['mse'])}, no significant difference {times(wins['none'])}")
    raw = summary["outcome"]["wins_unadjusted"]
    out["tally unadjusted"] = f"on unadjusted p: {raw['bce']}, {raw['mse']} and {raw['none']}"
    return out
