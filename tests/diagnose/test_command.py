"""`python -m autoencoders diagnose` on saved plain-Keras models: it names the failure, stays silent
on the healthy twin, scores both against the trivial baselines, and refuses bad input with exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
from failures import train_conv, train_dense

from conftest import ROOT

pytestmark = pytest.mark.slow


def diagnose(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "autoencoders", "diagnose", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    for name, loss in (("locked", "mse"), ("healthy", "binary_crossentropy")):
        model, _, _ = train_conv(loss, seed=0)
        model.save(folder / f"{name}.keras")
    model, _, _ = train_dense(255.0, seed=0)
    model.save(folder / "unscaled.keras")
    return folder


def test_the_locked_model_is_named_and_scored_against_the_baselines(saved, tmp_path):
    done = diagnose(saved / "locked.keras", "--data", "mnist", "--images", 1000, "--json", tmp_path / "d.json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "d.json").read_text())
    assert [p["code"] for p in result["problems"]] == ["dark_output"]
    assert "dark_output: output locked dark" in done.stdout
    scores = result["scores"]
    assert set(scores) == {"model", "all-dark output", "mean image"}
    # locked dark: no better than the all-dark output, worse than the mean image
    assert scores["model"]["mse"] == pytest.approx(scores["all-dark output"]["mse"], rel=0.01)
    assert scores["model"]["mse"] > scores["mean image"]["mse"]


def test_the_healthy_twin_has_no_problem_and_beats_the_mean_image(saved, tmp_path):
    done = diagnose(saved / "healthy.keras", "--data", "mnist", "--images", 1000, "--json", tmp_path / "d.json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "d.json").read_text())
    assert result["problems"] == [] and "No problem found." in done.stdout
    assert result["scores"]["model"]["mse"] < result["scores"]["mean image"]["mse"]  # better than predicting the mean
    assert result["loss"] == "bce" and result["input_scale"] == "[0, 1]"
    # the all-dark baseline's MSE is the mean squared pixel of the test images, worked out here
    from autoencoders.data.loading import load_dataset

    x = np.asarray(load_dataset("mnist").x_test[:1000])
    assert result["scores"]["all-dark output"]["mse"] == pytest.approx(float(np.mean(np.square(x, dtype=np.float64))), rel=1e-6)


def test_a_model_trained_on_0_255_images_is_flagged(saved, tmp_path):
    done = diagnose(saved / "unscaled.keras", "--data", "mnist", "--images", 500, "--json", tmp_path / "d.json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "d.json").read_text())
    assert result["problems"] != []  # it learned to push its outputs up towards targets of up to 255
    assert result["scores"]["model"]["mse"] > result["scores"]["mean image"]["mse"]


def test_recommend_trains_the_architecture_with_both_losses(saved, tmp_path):
    done = diagnose(
        saved / "locked.keras",
        "--data",
        "mnist",
        "--images",
        500,
        "--recommend",
        "--epochs",
        1,
        "--train-images",
        3000,
        "--json",
        tmp_path / "r.json",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    recommend = json.loads((tmp_path / "r.json").read_text())["recommend"]
    assert set(recommend) == {"BCE", "MSE"} and all(0 <= row["mse"] <= 1 for row in recommend.values())


@pytest.mark.parametrize(
    ("make", "data", "says"),
    [
        (lambda d: d / "missing.keras", "mnist", "no such model file"),
        (lambda d: (d / "text.keras").write_text("not a model") and d / "text.keras", "mnist", "not a Keras model this Keras can load"),
        (lambda d: None, "no_such_data", "neither a built-in dataset"),
        (lambda d: None, "natural_patches_rgb", "the model takes inputs of shape [28, 28, 1], the data's images are [32, 32, 3]"),
    ],
)
def test_bad_input_exits_2_naming_the_file(saved, tmp_path, make, data, says):
    model = make(tmp_path) or saved / "healthy.keras"
    done = diagnose(model, "--data", data, "--images", 100)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr


def test_the_readmes_command_runs_as_written_and_names_the_lock():
    import re
    import shlex

    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("python -m autoencoders diagnose ")]
    done = subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"^- dark_output: output locked dark", done.stdout, flags=re.M)
