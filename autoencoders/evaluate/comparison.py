"""Which runs compare, and what the numbers over seeds say.

Runs whose configs differ only in `loss.name` and `seed` (and in names or settings that do not
change results: eval batch size, XLA) and that were trained on the same data (the identity in
their metrics.json, so one file under two paths is one dataset and two files under one path are
two) form one comparison. Within it, each metric is summarised
per loss over seeds (mean, standard deviation, 95% t-interval) and the BCE - MSE difference is
tested paired by seed (a paired t-test, `scipy.stats.ttest_rel`). With one seed there is no
test: the verdict says so rather than pretend.

A report makes many such tests at once, so verdicts use p-values adjusted over the report's
family of tests (Holm–Bonferroni, `statsmodels.stats.multitest.multipletests`: `correct`); the
effect size is the mean paired difference with its 95% t-interval, and with enough pairs a
Wilcoxon signed-rank test (`scipy.stats.wilcoxon`) checks the t-test without assuming normality.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from autoencoders import config as C
from autoencoders.data.datasets import DATASETS
from autoencoders.models.architectures import ARCHITECTURES

# Keys that do not define an experiment: they may differ inside one comparison (dataset.path
# is replaced by the data's identity).
IGNORED_KEYS = ("name", "seed", "loss.name", "dataset.path", "training.eval_batch_size", "training.jit_compile", *C.RECORD_ONLY_KEYS)
# Keys that define the test set (with the data's identity): runs differing here can never be compared.
TEST_SET_KEYS = (
    "dataset.name",
    "dataset.test_size",
    "dataset.noise_factor",
    "dataset.binarize",
    "dataset.color_mode",
    "dataset.image_size",
)

# metric -> (label, True if higher is better)
METRICS = {
    "mse": ("pixel MSE", False),
    "mae": ("pixel MAE", False),
    "psnr": ("PSNR (dB)", True),
    "ssim": ("SSIM", True),
    "bce": ("pixel BCE", False),
    "bce_excess": ("BCE − target entropy", False),
}
#: a metric whose paired BCE − MSE differences are another metric's, seed for seed: it is reported
#: but not tested again (one test per distinct quantity in a family). Pixel BCE minus the test set's
#: entropy floor H(y) differs from pixel BCE by a constant of the test set, the same for both losses,
#: so the two have identical paired differences; the floor-free one is tested.
SAME_TEST_AS = {"bce": "bce_excess"}
ALPHA = 0.05
#: paired values this close, relative to their size, are the same number: the metrics are means of
#: float32 pixels (about 7 significant digits), so a smaller difference is rounding, on any scale
SAME_VALUE_RTOL = 1e-6
CORRECTION = "holm"  # multipletests' name for Holm–Bonferroni: controls the family-wise error rate
# With n pairs the exact two-sided signed-rank p is at least 2 / 2**n: 0.0625 for 5 pairs, so below
# 6 pairs the Wilcoxon test could never reject and is not shown.
WILCOXON_MIN_PAIRS = 6


class ComparisonError(Exception):
    """The runs given cannot be compared (e.g. different datasets or test subsets)."""


def data_identity(run) -> str:
    """The identity of a run's data: recorded in its metrics.json, or for a run made before that
    was recorded, its built-in dataset's (fixed by the pinned files)."""
    if run.data_identity:
        return run.data_identity
    source = DATASETS[run.config.dataset.name].source
    return source.identity() if source is not None else f"unrecorded:{run.config.dataset.path}"


def group_key(run) -> str:
    """What must be equal for runs to be compared: the config minus IGNORED_KEYS, and the data."""
    key = {k: v for k, v in C.to_flat_dict(run.config).items() if k not in IGNORED_KEYS}
    return json.dumps({**key, "data": data_identity(run)}, sort_keys=True)


def test_set_key(run) -> tuple:
    flat = C.to_flat_dict(run.config)
    return (data_identity(run), *(json.dumps(flat[k]) for k in TEST_SET_KEYS))


