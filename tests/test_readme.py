"""The README and the manual (docs/*.md) as a new user reads them: their snippets run as written, their
tables match the result files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from autoencoders.models.architectures import ARCHITECTURES

from conftest import ROOT

PAGES = {path.relative_to(ROOT).as_posix(): path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}


def python_blocks() -> list[str]:
    return [block for text in PAGES.values() for block in re.findall(r"```python\n(.*?)```", text, flags=re.S)]


def load_snippet() -> str:
    (snippet,) = [block for block in python_blocks() if "keras.saving.load_model(" in block]
    return snippet


def test_the_load_snippet_runs_as_written_in_a_fresh_interpreter_for_every_arch():
    """Exactly the manual's words (for other archs, with the run folder's name changed), then checks;
    one fresh interpreter runs the snippet once per arch, each in its own namespace (a TensorFlow
    start-up per arch cost the suite a minute)."""
    snippet = load_snippet()
    assert "blog-dense-mnist-bce-s0" in snippet and snippet.startswith("import autoencoders, keras\n")
    checks = (
        "\nimport numpy as np\n"
        "assert type(model).__name__ == ('VAE' if model.name in ('vae', 'conv_vae') else 'Autoencoder'), type(model)\n"
        "assert reconstructions.shape == images.shape == (8, 28, 28, 1)\n"
        "assert np.all((reconstructions >= 0) & (reconstructions <= 1))\n"
        "print(model.name, np.mean((model.reconstruct(images) - images) ** 2))\n"
    )
    # the snippet as written runs first; every arch of the blog (one with a configs/blog/ config) has a committed run
    archs = ["dense", *(arch for arch in ARCHITECTURES if arch != "dense" and (ROOT / "configs/blog" / f"{arch}.yaml").exists())]
    assert len(archs) == len(ARCHITECTURES) - 1  # all but today's res_conv
    programs = [snippet.replace("blog-dense-mnist-bce-s0", f"blog-{arch}-mnist-bce-s0") + checks for arch in archs]
    driver = f"for program in {programs!r}:\n    exec(program, {{'__name__': '__main__'}})\n"
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [line.split() for line in done.stdout.splitlines() if len(line.split()) == 2 and line.split()[0] in ARCHITECTURES]
    assert [name for name, _ in printed] == archs
    for name, mse in printed:  # a trained model, not a fresh one (an all-grey output scores ~0.2)
        assert float(mse) < 0.07, name


def _table_after(marker: str, page: str | None = None) -> list[str]:
    """The Markdown table rows right after an HTML comment marker in the README or a docs page (the
    one page that has it, unless `page` names one)."""
    pages = [page] if page else [name for name, text in PAGES.items() if marker in text]
    assert len(pages) == 1, (marker, pages)
    lines = PAGES[pages[0]].split(marker, 1)[1].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_data_table_is_the_studys_summary():
    floors = json.loads((ROOT / "results/study/summary.json").read_text())["landscapes"]["floors"]
    rows = _table_after("<!-- data-table: results/study/summary.json -->")[2:]
    assert [row.split("|")[1].strip().strip("`") for row in rows] == ["mnist", "fashion_mnist", "natural_patches", "natural_patches_rgb"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        floor = floors[cells[0].strip("`")]
        assert cells[2] == f"{floor['train_images']:,} / {floor['test_images']:,}"
        assert cells[3] == "×".join(map(str, floor["image_shape"]))
        assert cells[5] == f"{floor['floor']:.4f}"
        assert cells[6] == f"{100 * floor['grey_share']:.1f}%"


COPIED_TABLES = sorted({(page, report) for page, text in PAGES.items() for report in re.findall(r"<!-- table: (\S+) -->", text)})


def test_the_copied_tables_are_found():
    assert {report for _, report in COPIED_TABLES} >= {"results/reports/quick-dense/REPORT.md", "results/compare/natural_patches/REPORT.md"}


@pytest.mark.parametrize(("page", "report"), COPIED_TABLES)
def test_every_table_copied_from_a_report_is_in_that_report(page, report):
    """A verdict table in the README or the manual is the report's own rows, so prose and data cannot drift apart."""
    rows = _table_after(f"<!-- table: {report} -->", page)
    assert len(rows) >= 3
    report_lines = set((ROOT / report).read_text().splitlines())
    for row in rows:
        assert row in report_lines, row


COPIED_VERDICTS = sorted({(page, report) for page, text in PAGES.items() for report in re.findall(r"<!-- verdicts: (\S+) -->", text)})


@pytest.mark.parametrize(("page", "report"), COPIED_VERDICTS)
def test_every_verdict_copied_from_a_report_is_that_reports_verdict_list(page, report):
    """The verdict lines quoted in the manual are exactly the lines the report opens with (its
    generated words, not a paraphrase that could say more than the data)."""
    lines = PAGES[page].split(f"<!-- verdicts: {report} -->", 1)[1].splitlines()[1:]
    quoted = [line for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("- "))]]
    report_text = (ROOT / report).read_text()
    verdicts = report_text.split("## Verdicts\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert quoted and quoted == verdicts
