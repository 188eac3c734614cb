"""The sciml module zoo (Flax NNX).

Layout convention, used by every module here and by the whole library:
channels last, ``x.shape == (batch, *spatial, channels)`` with 1, 2 or 3 spatial axes.
Spatial axis ``i`` of the array is physical axis ``x``, ``y``, ``z`` in that order.
Foreign layouts (channels-first files, PyTorch checkpoints) are converted at I/O only.

Boundaries are an argument of every spatial module (see :mod:`sciml.nn.padding`):
``"periodic"`` (circular), ``"zero"``, ``"reflect"``, or ``"ghost"`` (the caller supplies
ghost cells; the module then shrinks each spatial axis by its halo).
"""

from sciml.nn.activations import ACTIVATIONS as ACTIVATIONS
from sciml.nn.activations import get_activation as get_activation
from sciml.nn.conv import Conv as Conv
from sciml.nn.norm import NORMS as NORMS
from sciml.nn.norm import Norm as Norm
from sciml.nn.padding import BOUNDARIES as BOUNDARIES
from sciml.nn.padding import pad as pad
from sciml.nn.resnet import ResidualBlock as ResidualBlock
from sciml.nn.resnet import ResNet as ResNet
from sciml.nn.tendency import Tendency as Tendency
from sciml.nn.unet import ConvBlock as ConvBlock
from sciml.nn.unet import UNet as UNet

__all__ = [
    "ACTIVATIONS",
    "BOUNDARIES",
    "NORMS",
    "Conv",
    "ConvBlock",
    "Norm",
    "ResNet",
    "ResidualBlock",
    "Tendency",
    "UNet",
    "get_activation",
    "pad",
]
