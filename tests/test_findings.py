"""The Findings (in docs/study.md) say what results/study/summary.json holds: every phrase `findings.facts`
computes from the summary is in the Findings, word for word."""

import json

from conftest import ROOT

from autoencoders import findings

README = (ROOT / "docs" / "study.md").read_text()  # the Findings section moved there from the README


def findings_text() -> str:
    section = README.split("\n## Findings\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.split())


def test_every_number_of_the_findings_is_the_studys_summary():
    summary = json.loads((ROOT / "results" / "study" / "summary.json").read_text())
    text = findings_text()
    missing = {name: phrase for name, phrase in findings.facts(summary).items() if " ".join(phrase.split()) not in text}
    assert not missing, missing


def test_small_numbers_are_written_without_exponent_padding():
    assert findings.sci(2.6026e-06) == "2.6e-6" and findings.sci(1.7e-08) == "1.7e-8" and findings.sci(0.0123) == "0.012"


def collapse_cell(dataset, optimizer, learning_rate, loss, collapsed, arch="denoising_conv"):
    return {"arch": arch, "dataset": dataset, "optimizer": optimizer, "learning_rate": learning_rate, "loss": loss, "collapsed": collapsed, "runs": 20}


def test_a_partly_trained_collapse_grid_names_its_trained_settings_in_order_and_counts_the_rest():
    summary = {"collapse": {"cells": [collapse_cell("fashion_mnist", "adam", 0.001, "mse", 3), collapse_cell("mnist", "adadelta", 1.0, "mse", 20),
                                      collapse_cell("mnist", "adam", 0.001, "mse", 20), collapse_cell("mnist", "adam", 0.001, "bce", 0),
                                      collapse_cell("natural_patches", "adam", 0.001, "mse", 0), collapse_cell("natural_patches", "adam", 0.01, "mse", 0),
                                      collapse_cell("mnist", "adam", 0.001, "mse", 1, arch="conv")]}}
    words = findings.trained_cells(summary, "denoising_conv")
    assert words == ("under MSE on MNIST in 20 of 20 (100%, 95% CI [0.84, 1.00]) at Adam 1e-3 and 20 of 20 (100%, 95% CI [0.84, 1.00]) at Adadelta (lr 1.0); "
                     "on Fashion-MNIST in 3 of 20 (15%, 95% CI [0.05, 0.36]) at Adam 1e-3; "
                     "in 0 of 20 (0%, 95% CI [0.00, 0.16]) at each of Adam 1e-3 and Adam 1e-2 on natural patches; "
                     "under BCE in 0 of 20 (0%, 95% CI [0.00, 0.16]) at Adam 1e-3 on MNIST; the other 18 of its 24 settings are not yet trained")


def test_a_full_collapse_grid_lists_each_setting_where_runs_collapsed_and_groups_the_datasets_where_none_did():
    settings = [("adam", 0.0001), ("adam", 0.001), ("adam", 0.01), ("adadelta", 1.0)]
    summary = {"collapse": {"cells": [collapse_cell(dataset, optimizer, learning_rate, loss, 20 if (dataset, loss) == ("mnist", "mse") else 0)
                                      for dataset in ("mnist", "fashion_mnist", "natural_patches") for optimizer, learning_rate in settings
                                      for loss in ("mse", "bce")]}}
    words = findings.trained_cells(summary, "denoising_conv")
    every = "20 of 20 (100%, 95% CI [0.84, 1.00])"
    assert words == (f"under MSE on MNIST in {every} at Adam 1e-4, {every} at Adam 1e-3, {every} at Adam 1e-2 and {every} at Adadelta (lr 1.0); "
                     "in 0 of 20 (0%, 95% CI [0.00, 0.16]) at each of the four optimizer settings on Fashion-MNIST and natural patches; "
                     "under BCE in 0 of 20 (0%, 95% CI [0.00, 0.16]) at each of the four optimizer settings on MNIST, Fashion-MNIST and natural patches")
