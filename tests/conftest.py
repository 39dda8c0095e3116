"""Shared fixtures: quiet TensorFlow, and tiny real-data configs for training tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIGS = sorted(p for p in (ROOT / "configs").glob("**/*.yaml") if p.parent.name != "sweeps")
SHIPPED_SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))

# Small enough to keep the whole suite within minutes on 2 cores, big enough to be real data.
TINY = ["dataset.train_size=256", "dataset.test_size=128", "training.epochs=1", "training.batch_size=64"]


@pytest.fixture
def tiny_config():
    """A factory: shipped config + tiny overrides + extra overrides -> ExperimentConfig."""
    from autoencoders.config import load_config

    def make(path="configs/blog/dense.yaml", *overrides: str):
        return load_config(ROOT / path, [*TINY, *overrides])

    return make
