"""Section 7 of the study: the MSE collapse as a rate, and the conditions it depends on.

The `configs/sweeps/collapse_*.yaml` sweeps train each architecture for one epoch over 20 seeds
per cell (arch x dataset x optimizer and learning rate x loss). A run's data here is only its
config.yaml and history.csv (no model file is kept for these 1,440 runs), so the whole section is
remade from the committed folders. Three measurements:

- the rate per cell, with a Wilson 95% interval (`collapse.collapse_rate`);
- whether one epoch is enough: among the study's full-length runs (Adam 1e-3), and among the
  `configs/sweeps/long_*.yaml` runs (the conv model on MNIST for 8 epochs at the other optimizer
  settings, the denoising model at Adam 1e-4; trained into the same folder), is a run dark after
  its first epoch still dark at its last, and does a run that was not dark after one epoch ever
  go dark;
- the mechanism: each run of a cell where some seeds collapse and others do not is replayed from
  its seed (same initial weights, same batches) and measured at initialisation and after 50 steps,
  next to the probe's values after epoch 1; collapsed against healthy seeds by Mann-Whitney U
  (p by permutation) where each group has 3 seeds; and, where MSE mostly collapses, MSE against
  BCE from the same seeds (Wilcoxon, paired by seed). Each table is Holm-corrected as one family.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.stats import PermutationMethod, mannwhitneyu, wilcoxon

from autoencoders import config as C
from autoencoders.evaluate.comparison import WILCOXON_MIN_PAIRS, holm_adjusted
from autoencoders.study import collapse
from autoencoders.train import run_folder as runs

PREFIX = "collapse-"
SWEEPS = "configs/sweeps/collapse_*.yaml"
LONG_PREFIX = "long-"  # the multi-epoch runs that check the one-epoch verdict, in the same folder
LONG_SWEEPS = "configs/sweeps/long_*.yaml"
OPTIMIZER_SETTINGS = (("adam", 0.0001), ("adam", 0.001), ("adam", 0.01), ("adadelta", 1.0))
DATASETS = ("mnist", "fashion_mnist", "natural_patches")
ARCHS = ("conv", "denoising_conv", "dense")


@dataclass(frozen=True, order=True)
class Cell:
    arch: str
    dataset: str
    optimizer: str
    learning_rate: float
    loss: str
    head: str = "sigmoid"  # the output head (model.output): section 9's cells are linear too

    @property
    def setting(self) -> str:
        return f"{self.optimizer.capitalize()} {self.learning_rate:g}"


@dataclass(frozen=True)
class CollapseRun:
    path: Path
    config: C.ExperimentConfig
    history: list[dict]
    dark_mse: float
    metrics: dict = dataclasses.field(default_factory=dict)  # metrics.json: the outcome runs' evaluation and train time

    @property
    def cell(self) -> Cell:
        c = self.config
        return Cell(c.model.arch, c.dataset.name, c.training.optimizer, float(c.training.learning_rate), c.loss.name, c.model.output)

    @property
    def collapsed(self) -> bool:
        return collapse.is_collapsed(self.history[-1]["val_pixel_mse"], self.dark_mse)

    @property
    def diverged(self) -> bool:
        """A NaN or infinite validation MSE: neither collapsed nor healthy, counted apart."""
        return not math.isfinite(self.history[-1]["val_pixel_mse"])


@cache
def dark_mse(dataset: C.DatasetConfig) -> float:
    """`collapse.validation_dark_mse_of`, once per data config (a sweep has 20 seeds of each)."""
    return collapse.validation_dark_mse_of(dataset)


def load_runs(folder: Path, prefix: str = PREFIX) -> tuple[list[CollapseRun], list[str]]:
    """The completed runs in `folder` whose names start with `prefix` (the collapse-rate runs, or
    with `LONG_PREFIX` the long ones), and one line per folder that is not (unfinished, failed or
    corrupt: named, never a traceback)."""
    found, problems = [], []
    for path in sorted(Path(folder).glob(f"{prefix}*")):
        if not path.is_dir():
            continue
        status, problem = runs.status_or_problem(path)
        if status != "completed":
            problems.append(f"{path.name}: {problem or status}")
            continue
        try:
            cfg = C.load_config(path / runs.CONFIG)
            history = runs.read_history(path / runs.HISTORY)
            metrics = runs.read_json(path / runs.METRICS)
        except (C.ConfigError, runs.CorruptFile) as e:
            problems.append(f"{path.name}: {e}")
            continue
        if not history:  # a completed run with no epoch recorded: nothing to judge it by
            problems.append(f"{path.name}: {runs.HISTORY} holds no epoch")
            continue
        found.append(CollapseRun(path, cfg, history, dark_mse(cfg.dataset), metrics))
    return found, problems


def by_cell(collapse_runs: Iterable[CollapseRun]) -> dict[Cell, list[CollapseRun]]:
    cells: dict[Cell, list[CollapseRun]] = {}
    for run in collapse_runs:
        cells.setdefault(run.cell, []).append(run)
    return {cell: sorted(members, key=lambda r: r.config.seed) for cell, members in sorted(cells.items())}


def rates(cells: dict[Cell, list[CollapseRun]]) -> dict[Cell, collapse.Rate]:
    return {cell: collapse.collapse_rate(sum(r.collapsed for r in members), len(members)) for cell, members in cells.items()}


# ----------------------------------------------------------------------------- does it last?


@dataclass(frozen=True)
class Persistence:
    """Among full-length runs: dark after epoch 1, and of those still dark at the last epoch; not
    dark after epoch 1, and of those dark at the last epoch."""

    dark_first: int
    dark_first_and_last: int
    healthy_first: int
    dark_later: int
    longest: int  # epochs of the longest run looked at
    runs: int


def persistence(histories: Sequence[tuple[list[dict], float]]) -> Persistence:
    """`histories`: (history, all-dark validation MSE) of each full-length run."""
    flags = [collapse.collapsed_by_epoch(history, dark) for history, dark in histories if len(history) > 1]
    return Persistence(
        dark_first=sum(f[0] for f in flags),
        dark_first_and_last=sum(f[0] and f[-1] for f in flags),
        healthy_first=sum(not f[0] for f in flags),
        dark_later=sum((not f[0]) and f[-1] for f in flags),
        longest=max((len(f) for f in flags), default=0),
        runs=len(flags),
    )


def persistence_by_cell(long_runs: Iterable[CollapseRun]) -> dict[Cell, Persistence]:
    """`persistence` of the long runs of each cell (setting and loss): the one-epoch verdict
    checked where the study's full-length runs (all at Adam 1e-3) cannot."""
    return {cell: persistence([(r.history, r.dark_mse) for r in members]) for cell, members in by_cell(long_runs).items()}


