"""Figures for the comparison report: PNG, one style, one colour per loss in every figure.

numpy + matplotlib only (no TensorFlow/Keras), and no pyplot: every function builds its own
`matplotlib.figure.Figure`, so nothing depends on a GUI backend or on global figure state.
Every function writes its PNG atomically (through `autoencoders.atomic.atomic_path`) and returns
the path. Inputs are trusted to be what the callers (`report.document`, `study.report`) build: the
(label, ...) tuples, shapes that agree, finite values. ValueError, naming what is wrong, is kept
for what the runs given to a report can get wrong: image shapes that differ between runs (the
study's VAE section takes VAEs of any dataset), labels that do not match the codes, a history without the
columns a figure needs, and a grid size that is not a positive integer.

Images are grey (n, H, W) / (n, H, W, 1) or colour (n, H, W, 3) in [0, 1]; colour images are
drawn in colour, and their error maps show the mean absolute error over the three channels.

Colours: `LOSS_COLORS` for "bce" and "mse" (case-insensitive); any other loss name gets the next
colour of matplotlib's default cycle that is not one of those two, in order of first appearance
within the figure. Entries that share a loss share its colour; in bar charts later entries of
the same loss are told apart by hatching, in the common-scale curves by line style.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from autoencoders.atomic import atomic_path

LOSS_COLORS: dict[str, str] = {"bce": "#1f77b4", "mse": "#d62728"}

DPI = 120
ERROR_CMAP = "magma"
CLASS_CMAP = "tab10"
_HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
_LONG_NAME = 3  # tick labels longer than this are rotated 30 degrees

_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
}


# --------------------------------------------------------------------------- helpers


@contextmanager
def figure_style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def save_png(fig: Figure, path: str | os.PathLike[str], dpi: int) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return path


def panel_grid(n: int, max_columns: int, panel_size: tuple[float, float], extra_height: float = 0.0, **subplot_kw) -> tuple[Figure, list]:
    """A figure of n equal panels, wrapped `max_columns` to a row, and its n axes (row-major);
    the unused cells of the last row are hidden. Call it inside `figure_style()`."""
    cols = max(1, min(n, int(max_columns)))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(panel_size[0] * cols, panel_size[1] * rows + extra_height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **subplot_kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


class LossColors:
    """Loss name -> colour, stable within one figure."""

    def __init__(self) -> None:
        used = {to_hex(c) for c in LOSS_COLORS.values()}
        cycle = [to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key().get("color", [])]
        self._spare = [c for c in cycle if c not in used] or ["#7f7f7f"]
        self._assigned: dict[str, str] = {}

    def __call__(self, loss_name: str) -> str:
        key = str(loss_name).lower()
        if key in LOSS_COLORS:
            return LOSS_COLORS[key]
        if key not in self._assigned:
            self._assigned[key] = self._spare[len(self._assigned) % len(self._spare)]
        return self._assigned[key]


def _color_from_label(label: str) -> str:
    """The loss colour if a word of the label names a known loss ("BCE · dense"), else black."""
    words = "".join(ch if ch.isalnum() else " " for ch in str(label).lower()).split()
    for word in words:
        if word in LOSS_COLORS:
            return LOSS_COLORS[word]
    return "black"


def _as_images(array) -> np.ndarray:
    """(n, H, W) or (n, H, W, 1) -> float (n, H, W); (n, H, W, 3) stays colour."""
    images = np.asarray(array, dtype=np.float64)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def _show_image(ax, image: np.ndarray, aspect: str | None = None) -> None:
    """A grey image on the grey scale 0..1, a colour one as RGB (clipped to [0, 1]); NaN pixels
    (the gaps of `_side_by_side`) are transparent."""
    if image.ndim == 3:
        alpha = np.where(np.isnan(image[..., :1]), 0.0, 1.0)
        ax.imshow(np.concatenate([np.clip(np.nan_to_num(image), 0.0, 1.0), alpha], axis=-1), interpolation="nearest", aspect=aspect)
    else:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", aspect=aspect)


def _side_by_side(images: np.ndarray, gap: int) -> np.ndarray:
    """(k, H, W[, 3]) -> one (H, k·W + (k−1)·gap[, 3]) image, the gaps NaN (drawn transparent)."""
    spacer = np.full((images.shape[1], gap, *images.shape[3:]), np.nan)
    parts = [part for image in images for part in (image, spacer)][:-1]
    return np.concatenate(parts, axis=1)


def _abs_error(images: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """|images - originals| per pixel: for colour, the mean over the channels."""
    error = np.abs(images - originals)
    return error.mean(axis=-1) if error.ndim == 4 else error


def _maybe_log(ax, values: Sequence[float]) -> None:
    """Log y axis when the (positive) values span more than a factor of 10."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if positive and len(positive) == len(values) and max(positive) > 10 * min(positive):
        ax.set_yscale("log")


