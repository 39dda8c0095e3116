"""How soon a run gets good: the first epoch its validation pixel MSE reaches a fixed target, and
which of two settings gets there sooner seed by seed (study section 3, and the cost of each
output head in section 9: a loss that needs more epochs costs more)."""

from __future__ import annotations

import math

import numpy as np

#: the validation pixel MSE whose first epoch measures speed: this share of an all-dark output's
#: MSE on the same images. A target no run sets: the earlier one (the worst final MSE of the
#: comparison's runs) was reached by the run that set it only at its end, which favoured the other loss.
REACH_SHARE = 0.1


def reach_epoch(history: list[dict], target: float) -> int | None:
    """The first epoch whose validation pixel MSE is at most `target` (None: never)."""
    return next((int(row["epoch"]) for row in history if row["val_pixel_mse"] <= target), None)


def reach_test(group_title: str, target: float, bce: dict[int, int | None], mse: dict[int, int | None]) -> dict:
    """Which loss reaches `target` sooner, seed by seed: a sign test (`scipy.stats.binomtest`) over
    the seeds where one was sooner, a run that never reached it counting as later than one that did
    (ties, both never included, are left out). p is None when no seed differs."""
    from scipy.stats import binomtest

    seeds = sorted(set(bce) & set(mse))
    never = math.inf
    bce_sooner = sum((bce[s] or never) < (mse[s] or never) for s in seeds)
    mse_sooner = sum((mse[s] or never) < (bce[s] or never) for s in seeds)
    differing = bce_sooner + mse_sooner
    return {
        "group": group_title,
        "target": target,
        "seeds": seeds,
        "bce": [bce[s] for s in seeds],
        "mse": [mse[s] for s in seeds],
        "bce_sooner": bce_sooner,
        "mse_sooner": mse_sooner,
        "ties": len(seeds) - differing,
        "p": float(binomtest(bce_sooner, differing).pvalue) if differing else None,
    }


def median_epoch(epochs: list[int | None]) -> float:
    """The median over seeds, a run that never reached the target counting as later than all (inf)."""
    return float(np.median([math.inf if e is None else e for e in epochs]))


def epoch_words(value: float) -> str:
    """A median epoch in words: "never" for inf (the median run never reached the target)."""
    return "never" if math.isinf(value) else f"{value:g}"