# ----------------------------------------------------------------------------- mechanism

#: every collapsing run in the study's cells is dark after 30 to 70 steps (measured every 7 steps
#: on five conv seeds); the ones that escape do so later, so the state at step 50 is the one to compare
EARLY_STEPS = 50
MECHANISM_FILE = "mechanism.json"  # cached in the run folder: replaying 50 steps costs seconds
STATE_MEASURES = {
    "mean_output": "mean output",
    "dead_units": "share of the units feeding the output layer that are 0 on every probe image",
    "logit_grad": "mean \\|dℓ/dz\\| (the run's own loss)",
}


def early_state(cfg: C.ExperimentConfig, steps: int = EARLY_STEPS, probe_size: int = 1024) -> dict[str, float]:
    """The run replayed for its first `steps` batches: the model as training started it (same seed,
    same builder, same batches, by `training.compile_model` and `training.training_batches`), measured
    at initialisation and after `steps` steps on the probe the run used (its first `probe_size`
    training images)."""
    import keras

    from autoencoders.study import gradient_probe as gradients
    from autoencoders.train.loop import compile_model, load_data, training_batches

    data = load_data(cfg)
    x, targets = data.x_train[:probe_size], data.t_train[:probe_size]
    keras.utils.clear_session()
    model = compile_model(cfg, steps)

    def measure(at: int) -> dict[str, float]:
        feeding = gradients.output_layer_inputs(model, x)
        units = feeding.reshape(-1, feeding.shape[-1])  # every position of every image, per unit (channel)
        return {
            f"mean_output_step{at}": float(np.mean(model.reconstruct(x, len(x)))),
            f"dead_units_step{at}": float(np.mean(np.all(units <= 0, axis=0))),
            f"logit_grad_step{at}": gradients.logit_gradient_stats(cfg.loss.name, gradients.output_logits(model, x), targets)["logit_grad"],
        }

    before = measure(0)
    model.fit(
        training_batches(model, data.x_train, data.t_train, cfg.training.batch_size, cfg.seed, 0, 1),
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        verbose=0,
    )
    return {**before, **measure(steps)}


def mechanism_values(run: CollapseRun) -> dict[str, float]:
    """`early_state` (read from the run folder's mechanism.json, measured and written there once)
    and the end of epoch 1 from history.csv's probe columns."""
    cached = run.path / MECHANISM_FILE
    values = runs.read_json(cached) if cached.exists() else {}
    if values.get("steps") != EARLY_STEPS:
        values = {"steps": EARLY_STEPS, **early_state(run.config)}
        try:
            runs.write_json(cached, values)
        except OSError:  # a read-only copy of the runs: measured again next time, the report is the same
            pass
    first = run.history[0]
    return {
        **{k: v for k, v in values.items() if k != "steps"},
        "logit_grad_epoch1": first.get("logit_grad", math.nan),
        "saturated_wrong_epoch1": first.get("saturated_wrong", math.nan),
    }


