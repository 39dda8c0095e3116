"""When a run has collapsed to the all-dark output, and how often that happens.

"MSE training collapses" is only a claim about a rate once collapse is defined and counted. The
definition used everywhere: at the end of an epoch, a run has collapsed when its validation pixel
MSE is within `TOLERANCE` (1%) of the pixel MSE of predicting 0 everywhere on the same validation
images, the value a model whose sigmoid is locked at black scores. A rate over seeds comes with a
Wilson 95% interval from statsmodels (it stays inside [0, 1] and is sound at 0 of n).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from statsmodels.stats.proportion import proportion_confint

from autoencoders.diagnose.measures import dark_output_mse
from autoencoders.diagnose.problems import LOCK_TOLERANCE

TOLERANCE = LOCK_TOLERANCE  # within 1% of the all-dark output's pixel MSE: the diagnosis's rule
INTERVAL = "wilson"  # proportion_confint's method


def is_collapsed(val_pixel_mse: float, dark_mse: float, tolerance: float = TOLERANCE) -> bool:
    return val_pixel_mse >= (1.0 - tolerance) * dark_mse


def collapsed_by_epoch(history: Sequence[dict], dark_mse: float) -> list[bool]:
    """For each epoch of a run's history, whether it had collapsed then (a run that recovers shows
    True then False)."""
    return [is_collapsed(row["val_pixel_mse"], dark_mse) for row in history]


def validation_dark_mse_of(dataset) -> float:
    """The all-dark pixel MSE on the validation targets of a run with this dataset config: the
    first `test_size` test images, binarized if asked (noise touches inputs, never targets)."""
    from autoencoders.data.loading import load_dataset, prepare

    data = prepare(
        load_dataset(dataset),
        train_size=dataset.train_size,
        test_size=dataset.test_size,
        noise_factor=0.0,
        binarize=dataset.binarize,
        seed=0,
    )
    return dark_output_mse(data.t_test)


@dataclass(frozen=True)
class Rate:
    collapsed: int
    runs: int
    low: float  # 95% interval
    high: float

    @property
    def rate(self) -> float:
        return self.collapsed / self.runs

    def __str__(self) -> str:
        return f"{self.collapsed} of {self.runs} ({self.rate:.0%}, 95% CI [{self.low:.2f}, {self.high:.2f}])"


def collapse_rate(collapsed: int, total: int, alpha: float = 0.05) -> Rate:
    if not 0 <= collapsed <= total or total < 1:
        raise ValueError(f"collapsed = {collapsed} of total = {total}: need 0 <= collapsed <= total and total >= 1")
    low, high = proportion_confint(collapsed, total, alpha=alpha, method=INTERVAL)
    return Rate(collapsed, total, float(low), float(high))
