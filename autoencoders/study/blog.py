"""The numbers the Keras blog post reports, and a table that puts ours next to them.

"Building Autoencoders in Keras" (F. Chollet) trains on MNIST with binary cross-entropy and
reports, per experiment, roughly where the loss ends up. Our matching runs are the BCE-trained
MNIST runs of the same arch at the blog's epochs; "loss" here is Keras's loss as the blog saw
it, i.e. for sparse_dense it includes the L1 activity penalty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlogResult:
    arch: str
    epochs: int
    quantity: str  # a key of `_ours`
    value: float
    text: str  # how the blog states it


BLOG_RESULTS = (
    BlogResult("dense", 50, "val_loss", 0.09, "train/test loss ≈ 0.09 after 50 epochs"),
    BlogResult("sparse_dense", 100, "loss", 0.11, "train loss 0.11 after 100 epochs"),
    BlogResult("sparse_dense", 100, "val_loss", 0.10, "test loss 0.10 after 100 epochs"),
    BlogResult("sparse_dense", 100, "code_mean", 3.33, "mean code activation 3.33 (test set)"),
    BlogResult("dense", 50, "code_mean", 7.30, "mean code activation of the unregularised model: 7.30"),
    BlogResult("deep_dense", 100, "val_loss", 0.08, "train/test loss ≈ 0.08 after 100 epochs"),
    BlogResult("conv", 50, "val_loss", 0.094, "test loss 0.094 after 50 epochs"),
)


def _ours(ev, quantity: str) -> float | None:
    if quantity == "code_mean":
        return ev.code_mean
    history = ev.run.history
    return history[-1].get(quantity) if history else None


def blog_rows(evaluations: Sequence) -> list[dict]:
    """One row per blog number and optimizer that has matching runs (BCE, MNIST, full data, the
    blog's arch and epochs); Adam rows first, then any other optimizer (the post's 2016 Adadelta)."""
    rows = []
    for blog in BLOG_RESULTS:
        by_optimizer: dict[str, list[float]] = {}
        for ev in evaluations:
            c = ev.run.config
            if (
                c.model.arch == blog.arch
                and c.dataset.name == "mnist"
                and c.loss.name == "bce"
                and c.training.epochs == blog.epochs
                and not c.dataset.train_size
                and not c.dataset.test_size
                and (v := _ours(ev, blog.quantity)) is not None
            ):
                by_optimizer.setdefault(f"{c.training.optimizer} (lr {c.training.learning_rate:g})", []).append(v)
        for optimizer in sorted(by_optimizer, key=lambda o: (not o.startswith("adam"), o)):
            values = by_optimizer[optimizer]
            rows.append(
                {
                    "arch": blog.arch,
                    "blog": blog.text,
                    "blog_value": blog.value,
                    "quantity": blog.quantity,
                    "optimizer": optimizer,
                    "ours_mean": float(np.mean(values)),
                    "ours_sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                    "seeds": len(values),
                }
            )
    return rows


def blog_section(evaluations: Sequence) -> tuple[str, list[str], list[dict]] | None:
    """A comparison report's section (the `autoencoders.report_sections` entry point): the blog's
    numbers next to ours, when the report has runs that match them."""
    from autoencoders.report.document import fmt

    rows = blog_rows(evaluations)
    if not rows:
        return None
    lines = [
        "BCE-trained runs on MNIST at the blog's epochs; \"loss\" is Keras's loss as the blog saw it (for sparse_dense it includes the L1 penalty). "
        "The post's 2016 code trained with Adadelta (Keras 1's learning rate 1.0), its later revision with Adam; where runs of both exist, both are shown.",
        "",
        "| arch | the blog reports | blog | ours (mean ± sd over seeds) | optimizer | seeds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['arch']} | {r['blog']} | {r['blog_value']:g} | {fmt(r['ours_mean'])}"
        + (f" ± {fmt(r['ours_sd'], 2)}" if r["ours_sd"] is not None else "")
        + f" | {r['optimizer']} | {r['seeds']} |"
        for r in rows
    ]
    return "The Keras blog's numbers next to ours", lines, rows
