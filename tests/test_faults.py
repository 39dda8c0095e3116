"""Fault injection, for real: signals to real processes, real truncation and bit flips of real run
files, a real full disk (a small tmpfs) and a real read-only folder where this machine lets us
mount one, hostile config files. Each case asserts the outcome a user relies on: the exit code, a
message naming the file, nothing lost, a resumable folder, and the same final history as a run
that was never disturbed."""

from __future__ import annotations

import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autoencoders import config as C
from autoencoders import errors
from autoencoders.train import run_folder as runs

from conftest import ROOT
from conftest import TINY as CONFTEST_TINY
from hostile_configs import HOSTILE

DENSE = ROOT / "configs/blog/dense.yaml"
# Long enough to be signalled mid-run (each epoch is a fraction of a second), short enough to redo.
# No XLA: what is tested is how runs stop and resume, not the compiled step (2 s less per run).
TINY = [*CONFTEST_TINY, "training.epochs=2"]  # later overrides win
SLOW = [*TINY, "dataset.train_size=2048", "dataset.test_size=256", "training.epochs=30"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def train_args(out: Path, overrides=SLOW, config: Path = DENSE, *extra: str) -> list[str]:
    args = [sys.executable, str(ROOT / "train.py"), "--config", str(config), "--out", str(out)]
    for override in overrides:
        args += ["--set", override]
    return [*args, *extra]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, **{"env": ENV, **kwargs})


def wait_for_epoch(run_dir: Path, epoch: int, proc: subprocess.Popen, timeout: float = 180) -> int:
    """Block until the run's checkpoint holds `epoch` (or more); returns the epoch seen."""
    deadline = time.monotonic() + timeout
    state = run_dir / runs.CHECKPOINTS / runs.STATE
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the process ended early ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}"
        if state.exists():
            try:
                seen = runs.read_json(state)["epoch"]
            except (runs.CorruptFile, OSError):
                seen = 0
            if seen >= epoch:
                return seen
        time.sleep(0.02)
    raise AssertionError(f"{run_dir} never reached epoch {epoch}")


def history_without_time(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in runs.read_history(run_dir / runs.HISTORY)]


def assert_same_history(a: Path, b: Path) -> None:
    ha, hb = history_without_time(a), history_without_time(b)
    assert [r["epoch"] for r in ha] == [r["epoch"] for r in hb]
    for ra, rb in zip(ha, hb, strict=True):
        for key in ra:
            assert ra[key] == pytest.approx(rb[key], rel=1e-5), (ra["epoch"], key)


def name_of(overrides=SLOW, config: Path = DENSE) -> str:
    return C.load_config(config, overrides).name


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> Path:
    """The reference: the SLOW run trained start to end without interruption."""
    out = tmp_path_factory.mktemp("undisturbed")
    done = run(train_args(out))
    assert done.returncode == 0, done.stderr
    return out / name_of()


# --------------------------------------------------------------------------- signals: one run


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception, on purpose
def test_a_stop_signal_swallowed_by_a_finalizer_is_still_seen_at_the_epoch_end():
    """Python drops an exception raised while a `__del__` runs (JAX's buffers have them): the stop
    must not be lost with it, so the training loop asks `raise_if_stopped` after each epoch."""

    class SignalsWhenCollected:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, inside the finalizer

    with errors.stop_signals():
        SignalsWhenCollected()  # collected at once; its Interrupted is reported and dropped
        with pytest.raises(errors.Interrupted) as stopped:
            errors.raise_if_stopped()
        assert stopped.value.exit_code == 128 + signal.SIGTERM
    errors.raise_if_stopped()  # outside the block nothing is pending


SIGNALS_WHILE_IMPORTED = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(0.3)\nFINISHED = True\n"


