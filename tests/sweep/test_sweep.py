"""Sweeps: grid expansion, skip/resume, failure isolation, parallel jobs, shipped sweeps."""

import subprocess
import sys
import threading
import time

import pytest

from autoencoders import config as C
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

from conftest import ROOT, SHIPPED_SWEEPS, TINY, XLA_AS_SHIPPED, assert_same_run


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


GRID = """name: g-{model.arch}-{loss.name}-s{seed}
grid:
  model.arch: [dense, conv]
  loss.name: [bce, mse]
  seed: [0, 1]
"""


def test_grid_expands_to_every_combination_with_stable_readable_names(tmp_path):
    configs = sweep.expand(write(tmp_path, GRID), ["training.epochs=3"])
    assert [c.name for c in configs][:3] == ["g-dense-bce-s0", "g-dense-bce-s1", "g-dense-mse-s0"]
    assert len(configs) == 8 and len({c.name for c in configs}) == 8
    assert {c.training.epochs for c in configs} == {3}
    assert configs[-1].model.arch == "conv" and configs[-1].model.latent_dim is None  # resolved per point
    assert [c.name for c in sweep.expand(write(tmp_path, GRID))] == [c.name for c in configs]  # stable


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("name: g\ngrid: [1, 2]\n", [], "grid must be a mapping"),
        ("name: g-{seed}\ngrid: {seed: 3}\n", [], "grid.seed = 3: must be a non-empty list"),
        ("name: g-{seed}\ngrid: {seed: []}\n", [], "non-empty list"),
        ("name: g-{loss.name}\ngrid: {loss.name: [bce, l2]}\n", [], "must be one of 'bce', 'mse', 'mae'"),
        ("name: g-{seed}\ngrid: {sed: [1, 2]}\n", [], "did you mean 'seed'"),
        ("name: g\ngrid: {seed: [0, 1]}\n", [], "same run name"),
        ("name: g-{seed}\ngrid: {seed: [0, 0]}\n", [], "twice"),
        ("name: g-{seed}\ngrid: {seed: [0, 1]}\n", ["seed=4"], "swept by the grid"),
    ],
)
def test_invalid_grids_are_rejected_with_a_clear_message(tmp_path, text, overrides, message):
    path = write(tmp_path, text)
    with pytest.raises(C.ConfigError, match=message) as e:
        sweep.expand(path, overrides)
    assert str(path) in str(e.value) or "--set" in str(e.value)


def test_bad_sweep_exits_2_and_writes_nothing(tmp_path):
    path = write(tmp_path, "name: g\ngrid: {seed: [0, 1]}\n")
    out = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", str(path), "--out", str(tmp_path / "runs")], capture_output=True, text=True
    )
    assert out.returncode == 2 and "same run name" in out.stderr
    assert not (tmp_path / "runs").exists()


def fake_run(outcomes, delay=0.0, active=None):
    def run(cfg, out):
        if active is not None:
            active.append(cfg.name)
        time.sleep(delay)
        status = outcomes.get(cfg.name, "completed")
        return sweep.Outcome(cfg.name, status, delay, "boom" if status == "failed" else None)

    return run


def test_a_failed_run_does_not_stop_the_sweep_and_progress_is_reported(tmp_path):
    configs = sweep.expand(write(tmp_path, GRID))
    lines = []
    outcomes = sweep.schedule(configs, tmp_path, jobs=1, run=fake_run({"g-dense-bce-s1": "failed"}), echo=lines.append).outcomes
    assert [o.status for o in outcomes].count("failed") == 1 and len(outcomes) == 8
    assert any(line.startswith("[8/8]") for line in lines) and any("boom" in line for line in lines)
    assert "run 8/8: g-conv-mse-s1 ..." in lines  # the current run is announced


def test_time_left_is_estimated_from_whole_runs_not_from_resumed_ones(tmp_path):
    configs = sweep.expand(write(tmp_path, GRID))[:3]
    resumed = configs[0].name  # finished only its last epochs, in 5 s; the others took 600 s each

    def run(cfg, out):
        return sweep.Outcome(cfg.name, "completed", 5.0 if cfg.name == resumed else 600.0, resumed=cfg.name == resumed)

    lines = []
    sweep.schedule(configs, tmp_path, run=run, echo=lines.append)
    progress = [line for line in lines if line.startswith("[")]
    assert "left" not in progress[0]  # a 5 s resumed tail says nothing about a whole run
    assert progress[1].endswith("about 0:10:00 left")


def test_parallel_jobs_never_share_a_run_folder(tmp_path):
    configs = sweep.expand(write(tmp_path, GRID))
    started = []
    lock = threading.Lock()

    def run(cfg, out):
        with lock:
            started.append(cfg.name)
        with runs.lock(out / cfg.name):  # raises RunLocked if another job held it
            time.sleep(0.05)
        return sweep.Outcome(cfg.name, "completed", 0.05)

    t = time.perf_counter()
    outcomes = sweep.schedule(configs, tmp_path, jobs=4, run=run, echo=lambda _: None).outcomes
    assert sorted(started) == sorted(c.name for c in configs) and len(set(started)) == 8
    assert all(o.status == "completed" for o in outcomes)
    assert time.perf_counter() - t < 8 * 0.05  # actually parallel


