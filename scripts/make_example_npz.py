"""Write an example of "your own images" as an .npz: non-square colour patches of real photographs.

The README's example for `make compare DATA=...`. The images are 40x48 (height x width) colour
patches of the eight colour photographs that ship with scikit-image, each photo first box-reduced
so its shorter side is at most 256 pixels (so a patch holds more of the scene than in
natural_patches_rgb), cut every 4 pixels; train and test are split by photograph, as in the
built-in patch datasets. No labels. Every photograph is checked against its pinned SHA-256.

    python scripts/make_example_npz.py examples/photo_patches_40x48.npz
"""

import argparse
from pathlib import Path

import numpy as np

from autoencoders.data.datasets import DATASETS
from autoencoders.data.natural_patches import patches_of, photo_dir, read_photo, reduce

SIZE, STRIDE, MAX_SIDE = (40, 48), 4, 256


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the .npz to write")
    args = parser.parse_args(argv)
    recipe = DATASETS["natural_patches_rgb"].source  # the colour photographs, pinned, and its test photos
    parts: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    for name in sorted(recipe.photos):
        image = reduce(read_photo(photo_dir() / name, recipe.photos[name], channels=3), MAX_SIDE)
        patches, _ = patches_of(image, SIZE, STRIDE)
        parts["test" if name in recipe.test_photos else "train"].append(patches)
    arrays = {f"x_{part}": np.concatenate(pieces) for part, pieces in parts.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    print(f"{args.out}: x_train {arrays['x_train'].shape}, x_test {arrays['x_test'].shape}, uint8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