def mechanism_labels() -> dict[str, str]:
    labels = {}
    for at in (0, EARLY_STEPS):
        when = "at initialisation" if at == 0 else f"after {at} steps"
        labels.update({f"{k}_step{at}": f"{v}, {when}" for k, v in STATE_MEASURES.items()})
    return {
        **labels,
        "logit_grad_epoch1": "mean \\|dℓ/dz\\| after epoch 1",
        "saturated_wrong_epoch1": "share of pixels saturated on the wrong side after epoch 1",
    }


#: a group smaller than this is shown, not tested (one healthy seed against 19 is an anecdote)
MIN_GROUP = 3
#: Mann-Whitney's p by permutation: exact when there are at most this many distinct splits of the
#: seeds, else from this many seeded resamples; the normal approximation is far off for groups of 3
#: with ties, which a collapsed group (identical saturated shares) has
PERMUTATIONS = 9999


def mann_whitney_p(first: Sequence[float], second: Sequence[float]) -> float:
    return float(mannwhitneyu(first, second, alternative="two-sided", method=PermutationMethod(n_resamples=PERMUTATIONS, rng=0)).pvalue)


@dataclass(frozen=True)
class MechanismTest:
    cell: Cell
    measure: str
    collapsed: list[float]
    healthy: list[float]
    p_value: float | None  # None: a group too small to test
    p_holm: float | None = None


def mechanism(cells: dict[Cell, list[CollapseRun]]) -> list[MechanismTest]:
    """For each cell where some seeds collapsed and some did not: every measure of the two groups,
    Mann-Whitney U (two-sided, by permutation) where both have `MIN_GROUP` runs, Holm-corrected over
    those tests as one family."""
    tests = []
    for cell, members in cells.items():
        if not 0 < sum(r.collapsed for r in members) < len(members):
            continue
        values = [mechanism_values(r) for r in members]
        for measure in mechanism_labels():
            dark = [v[measure] for v, r in zip(values, members) if r.collapsed]
            healthy = [v[measure] for v, r in zip(values, members) if not r.collapsed]
            if any(math.isnan(v) for v in dark + healthy):
                continue
            testable = min(len(dark), len(healthy)) >= MIN_GROUP
            tests.append(MechanismTest(cell, measure, dark, healthy, mann_whitney_p(dark, healthy) if testable else None))
    return [dataclasses.replace(t, p_holm=p_holm) for t, p_holm in zip(tests, holm_adjusted([t.p_value for t in tests]), strict=True)]


@dataclass(frozen=True)
class LossContrast:
    """One measure of the MSE runs of a mostly collapsing cell against the BCE runs of the same
    seeds (same initial weights, same batches): where the two losses part."""

    cell: Cell  # the MSE cell
    measure: str
    mse: list[float]
    bce: list[float]
    p_value: float | None  # None: identical in every pair (a property of the seed, not the loss)
    p_holm: float | None = None


def loss_contrast(cells: dict[Cell, list[CollapseRun]]) -> list[LossContrast]:
    """For each MSE cell where at least half the seeds collapsed and whose BCE twin has the same
    seeds: every measure, MSE against BCE paired by seed, Wilcoxon signed-rank (scipy), Holm over
    the tests as one family."""
    tests = []
    for cell, members in cells.items():
        if cell.loss != "mse" or 2 * sum(r.collapsed for r in members) < len(members):
            continue
        twin = {r.config.seed: r for r in cells.get(dataclasses.replace(cell, loss="bce"), [])}
        pairs = [(r, twin[r.config.seed]) for r in members if r.config.seed in twin]
        if len(pairs) < WILCOXON_MIN_PAIRS:
            continue
        values = [(mechanism_values(mse), mechanism_values(bce)) for mse, bce in pairs]
        for measure in mechanism_labels():
            mse_values, bce_values = [m[measure] for m, _ in values], [b[measure] for _, b in values]
            if any(math.isnan(v) for v in mse_values + bce_values):
                continue
            same = np.array_equal(mse_values, bce_values)
            tests.append(
                LossContrast(cell, measure, mse_values, bce_values, None if same else float(wilcoxon(mse_values, bce_values).pvalue))
            )
    return [dataclasses.replace(t, p_holm=p_holm) for t, p_holm in zip(tests, holm_adjusted([t.p_value for t in tests]), strict=True)]


