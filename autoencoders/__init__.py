"""Autoencoders trained with BCE or MSE on MNIST and Fashion-MNIST, compared with measured evidence."""

__version__ = "0.1.0"
