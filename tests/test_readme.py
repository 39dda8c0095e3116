"""The README as a new user reads it: its snippets run as written, its tables match the result files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from autoencoders.architectures import ARCHITECTURES

README = (ROOT / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def load_snippet() -> str:
    (snippet,) = [block for block in python_blocks() if "keras.saving.load_model(" in block]
    return snippet


def test_the_load_snippet_runs_as_written_in_a_fresh_interpreter_for_every_arch():
    """Exactly the README's words (for other archs, with the run folder's name changed), then checks;
    one fresh interpreter runs the snippet once per arch, each in its own namespace (a TensorFlow
    start-up per arch cost the suite a minute)."""
    snippet = load_snippet()
    assert "blog-dense-mnist-bce-s0" in snippet and snippet.startswith("import autoencoders, keras\n")
    checks = ("\nimport numpy as np\n"
              "assert type(model).__name__ == ('VAE' if model.name in ('vae', 'conv_vae') else 'Autoencoder'), type(model)\n"
              "assert reconstructions.shape == images.shape == (8, 28, 28, 1)\n"
              "assert np.all((reconstructions >= 0) & (reconstructions <= 1))\n"
              "print(model.name, np.mean((model.reconstruct(images) - images) ** 2))\n")
    archs = ["dense", *(arch for arch in ARCHITECTURES if arch != "dense")]  # the snippet as written runs first
    programs = [snippet.replace("blog-dense-mnist-bce-s0", f"blog-{arch}-mnist-bce-s0") + checks for arch in archs]
    driver = f"for program in {programs!r}:\n    exec(program, {{'__name__': '__main__'}})\n"
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [line.split() for line in done.stdout.splitlines() if len(line.split()) == 2 and line.split()[0] in ARCHITECTURES]
    assert [name for name, _ in printed] == archs
    for name, mse in printed:  # a trained model, not a fresh one (an all-grey output scores ~0.2)
        assert float(mse) < 0.07, name


def _table_after(marker: str) -> list[str]:
    """The Markdown table rows right after an HTML comment marker in the README."""
    lines = README.split(marker, 1)[1].splitlines()[1:]
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


@pytest.mark.parametrize("report", sorted(set(re.findall(r"<!-- table: (\S+) -->", README))))
def test_every_table_copied_from_a_report_is_in_that_report(report):
    """A verdict table in the README is the report's own rows, so prose and data cannot drift apart."""
    rows = _table_after(f"<!-- table: {report} -->")
    assert len(rows) >= 3
    report_lines = set((ROOT / report).read_text().splitlines())
    for row in rows:
        assert row in report_lines, row
