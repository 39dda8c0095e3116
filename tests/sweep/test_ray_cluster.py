"""Sweeps on a Ray cluster of several nodes, simulated on this machine with Ray's own
`ray.cluster_utils.Cluster` (each node a real raylet with its own worker processes): the sweep
joins it by `--address HOST:PORT`, and a run whose node is lost mid-training is retried on another
node and resumes to the history of a run never disturbed.

The run's training process is paused while its node is taken away (`parent_lost`): a dozen short
epochs would otherwise finish before it notices, and the test would see a completed run instead of
a resumed one (it did, on a fast host)."""

from __future__ import annotations

import threading

import pytest
from test_faults import history_without_time
from test_ray_backend import SLOW, parent_lost, sweep_file  # noqa: F401 (sweep_file: the module fixture, real MNIST in the user's npz format)

from autoencoders import config as C
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread_per_run")]  # tests/conftest.py


@pytest.fixture
def cluster():
    """A head node with no CPUs (so no run can land there) and one worker node of one CPU."""
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized()  # schedule_on_ray must connect by the address, not reuse a Ray of this process
    nodes = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 0})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def test_a_run_whose_node_is_lost_is_retried_on_another_node_and_resumes(cluster, sweep_file, tmp_path):  # noqa: F811
    from autoencoders.sweep.ray_backend import schedule_on_ray

    cfg = C.replace(sweep.expand(sweep_file)[0], SLOW)
    undisturbed = sweep.schedule([cfg], tmp_path / "undisturbed", echo=lambda _: None).outcomes
    assert undisturbed[0].status == "completed"

    out = tmp_path / "cluster"
    [first_node] = [node for node in cluster.worker_nodes]
    result: list = []
    sweep_thread = threading.Thread(target=lambda: result.append(schedule_on_ray([cfg], out, address=cluster.address, echo=lambda _: None)))
    sweep_thread.start()
    state = out / cfg.name / runs.CHECKPOINTS / runs.STATE
    lost = False
    for _ in range(1200):  # up to 2 minutes for epoch 2
        if state.exists() and runs.read_json(state).get("epoch", 0) >= 2:
            # the node dies (its raylet and workers are killed) and another joins
            parent_lost(out / cfg.name, lambda _: (cluster.remove_node(first_node, allow_graceful=False), cluster.add_node(num_cpus=1)))
            lost = True
            break
        threading.Event().wait(0.1)
    assert lost, "the run never reached epoch 2"
    sweep_thread.join(timeout=300)
    [outcome] = result[0].outcomes
    assert outcome.status == "completed", outcome.reason
    log = (out / f".{cfg.name}.log").read_text()
    assert f"resuming {out / cfg.name} after epoch" in log  # the retry, on the new node, resumed
    assert history_without_time(out / cfg.name) == history_without_time(tmp_path / "undisturbed" / cfg.name)