def test_the_folder_lock_refuses_a_second_holder(tmp_path):
    with runs.lock(tmp_path / "r"):
        with pytest.raises(runs.RunLocked, match="another process"):
            with runs.lock(tmp_path / "r"):
                pass
    with runs.lock(tmp_path / "r"):  # released
        pass


def test_real_sweep_trains_skips_finished_runs_and_records_a_failure(tmp_path):
    path = write(tmp_path, "name: t-{loss.name}\nmodel: {arch: dense}\ngrid: {loss.name: [bce, mse]}\n")
    out = tmp_path / "runs"
    sets = [x for o in TINY for x in ("--set", o)]
    cmd = [sys.executable, str(ROOT / "train.py"), "--config", str(path), "--out", str(out), *sets]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert {runs.run_status(out / n) for n in ("t-bce", "t-mse")} == {"completed"}
    before = (out / "t-bce" / runs.METRICS).read_text()

    runs.write_json(out / "t-mse" / runs.METRICS, {"status": "failed", "reason": "forced failure"})
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1  # a failed run makes the sweep exit non-zero
    assert "forced failure" in again.stderr and "1 already complete" in again.stdout
    assert (out / "t-bce" / runs.METRICS).read_text() == before  # skipped, not retrained
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True)
    assert "skip (completed)" in dry.stdout and "skip (failed)" in dry.stdout


def test_runs_trained_one_after_another_by_a_warm_worker_are_the_bits_of_fresh_processes(tmp_path):
    """The default warm worker trains every run in one process (XLA on, as the quick comparison
    runs), the second seed of each loss on the compiled model of the first (`model_cache`):
    every history value, the resume point and the test metrics equal those of --fresh-processes,
    so reusing a process or a compiled model changes no result."""
    path = write(tmp_path, "name: w-{loss.name}-s{seed}\nmodel: {arch: dense}\ngrid: {loss.name: [bce, mse], seed: [0, 1]}\n")
    sets = [x for o in (*TINY, XLA_AS_SHIPPED) for x in ("--set", o)]
    for mode, extra in (("warm", []), ("fresh", ["--fresh-processes"])):
        cmd = [sys.executable, "-m", "autoencoders", "train", "--config", str(path), "--out", str(tmp_path / mode), *sets, *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert "4 trained" in done.stdout
    names = ("w-bce-s0", "w-bce-s1", "w-mse-s0", "w-mse-s1")
    reused = {name: "reusing the compiled model" in (tmp_path / "warm" / f".{name}.log").read_text() for name in names}
    assert reused == {"w-bce-s0": False, "w-bce-s1": True, "w-mse-s0": False, "w-mse-s1": True}
    assert not any("reusing" in (tmp_path / "fresh" / f".{name}.log").read_text() for name in names)
    for name in names:
        assert_same_run(tmp_path / "warm" / name, tmp_path / "fresh" / name)


@pytest.mark.parametrize("path", SHIPPED_SWEEPS, ids=lambda p: p.stem)
def test_every_shipped_sweep_expands_to_valid_uniquely_named_runs(path):
    configs = sweep.expand(path)
    assert len(configs) >= 2 and len({c.name for c in configs}) == len(configs)
    assert len({c.loss.name for c in configs}) >= 2  # every sweep compares losses
    for cfg in configs:  # the resolved config of every point reloads to itself
        assert C.parse_config(C.to_dict(cfg)) == cfg


#: the collapse and long sweeps under Adadelta are their Adam twins with another optimizer, which
#: the blog's Adadelta sweeps already train here; expanding them (above) is their check
SMOKE_SWEEPS = [p for p in SHIPPED_SWEEPS if not (p.stem.startswith(("collapse_", "long_")) and p.stem.endswith("_adadelta"))]


@pytest.mark.parametrize("path", SMOKE_SWEEPS, ids=lambda p: p.stem)
def test_every_shipped_sweep_smoke_runs_on_a_tiny_subset(tmp_path, path):
    """Every shipped sweep trains through `schedule` (tiny data, 1 epoch, no XLA: the grid's
    plumbing is tested here), one grid point per loss: the other points differ from those only
    in the seed or the built-in dataset, and every (arch, loss) pair trains in test_training."""
    from autoencoders.train import loop as training

    configs = sweep.expand(path, TINY)
    points = list({(c.loss.name, c.loss.reduction): c for c in reversed(configs)}.values())  # the first point of each loss

    def in_process(cfg, out):
        training.train(cfg, out / cfg.name, verbose=0)
        return sweep.Outcome(cfg.name, runs.run_status(out / cfg.name), 0.0)

    outcomes = sweep.schedule(points, tmp_path, run=in_process, echo=lambda _: None).outcomes
    assert [o.status for o in outcomes] == ["completed"] * len(points)
    assert {c.loss.name for c in points} == {c.loss.name for c in configs}
    assert len({c.loss.name for c in configs}) >= 2
    for cfg in points:
        assert C.load_config(tmp_path / cfg.name / runs.CONFIG) == cfg
        assert runs.read_json(tmp_path / cfg.name / runs.METRICS)["epochs"] == 1
