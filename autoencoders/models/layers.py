"""`UpSampledConv2D`: the blog decoder's `UpSampling2D(2)` + `Conv2D(3, padding="same")`, computed
at the low resolution.

Why: on a CPU the blog's conv decoders spend most of their step in the last of these pairs, the
3x3 convolution of the upsampled 28x28 map down to one channel (oneDNN is slow at one output
channel, and its gradient with respect to the kernel as slow), plus the copy that upsampling
makes and the sum its gradient makes. Nearest-neighbour upsampling repeats each pixel 2x2, so
each of the four output pixels of a low-resolution pixel sees a 3x3 window of repeats of only
its low-resolution neighbours: the pair is one 3x3 convolution of the low-resolution map into
4 x filters channels, with kernels that are sums of the original kernel's taps (a fixed linear
map of it), then a depth-to-space shuffle. The same function with the same weights, summed in a
different order (float32 rounding apart); measured in benchmarks/README.md.

The layer is a `Conv2D` with the same kernel and bias, created in the same order, so a model
built with it starts from the same initial weights as with the two layers, and weights saved
from either load into the other.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

# SUBPIXEL_TAPS[p, d, i] = 1 where the 3x3 kernel's tap i (0, 1, 2: offsets -1, 0, +1 at the high
# resolution) of output row 2a + p reads low-resolution row a + d - 1: for p = 0 the taps read
# rows 2a - 1, 2a, 2a + 1, i.e. low rows a - 1, a, a; for p = 1 rows 2a, 2a + 1, 2a + 2, i.e.
# a, a, a + 1. Columns alike.
SUBPIXEL_TAPS = np.zeros((2, 3, 3), np.float32)
SUBPIXEL_TAPS[0, 0, 0] = SUBPIXEL_TAPS[0, 1, 1] = SUBPIXEL_TAPS[0, 1, 2] = 1
SUBPIXEL_TAPS[1, 1, 0] = SUBPIXEL_TAPS[1, 1, 1] = SUBPIXEL_TAPS[1, 2, 2] = 1


@keras.saving.register_keras_serializable(package="autoencoders")
class UpSampledConv2D(layers.Conv2D):
    """`UpSampling2D(2)` (nearest) followed by a 3x3 'same' `Conv2D` of stride 1, in one layer
    whose output is (2H, 2W, filters). Arguments are `Conv2D`'s."""

    def __init__(self, filters, kernel_size=3, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if (
            self.kernel_size != (3, 3)
            or self.strides != (1, 1)
            or self.padding != "same"
            or self.dilation_rate != (1, 1)
            or self.groups != 1
            or self.data_format != "channels_last"
        ):
            raise ValueError(f"{type(self).__name__} is only the 3x3, stride 1, 'same', channels_last convolution after a 2x upsampling")

    def convolution_op(self, inputs, kernel):
        taps = ops.convert_to_tensor(SUBPIXEL_TAPS, dtype=kernel.dtype)
        channels = kernel.shape[2]
        low = ops.einsum("pai,qbj,ijco->abcpqo", taps, taps, kernel)
        low = ops.reshape(low, (3, 3, channels, 4 * self.filters))
        z = ops.conv(inputs, low, strides=1, padding="same")
        height, width = ops.shape(z)[1], ops.shape(z)[2]
        # (B, h, w, p, q, o) -> (B, h, p, w, q, o) -> (B, 2h, 2w, o): pixel (2a + p, 2b + q)
        z = ops.reshape(z, (-1, height, width, 2, 2, self.filters))
        z = ops.transpose(z, (0, 1, 3, 2, 4, 5))
        return ops.reshape(z, (-1, 2 * height, 2 * width, self.filters))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, self.filters)