@dataclass
class Group:
    key: str
    members: list = field(default_factory=list)  # Evaluations

    @property
    def config(self) -> C.ExperimentConfig:
        return self.members[0].run.config

    @property
    def title(self) -> str:
        c = self.config
        extras = []
        if c.dataset.noise_factor:
            extras.append(f"noise {c.dataset.noise_factor:g}")
        if c.dataset.binarize:
            extras.append("binarized")
        if c.dataset.train_size:
            extras.append(f"{c.dataset.train_size} train images")
        extras.append(f"{c.training.epochs} epochs")
        if (c.training.optimizer, c.training.learning_rate) != ("adam", 0.001):
            extras.append(f"{c.training.optimizer} lr {c.training.learning_rate:g}")
        if c.loss.reduction != "mean":
            extras.append(f"{c.loss.reduction} over pixels")
        data = c.dataset.name if c.dataset.path is None else f"{c.dataset.name} {Path(c.dataset.path).name}"
        if c.dataset.image_size is not None:
            extras.insert(0, f"resized to {c.dataset.image_size[0]}x{c.dataset.image_size[1]}")
        return f"{c.model.arch} · {data} · " + ", ".join(extras)

    def by_loss(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for ev in sorted(self.members, key=lambda e: (e.run.config.loss.name, e.run.config.seed)):
            out.setdefault(ev.run.config.loss.name, []).append(ev)
        return out

    @property
    def is_pair(self) -> bool:
        return {"bce", "mse"} <= set(self.by_loss())


def group_runs(evaluations: Sequence) -> list[Group]:
    """Groups in the blog post's order (its architectures in turn, MNIST before Fashion-MNIST), so a report
    reads like the post rather than alphabetically."""
    groups: dict[str, Group] = {}
    for ev in evaluations:
        key = group_key(ev.run)
        groups.setdefault(key, Group(key)).members.append(ev)
    return sorted(
        groups.values(), key=lambda g: (ARCHITECTURES.position(g.config.model.arch), DATASETS.position(g.config.dataset.name), g.title)
    )


def drop_repeats(evaluations: Sequence) -> list:
    """One evaluation per experiment, loss and seed. A second run of the same experiment and seed
    (trained twice into two folders) cannot be paired: it is set aside with its reason (it is
    listed among the runs not evaluated), never silently merged into the statistics."""
    kept, first = [], {}
    for ev in evaluations:
        key = (group_key(ev.run), ev.run.config.loss.name, ev.run.config.seed)
        if key in first:
            ev.run.status, ev.run.reason = (
                "invalid",
                f"the same experiment, loss and seed as {first[key]}; only one run per seed is compared",
            )
            continue
        first[key] = ev.run.path
        kept.append(ev)
    return kept


def check_comparable(groups: Sequence[Group]) -> None:
    """Refuse a request whose runs share no test set: nothing in it could be compared fairly."""
    if len(groups) < 2 or any(g.is_pair for g in groups):
        return
    test_sets = {test_set_key(ev.run) for g in groups for ev in g.members}
    if len(test_sets) > 1:
        lines = [
            f"  {ev.run.path}: "
            + ", ".join(f"{k}={C.to_flat_dict(ev.run.config)[k]}" for k in TEST_SET_KEYS)
            + f", data {data_identity(ev.run)[:12]}"
            for g in groups
            for ev in g.members
        ]
        raise ComparisonError(
            "these runs cannot be compared: they were trained or validated on different test sets, and no BCE and MSE "
            "runs share one. Evaluate runs of one dataset and test subset together.\n" + "\n".join(lines)
        )


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    sd: float | None
    ci_low: float | None
    ci_high: float | None


def summarize(values: Sequence[float]) -> Summary:
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        return Summary(n, float(x.mean()), None, None, None)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(n, float(x.mean()), sd, float(x.mean()) - half, float(x.mean()) + half)


@dataclass(frozen=True)
class Difference:
    metric: str
    bce: Summary
    mse: Summary
    diff: Summary  # BCE - MSE, paired by seed: the effect size, with its 95% t-interval
    p_value: float | None  # paired t-test, unadjusted
    verdict: str
    winner: str | None  # "bce", "mse" or None (no significant difference / cannot tell)
    p_adjusted: float | None = None  # Holm-adjusted over `family_size` tests; the verdict uses it
    family_size: int = 1
    wilcoxon_p: float | None = None  # signed-rank test of the same pairs (WILCOXON_MIN_PAIRS or more)
    mse_paired_mean: float = math.nan  # MSE-trained runs' mean over the paired seeds only: the effect's percentage divides by it
    tested_as: str | None = None  # set when this metric's test is another's (SAME_TEST_AS): reported with that test's p, not counted

    @property
    def relative(self) -> float:
        """The effect as a share of the MSE-trained runs' value, both over the same paired seeds."""
        return abs(self.diff.mean) / abs(self.mse_paired_mean) if self.mse_paired_mean else math.inf

    @property
    def better(self) -> str:
        """The loss the mean paired difference favours ("bce" or "mse"), significant or not."""
        return favoured(self.metric, self.diff.mean)


def first_better(metric: str, diff: float) -> bool:
    """Whether a difference first − second of `metric` favours the first, significant or not: it
    points the metric's better way (up for PSNR and SSIM, down for the errors)."""
    return (diff > 0) == METRICS[metric][1]


def favoured(metric: str, diff: float) -> str:
    """The loss a BCE − MSE difference of `metric` favours, significant or not (`first_better`)."""
    return "bce" if first_better(metric, diff) else "mse"


def significant(p: float | None) -> bool:
    """A test's p (adjusted, where a family was) below α; no test (None) is never significant."""
    return p is not None and p < ALPHA


def winner(metric: str, diff: float, p_adjusted: float | None) -> str | None:
    """The verdict rule of every table and of the Findings: the favoured loss when the adjusted p
    is below α, else None (no significant difference, or no test)."""
    return favoured(metric, diff) if significant(p_adjusted) else None


def compare_metric(metric: str, bce_by_seed: dict[int, float], mse_by_seed: dict[int, float]) -> Difference:
    """One metric, BCE against MSE paired by seed; the verdict is for a family of this one test
    (`correct` redoes it over a report's family)."""
    seeds = sorted(set(bce_by_seed) & set(mse_by_seed))
    paired_mse = np.array([mse_by_seed[s] for s in seeds])
    d, p, wilcoxon = paired_test([bce_by_seed[s] for s in seeds], paired_mse)
    b, m = summarize(list(bce_by_seed.values())), summarize(list(mse_by_seed.values()))
    paired_mean = float(paired_mse.mean()) if seeds else math.nan
    return with_verdict(Difference(metric, b, m, d, p, "", None, wilcoxon_p=wilcoxon, mse_paired_mean=paired_mean), p, 1)


def paired_test(first: Sequence[float], second: Sequence[float]) -> tuple[Summary, float | None, float | None]:
    """The paired test of every table: `first` − `second` pair by pair (the same seed's runs),
    summarised with its 95% t-interval, the paired t-test's p (two pairs or more) and the Wilcoxon
    signed-rank p (`WILCOXON_MIN_PAIRS` or more); pairs equal up to float32 rounding give p = 1
    rather than the t-test's undefined 0/0."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    diffs = list(a - b)
    same = same_values(a, b)
    p = wilcoxon = None
    if len(diffs) >= 2:
        p = 1.0 if same else float(stats.ttest_rel(a, b).pvalue)
    if len(diffs) >= WILCOXON_MIN_PAIRS:
        wilcoxon = 1.0 if same else float(stats.wilcoxon(diffs).pvalue)
    return summarize(diffs or [math.nan]), p, wilcoxon


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Every pair equal up to float32 rounding relative to the values' own size (`SAME_VALUE_RTOL`),
    so a metric in the hundreds and one in the thousandths are judged alike (an absolute tolerance
    would call any two small metrics equal)."""
    return bool(np.all(np.abs(a - b) <= SAME_VALUE_RTOL * np.maximum(np.abs(a), np.abs(b))))


def with_verdict(d: Difference, p_adjusted: float | None, family_size: int) -> Difference:
    """`d` judged on `p_adjusted` (its p adjusted over a family of `family_size` tests)."""
    better = d.better
    size = f"by {abs(d.diff.mean):.4g} ({d.relative:.1%} of MSE's value)"
    judged = replace(d, p_adjusted=p_adjusted, family_size=family_size)
    p_text = "" if p_adjusted is None else f"p = {p_adjusted:.2g}" if family_size == 1 else f"Holm p = {p_adjusted:.2g}"
    if d.tested_as:
        p_text += f", the test of {METRICS[d.tested_as][0]}"
    if math.isnan(d.diff.mean):  # no seed in common (compare_metric summarised [nan])
        return replace(judged, verdict="no seed trained with both losses", winner=None)
    if p_adjusted is None:
        return replace(judged, verdict=f"{better.upper()} better {size}; one seed: cannot tell", winner=None)
    if winner(d.metric, d.diff.mean, p_adjusted):
        return replace(judged, verdict=f"**{better.upper()} better** {size}, {p_text}", winner=better)
    return replace(judged, verdict=f"no significant difference ({p_text}, {d.diff.n} seeds)", winner=None)


def holm_adjusted(p_values: Sequence[float | None]) -> list[float | None]:
    """Each p adjusted by Holm–Bonferroni (`multipletests`) over the family of the tests that were
    made; None (no test: one seed, a group too small, identical pairs) stays None and is not
    counted in the family. The one correction every table of the suite uses."""
    tested = [p for p in p_values if p is not None]
    adjusted = iter(multipletests(tested, alpha=ALPHA, method=CORRECTION)[1] if tested else [])
    return [None if p is None else float(next(adjusted)) for p in p_values]


def correct(differences: Sequence[Difference]) -> list[Difference]:
    """The differences judged as one family: each p adjusted by Holm–Bonferroni over the tests in
    the family (those with a p; one-seed comparisons have none, and a metric `tested_as` another is
    no test of its own: `compare_groups` gives it that test's verdict), verdicts on the adjusted p."""
    own = [None if d.tested_as else d.p_value for d in differences]
    family = sum(p is not None for p in own)
    return [with_verdict(d, p_holm, family) for d, p_holm in zip(differences, holm_adjusted(own), strict=True)]


def share_test(twin: Difference, partner: Difference) -> Difference:
    """`twin` judged by `partner`'s test (the same paired differences: `SAME_TEST_AS`)."""
    return with_verdict(replace(twin, p_value=partner.p_value, wilcoxon_p=partner.wilcoxon_p), partner.p_adjusted, partner.family_size)


def own_tests(differences: Sequence[Difference]) -> list[Difference]:
    """The differences that are tests of their own: what a tally of wins counts (a metric reported
    with another's test would count that test twice)."""
    return [d for d in differences if d.tested_as is None]


def compare_groups(groups: Sequence[Group], metrics: Sequence[str] = tuple(METRICS)) -> list[list[Difference]]:
    """`compare_group` for each group, all the tests judged as one family (`correct`)."""
    judged = iter(correct([d for group in groups for d in compare_group(group, metrics)]))
    out = []
    for _ in groups:
        diffs = [next(judged) for _ in metrics]
        by_metric = {d.metric: d for d in diffs}
        out.append([share_test(d, by_metric[d.tested_as]) if d.tested_as else d for d in diffs])
    return out


def compare_group(group: Group, metrics: Sequence[str] = tuple(METRICS)) -> list[Difference]:
    """One group's differences in `metrics` order; a metric whose test is another's (`SAME_TEST_AS`,
    when both are asked for) is marked `tested_as` it."""
    per_loss = group.by_loss()
    differences = [
        compare_metric(
            metric,
            {ev.run.config.seed: ev.mean(metric) for ev in per_loss.get("bce", [])},
            {ev.run.config.seed: ev.mean(metric) for ev in per_loss.get("mse", [])},
        )
        for metric in metrics
    ]
    return [replace(d, tested_as=SAME_TEST_AS[d.metric]) if SAME_TEST_AS.get(d.metric) in metrics else d for d in differences]