def _series(rows: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) for the rows that have `key`; epoch defaults to the row's 1-based index."""
    xs, ys = [], []
    for i, row in enumerate(rows):
        if key not in row or row[key] is None or row[key] == "":
            continue
        try:
            y = float(row[key])
        except (TypeError, ValueError):
            continue
        if not math.isfinite(y):
            continue
        xs.append(float(row.get("epoch", i + 1)))
        ys.append(y)
    return xs, ys


def _rotate_if_long(ax, names: Sequence[str]) -> None:
    if any(len(str(n)) > _LONG_NAME for n in names):
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")


def _no_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# --------------------------------------------------------------------------- image grids


def _image_rows(
    rows: Sequence[tuple[str, np.ndarray]],
    error_rows: Sequence[tuple[str, np.ndarray]],
    path,
    *,
    column_titles: Sequence[str] | None,
    title: str | None,
    error_vmax: float | None,
    dpi: int,
) -> Path:
    """Draw labelled rows of k images each; error rows below them with one shared colorbar."""
    k = rows[0][1].shape[0]
    if column_titles is not None:
        column_titles = [str(t) for t in column_titles]
    n_img, n_err = len(rows), len(error_rows)
    vmax = 1.0
    if n_err:
        vmax = max(float(err.max()) for _, err in error_rows) if error_vmax is None else float(error_vmax)
        vmax = max(vmax, 1e-6)

    with figure_style():
        # Size the figure so every cell is exactly 1 inch wide and keeps the images' aspect
        # (no letterbox gaps); labels, colorbar ticks and title are added around it by the
        # tight bounding box, giving about (1.0*k + 1.2, 1.0*n_rows + 0.6) inches in all.
        aspect = rows[0][1].shape[1] / rows[0][1].shape[2]
        ws, hs = 0.05, 0.05
        gap = 0.3 if n_err else 0.0  # a little air between the images and their error maps
        heights = [aspect] * n_img + ([gap] + [aspect] * n_err if n_err else [])
        widths = [1.0] * k + ([0.12] if n_err else [])
        grid_w = sum(widths) / len(widths) * (len(widths) + ws * (len(widths) - 1))
        grid_h = sum(heights) / len(heights) * (len(heights) + hs * (len(heights) - 1))
        headroom = (0.22 if column_titles is not None else 0.0) + (0.3 if title else 0.0)
        fig = Figure(figsize=(grid_w, grid_h + headroom))
        grid = fig.add_gridspec(
            len(heights),
            len(widths),
            height_ratios=heights,
            width_ratios=widths,
            wspace=ws,
            hspace=hs,
            left=0.0,
            right=1.0,
            bottom=0.0,
            top=grid_h / (grid_h + headroom),
        )
        grid_rows = list(range(n_img)) + [n_img + 1 + i for i in range(n_err)]
        # One axes per row, showing the row's k images side by side with transparent gaps as wide
        # as the grid's column spacing: it looks like k axes and draws and saves about 5x faster.
        width = rows[0][1].shape[2]
        gap = max(1, round(ws * width))
        centres = [j * (width + gap) + (width - 1) / 2 for j in range(k)]
        image = None
        for r, ((label, images), grid_row) in enumerate(zip([*rows, *error_rows], grid_rows, strict=True)):
            ax = fig.add_subplot(grid[grid_row, :k])
            if r >= n_img:
                image = ax.imshow(_side_by_side(images, gap), cmap=ERROR_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest", aspect="auto")
            else:
                _show_image(ax, _side_by_side(images, gap), aspect="auto")
            _no_ticks(ax)
            if r == 0 and column_titles is not None:
                for centre, column_title in zip(centres, column_titles, strict=True):
                    ax.annotate(
                        column_title,
                        xy=(centre, 1.0),
                        xycoords=("data", "axes fraction"),
                        xytext=(0, 4),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=9,
                    )
            ax.set_ylabel(label, rotation=0, ha="right", va="center", labelpad=6, fontsize=9, color=_color_from_label(label))
        if n_err:
            cax = fig.add_subplot(grid[n_img + 1 :, k])
            bar = fig.colorbar(image, cax=cax)
            bar.set_label("|reconstruction − original|", fontsize=8)
            bar.ax.tick_params(labelsize=7)
        if title:
            fig.suptitle(title, y=1.0, va="top")
        return save_png(fig, path, dpi)


def _check_rows(rows, reference: np.ndarray, what: str) -> list[tuple[str, np.ndarray]]:
    """(label, images) rows, each of the reference's shape (the study's VAE section may be given
    VAEs of datasets with other image shapes)."""
    checked = []
    for i, (label, images) in enumerate(rows):
        label = str(label)
        images = _as_images(images)
        if images.shape != reference.shape:
            raise ValueError(f"rows[{i}] ({label}): images of shape {images.shape} do not match the {what}' {reference.shape}")
        checked.append((label, images))
    return checked


def reconstruction_grid(
    originals: np.ndarray,
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    error_maps: bool = True,
    error_vmax: float | None = None,
    dpi: int = DPI,
) -> Path:
    """Originals on top, one row per run (label on the left) and, with `error_maps`, one
    |reconstruction − original| row per run under them, on one shared colour range
    (`error_vmax`, default the largest error shown) with one colorbar."""
    originals = _as_images(originals)
    checked = _check_rows(rows, originals, "originals")
    errors = [(f"|err| {label}", _abs_error(images, originals)) for label, images in checked] if error_maps else []
    return _image_rows(
        [("original", originals), *checked], errors, path, column_titles=column_titles, title=title, error_vmax=error_vmax, dpi=dpi
    )


def noisy_grid(
    noisy: np.ndarray,
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    originals: np.ndarray | None = None,
    title: str | None = None,
    column_titles: Sequence[str] | None = None,
    dpi: int = DPI,
) -> Path:
    """The denoising figure: "noisy input", then one denoised row per run, then (if given)
    "clean target"."""
    noisy = _as_images(noisy)
    checked = [("noisy input", noisy), *_check_rows(rows, noisy, "noisy inputs")]
    if originals is not None:
        checked.append(("clean target", _as_images(originals)))
    return _image_rows(checked, [], path, column_titles=column_titles, title=title, error_vmax=None, dpi=dpi)


def blog_code_image(code: np.ndarray) -> np.ndarray:
    """One (h, w, c) code as the blog draws it: `code.reshape(h, w * c).T`, shape (w * c, h)."""
    h, w, c = code.shape
    return code.reshape(h, w * c).T


def code_grid(
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    dpi: int = DPI,
) -> Path:
    """The blog's picture of convolutional codes: each (h, w, c) code drawn as the blog does,
    `code.reshape(h, w * c).T`, one tall image per test image, one row per run. Codes are
    unbounded ReLU activations, so each row gets its own grey scale from 0 to its largest value,
    printed under the label."""
    checked = [(str(label), np.stack([blog_code_image(code) for code in np.asarray(codes, dtype=np.float64)])) for label, codes in rows]
    n = checked[0][1].shape[0]
    cell_h, cell_w = checked[0][1].shape[1:]
    with figure_style():
        scale = 1.6 / cell_h
        fig = Figure(figsize=(n * cell_w * scale * 1.6 + 1.6, len(checked) * 1.9 + (0.4 if title else 0.0)), layout="constrained")
        axes = fig.subplots(len(checked), n, squeeze=False)
        for r, (label, images) in enumerate(checked):
            vmax = max(float(images.max()), 1e-6)
            for j in range(n):
                ax = axes[r, j]
                ax.imshow(images[j], cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest")
                _no_ticks(ax)
                if r == 0 and column_titles is not None:
                    ax.set_title(str(column_titles[j]), fontsize=9)
                if j == 0:
                    ax.set_ylabel(
                        f"{label}\n(0 to {vmax:.3g})",
                        rotation=0,
                        ha="right",
                        va="center",
                        labelpad=6,
                        fontsize=9,
                        color=_color_from_label(label),
                    )
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


# --------------------------------------------------------------------------- curves


def loss_curves(
    histories: Sequence[tuple[str, str, list[dict]]],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    dpi: int = DPI,
) -> Path:
    """Small multiples, one panel per run (up to 4 a row): training loss solid, validation
    loss dashed, each on its own y axis since different losses have different scales."""
    series = []
    for label, loss_name, rows in histories:
        train = _series(rows, "loss")
        if not train[0]:
            raise ValueError(f"{label}: no 'loss' values in its history rows")
        series.append((label, loss_name, train, _series(rows, "val_loss")))

    colors = LossColors()
    with figure_style():
        fig, axes = panel_grid(len(series), 4, (3.2, 2.6), 0.4 if title else 0.0)
        for ax, (label, loss_name, train, val) in zip(axes, series):
            color = colors(loss_name)
            ax.plot(*train, color=color, linestyle="-", linewidth=1.6, marker="o" if len(train[0]) == 1 else None, markersize=3)
            if val[0]:
                ax.plot(*val, color=color, linestyle="--", linewidth=1.6, marker="o" if len(val[0]) == 1 else None, markersize=3)
            _maybe_log(ax, train[1] + val[1])
            ax.set_title(label, color=color)
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"training loss ({loss_name})")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, axis="y")
        handles = [
            Line2D([], [], color="#444444", linestyle="-", label="train"),
            Line2D([], [], color="#444444", linestyle="--", label="validation"),
        ]
        axes[0].legend(handles=handles, loc="best")
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


