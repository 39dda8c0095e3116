"""notebooks/bce_vs_mse.ipynb runs top to bottom (papermill, kernel python3, small parameters, in a
temporary folder) and computes what it says: BCE's floor, the conv model's MSE collapse next to
BCE, the VAE's KL near zero with MSE averaged over pixels."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from autoencoders.study import theory

from conftest import ROOT

papermill = pytest.importorskip("papermill")
pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "notebooks" / "bce_vs_mse.ipynb"
# Small, and still past the point where the seed-0 conv model trained with MSE has gone dark
# (it does within its first epoch on 6,000 images; the notebook's defaults train 20,000 twice).
SMALL = {"EPOCHS": 3, "TRAIN_SIZE": 6000, "TEST_SIZE": 500, "CONV_EPOCHS": 1, "VAE_EPOCHS": 1, "SEED": 0, "WORK_DIR": "work"}


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)  # diffs stay readable
    [parameters] = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert set(SMALL) <= {line.split("=")[0].strip() for line in parameters.source.splitlines() if "=" in line}
    assert notebook.metadata.kernelspec.name == "python3"


def test_the_notebook_runs_top_to_bottom_and_measures_what_it_shows(tmp_path):
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").rglob("*"))
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(executed),
        parameters=SMALL,
        kernel_name="python3",
        cwd=str(tmp_path),
        execution_timeout=600,
        progress_bar=False,
        log_output=False,
    )
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").rglob("*")) == before  # nothing lands in the repo
    measured = json.loads((tmp_path / "work" / "measured.json").read_text())

    # section 2: BCE's minimum is at p = y and its value there is H(y), computed live
    for y in theory.TARGETS:
        assert measured["bce_floor"][str(y)] == pytest.approx(float(theory.binary_entropy(y)))
        assert measured["bce_argmin"][str(y)] == pytest.approx(y, abs=1e-6)
    assert 0.05 < measured["mnist"]["floor"] < 0.07 and 0.10 < measured["mnist"]["zero_mse"] < 0.12

    # section 3: both dense models learned something (below the all-black pixel MSE; 0.58 of it here)
    for loss in ("bce", "mse"):
        assert measured["dense"][loss]["mse"] < 0.8 * measured["mnist"]["zero_mse"]

    # section 4: MSE's conv output is black (test pixel MSE that of predicting 0) and its logit
    # gradient vanishing; BCE's conv model reconstructs
    conv = measured["conv"]
    assert conv["mse"]["output_mean"] < 0.01 and conv["bce"]["output_mean"] > 0.05
    assert conv["mse"]["pixel_mse"] == pytest.approx(measured["mnist"]["zero_mse"], rel=0.01)
    assert conv["bce"]["pixel_mse"] < 0.8 * measured["mnist"]["zero_mse"]  # 0.64 of it after one small epoch
    assert conv["mse"]["logit_grad_last_epoch"] < 1e-2 * conv["bce"]["logit_grad_last_epoch"]  # 5e-4 of it here

    # section 5: MSE averaged over pixels leaves the KL near zero and one output for every input
    vae = measured["vae"]
    assert vae["mse-mean"]["kl"] < 0.01 < 1.0 < vae["bce-sum"]["kl"]
    assert vae["mse-mean"]["grid_spread"] < 0.1 * vae["bce-sum"]["grid_spread"]

    notebook = nbformat.read(executed, as_version=4)
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # landscapes, dense grid and curves, conv grid, VAE grid
    assert not any(o.get("output_type") == "error" for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
    assert len(vae["bce-sum"]["kl_by_epoch"]) == SMALL["VAE_EPOCHS"] and np.isfinite(vae["bce-sum"]["kl_by_epoch"]).all()


def test_the_docs_open_the_notebook_with_an_extra_that_exists_and_name_real_parameters():
    import re

    import tomllib

    readme = (ROOT / "docs" / "notebook.md").read_text()  # the notebook's page of the manual
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert '.venv/bin/pip install -e ".[notebook]" && .venv/bin/jupyter lab notebooks/bce_vs_mse.ipynb' in readme
    assert any(dep.startswith("jupyterlab") for dep in extras["notebook"])
    assert {"papermill", "ipykernel"} <= {re.split(r"[<>=\[]", dep)[0] for dep in extras["dev"]}  # make test runs it
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    [parameters] = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    for name in re.findall(r"papermill notebooks/bce_vs_mse\.ipynb \S+ ((?:-p \w+ \S+ ?)+)", readme)[0].split("-p")[1:]:
        assert f"\n{name.split()[0]} = " in f"\n{parameters.source}"
