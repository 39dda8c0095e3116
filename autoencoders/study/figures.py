"""Figures of the study that the comparison report does not have: loss landscapes, logit
gradients (closed form and measured) and per-image scatter plots. Same style and colours as
`plots` (matplotlib's object API, atomic PNG writes)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from autoencoders.report.plots import DPI, LossColors, figure_style, panel_grid, save_png
from autoencoders.study import theory

LOSS_LABELS = {"bce": "BCE", "mse": "MSE", "mae": "MAE", "log_cosh": "log-cosh", "continuous_bernoulli": "continuous Bernoulli"}


def landscapes(
    path: str | os.PathLike[str],
    targets: Sequence[float] = theory.TARGETS,
    losses: Sequence[str] = ("bce", "mse", "mae", "log_cosh"),
    dpi: int = DPI,
):
    """Per-pixel loss against the prediction p, one panel per target y; a dot at each loss's
    numerical minimum and a dashed line at BCE's floor H(y)."""
    p = np.linspace(0.001, 0.999, 999)
    colors = LossColors()
    with figure_style():
        fig = Figure(figsize=(3.2 * len(targets), 3.3), layout="constrained")
        axes = fig.subplots(1, len(targets), sharey=True)
        for ax, y in zip(axes, targets):
            for loss in losses:
                fn = theory.PIXEL_LOSSES[loss]
                ax.plot(p, fn(y, p), color=colors(loss), label=LOSS_LABELS[loss], lw=1.4)
                p_min, v_min = theory.numerical_minimum(fn, y)
                ax.plot([p_min], [v_min], "o", color=colors(loss), ms=4)
            ax.axhline(float(theory.binary_entropy(y)), color=colors("bce"), ls="--", lw=0.8)
            ax.axvline(y, color="#999999", lw=0.6)
            ax.set_title(f"target y = {y:g}; H(y) = {float(theory.binary_entropy(y)):.3f}")
            ax.set_xlabel("prediction p")
            ax.set_ylim(0, 2.5)
            ax.grid(True)
        axes[0].set_ylabel("per-pixel loss")
        axes[0].legend(loc="upper center")
        fig.suptitle("Every loss is minimised at p = y (dots); only BCE's minimum is not 0 but the entropy H(y) (dashed)")
        return save_png(fig, path, dpi)


def logit_gradients(path: str | os.PathLike[str], losses: Sequence[str] = ("bce", "mse", "mae"), dpi: int = DPI):
    """|d loss / d z| against the logit z, for targets 0 and 1 (closed form, tested against autodiff)."""
    z = np.linspace(-10, 10, 801)
    colors = LossColors()
    with figure_style():
        fig = Figure(figsize=(9, 3.4), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, y in zip(axes, (0.0, 1.0)):
            for loss in losses:
                ax.plot(z, np.abs(theory.logit_gradient(loss, z, y)), color=colors(loss), label=LOSS_LABELS[loss], lw=1.4)
            wrong = (z > 0) if y == 0 else (z < 0)
            ax.fill_between(z, 0, 1.05, where=wrong, color="#f2f2f2", zorder=0)
            ax.set_title(f"target y = {y:g} (grey: output on the wrong side)")
            ax.set_xlabel("output logit z  (p = sigmoid(z))")
            ax.set_ylim(0, 1.05)
            ax.grid(True)
        axes[0].set_ylabel("|d loss / d z|")
        axes[0].legend()
        return save_png(fig, path, dpi)


def measured_gradients(
    panels: Sequence[tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]]],
    path: str | os.PathLike[str],
    key: str,
    ylabel: str,
    dpi: int = DPI,
):
    """One panel per model, three to a row: `key` against epoch per loss (mean over seeds, band = min..max)."""
    colors = LossColors()
    with figure_style():
        fig, axes = panel_grid(len(panels), 3, (3.4, 2.9))
        for ax, (title, curves) in zip(axes, panels):
            for loss, (epochs, values) in curves.items():
                ax.plot(epochs, values.mean(0), color=colors(loss), label=LOSS_LABELS.get(loss, loss), lw=1.4)
                if len(values) > 1:
                    ax.fill_between(epochs, values.min(0), values.max(0), color=colors(loss), alpha=0.2, lw=0)
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.grid(True)
            ax.legend()
            if np.all(np.concatenate([v.ravel() for _, v in curves.values()]) > 0):
                ax.set_yscale("log")
        for ax in axes:
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(ylabel)
        return save_png(fig, path, dpi)


def scatter(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, str, str]], path: str | os.PathLike[str], title: str | None = None, dpi: int = DPI
):
    """Side-by-side scatter plots (title, x, y, xlabel, ylabel), each with its Pearson r."""
    with figure_style():
        fig = Figure(figsize=(3.6 * len(panels), 3.4), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(panels)))
        for ax, (name, x, y, xlabel, ylabel) in zip(axes, panels):
            ax.scatter(x, y, s=2, alpha=0.4, lw=0, color="#444444", rasterized=True)
            r = float(np.corrcoef(x, y)[0, 1])
            ax.set_title(f"{name}\nPearson r = {r:.2f}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True)
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


def collapse_rates(panels: Sequence[tuple[str, dict]], settings: Sequence[str], path: str | os.PathLike[str], dpi: int = DPI):
    """One panel per model: the collapse rate at each optimizer setting, one line per (dataset,
    loss) with its 95% interval as error bars (MSE solid, BCE dashed; lines nudged apart). A line
    joins the learning rates of one optimizer only ("Adam 0.001", "Adam 0.01"): another optimizer
    is another point, not the next step of a curve."""
    datasets = list(dict.fromkeys(dataset for _, lines in panels for dataset, _ in lines))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]
    optimizers = [setting.split()[0] for setting in settings]
    with figure_style():
        fig, axes = panel_grid(len(panels), 3, (3.8, 3.2))
        for ax, (title, lines) in zip(axes, panels):
            for k, ((dataset, loss), rates) in enumerate(lines.items()):
                label = f"{dataset} · {LOSS_LABELS.get(loss, loss)}"
                for optimizer in dict.fromkeys(optimizers):
                    points = [
                        (i + (k - len(lines) / 2) * 0.06, r) for i, r in enumerate(rates) if r is not None and optimizers[i] == optimizer
                    ]
                    if not points:
                        continue
                    # at 0 or n of n the Wilson bound can round to a hair inside the rate; matplotlib refuses negative bars
                    errors = [[max(r.rate - r.low, 0.0) for _, r in points], [max(r.high - r.rate, 0.0) for _, r in points]]
                    ax.errorbar(
                        [x for x, _ in points],
                        [r.rate for _, r in points],
                        yerr=errors,
                        color=palette[datasets.index(dataset) % len(palette)],
                        ls="-" if loss == "mse" else "--",
                        marker="o" if loss == "mse" else "s",
                        ms=3.5,
                        lw=1.2,
                        capsize=2,
                        label=label,
                    )
                    label = None  # one legend entry per line, whatever the optimizers
            ax.set_xticks(range(len(settings)), settings, rotation=20)
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(title)
            ax.grid(True)
        axes[0].set_ylabel("collapse rate (95% CI)")
        axes[-1].legend(fontsize=7, loc="best")
        return save_png(fig, path, dpi)
