"""Report figures: valid, non-blank PNGs whose size follows the layout; clear errors; atomic writes."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from autoencoders.report import plots

RNG = np.random.default_rng(0)
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def images(n=10, channel=False, seed=0):
    x = np.random.default_rng(seed).uniform(size=(n, 28, 28)).astype(np.float32)
    return x[..., None] if channel else x


def read_png(path):
    """Read back with matplotlib (fails on a broken PNG); return (height, width) and the pixels."""
    assert path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert float(pixels[..., :3].std()) > 0.01, "blank image"
    return pixels.shape[:2], pixels


def drawn_in(pixels, hex_color, tolerance=8):
    """How many pixels have the colour `hex_color` (within `tolerance` per channel, 0-255)."""
    rgb = (pixels[..., :3] * 255).round().astype(int)
    target = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - target).max(axis=-1) <= tolerance).sum())


def assert_size(shape, inches, dpi=plots.DPI, tolerance=0.05):
    """A PNG of (height, width) pixels is the figure's size in inches at `dpi`, give or take the
    tight bounding box's padding."""
    height, width = shape
    assert abs(width - inches[0] * dpi) <= tolerance * inches[0] * dpi, (shape, inches)
    assert abs(height - inches[1] * dpi) <= tolerance * inches[1] * dpi, (shape, inches)