def common_scale_curves(
    histories: Sequence[tuple[str, str, list[dict]]],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    dpi: int = DPI,
) -> Path:
    """Two panels, validation pixel MSE and validation pixel BCE per epoch: the same measure for
    every run whatever it was trained with, so all runs are overlaid, coloured by loss."""
    panels = [("val_pixel_mse", "validation pixel MSE"), ("val_pixel_bce", "validation pixel BCE")]
    if not any(_series(rows, key)[0] for _, _, rows in histories for key, _ in panels):
        raise ValueError("histories: no run has 'val_pixel_mse' or 'val_pixel_bce' values")

    colors = LossColors()
    styles: dict[str, str | tuple] = {}  # label -> line style, cycling within each loss
    per_loss: dict[str, int] = {}
    for label, loss_name, _ in histories:
        if label not in styles:
            i = per_loss.get(loss_name.lower(), 0)
            per_loss[loss_name.lower()] = i + 1
            styles[label] = _LINESTYLES[i % len(_LINESTYLES)]

    with figure_style():
        fig = Figure(figsize=(9.0, 3.4 + (0.4 if title else 0.0)), layout="constrained")
        axes = fig.subplots(1, 2, squeeze=False)[0]
        legend: dict[str, Line2D] = {}
        for ax, (key, name) in zip(axes, panels):
            values: list[float] = []
            for label, loss_name, rows in histories:
                xs, ys = _series(rows, key)
                if not xs:
                    continue
                (line,) = ax.plot(
                    xs,
                    ys,
                    color=colors(loss_name),
                    linestyle=styles[label],
                    linewidth=1.2,
                    marker="o" if len(xs) == 1 else None,
                    markersize=3,
                )
                legend.setdefault(label, line)
                values += ys
            if values:
                _maybe_log(ax, values)
            else:
                ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", va="center", color="#888888")
            ax.set_title(f"{name} (lower is better)")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, axis="y")
        fig.legend(handles=list(legend.values()), labels=list(legend), loc="outside right center")
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


