"""Autoencoders trained with BCE or MSE on any images in [0, 1], compared with measured evidence.

`import autoencoders` makes saved models loadable: the model, loss and metric classes are
registered with Keras as soon as Keras is imported (now, if it already is), so

    import autoencoders, keras
    model = keras.saving.load_model("results/blog/runs/blog-dense-mnist-bce-s0/model.keras")

gives back the `Autoencoder` with `.encoder`, `.decoder` and `.reconstruct()`. The hook (wrapt's
post-import hook) keeps `import autoencoders` itself free of TensorFlow, so the command line
still rejects a bad config in milliseconds.
"""

import wrapt

__version__ = "0.1.0"


@wrapt.when_imported("keras")
def _register_keras_classes(keras_module) -> None:
    import autoencoders.models.base  # noqa: F401  (its decorators register the classes)
    import autoencoders.models.layers  # noqa: F401


def __getattr__(name: str):
    """`from autoencoders import DiagnosticsCallback` imports Keras only when the name is used."""
    if name == "DiagnosticsCallback":
        from autoencoders.diagnose.callback import DiagnosticsCallback

        return DiagnosticsCallback
    raise AttributeError(f"module 'autoencoders' has no attribute {name!r}")


__all__ = ["DiagnosticsCallback", "__version__"]
