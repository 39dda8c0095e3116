"""Figures: valid, non-blank PNGs whose size follows their content; bad input refused."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from autoencoders import plots

rng = np.random.default_rng(0)
IMGS = rng.random((10, 28, 28)).astype(np.float32)


def shape_of(path):
    image = mpimg.imread(path)
    assert image.std() > 0, "blank image"
    return image.shape


def test_grid_grows_with_columns_and_rows_and_error_maps_add_rows(tmp_path):
    one = shape_of(plots.reconstruction_grid(IMGS[:5], [("BCE", IMGS[:5])], tmp_path / "a.png", error_maps=False))
    wide = shape_of(plots.reconstruction_grid(IMGS, [("BCE", IMGS)], tmp_path / "b.png", error_maps=False))
    tall = shape_of(plots.reconstruction_grid(IMGS, [("BCE", IMGS), ("MSE", IMGS[::-1])], tmp_path / "c.png", error_maps=False))
    errs = shape_of(plots.reconstruction_grid(IMGS, [("BCE", IMGS), ("MSE", IMGS[::-1])], tmp_path / "d.png"))
    assert wide[1] > one[1]
    assert tall[0] > wide[0]
    assert errs[0] > tall[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]  # no temp files left


def test_grid_refuses_rows_that_do_not_match_the_originals(tmp_path):
    with pytest.raises(ValueError):
        plots.reconstruction_grid(IMGS, [("BCE", IMGS[:3])], tmp_path / "x.png")
    with pytest.raises(ValueError):
        plots.reconstruction_grid(IMGS, [], tmp_path / "y.png")
    assert not list(tmp_path.iterdir())


def history(scale):
    return [{"epoch": e, "loss": scale / e, "val_loss": scale / e + 0.01, "val_pixel_mse": 0.05 / e, "val_pixel_bce": 0.3 / e} for e in range(1, 6)]


def test_curves_and_bars_are_valid_images(tmp_path):
    hs = [("BCE · seed 0", "bce", history(0.3)), ("MSE · seed 0", "mse", history(0.05))]
    shape_of(plots.loss_curves(hs, tmp_path / "loss.png"))
    shape_of(plots.common_scale_curves(hs, tmp_path / "common.png"))
    bars = [("BCE", "bce", rng.random(10), rng.random(10) * 0.1), ("MSE", "mse", rng.random(10), None)]
    shape_of(plots.per_class_bars(bars, tmp_path / "bars.png", class_names=["T-shirt/top"] * 10))
    shape_of(plots.noisy_grid(IMGS, [("BCE", IMGS)], tmp_path / "noisy.png", originals=IMGS))
    with pytest.raises(ValueError):
        plots.loss_curves([], tmp_path / "none.png")


def test_vae_figures(tmp_path):
    codes, labels = rng.standard_normal((500, 2)), rng.integers(0, 10, 500)
    planes = shape_of(plots.latent_planes([("BCE", codes, labels), ("MSE", codes, labels)], tmp_path / "latent.png"))
    one = shape_of(plots.manifolds([("BCE", rng.random((225, 28, 28)))], tmp_path / "m1.png"))
    two = shape_of(plots.manifolds([("BCE", rng.random((225, 28, 28))), ("MSE", rng.random((225, 28, 28)))], tmp_path / "m2.png"))
    assert two[1] > one[1] and planes[1] > planes[0]


def test_manifold_points_follow_the_blog_layout():
    z = plots.manifold_grid_points(15)
    assert z.shape == (225, 2)
    rows = z.reshape(15, 15, 2)
    assert np.all(np.diff(rows[0, :, 0]) > 0)  # z[0] increases along a row
    assert np.all(np.diff(rows[:, 0, 1]) < 0)  # z[1] decreases down the rows
    np.testing.assert_allclose(z[:, 0].min(), -z[:, 0].max())  # symmetric quantiles
    assert z[:, 0].max() == pytest.approx(1.6448536, rel=1e-6)  # the normal's 95% quantile
