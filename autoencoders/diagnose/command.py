"""`python -m autoencoders diagnose MODEL.keras --data DATA` (also `ae-diagnose`): the diagnosis of
any saved Keras autoencoder, not only this suite's.

It loads the model and the data (a built-in dataset's name, an `.npz` or an image folder, as in
configs), finds which input range the model reconstructs (images in [0, 1], or left in 0-255),
reconstructs the test images and scores them with the suite's metrics next to two trivial
baselines (the all-dark output and the training set's mean image: is the model better than
predicting the mean?), then looks for the study's failures (`autoencoders.diagnose.problems`).
`--json FILE` writes all of it for scripts; `--recommend` trains the model's architecture afresh
with BCE and with MSE for a short schedule and compares them. Exit 0 when the diagnosis ran, 2 on
bad input (a model that does not load, data that does not fit it), with the file named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from autoencoders.errors import EXIT_BAD_INPUT

#: the metrics of the table, by their name in the evaluation's per-image metrics
METRICS = ("mse", "ssim", "bce", "bce_excess")


class DiagnoseError(Exception):
    """Bad input: the message names the file and what is wrong."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autoencoders diagnose", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("model", help="a saved Keras model (.keras)")
    p.add_argument("--data", required=True, help="a built-in dataset (mnist, fashion_mnist, ...), an .npz file or an image folder")
    p.add_argument("--json", metavar="FILE", help="also write the diagnosis here as JSON")
    p.add_argument("--images", type=int, default=2000, help="test images to reconstruct (default 2000)")
    p.add_argument("--recommend", action="store_true", help="train the architecture afresh with BCE and with MSE and compare")
    p.add_argument("--epochs", type=int, default=2, help="epochs of each --recommend training (default 2)")
    p.add_argument("--train-images", type=int, default=10000, help="training images of each --recommend training (default 10000)")
    return p


def load_images(data: str):
    """The dataset DATA names: a built-in one, or the user's npz file or image folder."""
    from autoencoders.config import ConfigError, DatasetConfig
    from autoencoders.data.datasets import DATASETS
    from autoencoders.data.loading import DataError, load_dataset

    if data in DATASETS and not DATASETS[data].path_kind:
        config = {"name": data}
    elif Path(data).is_dir():
        config = {"name": "image_folder", "path": data}
    elif Path(data).is_file():
        config = {"name": "npz", "path": data}
    else:
        builtin = ", ".join(name for name, spec in DATASETS.items() if not spec.path_kind)
        raise DiagnoseError(f"--data {data}: neither a built-in dataset ({builtin}) nor an existing .npz file or image folder")
    try:
        return load_dataset(DatasetConfig(**config))
    except (DataError, ConfigError) as exc:
        raise DiagnoseError(str(exc)) from None


def load_model(path: str):
    import keras

    import autoencoders  # noqa: F401  (registers this suite's classes, so its models load too)

    if not Path(path).is_file():
        raise DiagnoseError(f"{path}: no such model file")
    try:
        return keras.saving.load_model(path, compile=True, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds for a file that is not a model it can load
        raise DiagnoseError(f"{path}: not a Keras model this Keras can load ({type(exc).__name__}: {str(exc)[:300]})") from None


def fitted_input(model, images: np.ndarray, path: str) -> np.ndarray:
    """The images shaped as the model's input: as they are, or flattened for a dense model. A
    subclassed model (such as this suite's) has no input shape of its own; its encoder's is used."""
    source = model if hasattr(model, "input_shape") else getattr(model, "encoder", None)
    declared = getattr(source, "input_shape", None)
    wanted = tuple(declared[1:]) if isinstance(declared, tuple) else None
    if wanted is None or None in wanted or wanted == images.shape[1:]:
        return images
    if int(np.prod(wanted)) == int(np.prod(images.shape[1:])):
        return images.reshape(len(images), *wanted)
    raise DiagnoseError(f"{path}: the model takes inputs of shape {list(wanted)}, the data's images are {list(images.shape[1:])}")


def reconstruct(model, x: np.ndarray, shape: tuple[int, ...], from_logits: bool) -> np.ndarray:
    import keras

    encoder, decoder = getattr(model, "encoder", None), getattr(model, "decoder", None)
    parts = []
    for i in range(0, len(x), 256):
        batch = x[i : i + 256]
        if isinstance(encoder, keras.Model) and isinstance(decoder, keras.Model):
            code = encoder(batch, training=False)
            output = decoder(code[0] if isinstance(code, (list, tuple)) else code, training=False)
        else:
            output = model(batch, training=False)
        if isinstance(output, (list, tuple)):
            output = output[0]
        parts.append(keras.ops.convert_to_numpy(keras.ops.sigmoid(output) if from_logits else output))
    return np.concatenate(parts).astype(np.float32).reshape(len(x), *shape)


def posterior(model, x: np.ndarray):
    import keras

    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, keras.Model):
        return None
    code = encoder(x[:1024], training=False)
    if not isinstance(code, (list, tuple)) or len(code) < 2:
        return None
    return tuple(keras.ops.convert_to_numpy(part) for part in code[:2])


def scores(targets: np.ndarray, outputs: np.ndarray) -> dict[str, float | None]:
    from autoencoders.evaluate import metrics

    out: dict[str, float | None] = {name: float(np.mean(fn(targets, outputs))) for name, fn in metrics.PER_IMAGE_METRICS.items()}
    try:
        from autoencoders.evaluate.evaluation import ssim

        out["ssim"] = float(np.mean(ssim(targets, outputs)))
    except ImportError:  # SSIM is TensorFlow's; on JAX alone it is left out
        out["ssim"] = None
    return {name: out[name] for name in METRICS}


