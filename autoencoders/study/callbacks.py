"""The study's training callbacks, as configs name them in `training.callbacks` (the library's
`autoencoders.training_callbacks` entry points, declared in pyproject.toml): light descriptions,
checked with a config before TensorFlow is imported; their Keras code is imported when a run trains."""

from autoencoders.plugins import TrainingCallback

#: the output-logit gradient and the wrong-side saturated share at each epoch end (`gradient_probe`)
PROBE_GRADIENTS = TrainingCallback(
    factory="autoencoders.study.gradient_probe:probe_callback",
    heads=("sigmoid",),
    why="the probe measures the gradient at a sigmoid's logit",
)
