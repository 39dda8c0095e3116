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
