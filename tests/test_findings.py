"""The README's Findings say what results/study/summary.json holds: every phrase `findings.facts`
computes from the summary is in the Findings, word for word."""

import json

from conftest import ROOT

from autoencoders import findings

README = (ROOT / "README.md").read_text()


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


def test_a_partly_trained_collapse_grid_names_its_trained_settings_in_order_and_counts_the_rest():
    def cell(dataset, optimizer, learning_rate, loss, collapsed):
        return {"arch": "denoising_conv", "dataset": dataset, "optimizer": optimizer, "learning_rate": learning_rate, "loss": loss,
                "collapsed": collapsed, "runs": 20}

    summary = {"collapse": {"cells": [cell("fashion_mnist", "adam", 0.001, "mse", 3), cell("mnist", "adadelta", 1.0, "mse", 20),
                                      cell("mnist", "adam", 0.001, "mse", 20), cell("mnist", "adam", 0.001, "bce", 0),
                                      {**cell("mnist", "adam", 0.001, "mse", 1), "arch": "conv"}]}}
    words = findings.trained_cells(summary, "denoising_conv")
    assert words == ("MSE at Adam 1e-3: 20 of 20 (100%, 95% CI [0.84, 1.00]) on MNIST, 3 of 20 (15%, 95% CI [0.05, 0.36]) on Fashion-MNIST; "
                     "MSE at Adadelta (lr 1.0): 20 of 20 (100%, 95% CI [0.84, 1.00]) on MNIST; "
                     "BCE at Adam 1e-3: 0 of 20 (0%, 95% CI [0.00, 0.16]) on MNIST; the other 20 of its 24 settings are not yet trained")