@pytest.mark.parametrize("then", ["goes on", "ends the block"])
def test_a_stop_signal_inside_an_import_waits_for_the_import_to_finish(tmp_path, monkeypatch, then):
    """Raising inside `import tensorflow` can unwind through its compiled initialiser and kill the
    process (SIGSEGV or SIGABRT instead of exit 130). A module that signals itself halfway through
    its body stands in: the import must complete, and the stop come right after it; a block that
    ends before the retry is due has done its work, and the stop is dropped with it."""
    module = f"signals_while_imported_{then.replace(' ', '_')}"
    (tmp_path / f"{module}.py").write_text(SIGNALS_WHILE_IMPORTED)
    monkeypatch.syspath_prepend(str(tmp_path))
    finished, start, stopped_at = False, None, None
    try:
        with errors.stop_signals():
            finished = importlib.import_module(module).FINISHED
            if then == "goes on":
                start = time.monotonic()
                time.sleep(5)  # the stop arrives here, a retry interval after the import
    except errors.Interrupted as stop:
        assert stop.exit_code == 128 + signal.SIGINT
        stopped_at = time.monotonic()
    sys.modules.pop(module, None)
    assert finished  # the import was not interrupted
    if then == "goes on":
        assert start is not None and stopped_at is not None and stopped_at - start < 1
    else:
        assert stopped_at is None
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no retry left armed


STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]  # Ctrl-C, a scheduler or `kill`, a closed terminal