def image_mean(images) -> np.ndarray:
    """The mean image in float64: in one pass for images in memory, summed in chunks for
    memory-mapped ones (`autoencoders.data.mapped`), which are never read whole."""
    if isinstance(images, np.ndarray):
        return images.mean(axis=0, dtype=np.float64)
    from autoencoders.data.mapped import row_chunks

    total = np.zeros(images.shape[1:], np.float64)
    for rows in row_chunks(len(images)):
        total += np.asarray(images[rows]).sum(axis=0, dtype=np.float64)
    return total / len(images)


def diagnose(model_path: str, data: str, images: int = 2000) -> dict[str, Any]:
    """The diagnosis as a plain dict (what --json writes)."""
    from autoencoders.diagnose.callback import loss_name
    from autoencoders.diagnose.measures import active_units, kl_per_dimension, logit_gradient, output_measures
    from autoencoders.diagnose.problems import find_problems

    dataset = load_images(data)
    model = load_model(model_path)
    targets = np.asarray(dataset.x_test[:images])  # read here when the images are memory-mapped
    x = fitted_input(model, targets, model_path)
    loss, from_logits = loss_name(getattr(model, "loss", None))
    by_scale = {}
    for scale in (1.0, 255.0):
        outputs = reconstruct(model, x * np.float32(scale), targets.shape[1:], from_logits)
        by_scale[scale] = (float(np.mean(np.square(np.clip(outputs, 0, 1) - targets))), outputs)
    # unscaled only when it reconstructs clearly better (a locked model is as bad on either)
    scale = 255.0 if by_scale[255.0][0] < 0.5 * by_scale[1.0][0] else 1.0
    outputs = by_scale[scale][1]
    measures: dict[str, Any] = output_measures(targets, np.clip(outputs, 0.0, 1.0), loss)
    measures |= {
        "loss": loss,
        "epoch_end": True,
        "bce_logit_gradient": float(np.mean(np.abs(logit_gradient("bce", np.clip(outputs, 0, 1), targets)))),
    }
    if scale != 1.0:  # it reconstructs unscaled images better: it was trained on 0-255 inputs
        measures |= {"data_min": 0.0, "data_max": 255.0}
    code = posterior(model, x * np.float32(scale))
    if code is not None:
        per_dimension = kl_per_dimension(*code)
        measures |= {"active_units": active_units(code[0]), "latent_dim": len(per_dimension), "kl": float(per_dimension.sum())}
    mean_image = np.broadcast_to(image_mean(dataset.x_train).astype(np.float32), targets.shape)
    return {
        "model": str(model_path),
        "data": data,
        "images": len(targets),
        "input_scale": "0-255" if scale != 1.0 else "[0, 1]",
        "loss": loss,
        "outputs_outside_01": bool(outputs.min() < 0 or outputs.max() > 1),
        "scores": {
            "model": scores(targets, np.clip(outputs, 0.0, 1.0)),
            "all-dark output": scores(targets, np.zeros_like(targets)),
            "mean image": scores(targets, mean_image),
        },
        "measures": {key: value for key, value in measures.items() if isinstance(value, (int, float, str)) or value is None},
        "problems": [problem.as_dict() for problem in find_problems(measures)],
    }


def recommend(model_path: str, data: str, epochs: int, train_images: int, images: int) -> dict[str, dict[str, float | None]]:
    """The model's architecture, cloned with fresh weights, trained with BCE and with MSE on the
    same images in the same order; the test scores of each."""
    import keras

    dataset = load_images(data)
    model = load_model(model_path)
    x_train = fitted_input(model, np.asarray(dataset.x_train[:train_images]), model_path)
    targets = np.asarray(dataset.x_test[:images])
    x_test = fitted_input(model, targets, model_path)
    out = {}
    for loss in ("binary_crossentropy", "mse"):
        keras.utils.set_random_seed(0)
        try:
            fresh = keras.models.clone_model(model)
        except Exception as exc:  # a subclassed model without get_config cannot be cloned
            raise DiagnoseError(
                f"{model_path}: --recommend needs a model Keras can clone ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        fresh.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
        fresh.fit(x_train, x_train, epochs=epochs, batch_size=128, shuffle=True, verbose=0)
        out["BCE" if loss == "binary_crossentropy" else "MSE"] = scores(
            targets, np.clip(reconstruct(fresh, x_test, targets.shape[1:], False), 0, 1)
        )
    return out


def table(rows: dict[str, dict[str, float | None]]) -> str:
    header = "| | pixel MSE | SSIM | BCE | BCE − floor |\n|---|---|---|---|---|\n"
    return header + "".join(
        f"| {name} | " + " | ".join("n/a" if row[m] is None else f"{row[m]:.4f}" for m in METRICS) + " |\n" for name, row in rows.items()
    )


def diagnose_main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    from autoencoders import quiet

    quiet.configure(False)
    try:
        if args.images < 1 or args.epochs < 1 or args.train_images < 1:
            raise DiagnoseError("--images, --epochs and --train-images must be >= 1")
        result = diagnose(args.model, args.data, args.images)
        if args.recommend:
            result["recommend"] = recommend(args.model, args.data, args.epochs, args.train_images, args.images)
    except DiagnoseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.model} on {args.data} ({result['images']} test images, inputs read as {result['input_scale']}):\n")
    print(table(result["scores"]))
    for problem in result["problems"]:
        print(f"- {problem['code']}: {problem['message']}")
    if not result["problems"]:
        print("No problem found.")
    if args.recommend:
        print(f"\nThe architecture trained afresh, {args.epochs} epochs on {args.train_images} images:\n")
        print(table(result["recommend"]))
    if args.json:
        from autoencoders.atomic import write_text

        write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0