# ----------------------------------------------------------------------------- the section


def rate_text(rate: collapse.Rate | None, diverged: int = 0) -> str:
    """A table cell: collapsed/runs [95% CI], the diverged runs (NaN) counted apart."""
    if rate is None:
        return "not trained"
    return f"{rate.collapsed}/{rate.runs} [{rate.low:.2f}, {rate.high:.2f}]" + (f", {diverged} diverged" if diverged else "")


def _p(value: float | None) -> str:
    return "too few to test" if value is None else f"{value:.3g}"


def _median(values: Sequence[float]) -> str:
    return f"{np.median(values):.3g}"


def _range(values: Sequence[float]) -> str:
    """Where a lone healthy seed stands against the collapsed ones is this column's question."""
    return f"{min(values):.3g} to {max(values):.3g}"


def section(fig_dir: Path, folder: Path | None, persisted: Persistence) -> tuple[list[str], dict]:
    """Section 7 from the collapse-rate runs in `folder` (`templates/collapse_rates.md.j2`): the
    rates per cell, the longer runs' persistence, and the mechanism and loss-contrast tests."""
    from autoencoders.study import figures as figs
    from autoencoders.study.findings import environment

    summary: dict = {
        "tolerance": collapse.TOLERANCE,
        "interval": collapse.INTERVAL,
        "persistence": vars(persisted),
        "cells": [],
        "mechanism": [],
    }
    context: dict = {"tolerance": collapse.TOLERANCE, "sweeps": SWEEPS, "p": persisted, "folder": None}
    if folder is not None:
        long_runs, long_problems = load_runs(folder, LONG_PREFIX)
        lasting = persistence_by_cell(long_runs)
        summary["persistence_long"] = [{**vars(cell), **vars(p)} for cell, p in lasting.items()]
        found, problems = load_runs(folder)
        cells = by_cell(found)
        cell_rates = rates(cells)
        summary["folder"] = str(folder)
        summary["runs"] = len(found)
        summary["not_used"] = problems
        summary["cells"] = [
            {
                **vars(cell),
                "collapsed": r.collapsed,
                "runs": r.runs,
                "rate": r.rate,
                "ci": [r.low, r.high],
                "diverged": sum(run.diverged for run in cells[cell]),
            }
            for cell, r in cell_rates.items()
        ]
        settings = [f"{o.capitalize()} {lr:g}" for o, lr in OPTIMIZER_SETTINGS]
        table = []
        for arch in ARCHS:
            for dataset in DATASETS:
                for loss in ("mse", "bce"):
                    keys = [Cell(arch, dataset, o, lr, loss) for o, lr in OPTIMIZER_SETTINGS]
                    if any(k in cell_rates for k in keys):
                        texts = [rate_text(cell_rates.get(k), sum(r.diverged for r in cells.get(k, []))) for k in keys]
                        table.append({"arch": arch, "dataset": dataset, "loss": loss, "cells": texts})
        panels = [
            (
                arch,
                {
                    (dataset, loss): [cell_rates.get(Cell(arch, dataset, o, lr, loss)) for o, lr in OPTIMIZER_SETTINGS]
                    for dataset in DATASETS
                    for loss in ("mse", "bce")
                },
            )
            for arch in ARCHS
        ]
        panels = [(arch, lines) for arch, lines in panels if any(r for rs in lines.values() for r in rs)]
        figure = figs.collapse_rates(panels, settings, fig_dir / "7-collapse-rates.png").name if panels else None
        tests, contrasts = mechanism(cells), loss_contrast(cells)
        summary["mechanism"] = [
            {**vars(t.cell), "measure": t.measure, "collapsed": t.collapsed, "healthy": t.healthy, "p": t.p_value, "p_holm": t.p_holm}
            for t in tests
        ]
        summary["loss_contrast"] = [
            {**vars(t.cell), "measure": t.measure, "mse": t.mse, "bce": t.bce, "p": t.p_value, "p_holm": t.p_holm} for t in contrasts
        ]
        context |= {
            "folder": str(folder),
            "long_sweeps": LONG_SWEEPS,
            "long_problems": len(long_problems),
            "lasting": list(lasting.items()),
            "runs": len(found),
            "problems": len(problems),
            "settings": settings,
            "table": table,
            "figure": figure,
            "early_steps": EARLY_STEPS,
            "min_group": MIN_GROUP,
            "tests": tests,
            "labels": mechanism_labels(),
            "contrasts": contrasts,
        }
    env = environment()
    env.filters |= {"median": _median, "spread": _range, "p": _p}
    text = env.get_template("collapse_rates.md.j2").render(**context)
    return text.rstrip("\n").split("\n"), summary