# --------------------------------------------------------------------------- bars


def per_class_bars(
    per_class: Sequence[tuple[str, str, np.ndarray, np.ndarray | None]],
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    metric: str = "pixel MSE",
    title: str | None = None,
    dpi: int = DPI,
) -> Path:
    """Grouped bars: one group per class, one bar per entry (label, loss_name, means, errors),
    errors drawn as ±errors when given."""
    entries = [
        (str(label), str(loss_name), np.asarray(means, dtype=np.float64), None if errors is None else np.asarray(errors, dtype=np.float64))
        for label, loss_name, means, errors in per_class
    ]
    n_classes = len(entries[0][2])
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(n_classes)]

    n = len(entries)
    width = 0.8 / n
    x = np.arange(n_classes)
    colors = LossColors()
    seen: dict[str, int] = {}
    with figure_style():
        fig = Figure(figsize=(max(6.0, n_classes * (0.2 * n + 0.3) + 2.0), 3.6 + (0.4 if title else 0.0)), layout="constrained")
        ax = fig.add_subplot()
        for i, (label, loss_name, means, errors) in enumerate(entries):
            repeat = seen.get(loss_name.lower(), 0)
            seen[loss_name.lower()] = repeat + 1
            ax.bar(
                x - 0.4 + width * (i + 0.5),
                means,
                width,
                yerr=errors,
                capsize=2,
                label=label,
                color=colors(loss_name),
                hatch=_HATCHES[repeat % len(_HATCHES)],
                edgecolor="white",
                linewidth=0.5,
                error_kw={"elinewidth": 0.8, "ecolor": "#333333"},
            )
        ax.set_xticks(x, names)
        _rotate_if_long(ax, names)
        ax.set_xlabel("class")
        ax.set_ylabel(metric)
        ax.set_title(title or f"{metric} per class")
        ax.grid(True, axis="y")
        ax.set_axisbelow(True)
        ax.legend(loc="best", ncols=1 if n <= 6 else 2)
        return save_png(fig, path, dpi)