@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_each_stop_signal_raises_the_same_stop_with_its_own_exit_code(signum):
    """One handler serves every stop signal, so the end-to-end tests below each send one signal
    (SIGTERM to a run, SIGINT to a sweep): here every signal of the policy goes through it."""
    assert tuple(STOP_SIGNALS) == errors.STOP_SIGNALS
    before, alarm_before = signal.getsignal(signum), signal.getsignal(signal.SIGALRM)
    with errors.stop_signals():
        with pytest.raises(errors.Interrupted) as stopped:
            os.kill(os.getpid(), signum)
            time.sleep(5)
    assert stopped.value.exit_code == 128 + signum and str(stopped.value) == signal.Signals(signum).name
    assert signal.getsignal(signum) is before and signal.getsignal(signal.SIGALRM) is alarm_before  # the previous handlers are back


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_a_stop_signal_ends_a_run_with_a_message_and_it_resumes_to_the_same_history(tmp_path, undisturbed, signum):
    """A stop signal: exit 128 + N after the current step (no further epoch is trained), the
    message naming the saved epoch, and --resume to the history of a run never stopped."""
    run_dir = tmp_path / name_of()
    proc = subprocess.Popen(train_args(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = wait_for_epoch(run_dir, 2, proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    saved = runs.read_json(run_dir / runs.CHECKPOINTS / runs.STATE)["epoch"]
    assert seen <= saved <= seen + 1  # stopped in the epoch under way when the signal came (each is a fraction of a second)
    name = signal.Signals(signum).name
    assert f"interrupted ({name}) after epoch {saved} of 30, which is saved; resume with: python train.py " in stderr
    assert runs.run_status(run_dir) == "unfinished" and not (run_dir / runs.METRICS).exists()  # never "failed"
    resumed = run(train_args(tmp_path, SLOW, DENSE, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_history(run_dir, undisturbed)


def test_a_kill_during_the_final_save_leaves_nothing_a_resume_does_not_clean(tmp_path, undisturbed):
    """kill -9 leaves at worst a stray temporary file (what atomic writes make); resuming removes
    it and finishes the run (here: killed after the last epoch, before the final save)."""
    run_dir = tmp_path / name_of()
    proc = subprocess.Popen(train_args(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for_epoch(run_dir, 30, proc)
    proc.kill()
    proc.wait()
    stray = [run_dir / ".model.x1y2z3.tmp.keras", run_dir / runs.CHECKPOINTS / ".epoch-0031.abc.tmp.npz"]
    for path in stray:
        path.write_bytes(b"")  # as a kill in the middle of an atomic write leaves it
    resumed = run(train_args(tmp_path, SLOW, DENSE, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert not any(p.exists() for p in stray)
    assert runs.run_status(run_dir) == "completed"
    assert_same_history(run_dir, undisturbed)


# --------------------------------------------------------------------------- signals: sweeps

SWEEP = "name: f-{seed}\nmodel: {arch: dense, latent_dim: 32}\ngrid: {seed: [0, 1]}\n"


def sweep_args(tmp_path: Path) -> list[str]:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    return train_args(tmp_path / "runs", SLOW, path)


def live_training_processes(out: Path) -> list[int]:
    """pids of processes training into `out` (their command line names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(out).encode() in (entry / "cmdline").read_bytes() and int(entry.name) != os.getpid():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def start_sweep_and_wait(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path, dict]:
    """The SWEEP started as from a terminal (its own process group), with a TMPDIR of its own to
    check for leftovers, once its first run has saved epoch 2: (process, out, tmpdir, env)."""
    out, tmp = tmp_path / "runs", tmp_path / "tmpdir"
    tmp.mkdir()
    env = {**ENV, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        sweep_args(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    wait_for_epoch(out / "f-0", 2, proc)
    return proc, out, tmp, env


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_a_stop_signal_stops_a_sweep_at_once_and_the_same_command_finishes_it(tmp_path, undisturbed, signum):
    """Ctrl-C at a terminal (SIGINT to the sweep's process group, as a terminal sends it; the other
    stop signals take the same handler, tested in-process above): no further run starts, the running one stops with its checkpoint,
    nothing is marked failed, exit 128 + N; the same command finishes both runs."""
    proc, out, tmp, env = start_sweep_and_wait(tmp_path)
    os.killpg(proc.pid, signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert (
        f"sweep interrupted ({signal.Signals(signum).name}): 0 trained, 0 already complete, 0 failed, 1 interrupted, 1 not started"
        in stderr
    )
    assert runs.run_status(out / "f-0") == "unfinished" and runs.run_status(out / "f-1") == "absent"
    assert live_training_processes(out) == [] and not runs.is_locked(out / "f-0")
    assert list(tmp.iterdir()) == []  # nothing left in the temporary folder
    again = run(sweep_args(tmp_path), env=env)
    assert again.returncode == 0, again.stderr
    assert "sweep done: 2 trained" in again.stdout
    assert_same_history(out / "f-0", undisturbed)


def test_a_sweep_killed_with_sigkill_leaves_no_orphan_and_the_rerun_finishes(tmp_path, undisturbed):
    proc, out, tmp, env = start_sweep_and_wait(tmp_path)
    proc.kill()
    proc.communicate()
    killed = time.monotonic()
    while live_training_processes(out) and time.monotonic() < killed + 60:  # the child notices and stops
        time.sleep(0.05)
    assert live_training_processes(out) == [], "a training process outlived its sweep"
    assert time.monotonic() - killed < 5  # noticed within 0.5 s (cli.watch_parent), stopped and gone in about 1.5 s on 2 cores
    assert runs.run_status(out / "f-0") == "unfinished" and not runs.is_locked(out / "f-0")
    assert list(tmp.iterdir()) == []
    again = run(sweep_args(tmp_path), env=env)
    assert again.returncode == 0, again.stderr
    assert "2 trained" in again.stdout and "failed" not in again.stderr
    assert_same_history(out / "f-0", undisturbed)


def test_a_killed_worker_leaves_its_run_resumable_and_the_sweep_goes_on(tmp_path, undisturbed):
    """kill -9 of the warm worker mid-run (out of memory, a node lost): that run is reported
    interrupted with its finished epochs kept, a new worker trains the next run, and the same
    command then finishes the first to the undisturbed history."""
    proc, out, tmp, env = start_sweep_and_wait(tmp_path)
    workers = [pid for pid in live_training_processes(out) if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    assert len(workers) == 1  # the worker's command line names the sweep's --out
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert "1 trained, 0 already complete, 0 failed, 1 interrupted" in stdout, stderr
    assert "Traceback" not in stderr
    assert runs.run_status(out / "f-0") == "unfinished" and runs.run_status(out / "f-1") == "completed"
    assert live_training_processes(out) == []
    again = run(sweep_args(tmp_path), env=env)
    assert again.returncode == 0, again.stderr
    assert "1 trained, 1 already complete" in again.stdout
    assert_same_history(out / "f-0", undisturbed)


def test_a_run_another_process_is_training_is_left_alone_by_a_sweep(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("name: b-{seed}\nmodel: {arch: dense}\ngrid: {seed: [0, 1]}\n")
    out = tmp_path / "runs"
    out.mkdir()
    log = out / ".b-0.log"
    log.write_text("the other process's log\n")
    with runs.lock(out / "b-0"):  # as a process training it would hold it
        done = run(train_args(out, TINY, path))
    assert done.returncode == 75, done.stderr  # busy: try again later
    assert "busy: b-0: another process is training it right now" in done.stderr and "1 trained" in done.stdout
    assert log.read_text() == "the other process's log\n"  # never reopened for writing
    assert runs.run_status(out / "b-0") == "absent"


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("options", [[], ["--resume"], ["--overwrite"]], ids=["plain", "resume", "overwrite"])
def test_train_py_on_a_run_another_process_is_training_exits_75_and_touches_nothing(half_trained, options):
    """This process holds the run's lock, as a process training it does: train.py, with or without
    --resume or --overwrite, says so at once (before importing TensorFlow) with exit 75."""
    before = folder_bytes(half_trained)
    with runs.lock(half_trained):
        started = time.monotonic()
        done = run([*train_args(half_trained.parent, [*TINY, "training.epochs=4"]), *options])
        took = time.monotonic() - started
    assert done.returncode == 75, done.stderr
    assert f"{half_trained}: another process is training this run right now" in done.stderr and "Traceback" not in done.stderr
    assert took < 5 and "loaded mnist" not in done.stderr  # refused before loading data or TensorFlow
    assert folder_bytes(half_trained) == before and runs.run_status(half_trained) == "unfinished"


# --------------------------------------------------------------------------- damaged files


@pytest.fixture
def half_trained(tmp_path, monkeypatch) -> Path:
    """A real run stopped after 2 of 4 epochs (as by Ctrl-C right after epoch 2 was saved)."""
    from autoencoders.train import loop as training

    cfg = C.load_config(DENSE, [*TINY, "training.epochs=4"])
    real = runs.save_checkpoint

    def save_then_stop(run_dir, epoch, *a, **k):
        real(run_dir, epoch, *a, **k)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(runs, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        training.train(cfg, tmp_path / cfg.name, verbose=0)
    monkeypatch.setattr(runs, "save_checkpoint", real)
    return tmp_path / cfg.name


def _npz(run_dir: Path) -> Path:
    return run_dir / runs.CHECKPOINTS / runs.read_json(run_dir / runs.CHECKPOINTS / runs.STATE)["arrays"]


def _flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    path.write_bytes(bytes(raw))


DAMAGE = {
    "truncated arrays": (lambda d: _npz(d).write_bytes(_npz(d).read_bytes()[:5000]), lambda d: _npz(d), "not a readable checkpoint"),
    "garbage arrays": (lambda d: _npz(d).write_bytes(os.urandom(4000)), lambda d: _npz(d), "not a readable checkpoint"),
    "empty arrays": (lambda d: _npz(d).write_bytes(b""), lambda d: _npz(d), "not a readable checkpoint"),
    "a flipped bit": (lambda d: _flip_a_byte(_npz(d)), lambda d: _npz(d), "not a readable checkpoint"),
    "missing arrays": (lambda d: _npz(d).unlink(), lambda d: d / runs.CHECKPOINTS / "epoch-0002.npz", "is missing (named by"),
    "state.json garbage": (
        lambda d: (d / runs.CHECKPOINTS / runs.STATE).write_text("{'epoch': 2"),
        lambda d: d / runs.CHECKPOINTS / runs.STATE,
        "not valid JSON",
    ),
    "state.json empty": (
        lambda d: (d / runs.CHECKPOINTS / runs.STATE).write_text(""),
        lambda d: d / runs.CHECKPOINTS / runs.STATE,
        "not valid JSON",
    ),
    "state.json wrong fields": (
        lambda d: (d / runs.CHECKPOINTS / runs.STATE).write_text('{"epoch": "two"}'),
        lambda d: d / runs.CHECKPOINTS / runs.STATE,
        "does not hold an epoch",
    ),
    "config.yaml garbage": (
        lambda d: (d / runs.CONFIG).write_text("name: [unclosed\n"),
        lambda d: d / runs.CONFIG,
        "not a valid config any more",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_resume_point_is_named_with_exit_2(half_trained, damage):
    make, named, expected = DAMAGE[damage]
    file = named(half_trained)
    make(half_trained)
    before = folder_bytes(half_trained)
    resumed = run([*train_args(half_trained.parent, [*TINY, "training.epochs=4"]), "--resume"])
    assert resumed.returncode == 2, resumed.stderr
    assert f"{file}: {expected}" in resumed.stderr and "--overwrite" in resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert runs.run_status(half_trained) == "unfinished" and folder_bytes(half_trained) == before  # left as it was: the user decides


def test_overwrite_trains_a_run_with_a_damaged_resume_point_again(half_trained):
    DAMAGE["garbage arrays"][0](half_trained)
    again = run([*train_args(half_trained.parent, [*TINY, "training.epochs=4"]), "--overwrite"])
    assert again.returncode == 0, again.stderr
    assert [r["epoch"] for r in runs.read_history(half_trained / runs.HISTORY)] == [1, 2, 3, 4]


def test_a_checkpoint_of_another_model_is_refused_not_half_restored(half_trained, tmp_path):
    """Arrays that are readable but do not fit the model (another arch's): named, exit 2."""
    from autoencoders.models import build_model

    other = build_model(C.ModelConfig(arch="deep_dense", input_shape=(28, 28, 1)))
    runs.save_checkpoint(
        half_trained,
        2,
        runs.read_json(half_trained / runs.CHECKPOINTS / runs.STATE)["history"],
        {"model": other.get_weights(), "optimizer": [np.zeros(1)]},
    )
    before = folder_bytes(half_trained)
    resumed = run([*train_args(half_trained.parent, [*TINY, "training.epochs=4"]), "--resume"])
    assert resumed.returncode == 2, resumed.stderr
    assert "the checkpoint of epoch 2 does not fit this model" in resumed.stderr and "Traceback" not in resumed.stderr
    assert "--overwrite" in resumed.stderr
    assert folder_bytes(half_trained) == before  # nothing changed: the user decides


@pytest.fixture(scope="module")
def finished_pair(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("pair")
    for loss in ("bce", "mse"):
        done = run(train_args(out, [*TINY, f"loss.name={loss}"]))
        assert done.returncode == 0, done.stderr
    return out / name_of([*TINY, "loss.name=bce"]), out / name_of([*TINY, "loss.name=mse"])


DAMAGED_FILES = [
    (runs.METRICS, '{"status": "completed", "test": {', "not valid JSON"),
    (runs.METRICS, "[1, 2]", "holds a JSON list, not an object"),
    (runs.METRICS, '{"status": "done"}', "status 'done' is neither"),
    (runs.HISTORY, "epoch,loss,seconds\n1,0.5\n", "line 2 has fewer values than the header"),
    (runs.HISTORY, "epoch,loss,seconds\n1,zero,1.0\n", "line 2 is not numbers"),
    (runs.HISTORY, b"\xff\xfe\x00garbage", "not a readable CSV file"),
]
PAIR_SWEEP = "name: blog-dense-{dataset.name}-{loss.name}-s{seed}\nmodel: {arch: dense, latent_dim: 32}\ngrid: {loss.name: [bce, mse]}\n"


def _damaged_copy(finished_pair, where: Path, file: str, content) -> Path:
    for run_dir in finished_pair:
        shutil.copytree(run_dir, where / run_dir.name)
    damaged = where / finished_pair[0].name
    (damaged / file).write_bytes(content if isinstance(content, bytes) else content.encode())
    return damaged


@pytest.mark.parametrize(("file", "content", "expected"), DAMAGED_FILES)
def test_a_damaged_run_file_is_named_where_runs_are_read_and_listed(finished_pair, tmp_path, file, content, expected):
    """Reading runs for a report, and listing them for a sweep, name the damaged file and go on."""
    from autoencoders.evaluate.evaluation import load_run

    damaged = _damaged_copy(finished_pair, tmp_path, file, content)
    run_ = load_run(damaged)
    assert run_.status == "invalid" and f"{damaged / file}: {expected}" in run_.reason
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(PAIR_SWEEP)
    dry = run(train_args(tmp_path, TINY, sweep, "--dry-run"))
    assert dry.returncode == 0 and "Traceback" not in dry.stderr
    assert "skip (damaged)" in dry.stdout and str(damaged / file) in dry.stdout


@pytest.mark.parametrize("damaged_file", [DAMAGED_FILES[0], DAMAGED_FILES[4]], ids=[runs.METRICS, runs.HISTORY])
def test_a_damaged_run_file_does_not_stop_a_report_or_a_sweep_and_retry_failed_mends_it(finished_pair, tmp_path, damaged_file):
    file, content, expected = damaged_file
    damaged = _damaged_copy(finished_pair, tmp_path, file, content)
    other = tmp_path / finished_pair[1].name
    done = run([sys.executable, str(ROOT / "evaluate.py"), str(damaged), str(other), "--out", str(tmp_path / "report")])
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "report" / "REPORT.md").read_text()
    assert "## Runs not evaluated" in md and f"{damaged / file}: {expected}" in md
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(PAIR_SWEEP)
    swept = run(train_args(tmp_path, TINY, sweep))
    assert swept.returncode == 1 and f"{damaged / file}: {expected}" in swept.stderr and "--retry-failed" in swept.stderr
    retried = run(train_args(tmp_path, TINY, sweep, "--retry-failed"))
    assert retried.returncode == 0, retried.stderr
    assert runs.run_status(damaged) == "completed"


# --------------------------------------------------------------------------- a full disk, read-only folders


def _mount_tmpfs(where: Path, size: str, read_only: bool = False) -> None:
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a small file system here ({done.stderr.strip() or 'mount failed'}): needs root in a machine that allows mounts"
        )


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "disk"
    _mount_tmpfs(where, "16m")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: the write that fails is the last one
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_stops_the_run_without_marking_it_failed_and_it_resumes(small_disk, undisturbed):
    """ENOSPC while saving: exit 74 and a message, the last checkpoint intact, nothing marked
    failed; with space again, --resume finishes it with the undisturbed history."""
    run_dir = small_disk / name_of()
    proc = subprocess.Popen(train_args(small_disk), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for_epoch(run_dir, 2, proc)
    filler = _fill(small_disk)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 74, stderr
    assert "no space left on the device; the run stopped after epoch" in stderr and "resume with: python train.py" in stderr
    assert "Traceback" not in stderr
    assert not (run_dir / runs.METRICS).exists() and runs.load_checkpoint(run_dir).epoch >= 2
    filler.unlink()
    resumed = run(train_args(small_disk, SLOW, DENSE, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_history(run_dir, undisturbed)


def test_a_full_disk_in_a_sweep_is_not_a_failure(small_disk):
    path = small_disk.parent / "sweep.yaml"
    path.write_text("name: d-{seed}\nmodel: {arch: dense}\ngrid: {seed: [0]}\n")
    _fill(small_disk)
    done = run(train_args(small_disk, TINY, path))
    assert done.returncode == 74, done.stderr
    assert "1 stopped" in done.stdout and "no space left on the device" in done.stderr
    assert not (small_disk / "d-0" / runs.METRICS).exists()


@pytest.fixture
def read_only_folder(tmp_path):
    where = tmp_path / "ro"
    _mount_tmpfs(where, "1m", read_only=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return {
        "--out is a file": (a_file, "is a file, not a folder"),
        "--out under a file": (a_file / "runs", f"cannot be a folder, {a_file} is a file"),
    }


@pytest.mark.parametrize("case", ["--out is a file", "--out under a file", "read-only", "run folder is a file"])
def test_a_bad_output_location_is_refused_before_anything_happens(tmp_path, request, finished_pair, case):
    if case == "read-only":
        out, expected = request.getfixturevalue("read_only_folder") / "runs", "is on a read-only file system"
    elif case == "run folder is a file":
        out = tmp_path / "runs"
        out.mkdir()
        (out / name_of(TINY)).write_text("not a folder")
        out, expected = out, f"{out / name_of(TINY)}: is a file, where the run's folder would go"
    else:
        out, expected = _bad_outputs(tmp_path)[case]
    trained = run(train_args(out, TINY))
    assert trained.returncode == 2 and expected in trained.stderr and "Traceback" not in trained.stderr
    probe = f"import sys; from autoencoders.cli import train_main; rc = train_main({train_args(out, TINY)[2:]!r}); print(rc, 'tensorflow' in sys.modules)"
    checked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=ENV)
    assert checked.stdout.split() == ["2", "False"], checked.stderr  # refused before TensorFlow is imported
    if case != "run folder is a file":
        evaluated = run([sys.executable, str(ROOT / "evaluate.py"), *map(str, finished_pair), "--out", str(out / "report")])
        assert evaluated.returncode == 2 and "Traceback" not in evaluated.stderr
        assert "loaded mnist" not in evaluated.stderr  # refused before evaluating anything


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder; the read-only file system case covers this")
def test_a_folder_without_write_permission_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = run(train_args(locked / "runs", TINY))
    assert done.returncode == 2 and "not writable (permission denied)" in done.stderr


# --------------------------------------------------------------------------- hostile configs


MEMORY_LIMIT = 1 << 30  # address space of the whole process (Python, NumPy and the loaded file): a guard, not the bound
CPU_SECONDS, PEAK_MIB = 1.0, 100  # the bound the README states: refused within a second and 100 MB
MAX_PROBLEM_LINES, MAX_LINE_CHARS = 20, 300

# Runs a command as its child and writes the child's exit code, CPU seconds (user + system) and
# peak resident memory (wait4's rusage: that process alone, its own high-water mark, not this
# test process's, which a direct fork would carry over) to the file named first.
MEASURED = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}, f)
"""


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", list(HOSTILE))
def test_any_config_file_is_refused_within_a_second_and_100_mb(tmp_path, case):
    """Every hostile file gets exit 2, refused within 1 s of CPU time and 100 MiB of peak memory
    (process start included; about 0.3-0.6 s and 46-49 MiB here), with at most 20 problem lines
    (then "... and N more problems") of at most 300 characters: values are shown in bounded form.
    Wall time is only guarded against a hang: on shared cores it measures the neighbours."""
    content, expected = HOSTILE[case]
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    measured = tmp_path / "measured.json"
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, str(measured), *train_args(tmp_path / "runs", [], path)[1:]],
        capture_output=True,
        text=True,
        env=ENV,
        preexec_fn=_limited,
        timeout=60,
    )
    usage = json.loads(measured.read_text())
    assert usage["code"] == 2, done.stderr[-2000:]
    assert expected in done.stderr
    assert usage["cpu_s"] < CPU_SECONDS and usage["peak_mib"] < PEAK_MIB, usage
    lines = done.stderr.splitlines()
    problems = [line for line in lines if not (line.startswith("... and ") and line.endswith(" more problems"))]
    assert "Traceback" not in done.stderr and len(problems) <= MAX_PROBLEM_LINES and len(lines) <= MAX_PROBLEM_LINES + 1
    assert max(len(line.replace(str(path), "F")) for line in lines) <= MAX_LINE_CHARS  # the file's own name is not a value
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("config", "expected"), [("/dev/zero", "the file is over 32 KiB"), (".", "is a directory, not a config file")])
def test_a_config_that_is_not_a_file_is_refused(tmp_path, config, expected):
    done = run(train_args(tmp_path / "runs", [], Path(config)), timeout=60)
    assert done.returncode == 2 and expected in done.stderr


def test_an_npz_path_that_is_a_device_is_refused_without_reading_it(tmp_path):
    done = run(train_args(tmp_path / "runs", ["dataset.name=npz", "dataset.path=/dev/zero"]), timeout=60)
    assert done.returncode == 2 and "/dev/zero: not a regular file" in done.stderr


# --------------------------------------------------------------------------- evaluate.py and run identity


def test_one_run_under_two_spellings_is_one_run_and_a_second_run_of_a_seed_is_set_aside(finished_pair, tmp_path):
    """The same folder given as a path, with a trailing slash, relative and through a symlink is one
    run (counted once); a copy of it elsewhere (the same experiment, loss and seed) is listed as
    not compared, with the reason, instead of silently replacing the first."""
    bce, mse = finished_pair
    link = tmp_path / "link"
    link.symlink_to(bce, target_is_directory=True)
    twin = tmp_path / "elsewhere" / bce.name
    shutil.copytree(bce, twin)
    relative = os.path.relpath(bce, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "evaluate.py"),
            str(bce),
            f"{bce}/",
            relative,
            str(link),
            str(mse),
            str(twin),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert sorted(r["path"] for r in summary["runs"]) == sorted(map(str, [bce, mse, twin]))
    expected = sum(runs.read_json(p / runs.METRICS)["train_seconds"] for p in (bce, mse, twin))
    assert summary["train_seconds_total"] == pytest.approx(expected)  # each folder once
    first, later = sorted([bce, twin], key=str)
    md = (tmp_path / "r" / "REPORT.md").read_text()
    assert f"| `{later}` | invalid | the same experiment, loss and seed as {first}; only one run per seed is compared |" in md
    (group,) = summary["groups"]
    assert len(group["runs"]) == 2


def test_interrupting_evaluate_leaves_the_previous_report_and_no_staging_folder(finished_pair, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "REPORT.md").write_text("the previous report\n")
    pair = [tmp_path / run_dir.name for run_dir in finished_pair]
    for run_dir, copy in zip(finished_pair, pair):  # without their stored evaluations: evaluated afresh, TensorFlow imported, seconds long
        shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns(runs.EVALUATION))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "evaluate.py"), *map(str, pair), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    time.sleep(2.5)  # inside the imports or the evaluation
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the evaluation finished before the signal arrived")
    assert proc.returncode == 130 and "interrupted; no report was written" in stderr and "Traceback" not in stderr
    assert (out / "REPORT.md").read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir() if ".staging." in p.name] == []


# --------------------------------------------------------------------------- the smaller ones


def test_an_existing_run_is_refused_before_tensorflow_is_imported_in_plain_words(finished_pair):
    bce, _ = finished_pair
    overrides = [*TINY, "loss.name=bce"]
    args = ["--config", str(DENSE), "--out", str(bce.parent), *[x for o in overrides for x in ("--set", o)]]
    probe = f"import sys; from autoencoders.cli import train_main; rc = train_main({args!r}); print(rc, 'tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=ENV)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "a completed run is already there; pass --overwrite" in done.stderr


def test_an_unfinished_run_gets_an_and_says_what_is_left(half_trained):
    from autoencoders.evaluate.evaluation import load_run

    assert runs.existing_run_message(half_trained, "unfinished").endswith(
        "an unfinished run is already there; pass --resume to continue it or --overwrite to start again"
    )
    assert load_run(half_trained).reason == "2 of 4 epochs trained; resume it with train.py --resume"
    state = runs.read_json(half_trained / runs.CHECKPOINTS / runs.STATE)
    runs.write_history(half_trained / runs.HISTORY, [*state["history"], *state["history"]])  # all 4 rows, no metrics.json
    assert load_run(half_trained).reason.startswith("all 4 epochs trained but the final evaluation and save did not finish")


def test_jobs_must_be_positive_for_a_single_config_too(tmp_path):
    done = run(train_args(tmp_path / "runs", TINY, DENSE, "--jobs", "0"))
    assert done.returncode == 2 and "--jobs 0: must be >= 1" in done.stderr
    assert not (tmp_path / "runs").exists()