def differ(a, b):
    """Two images of about one size differ in what they draw: compared over their common part (a
    colour bar's tick labels may make one a few pixels wider)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return not np.array_equal(a[:h, :w], b[:h, :w])


def history(scale, epochs=5, extra=True):
    rows = []
    for e in range(epochs):
        row = {"epoch": e + 1, "loss": scale * (1 + 2 * math.exp(-e)), "val_loss": scale * (1.1 + 2 * math.exp(-e)), "seconds": 1.0}
        if extra:
            row |= {"val_pixel_mse": 0.01 + 0.05 * math.exp(-e), "val_pixel_bce": 0.08 + 0.2 * math.exp(-e)}
        rows.append(row)
    return rows


def only_pngs(folder):
    """Every file in the folder is a final .png: no temp files left behind."""
    names = sorted(p.name for p in folder.iterdir())
    assert all(n.endswith(".png") and not n.startswith(".") and ".tmp" not in n for n in names), names
    return names


# ------------------------------------------------------------------ reconstruction grid


def test_reconstruction_grid_writes_png_and_returns_path(tmp_path):
    x = images()
    out = plots.reconstruction_grid(
        x, [("BCE", x * 0.9), ("MSE", x * 0.8)], tmp_path / "grid.png", column_titles=[str(i) for i in range(10)], title="Reconstructions"
    )
    assert out == tmp_path / "grid.png"
    (h, w), pixels = read_png(out)
    assert w > h  # 10 columns, 5 rows
    assert only_pngs(tmp_path) == ["grid.png"]
    other = plots.reconstruction_grid(
        x, [("BCE", x * 0.5), ("MSE", x * 0.2)], tmp_path / "other.png", column_titles=[str(i) for i in range(10)], title="Reconstructions"
    )
    (h2, w2), other_pixels = read_png(other)
    assert h2 == h and abs(w2 - w) < 0.03 * w and differ(pixels, other_pixels)  # the same layout, other reconstructions drawn


def test_reconstruction_grid_width_grows_with_columns_and_height_with_rows(tmp_path):
    x = images()
    (h3, w3), _ = read_png(plots.reconstruction_grid(x[:3], [("BCE", x[:3])], tmp_path / "k3.png", error_maps=False))
    (h10, w10), _ = read_png(plots.reconstruction_grid(x, [("BCE", x)], tmp_path / "k10.png", error_maps=False))
    assert w10 > w3 + 6 * 100  # ~1 inch (120 px) per extra column
    assert abs(h10 - h3) <= 2
    (h_two, w_two), _ = read_png(plots.reconstruction_grid(x, [("BCE", x), ("MSE", x)], tmp_path / "two.png", error_maps=False))
    assert h_two > h10 + 100  # one more row of images, ~1 inch
    assert abs(w_two - w10) <= 2


def test_error_maps_add_rows_and_a_colorbar(tmp_path):
    x = images()
    rows = [("BCE", np.clip(x + 0.1, 0, 1)), ("MSE", np.clip(x - 0.2, 0, 1))]
    (h0, w0), _ = read_png(plots.reconstruction_grid(x, rows, tmp_path / "plain.png", error_maps=False))
    (h1, w1), _ = read_png(plots.reconstruction_grid(x, rows, tmp_path / "errors.png", error_maps=True))
    assert h1 > h0 + 2 * 100  # two error rows
    assert w1 > w0  # the colorbar


def test_blog_layout_is_two_rows_and_channel_axis_is_squeezed(tmp_path):
    x = images(channel=True)
    (h, w), _ = read_png(plots.reconstruction_grid(x, [("decoded", x)], tmp_path / "blog.png", error_maps=False))
    assert 3 < w / h < 6  # 2 x 10 layout: (10 + label) by 2 inches


def test_error_vmax_is_accepted_and_zero_error_does_not_fail(tmp_path):
    x = images()
    zero_shape, zero = read_png(plots.reconstruction_grid(x, [("BCE", x)], tmp_path / "zero.png"))  # perfect: vmax floored at 1e-6
    auto_shape, auto = read_png(plots.reconstruction_grid(x, [("BCE", x * 0.5)], tmp_path / "auto.png"))
    fixed_shape, fixed = read_png(plots.reconstruction_grid(x, [("BCE", x * 0.5)], tmp_path / "vmax.png", error_vmax=1.0))
    assert zero_shape[0] == auto_shape[0] == fixed_shape[0]
    assert differ(zero, auto)  # errors drawn where there are some
    assert differ(auto, fixed)  # the error scale follows error_vmax (default: the largest error)


@pytest.mark.parametrize(
    "rows, kwargs, match",
    [
        ([("BCE", images(9))], {}, "do not match"),
        ([("BCE", np.zeros((10, 28, 27)))], {}, "do not match"),
        ([("BCE", np.zeros((10, 784)))], {}, "shape"),
    ],
)
def test_reconstruction_grid_rejects_inconsistent_input(tmp_path, rows, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.reconstruction_grid(images(), rows, tmp_path / "bad.png", **kwargs)
    assert not any(tmp_path.iterdir())  # nothing written, not even a temp file


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots.Figure, "savefig", boom)
    with pytest.raises(RuntimeError):
        plots.reconstruction_grid(images(), [("BCE", images())], target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_noisy_grid_rows(tmp_path):
    x = images(5)
    noisy = np.clip(x + RNG.normal(0, 0.3, x.shape), 0, 1)
    (h2, _), _ = read_png(plots.noisy_grid(noisy, [("BCE", x)], tmp_path / "a.png"))
    (h3, _), _ = read_png(plots.noisy_grid(noisy, [("BCE", x)], tmp_path / "b.png", originals=x, title="Denoising"))
    assert h3 > h2 + 100  # the clean-target row (and the title)
    with pytest.raises(ValueError, match="do not match"):
        plots.noisy_grid(noisy, [("BCE", x[:4])], tmp_path / "c.png")
    assert only_pngs(tmp_path) == ["a.png", "b.png"]


def test_blog_code_image_is_reshape_then_transpose():
    code = np.arange(4 * 4 * 8, dtype=float).reshape(4, 4, 8)
    image = plots.blog_code_image(code)
    assert image.shape == (32, 4)
    for row in (0, 7, 8, 31):
        for col in range(4):
            assert image[row, col] == code[col, row // 8, row % 8]


def test_code_grid_one_row_per_run(tmp_path):
    codes = RNG.uniform(0, 5, size=(10, 4, 4, 8))
    (h1, w1), _ = read_png(plots.code_grid([("BCE", codes)], tmp_path / "one.png"))
    (h2, w2), _ = read_png(plots.code_grid([("BCE", codes), ("MSE", codes * 3)], tmp_path / "two.png", column_titles=list("0123456789")))
    assert h2 > 1.6 * h1 and abs(w2 - w1) < 0.3 * w1
    assert only_pngs(tmp_path) == ["one.png", "two.png"]


# ------------------------------------------------------------------ curves


def test_loss_curves_small_multiples_wrap_at_four(tmp_path):
    runs = [(f"BCE · seed {i}", "bce", history(0.1)) for i in range(4)]
    (h4, w4), _ = read_png(plots.loss_curves(runs, tmp_path / "four.png", title="Training"))
    runs.append(("MSE · seed 0", "mse", history(0.01)))
    (h5, w5), _ = read_png(plots.loss_curves(runs, tmp_path / "five.png", title="Training"))
    assert h5 > 1.5 * h4  # a second row of panels
    assert abs(w5 - w4) < 0.1 * w4  # still 4 columns wide
    (h1, w1), _ = read_png(plots.loss_curves(runs[:1], tmp_path / "one.png"))
    assert w1 < w4 / 2 and h1 < h5


def test_loss_curves_single_epoch_and_missing_val_loss(tmp_path):
    rows = [{"epoch": 1, "loss": 0.2}]
    path = plots.loss_curves([("MSE", "mse", rows), ("MAE", "mae", history(0.05))], tmp_path / "c.png")
    assert path == tmp_path / "c.png"
    (h, w), pixels = read_png(path)
    assert w > 1.5 * h  # two panels side by side
    assert drawn_in(pixels, plots.LOSS_COLORS["mse"]) > 20  # the one epoch is a marker (and the panel title) in MSE's colour
    assert drawn_in(pixels, plots.LOSS_COLORS["bce"]) == 0  # no BCE run, no BCE colour


def test_loss_curves_rejects_empty(tmp_path):
    with pytest.raises(ValueError, match="no 'loss'"):
        plots.loss_curves([("BCE", "bce", [])], tmp_path / "c.png")


def test_common_scale_curves(tmp_path):
    runs = [
        ("BCE · seed 0", "bce", history(0.1)),
        ("BCE · seed 1", "bce", history(0.11)),
        ("MSE · seed 0", "mse", history(0.01)),
        ("MAE · seed 0", "mae", history(0.05)),
    ]
    (h, w), pixels = read_png(plots.common_scale_curves(runs, tmp_path / "common.png", title="Common scale"))
    assert w > 1.5 * h  # two panels side by side
    assert_size((h, w), (9.0, 3.4 + 0.4))
    for hex_color in plots.LOSS_COLORS.values():  # both loss colours are drawn
        assert drawn_in(pixels, hex_color) > 50, hex_color


def test_common_scale_curves_skips_missing_keys_but_needs_some(tmp_path):
    rows = history(0.1)
    for row in rows[:2]:
        del row["val_pixel_bce"]
    shape, pixels = read_png(plots.common_scale_curves([("BCE", "bce", rows)], tmp_path / "ok.png"))
    assert_size(shape, (9.0, 3.4))
    assert drawn_in(pixels, plots.LOSS_COLORS["bce"]) > 50 and drawn_in(pixels, plots.LOSS_COLORS["mse"]) == 0
    _, full = read_png(plots.common_scale_curves([("BCE", "bce", history(0.1))], tmp_path / "full.png"))
    assert differ(pixels, full)  # the BCE panel's first two epochs are missing, not drawn
    with pytest.raises(ValueError, match="val_pixel"):
        plots.common_scale_curves([("BCE", "bce", history(0.1, extra=False))], tmp_path / "bad.png")


def test_log_scale_rule():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    plots._maybe_log(ax, [1.0, 5.0])
    assert ax.get_yscale() == "linear"
    plots._maybe_log(ax, [0.01, 1.0])
    assert ax.get_yscale() == "log"


def test_loss_colors_and_fallback():
    colors = plots.LossColors()
    assert colors("BCE") == "#1f77b4" and colors("mse") == "#d62728"
    other, another = colors("mae"), colors("huber")
    assert other != another and {other, another}.isdisjoint(plots.LOSS_COLORS.values())
    assert colors("mae") == other


# ------------------------------------------------------------------ bars


def test_per_class_bars_with_fashion_names(tmp_path):
    entries = [("BCE", "bce", RNG.uniform(0.01, 0.05, 10), RNG.uniform(0, 0.005, 10)), ("MSE", "mse", RNG.uniform(0.01, 0.05, 10), None)]
    (h, w), pixels = read_png(plots.per_class_bars(entries, tmp_path / "bars.png", class_names=FASHION, title="Per class"))
    assert_size((h, w), (10 * (0.2 * 2 + 0.3) + 2.0, 3.6 + 0.4))  # 10 classes x 2 bars, and the title
    for hex_color in plots.LOSS_COLORS.values():  # a bar per loss in its colour
        assert drawn_in(pixels, hex_color) > 500, hex_color
    _, other = read_png(
        plots.per_class_bars(
            [entries[0], ("MSE", "mse", entries[1][2] * 2, None)], tmp_path / "other.png", class_names=FASHION, title="Per class"
        )
    )
    assert differ(pixels, other)  # other means, other bars


# ------------------------------------------------------------------ VAE figures


def test_latent_planes_side_by_side(tmp_path):
    labels = RNG.integers(0, 10, 500)
    codes = RNG.normal(size=(500, 2)) + np.c_[np.cos(labels), np.sin(labels)]
    (h1, w1), _ = read_png(plots.latent_planes([("BCE VAE", codes, labels)], tmp_path / "one.png"))
    (h2, w2), _ = read_png(
        plots.latent_planes(
            [("BCE VAE", codes, labels), ("MSE VAE", codes / 2, labels)], tmp_path / "two.png", class_names=FASHION, title="Latent"
        )
    )
    assert w2 > 1.5 * w1 and h2 >= 0.8 * h1  # panels side by side, not stacked
    with pytest.raises(ValueError, match="labels"):
        plots.latent_planes([("VAE", codes, labels[:10])], tmp_path / "bad.png")


def test_manifold_grid_points_order_and_symmetry():
    z = plots.manifold_grid_points(15)
    assert z.shape == (225, 2)
    grid = z.reshape(15, 15, 2)
    assert np.all(np.diff(grid[..., 0], axis=1) > 0)  # z[0] increases along each row
    assert np.allclose(grid[..., 0], grid[0:1, :, 0])  # ... the same in every row
    assert np.all(np.diff(grid[..., 1], axis=0) < 0)  # z[1] decreases down the rows
    assert np.allclose(grid[..., 1], grid[:, 0:1, 1])
    assert z[0, 1] == z[:, 1].max() and z[0, 0] == z[:, 0].min()  # top-left: lowest z[0], highest z[1]
    assert np.allclose(grid[0, :, 0], -grid[0, ::-1, 0])  # symmetric around 0
    assert np.allclose(grid[:, 0, 1], -grid[::-1, 0, 1])
    assert np.isclose(grid[7, 7], 0.0).all()
    assert np.isclose(z[:, 0].max(), 1.6448536, atol=1e-6)  # norm.ppf(0.95)
    assert plots.manifold_grid_points(4).shape == (16, 2)


def test_manifolds_tiles_row_major(tmp_path):
    g = 5
    flat = np.zeros((g * g, 28, 28))
    flat[0] = 1.0  # only the first (top-left) tile is white
    tiled = plots._tile(flat, g)
    assert tiled.shape == (140, 140)
    assert tiled[:28, :28].min() == 1.0 and tiled[28:, :].max() == 0.0 and tiled[:, 28:].max() == 0.0
    flat = np.zeros((g * g, 28, 28))
    flat[1] = 1.0  # second tile: first row, second column
    assert plots._tile(flat, g)[:28, 28:56].min() == 1.0

    panel = np.stack([np.full((28, 28), i / 24) for i in range(25)])
    (h1, w1), _ = read_png(plots.manifolds([("BCE VAE", panel)], tmp_path / "one.png", grid_size=g))
    (h2, w2), _ = read_png(
        plots.manifolds([("BCE VAE", panel), ("MSE VAE", panel[..., None])], tmp_path / "two.png", grid_size=g, title="Manifolds")
    )
    assert w2 > 1.6 * w1 and abs(h2 - h1) < 0.2 * h1  # side by side
    (h4, w4), _ = read_png(plots.manifolds([(f"VAE {i}", panel) for i in range(4)], tmp_path / "wrapped.png", grid_size=g, max_columns=2))
    assert abs(w4 - w2) < 0.2 * w2 and h4 > 1.6 * h1  # 2 x 2 instead of 1 x 4
    assert only_pngs(tmp_path) == ["one.png", "two.png", "wrapped.png"]


def test_import_pulls_in_neither_tensorflow_nor_pyplot():
    code = (
        "import sys, autoencoders.report.plots; print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib.pyplot') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