# --------------------------------------------------------------------------- VAE figures


def latent_planes(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    dpi: int = DPI,
) -> Path:
    """One scatter panel per entry (label, codes (n, 2), labels (n,)), points coloured by class,
    panels side by side on the same axis limits, one colorbar naming the classes."""
    checked = []
    top_class = -1
    for i, (label, codes, classes) in enumerate(panels):
        codes = np.asarray(codes, dtype=np.float64)
        classes = np.asarray(classes)
        if classes.shape != (len(codes),):  # the study passes the labels as they are: None for data without any
            raise ValueError(f"panels[{i}] ({label}): labels of shape {classes.shape} for {len(codes)} codes")
        classes = classes.astype(np.int64)
        top_class = max(top_class, int(classes.max()))
        checked.append((str(label), codes, classes))
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(max(10, top_class + 1))]
    n_classes = len(names)
    base = matplotlib.colormaps[CLASS_CMAP if n_classes <= 10 else "tab20"]
    cmap = ListedColormap([base(i % base.N) for i in range(n_classes)])
    norm = BoundaryNorm(np.arange(-0.5, n_classes + 0.5), n_classes)

    everything = np.concatenate([c for _, c, _ in checked])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    center, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 1e-6) * 1.05
    order_rng = np.random.default_rng(0)  # draw classes interleaved so none sits on top of the rest
    m = len(checked)
    with figure_style():
        fig = Figure(figsize=(3.8 * m + 1.2, 4.0 + (0.4 if title else 0.0)), layout="constrained")
        axes = fig.subplots(1, m, squeeze=False)[0]
        for ax, (label, codes, classes) in zip(axes, checked):
            order = order_rng.permutation(len(codes))
            ax.scatter(codes[order, 0], codes[order, 1], c=classes[order], cmap=cmap, norm=norm, s=2, linewidths=0, rasterized=True)
            ax.set_xlim(center[0] - half, center[0] + half)
            ax.set_ylim(center[1] - half, center[1] + half)
            ax.set_aspect("equal", adjustable="box")
            ax.set_title(label, color=_color_from_label(label))
            ax.set_xlabel("z[0]")
            ax.set_ylabel("z[1]")
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), ticks=np.arange(n_classes), shrink=0.9, aspect=30)
        bar.ax.set_yticklabels(names)
        bar.ax.tick_params(length=0)
        bar.set_label("class")
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


