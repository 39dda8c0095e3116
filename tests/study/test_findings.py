"""The Findings page and the README's answer table are the study's summary, rendered: regenerated
they are byte for byte the committed files, their templates hold no number of their own, and a
summary whose data says otherwise makes them say otherwise (mutation tests)."""

import copy
import json
import re
import subprocess
import sys

import pytest

from autoencoders.study import findings

from conftest import ROOT

SUMMARY = json.loads((ROOT / "results" / "study" / "summary.json").read_text())
PAGE = ROOT / "docs" / "findings.md"

#: the only digits the templates may hold outside template tags: formulas and definitions, no measurement
FORMULAS = {
    "[0, 1]",
    "2(p − y)·p(1 − p)",
    "2(y − p)²",
    "0 for a perfect reconstruction",
    "H(y) + 2·MSE",
    "(0 < y < 1)",
    "95%",
    "5th to 95th percentile",
    "BCE is not 0",
    "not 0",
    "1e-3",
    "1e-2",
    "1e-4",
    "(lr 1.0)",
}


def test_the_committed_findings_page_and_answer_table_are_the_summary_rendered_now():
    assert PAGE.read_text() == findings.render(SUMMARY)
    readme = (ROOT / "README.md").read_text()
    assert findings.with_answer_table(readme, findings.render(SUMMARY, "answers.md.j2")) == readme


def test_the_command_writes_the_page_and_refuses_a_file_that_is_no_summary(tmp_path):
    out, readme = tmp_path / "findings.md", tmp_path / "README.md"
    readme.write_text(f"# x\n{findings.ANSWER_START}\nold\n{findings.ANSWER_END}\nrest\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoencoders",
            "findings",
            str(ROOT / "results/study/summary.json"),
            "--out",
            str(out),
            "--readme",
            str(readme),
            "--evidence",
            str(tmp_path / "evidence.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == PAGE.read_text() and "old" not in readme.read_text() and readme.read_text().endswith("rest\n")
    # the numbers the diagnosis quotes are the committed summary's
    assert (tmp_path / "evidence.json").read_text() == (ROOT / "autoencoders/diagnose/evidence.json").read_text()
    evidence = json.loads((tmp_path / "evidence.json").read_text())["dark_output"]
    conv_adam = [
        c
        for c in SUMMARY["collapse"]["cells"]
        if (c["arch"], c["dataset"], c["optimizer"], c["learning_rate"]) == ("conv", "mnist", "adam", 0.001)
    ]
    assert {c["loss"]: c["collapsed"] for c in conv_adam} == {"mse": evidence["mse_locked"], "bce": evidence["bce_locked"]}
    bad = tmp_path / "bad.json"
    bad.write_text('{"runs": 3}')
    refused = subprocess.run(
        [sys.executable, "-m", "autoencoders", "findings", str(bad), "--out", str(tmp_path / "never.md")], capture_output=True, text=True
    )
    assert refused.returncode == 2 and str(bad) in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "never.md").exists()
    unmarked = tmp_path / "NOTES.md"  # a README without the markers is named, not the summary
    unmarked.write_text("# notes\n")
    no_table = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoencoders",
            "findings",
            str(ROOT / "results/study/summary.json"),
            "--out",
            str(tmp_path / "never.md"),
            "--readme",
            str(unmarked),
        ],
        capture_output=True,
        text=True,
    )
    assert no_table.returncode == 2 and f"{unmarked}: has no answer table to replace" in no_table.stderr
    assert unmarked.read_text() == "# notes\n" and not (tmp_path / "never.md").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "autoencoders", "findings", str(tmp_path / "none.json")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and f"{tmp_path / 'none.json'}: cannot be read as JSON" in missing.stderr


@pytest.mark.parametrize("template", ["findings.md.j2", "answers.md.j2"])
def test_the_templates_hold_no_number_of_their_own(template):
    text = (findings.TEMPLATES / template).read_text()
    literal = re.sub(r"{#.*?#}|{{.*?}}|{%.*?%}", " ", text, flags=re.S)
    for formula in FORMULAS:
        literal = literal.replace(formula, " ")
    assert not re.findall(r".{0,30}\d.{0,30}", literal)


NUMBER = re.compile(r"\d[\d,.]*(?:e-?\d+)?%?")


@pytest.mark.parametrize("template", ["findings.md.j2", "answers.md.j2"])
def test_every_number_on_the_page_is_computed(template):
    """Rendered with each printed value marked, the text left outside the marks (the templates'
    own words) holds no number but the formulas: every number of the page was computed from the
    summary (or is a constant of the code: α, section and question numbers, the replayed steps)."""
    marked = findings.render(SUMMARY, template, mark=True)
    words = re.sub(f"{findings.MARK_START}.*?{findings.MARK_END}", " ", marked, flags=re.S)
    for formula in FORMULAS:
        words = words.replace(formula, " ")
    assert not NUMBER.findall(words)
    computed = re.findall(f"{findings.MARK_START}(.*?){findings.MARK_END}", marked, flags=re.S)
    assert sum(len(NUMBER.findall(value)) for value in computed) > (300 if template == "findings.md.j2" else 20)


def outcome_entry(summary: dict, title_start: str, metric: str, section: str = "outcome") -> dict:
    [group] = [g for g in summary[section]["groups"] if g["title"].startswith(title_start)]
    [entry] = [d for d in group["differences"] if d["metric"] == metric]
    return entry


