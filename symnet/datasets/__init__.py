"""Datasets shipped with or fetched by symnet (MNIST)."""
from . import mnist
from .mnist import download, load_mnist, read_idx, test_set

__all__ = ["mnist", "download", "load_mnist", "read_idx", "test_set"]
