"""D3M, the Deep Density Displacement Model (He et al., PNAS 2019), from the zoo's 3-D U-Net.

The network maps the Zel'dovich (ZA) displacement of every particle on its Lagrangian grid to
the N-body displacement, both ``(batch, n, n, n, 3)`` in Mpc/h. It is the zoo's
:class:`sciml.nn.UNet` with the published configuration: periodic padding in every
convolution; encoder levels of ``width, 2 width`` channels (two conv-BN-ReLU blocks each) at
``n`` and ``n/2``, each followed by a stride-2 3^3 convolution (+ BN, ReLU) to the next width; a
bottleneck of ``4 width`` channels at ``n/4``; decoder levels of a stride-2 3^3 transposed
convolution (+ BN, ReLU), concatenation with the encoder output and two blocks; a 1x1x1
convolution to 3 channels. At ``width=64`` (the paper) the network has 8,412,227 convolution
parameters and 3,712 batch-norm parameters.

Being fully convolutional and periodic, the model applies to any box whose side is a multiple of
``2**depth`` cells (4 for the paper's depth 2) with the same physical cell size as in training
(``box / n`` fixed): e.g. a 512 Mpc/h box with 128^3 particles for a model trained on
128 Mpc/h with 32^3.

Two options beyond the paper, both off by default: ``length_scale`` (Mpc/h) divides the input and
multiplies the output so the network sees displacements of order one (set it to the cell size
``box / n``), and ``residual`` predicts the correction ``Psi_PM - Psi_ZA`` (``out = x + net(x)``, the 1x1 head
initialised to zero so that the untrained model returns ZA) instead of the displacement itself.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn import UNet

PAPER_CONV_PARAMETERS = 8_412_227
PAPER_BN_PARAMETERS = 3_712


def check_displacement_shape(shape: tuple[int, ...], multiple: int, *, name: str = "input"):
    """One-line error unless ``shape`` is ``(batch, n, n, n, 3)`` with ``n % multiple == 0``."""
    if len(shape) != 5 or shape[-1] != 3:
        raise ValueError(
            f"D3M {name}: expected displacements of shape (batch, n, n, n, 3), found "
            f"{tuple(shape)}; add a batch axis with x[None]"
        )
    bad = [s for s in shape[1:4] if s % multiple or s < multiple]
    if bad:
        raise ValueError(
            f"D3M {name}: expected every box side to be a multiple of {multiple} cells "
            f"(2**depth), found {tuple(shape[1:4])}; crop or pad the box to a multiple of "
            f"{multiple} particles per side"
        )


class D3M(nnx.Module):
    """The D3M displacement emulator.

    Args:
      width: channels of the first level (64 in the paper); the levels have ``width * 2**i``.
      depth: number of stride-2 down-samplings (2 in the paper: 32 -> 16 -> 8).
      residual: predict ``x + net(x)`` (the paper: False, no bypass).
      length_scale: Mpc/h; the network sees ``x / length_scale`` and its output is multiplied
        back (1.0: raw Mpc/h as in the paper).
      momentum: batch-norm running-average momentum.
      rngs: ``nnx.Rngs``.

    Shapes:
      ``x``: ``(batch, n, n, n, 3)`` ZA displacements (Mpc/h), ``n`` a multiple of ``2**depth``
      -> ``(batch, n, n, n, 3)`` predicted N-body displacements (Mpc/h).
    """

    def __init__(
        self,
        *,
        width: int = 64,
        depth: int = 2,
        residual: bool = False,
        length_scale: float = 1.0,
        rngs: nnx.Rngs,
    ):
        if length_scale <= 0:
            raise ValueError(
                f"length_scale: expected a positive length in Mpc/h, found {length_scale}; use "
                "the cell size box / n"
            )
        self.depth = depth
        self.residual = residual
        # Set by ``model.train()`` / ``model.eval()`` together with the batch norms.
        self.use_running_average = False
        self.length_scale = float(length_scale)
        self.unet = UNet(
            3,
            3,
            ndim=3,
            width=width,
            depth=depth,
            multiplier=2,
            norm="batch",
            norm_affine=True,
            activation="relu",
            down="strided",
            up="transpose",
            up_kernel_size=3,
            up_norm=True,
            up_bias=True,
            boundary="periodic",
            use_bias=True,
            rngs=rngs,
        )
        if residual:
            # The correction starts at zero: the untrained residual model is the ZA input.
            head = self.unet.head[-1].conv
            head.kernel.set_value(jnp.zeros_like(head.kernel.get_value()))

    @property
    def multiple(self) -> int:
        """Box sides must be multiples of this many cells."""
        return 2**self.depth

    def __call__(self, x: jax.Array) -> jax.Array:
        check_displacement_shape(x.shape, self.multiple)
        s = jnp.asarray(self.length_scale, x.dtype)
        y = self.unet(x / s) * s
        return x + y if self.residual else y


def d3m(
    *,
    width: int = 64,
    depth: int = 2,
    residual: bool = False,
    length_scale: float = 1.0,
    rngs: nnx.Rngs,
) -> D3M:
    """Builder for the model registry (``model.name: sciml.cosmo.model:d3m`` or ``d3m``)."""
    return D3M(width=width, depth=depth, residual=residual, length_scale=length_scale, rngs=rngs)


def count_parameters(model: nnx.Module) -> dict[str, int]:
    """Trainable parameters split into convolutions (kernels + biases) and batch norm
    (scales + shifts); works on an abstract model from ``nnx.eval_shape``."""
    counts = {"conv": 0, "batch_norm": 0}
    for path, value in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        kind = "batch_norm" if "bn" in [str(p) for p in path] else "conv"
        counts[kind] += math.prod(value.shape)
    counts["total"] = counts["conv"] + counts["batch_norm"]
    return counts