def cell_line(page: str, name: str) -> str:
    """The outcome question's table row of `name` (question 8's table has rows of the same names)."""
    outcome = page[page.index('"So which gives better reconstructions?"') :]
    outcome = outcome[: outcome.index("\n## ")]
    [line] = [line for line in outcome.splitlines() if re.match(rf"\| {name} \(\d+\) \|", line)]
    return line


def test_swapping_the_two_losses_means_turns_the_verdict_around():
    before = findings.render(SUMMARY)
    assert "| dense · MNIST (10) | – (p 1) | **BCE**" in before
    mutated = copy.deepcopy(SUMMARY)
    ssim = outcome_entry(mutated, "dense · mnist ·", "ssim")
    ssim["bce"], ssim["mse"], ssim["diff"] = ssim["mse"], ssim["bce"], -ssim["diff"]
    after = findings.render(mutated)
    assert "| dense · MNIST (10) | – (p 1) | **MSE**" in after
    tally = re.compile(r"BCE training is\s+significantly better (\d+) times, MSE training (\d+) times")
    (b0, m0), (b1, m1) = (tuple(map(int, tally.search(t).groups())) for t in (before, after))
    assert (b1, m1) == (b0 - 1, m0 + 1)


def test_pushing_a_p_across_alpha_removes_the_win():
    mutated = copy.deepcopy(SUMMARY)
    ssim = outcome_entry(mutated, "dense · mnist ·", "ssim")
    ssim["p_holm"] = findings.ALPHA  # not below α: no significant difference
    line = cell_line(findings.render(mutated), "dense · MNIST")
    assert line.split("|")[3].strip().startswith("–")
    binary = copy.deepcopy(SUMMARY)
    for entry in binary["binarized"]["groups"][0]["differences"]:
        entry["p_holm"] = 0.9
    table = findings.render(binary, "answers.md.j2")
    assert "| And for binary pixels? | No significant difference on " in table and "no metric differs significantly" in table


def test_the_speed_answer_follows_the_sign_tests():
    """Push one comparison's sign test below α and it becomes a speed-up for the loss its seeds
    favour; swap the losses' seeds and it is the other loss's."""
    mutated = copy.deepcopy(SUMMARY)
    [row] = [r for r in mutated["gradients"]["reach"] if r["group"] == "dense · mnist · 30 epochs"]
    assert row["bce_sooner"] > row["mse_sooner"]
    row["p_holm"] = 0.01
    count = findings.context(mutated)["speed"]["count"]
    assert (count["bce"], count["mse"]) == (1, 0)
    page = " ".join(findings.render(mutated).split())
    assert "Significantly sooner: BCE in 1, MSE in 0 of" in page and "a failure mode, and a significant speed-up in 1 of" in page
    assert "significantly faster: BCE in 1, MSE in 0 of" in findings.render(mutated, "answers.md.j2")
    row["bce"], row["mse"], row["bce_sooner"], row["mse_sooner"] = row["mse"], row["bce"], row["mse_sooner"], row["bce_sooner"]
    assert "Significantly sooner: BCE in 0, MSE in 1 of" in " ".join(findings.render(mutated).split())


def test_a_collapse_count_changes_the_answer_and_its_interval():
    mutated = copy.deepcopy(SUMMARY)
    [c] = [
        c
        for c in mutated["collapse"]["cells"]
        if (c["arch"], c["dataset"], c["loss"], c["optimizer"], c["learning_rate"]) == ("conv", "mnist", "bce", "adam", 0.001)
    ]
    c["collapsed"], c["ci"] = 3, [0.05, 0.36]
    table = findings.render(mutated, "answers.md.j2")
    assert "BCE never did" not in table and "BCE 3/720" in table


def test_small_numbers_are_written_without_exponent_padding():
    assert findings.sci(2.6026e-06) == "2.6e-6" and findings.sci(1.7e-08) == "1.7e-8" and findings.sci(0.0123) == "0.012"


def test_the_reach_test_pairs_seeds_and_counts_a_run_that_never_got_there_as_later():
    from autoencoders.study.speed import median_epoch, reach_epoch, reach_test

    history = [{"epoch": 1, "val_pixel_mse": 0.3}, {"epoch": 2, "val_pixel_mse": 0.1}, {"epoch": 3, "val_pixel_mse": 0.05}]
    assert (reach_epoch(history, 0.1), reach_epoch(history, 0.01)) == (2, None)
    mixed = reach_test("g", 0.1, {0: 3, 1: 4, 2: None, 3: None}, {0: 5, 1: 4, 2: 6, 3: None})
    assert (mixed["bce_sooner"], mixed["mse_sooner"], mixed["ties"], mixed["p"]) == (1, 1, 2, 1.0)
    sooner = reach_test("g", 0.1, dict.fromkeys(range(6), 2), dict.fromkeys(range(6), 3))
    assert sooner["p"] == pytest.approx(2 / 64)  # all six one way: two-sided sign test 2 × (1/2)^6
    assert reach_test("g", 0.1, {0: 2}, {0: 2})["p"] is None
    assert median_epoch([1, 2, None]) == 2 and median_epoch([None, None, 3]) == float("inf")
