"""docs/diagnose.md: its example runs as written in a fresh interpreter and prints what the page
says it prints; its table lists the registry's problems with the thresholds the code uses."""

import re
import subprocess
import sys

import pytest

from autoencoders.diagnose import measures, problems

from conftest import ROOT

PAGE = ROOT / "docs" / "diagnose.md"


@pytest.mark.slow
def test_the_example_prints_the_lock_within_the_first_epoch(tmp_path):
    text = PAGE.read_text()
    example = re.search(r"```python\n(.*?)```", text, flags=re.S)[1]
    shown = re.search(r"```text\n(.*?)```", text, flags=re.S)[1]
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    said = " ".join(line for line in done.stderr.splitlines() if line.startswith("DiagnosticsCallback:"))
    for part in " ".join(shown.split()).split("..."):  # what the page shows, but for the elided numbers
        assert part.strip(" ,;") in said, (part, said)


def test_the_table_is_the_registry_with_its_thresholds():
    text = PAGE.read_text()
    assert re.findall(r"^\| `(\w+)` \|", text, flags=re.M) == list(problems.KINDS)
    assert problems.LOCK_TOLERANCE == 0.01 and "within 1% of the all-dark" in text
    assert problems.LOCKED_MEAN == 0.1 and "below a tenth of the data's" in text
    assert measures.ACTIVE_VARIANCE == 0.01 and "at most 0.01" in text
    assert problems.CONSTANT_SPREAD == 0.05 and "less than 5% of what the images do" in text
    assert problems.SATURATED_SHARE == 0.05 and measures.SATURATED == 0.01 and "over 5% of pixels below 0.01 or above 0.99" in text
