"""The blog table matches only BCE, MNIST, full-data runs at the blog's epochs."""

from types import SimpleNamespace as NS

import pytest

from autoencoders import config as C
from autoencoders.study.blog import blog_rows


def fake(arch, epochs, val_loss, loss="bce", dataset="mnist", seed=0, code_mean=None, optimizer="adam", **data):
    cfg = C.parse_config(
        {
            "name": f"r{seed}",
            "seed": seed,
            "model": {"arch": arch},
            "loss": {"name": loss},
            "dataset": {"name": dataset, **data},
            "training": {"epochs": epochs, "optimizer": optimizer},
        }
    )
    return NS(run=NS(config=cfg, history=[{"epoch": epochs, "loss": val_loss + 0.01, "val_loss": val_loss}]), code_mean=code_mean)


def test_matching_runs_are_averaged_over_seeds_and_others_ignored():
    evs = [
        fake("dense", 50, 0.092, seed=0, code_mean=7.0),
        fake("dense", 50, 0.094, seed=1, code_mean=7.2),
        fake("dense", 50, 0.5, loss="mse"),  # another loss
        fake("dense", 10, 0.5),  # other epochs
        fake("dense", 50, 0.5, dataset="fashion_mnist"),
        fake("dense", 50, 0.5, train_size=100),  # a subset
    ]
    rows = {(r["arch"], r["quantity"]): r for r in blog_rows(evs)}
    assert set(rows) == {("dense", "val_loss"), ("dense", "code_mean")}
    assert rows["dense", "val_loss"]["ours_mean"] == pytest.approx(0.093)
    assert rows["dense", "val_loss"]["seeds"] == 2 and rows["dense", "val_loss"]["blog_value"] == 0.09
    assert rows["dense", "code_mean"]["ours_mean"] == pytest.approx(7.1)


def test_sparse_reports_train_and_test_loss():
    rows = blog_rows([fake("sparse_dense", 100, 0.10)])
    assert {r["quantity"] for r in rows} == {"loss", "val_loss"}
    assert blog_rows([]) == []


def test_another_optimizer_gets_its_own_row_after_adam():
    rows = blog_rows([fake("dense", 50, 0.11, optimizer="adadelta"), fake("dense", 50, 0.09)])
    assert [(r["optimizer"], r["ours_mean"]) for r in rows] == [("adam (lr 0.001)", 0.09), ("adadelta (lr 0.001)", 0.11)]
