"""Shared fixtures: quiet TensorFlow, tiny real-data configs for training tests, and the check that
two run folders hold the same run."""

import inspect
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tracked_files(path: str | Path = ".") -> list[str]:
    """The files git tracks under `path`, relative to the repository root: what a clone holds."""
    import subprocess

    return subprocess.run(["git", "ls-files", str(path)], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


SHIPPED_CONFIGS = sorted(p for p in (ROOT / "configs").glob("**/*.yaml") if p.parent.name != "sweeps")
SHIPPED_SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))

# Small enough to keep the whole suite within minutes on 2 cores, big enough to be real data.
# XLA off: compiling costs a tiny run 1-9 s (dense, VAE) and tests of plumbing do not need it;
# the tests of the real path put "training.jit_compile=auto" back. No stored evaluation (a pass
# over the full test set, seconds for a conv run): reports evaluate tiny runs themselves, and
# tests/evaluate/test_stored_evaluation.py puts "training.store_evaluation=true" back.
TINY = [
    "dataset.train_size=256",
    "dataset.test_size=128",
    "training.epochs=1",
    "training.batch_size=64",
    "training.jit_compile=false",
    "training.store_evaluation=false",
]
STORED_EVALUATION = "training.store_evaluation=true"
XLA_AS_SHIPPED = "training.jit_compile=auto"


@pytest.fixture
def tiny_config():
    """A factory: shipped config + tiny overrides + extra overrides -> ExperimentConfig."""
    from autoencoders.config import load_config

    def make(path="configs/blog/dense.yaml", *overrides: str):
        return load_config(ROOT / path, [*TINY, *overrides])

    return make


def assert_same_run(a: Path, b: Path) -> None:
    """Two completed run folders hold the same bits: every history value but the times, every
    array of the resume point, and the test metrics."""
    import numpy as np

    from autoencoders.train import run_folder as runs

    def without_time(run_dir: Path) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in runs.read_history(run_dir / runs.HISTORY)]

    assert without_time(a) == without_time(b)
    state_a, state_b = runs.load_checkpoint(a), runs.load_checkpoint(b)
    for key in state_b.arrays:
        assert all(np.array_equal(x, y) for x, y in zip(state_a.arrays[key], state_b.arrays[key], strict=True)), key
    assert runs.read_json(a / runs.METRICS)["test"] == runs.read_json(b / runs.METRICS)["test"]


#: what a test (or a fixture it uses) calls when it trains a model: such tests carry the `slow`
#: marker, so `pytest -m "not slow"` runs the rest in a fraction of the time
TRAINS = re.compile(
    r"training\.train\(|\btrain\.py\b|train_main\(|\.fit\(|\btiny_config\b|\btrain_(conv|dense|vae)\(|sweep_main\(|\"train\","
)


def trains(item: pytest.Item) -> bool:
    functions = [item.function] + [defs[-1].func for defs in item._fixtureinfo.name2fixturedefs.values()]
    for function in functions:
        try:
            if TRAINS.search(inspect.getsource(function)):
                return True
        except (OSError, TypeError):  # a builtin fixture of pytest's own
            continue
    return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if isinstance(item, pytest.Function) and trains(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def one_thread_per_run(monkeypatch):
    """A Ray task of one CPU trains with one TensorFlow thread; the local runs compared with it do
    too, since the validation sums come out in another order (other last bits) with two threads."""
    from autoencoders.train.device import INTER_ENV, INTRA_ENV

    monkeypatch.setenv(INTRA_ENV, "1")
    monkeypatch.setenv(INTER_ENV, "1")


# ----------------------------------------------------------------------------- a user's npz of real digits

#: a budget under which the 3,700 images below (11.6 MB as float32) are mapped
TINY_MEMORY = "1000000"


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    """3,000 training and 700 test images of real MNIST as a user's uint8 npz."""
    import numpy as np

    from autoencoders.data.loading import load_dataset

    mnist = load_dataset("mnist")
    path = tmp_path_factory.mktemp("data") / "digits.npz"

    def as_uint8(x):
        return np.rint(x[..., 0] * 255).astype(np.uint8)

    np.savez(
        path,
        x_train=as_uint8(mnist.x_train[:3000]),
        y_train=mnist.y_train[:3000],
        x_test=as_uint8(mnist.x_test[:700]),
        y_test=mnist.y_test[:700],
    )
    return path


@pytest.fixture(scope="module")
def digits_float_npz(digits_npz, tmp_path_factory):
    """The same images as float32 x / 255: the arrays every image became before bytes were kept."""
    import numpy as np

    path = tmp_path_factory.mktemp("data") / "digits_float.npz"
    with np.load(digits_npz) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for key in ("x_train", "x_test"):
        arrays[key] = arrays[key] / np.float32(255)
    np.savez(path, **arrays)
    return path
