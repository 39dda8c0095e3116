"""scripts/measure_output_spread.py: a folder it cannot measure is named, left as it is, exit 2."""

import json
import shutil
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

import measure_output_spread  # noqa: E402


def test_a_missing_folder_an_unfinished_run_and_a_damaged_metrics_file_are_named_with_exit_2(tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "metrics.json").write_text("{not json")
    assert measure_output_spread.main([str(tmp_path / "absent"), str(unfinished), str(damaged)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'absent'}: no such run folder" in err
    assert f"{unfinished}: left as it is (invalid: not a run folder" in err
    assert f"{damaged}: left as it is (" in err and "metrics.json" in err and "Traceback" not in err
    assert (damaged / "metrics.json").read_text() == "{not json"  # nothing written


def test_a_run_that_already_has_the_measure_is_left_untouched(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"status": "completed", "output_spread": 0.5}')
    before = (run / "metrics.json").read_bytes()
    assert measure_output_spread.main([str(run)]) == 0
    assert (run / "metrics.json").read_bytes() == before


def test_a_completed_run_without_its_model_is_named_with_exit_2(tmp_path, capsys):
    committed = ROOT / "results" / "study" / "today" / "runs" / "today-dense-linear-mnist-mae-s0"  # kept without its model
    run = tmp_path / committed.name
    shutil.copytree(committed, run, ignore=shutil.ignore_patterns("model.keras", "evaluation.npz"))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("output_spread")
    (run / "metrics.json").write_text(json.dumps(metrics))
    before = (run / "metrics.json").read_bytes()
    assert measure_output_spread.main([str(run)]) == 2
    assert f"{run}: left as it is (invalid: completed but model.keras is missing)" in capsys.readouterr().err
    assert (run / "metrics.json").read_bytes() == before
