"""The committed runs of today's heads x archs grid (results/study/today/runs): each is a point of
the shipped today_* sweeps, complete, and kept lean (config, history and metrics.json with the
stored evaluation's means; no model), as docs/training.md says."""

from autoencoders import config as C
from autoencoders.sweep import schedule as sweep
from autoencoders.train import run_folder as runs

from conftest import ROOT, tracked_files

TODAY_RUNS = ROOT / "results" / "study" / "today" / "runs"
KEPT = {runs.CONFIG, runs.HISTORY, runs.METRICS}
PER_IMAGE_MEANS = {"mse", "mae", "psnr", "ssim", "bce", "bce_excess"}


def test_every_committed_today_run_is_a_complete_lean_point_of_the_today_sweeps():
    points = {
        cfg.name: cfg
        for path in sorted((ROOT / "configs" / "sweeps").glob("today_*.yaml"))
        if not path.name.startswith("today_collapse_")
        for cfg in sweep.expand(path)
    }
    assert len(points) == 300  # 180 of seeds 0-4, and seeds 5-9 of dense and conv
    tracked = tracked_files(TODAY_RUNS)
    folders: dict[str, set[str]] = {}
    for path in tracked:
        folder, name = path.split("/")[-2:]
        folders.setdefault(folder, set()).add(name)
    assert set(folders) == set(points)  # every point of the grid is committed (docs/training.md says so)
    for folder, names in folders.items():
        assert names == KEPT, folder
        cfg = C.load_config(TODAY_RUNS / folder / runs.CONFIG)
        assert cfg == points[folder], folder
        metrics = runs.read_json(TODAY_RUNS / folder / runs.METRICS)
        assert metrics["status"] == "completed" and metrics["epochs"] == cfg.training.epochs
        assert set(metrics["evaluation"]) == PER_IMAGE_MEANS
        assert len(runs.read_history(TODAY_RUNS / folder / runs.HISTORY)) == cfg.training.epochs


def test_the_today_collapse_sweeps_are_one_epoch_20_seeds_validated_on_2000_images_as_section_7():
    points = [cfg for path in sorted((ROOT / "configs" / "sweeps").glob("today_collapse_*.yaml")) for cfg in sweep.expand(path)]
    assert len(points) == 960
    cells: dict[tuple, set[int]] = {}
    for cfg in points:
        assert (cfg.training.epochs, cfg.training.batch_size, cfg.dataset.test_size, cfg.training.optimizer) == (1, 128, 2000, "adam")
        assert cfg.name.startswith("collapse-today-")
        key = (cfg.model.arch, cfg.model.output, cfg.loss.name, cfg.dataset.name, cfg.training.learning_rate)
        cells.setdefault(key, set()).add(cfg.seed)
    assert all(seeds == set(range(20)) for seeds in cells.values())
    linear = {(a, loss) for a, head, loss, *_ in cells if head == "linear"}
    assert linear == {(a, loss) for a in ("dense", "conv", "res_conv") for loss in ("mse", "mae")}
    assert {(a, loss) for a, head, loss, *_ in cells if head == "sigmoid"} == {("res_conv", "bce"), ("res_conv", "mse")}
    assert {lr for *_, lr in cells} == {0.001, 0.01}


def test_every_committed_today_collapse_run_is_a_complete_lean_point_of_the_today_collapse_sweeps():
    points = {cfg.name: cfg for path in sorted((ROOT / "configs" / "sweeps").glob("today_collapse_*.yaml")) for cfg in sweep.expand(path)}
    folder_root = ROOT / "results" / "study" / "today" / "collapse"
    tracked = tracked_files(folder_root)
    folders: dict[str, set[str]] = {}
    for path in tracked:
        folder, name = path.split("/")[-2:]
        folders.setdefault(folder, set()).add(name)
    assert set(folders) == set(points)  # all 960 are committed (docs/training.md says so)
    for folder, names in folders.items():
        assert names == KEPT, folder
        assert C.load_config(folder_root / folder / runs.CONFIG) == points[folder], folder
        metrics = runs.read_json(folder_root / folder / runs.METRICS)
        assert metrics["status"] == "completed" and "output_spread" in metrics