def manifold_grid_points(grid_size: int = 15) -> np.ndarray:
    """(grid_size**2, 2) latent points on the standard normal's quantiles 0.05..0.95, row-major:
    rows top to bottom have decreasing z[1], columns left to right increasing z[0]."""
    if int(grid_size) != grid_size or grid_size < 1:
        raise ValueError(f"grid_size must be a positive integer, got {grid_size!r}")
    from scipy.stats import norm

    g = int(grid_size)
    z = norm.ppf(np.linspace(0.05, 0.95, g))
    z0, z1 = np.meshgrid(z, z[::-1])  # z0 varies along a row, z1 down the rows
    return np.stack([z0.ravel(), z1.ravel()], axis=1)


def _tile(images: np.ndarray, grid_size: int) -> np.ndarray:
    """(g*g, h, w[, c]) -> one (g*h, g*w[, c]) image, row-major."""
    _, h, w, *channels = images.shape
    tiled = images.reshape(grid_size, grid_size, h, w, *channels).swapaxes(1, 2)
    return tiled.reshape(grid_size * h, grid_size * w, *channels)


def manifolds(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    grid_size: int = 15,
    title: str | None = None,
    latent_axes: bool = True,
    max_columns: int | None = None,
    dpi: int = DPI,
) -> Path:
    """The decoded latent manifold: each entry's grid_size**2 images (in `manifold_grid_points`
    order) tiled into one image; panels side by side, label above each. With
    `latent_axes=False` the tiles are just images (e.g. samples), with no z axes named;
    `max_columns` wraps the panels into rows."""
    if int(grid_size) != grid_size or grid_size < 1:
        raise ValueError(f"grid_size must be a positive integer, got {grid_size!r}")
    grid_size = int(grid_size)
    tiles = []
    for i, (label, images) in enumerate(panels):
        label = str(label)
        images = _as_images(images)
        if tiles and images.shape[1:] != tiles[0][1].shape[1:]:
            raise ValueError(f"panels[{i}] ({label}): image size {images.shape[1:]} differs from the first panel's")
        tiles.append((label, images))
    with figure_style():
        fig, axes = panel_grid(len(tiles), len(tiles) if max_columns is None else max_columns, (4.6, 4.9), 0.4 if title else 0.0)
        for ax, (label, images) in zip(axes, tiles):
            _show_image(ax, _tile(images, grid_size))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label, color=_color_from_label(label))
            if latent_axes:
                ax.set_xlabel("z[0] increases →")
                ax.set_ylabel("z[1] increases ↑")
        if title:
            fig.suptitle(title)
        return save_png(fig, path, dpi)


__all__ = [
    "LOSS_COLORS",
    "blog_code_image",
    "code_grid",
    "common_scale_curves",
    "latent_planes",
    "loss_curves",
    "manifold_grid_points",
    "manifolds",
    "noisy_grid",
    "per_class_bars",
    "reconstruction_grid",
]
