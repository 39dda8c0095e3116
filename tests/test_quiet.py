"""A quiet command line: train.py, a sweep's training processes and evaluate.py print none of
TensorFlow's start-up lines (oneDNN, CUDA, cuInit, absl) unless asked for, with --verbose or the
user's own TF_CPP_MIN_LOG_LEVEL; `quiet.kept` drops exactly the log lines below the level."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoencoders import quiet

from conftest import ROOT, TINY

DENSE = ROOT / "configs/blog/dense.yaml"
# What TensorFlow, XLA and CUDA print when they start (TensorFlow 2.16-2.21, with and without a GPU).
START_UP = (
    "oneDNN",
    "cuInit",
    "TF-TRT",
    "tensorflow/core",
    "absl::",
    "E0000",
    "W0000",
    "I0000",
    "computation placer",
    "cuda",
    "This TensorFlow binary is optimized",
)

SAMPLE = """\
a line of our own, before
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796531182.947878    4580 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results.
I0000 00:00:1796531344.920846    7336 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions.
To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
2024-05-01 10:00:00.123456: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: Could not find TensorRT
E0000 00:00:1796531187.131567    4580 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit
F0000 00:00:1796531187.131567    4580 main.cc:1] fatal: the end
its second line
"""


def without_env(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


def start_up_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(p in line for p in START_UP)]


def test_log_lines_below_the_level_are_dropped_with_their_continuation_and_nothing_else():
    assert (
        quiet.kept(SAMPLE, 3)
        == "a line of our own, before\nF0000 00:00:1796531187.131567    4580 main.cc:1] fatal: the end\nits second line\n"
    )
    at_2 = quiet.kept(SAMPLE, 2).splitlines()
    assert [line[:5] for line in at_2] == ["a lin", "E0000", "F0000", "its s"]
    at_1 = quiet.kept(SAMPLE, 1)
    assert "TF-TRT Warning" in at_1 and "oneDNN" not in at_1 and "To enable" not in at_1 and "absl::" not in at_1
    assert quiet.kept(SAMPLE, 0) == SAMPLE


def test_the_level_is_the_users_if_set_else_0_with_verbose_else_3():
    assert quiet.level(False, {}) == 3 and quiet.level(True, {}) == 0
    assert quiet.level(False, {"TF_CPP_MIN_LOG_LEVEL": "1"}) == 1 and quiet.level(True, {"TF_CPP_MIN_LOG_LEVEL": "2"}) == 2
    assert quiet.level(False, {"TF_CPP_MIN_LOG_LEVEL": "x"}) == 0  # as TensorFlow reads it
    probe = "import os; from autoencoders import quiet; quiet.configure({verbose}); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    for verbose, env, expected in [
        (False, {}, "3"),
        (True, {}, "0"),
        (False, {"TF_CPP_MIN_LOG_LEVEL": "1"}, "1"),
        (True, {"TF_CPP_MIN_LOG_LEVEL": "2"}, "2"),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", probe.format(verbose=verbose)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**without_env("TF_CPP_MIN_LOG_LEVEL"), **env},
        )
        assert done.stdout.strip() == expected, (verbose, env, done.stderr)  # never overrides the user's value


def train(out: Path, *extra: str, config: Path = DENSE, env: dict | None = None) -> subprocess.CompletedProcess:
    sets = [x for o in TINY for x in ("--set", o)]
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", str(config), "--out", str(out), *sets, *extra],
        capture_output=True,
        text=True,
        env=env if env is not None else without_env("TF_CPP_MIN_LOG_LEVEL"),
    )


def evaluate(runs: list[Path], out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), *map(str, runs), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        env=env if env is not None else without_env("TF_CPP_MIN_LOG_LEVEL"),
    )


@pytest.mark.slow
def test_train_a_sweep_and_evaluate_print_no_start_up_line(tmp_path):
    """TF_CPP_MIN_LOG_LEVEL unset, as in a user's shell: a run, a sweep (its warm worker's log
    too) and a report that evaluates the runs itself (TensorFlow imported) print none."""
    single = train(tmp_path / "runs")
    assert single.returncode == 0, single.stderr
    assert start_up_lines(single.stdout + single.stderr) == []
    assert "test pixel MSE" in single.stdout  # the run's own lines are still there
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: q-{loss.name}\nmodel: {arch: dense}\ngrid: {loss.name: [mse]}\n")
    swept = train(tmp_path / "runs", config=sweep)
    assert swept.returncode == 0, swept.stderr
    log = (tmp_path / "runs" / ".q-mse.log").read_text()
    assert start_up_lines(swept.stdout + swept.stderr + log) == [] and "test pixel MSE" in log
    run_dirs = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert not any((p / "evaluation.npz").exists() for p in run_dirs)  # evaluated afresh: TensorFlow is imported
    report = evaluate(run_dirs, tmp_path / "report")
    assert report.returncode == 0, report.stderr
    assert start_up_lines(report.stdout + report.stderr) == [] and "report:" in report.stdout


@pytest.mark.slow
def test_verbose_or_the_users_own_level_shows_them(tmp_path):
    """Whatever this TensorFlow prints when imported with nothing set, train.py --verbose prints
    too, and so does evaluate.py under the user's TF_CPP_MIN_LOG_LEVEL=0."""
    raw = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, env=without_env("TF_CPP_MIN_LOG_LEVEL")
    )
    expected = start_up_lines(raw.stderr)
    loud = train(tmp_path / "runs", "--verbose")
    assert loud.returncode == 0, loud.stderr
    shown = start_up_lines(loud.stderr)
    assert len(shown) >= len(expected) and all(any(line.split("]", 1)[-1] in s for s in shown) for line in expected), (expected, shown)
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    report = evaluate([run_dir], tmp_path / "report", env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert report.returncode == 0, report.stderr
    shown = start_up_lines(report.stderr)
    assert len(shown) >= len(expected) and all(any(line.split("]", 1)[-1] in s for s in shown) for line in expected), (expected, shown)
