"""Pad and crop: how the conv archs take images of any size.

Pooling and upsampling give a side back exactly only for some sizes (the arch's entry in
`autoencoders.models.architectures` says which: `padded_side`). The encoder zero-pads the image at the
bottom and right up to that size and the decoder crops its output back, so the loss and every
metric see exactly the input's pixels. Where no padding is needed (MNIST's 28x28 for every arch)
no layer is added, and the graph is the blog's.
"""

from __future__ import annotations

from keras import layers


def _margins(shape, padded) -> tuple[tuple[int, int], tuple[int, int]]:
    return (0, padded[0] - shape[0]), (0, padded[1] - shape[1])


def pad(image, shape, padded):
    """Zero-pad (H, W) up to the padded (H', W'); nothing when they are equal."""
    return image if tuple(padded[:2]) == tuple(shape[:2]) else layers.ZeroPadding2D(_margins(shape, padded), name="pad")(image)


def crop(output, shape, padded):
    """Crop the padded (H', W') back to (H, W); nothing when they are equal."""
    if tuple(padded[:2]) == tuple(shape[:2]):
        return output
    # a crop changes no number, so it keeps the output's dtype (float32 under mixed precision too)
    return layers.Cropping2D(_margins(shape, padded), name="crop", dtype=output.dtype)(output)
