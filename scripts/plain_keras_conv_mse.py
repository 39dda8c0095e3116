"""Is the MSE-trained conv autoencoder's collapse on MNIST ours, or Keras's? Plain Keras, no suite.

The blog's convolutional autoencoder, copied from the post, compiled with Adam and Keras's own
"mse" or "binary_crossentropy", trained with Keras's own shuffling on the full MNIST training
set (loaded with the suite's verified loader only). Prints the validation pixel MSE after each
epoch, and the share of test pixels whose output is below 0.01, for a few seeds.

    python scripts/plain_keras_conv_mse.py [--epochs 3] [--seeds 0 1 2]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from autoencoders.data.loading import load_dataset  # noqa: E402


def blog_conv_autoencoder() -> keras.Model:
    """Verbatim from "Building Autoencoders in Keras" (channels last)."""
    input_img = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(input_img)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    encoded = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(encoded)
    x = layers.UpSampling2D((2, 2))(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = layers.UpSampling2D((2, 2))(x)
    x = layers.Conv2D(16, (3, 3), activation="relu")(x)
    x = layers.UpSampling2D((2, 2))(x)
    decoded = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    return keras.Model(input_img, decoded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    args = parser.parse_args()
    d = load_dataset(args.dataset)
    x, x_test = np.asarray(d.x_train), np.asarray(d.x_test)  # (n, 28, 28, 1) float32 in [0, 1]
    print(f"{args.dataset}: predicting 0 everywhere gives pixel MSE {np.mean(x_test**2):.5f}")
    for loss in ("mse", "binary_crossentropy"):
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            model = blog_conv_autoencoder()
            model.compile(optimizer="adam", loss=loss, metrics=["mse"])
            h = model.fit(x, x, epochs=args.epochs, batch_size=128, shuffle=True, validation_data=(x_test, x_test), verbose=0)
            dark = float(np.mean(model.predict(x_test, batch_size=2048, verbose=0) < 0.01))
            curve = ", ".join(f"{v:.4f}" for v in h.history["val_mse"])
            print(f"loss={loss:19s} seed={seed}: val pixel MSE by epoch [{curve}]; test outputs < 0.01: {100 * dark:.1f}%")


if __name__ == "__main__":
    main()
