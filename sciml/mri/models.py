"""fastMRI reconstruction networks: both published U-Nets, the normalised U-Net and the VarNet.

- :func:`fastmri_unet` configures the zoo :class:`sciml.nn.UNet` as either published fastMRI
  U-Net (Zbontar et al. 2018):

  ========  ==============================================  ============================================
  variant   ``"2018"`` (paper code)                         ``"2020"`` (reference since Feb 2020)
  ========  ==============================================  ============================================
  block     3x3 conv (bias) -> InstanceNorm -> ReLU, twice  3x3 conv (no bias) -> IN -> LeakyReLU(0.2), x2
  down      2x2 max pooling                                 2x2 average pooling
  bottom    ConvBlock(8c, 8c)                               ConvBlock(8c, 16c)
  up        bilinear x2, concat, ConvBlock -> half width    2x2 transposed conv -> IN -> LeakyReLU, concat
  head      three 1x1 convs (c -> c/2 -> out -> out)        one 1x1 conv with bias
  params    3,348,227 at chans=32                           7,756,097 at chans=32 (31,023,745 at 64)
  ========  ==============================================  ============================================

  InstanceNorm has eps 1e-5 and no affine parameters in both.
- :class:`NormUnet`: a complex image ``(batch, H, W)`` as 2 real channels, normalised per sample
  and channel (mean and unbiased std), zero-padded to a multiple of 16, through a 2020 U-Net,
  un-padded and un-normalised.
- :class:`SensitivityModel`: coil sensitivity maps from the auto-calibration (centre) lines.
- :class:`VarNet`: the end-to-end variational network (Sriram et al. 2020), 12 cascades of
  ``k <- k - where(mask, k - k0, 0) * w_dc - F(E(NormUnet(R(k))))``, 29,936,966 parameters at the
  defaults. The expansion ``E`` and reduction ``R`` are the SENSE forward model of
  :mod:`sciml.solvers.optim.sense` (shared with the compressed-sensing baselines).

Layouts follow :mod:`sciml.mri.transforms`: complex k-space ``(batch, coils, H, W)``, ``W`` the
phase-encode axis, masks ``(batch, W)`` (True on sampled columns); U-Net images channels-last
``(batch, H, W, 1)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn.unet import UNet
from sciml.solvers.optim.sense import ifft2c, sens_expand, sens_reduce

UNET_VARIANTS = ("2018", "2020")


def fastmri_unet(
    in_chans: int = 1,
    out_chans: int = 1,
    chans: int = 32,
    num_pool_layers: int = 4,
    *,
    variant: str = "2020",
    rngs: nnx.Rngs,
) -> UNet:
    """A fastMRI U-Net (see the module table) as a 2-D zoo :class:`sciml.nn.UNet`.

    Args:
      in_chans, out_chans: image channels (1 for magnitude images, 2 for complex).
      chans: channels of the first level (32 in the paper).
      num_pool_layers: number of 2x down-samplings (4).
      variant: ``"2018"`` (paper code) or ``"2020"`` (current reference).
      rngs: ``nnx.Rngs``.

    Shapes:
      ``(batch, H, W, in_chans)`` -> ``(batch, H, W, out_chans)``; zero padding at the borders.
    """
    if variant == "2020":
        return UNet(
            in_chans,
            out_chans,
            ndim=2,
            width=chans,
            depth=num_pool_layers,
            norm="instance",
            activation="leaky_relu",
            down="avg",
            up="transpose",
            boundary="zero",
            use_bias=False,
            up_norm=True,
            up_bias=False,
            head_bias=True,
            rngs=rngs,
        )
    if variant == "2018":
        if num_pool_layers < 1:
            raise ValueError(
                f"num_pool_layers: expected >= 1 for the 2018 U-Net, found {num_pool_layers}"
            )
        enc = [chans * 2**i for i in range(num_pool_layers)]
        # Decoder level i outputs half the skip's width, except the finest (its own width).
        decoder = [enc[0]] + [enc[i - 1] for i in range(1, num_pool_layers)]
        return UNet(
            in_chans,
            out_chans,
            ndim=2,
            width=chans,
            depth=num_pool_layers,
            norm="instance",
            activation="relu",
            down="max",
            up="linear",
            boundary="zero",
            use_bias=True,
            bottleneck_channels=enc[-1],
            decoder_channels=decoder,
            head_channels=(chans // 2, out_chans),
            head_bias=True,
            rngs=rngs,
        )
    raise ValueError(
        f"variant: expected one of {list(UNET_VARIANTS)}, found {variant!r}; "
        "'2018' is the paper's code, '2020' the current fastMRI reference"
    )


class NormUnet(nnx.Module):
    """Normalised 2020 U-Net on complex images.

    ``x`` complex ``(batch, H, W)`` is split into real and imaginary channels, each normalised
    by its own mean and unbiased std (per sample), zero-padded symmetrically so that ``H`` and
    ``W`` become multiples of 16, passed through the U-Net, cropped back and de-normalised.

    Args:
      chans: U-Net width.
      num_pools: U-Net depth.
      rngs: ``nnx.Rngs``.

    Shapes:
      complex ``(batch, H, W)`` -> complex ``(batch, H, W)``.
    """

    def __init__(self, chans: int, num_pools: int, *, rngs: nnx.Rngs):
        self.unet = fastmri_unet(2, 2, chans, num_pools, variant="2020", rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 3 or not jnp.iscomplexobj(x):
            raise ValueError(
                f"NormUnet input: expected a complex (batch, H, W) image, found {x.dtype} "
                f"{tuple(x.shape)}"
            )
        h = jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)  # (batch, H, W, 2)
        mean = jnp.mean(h, axis=(1, 2), keepdims=True)
        std = jnp.std(h, axis=(1, 2), keepdims=True, ddof=1)
        h = (h - mean) / std
        H, W = x.shape[1:]
        ph, pw = ((H - 1) | 15) + 1 - H, ((W - 1) | 15) + 1 - W
        pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
        h = jnp.pad(h, ((0, 0), *pads, (0, 0)))
        h = self.unet(h)
        h = h[:, pads[0][0] : pads[0][0] + H, pads[1][0] : pads[1][0] + W]
        h = h * std + mean
        return jax.lax.complex(h[..., 0], h[..., 1])


def root_sum_of_squares(x: jax.Array, axis: int = 1, keepdims: bool = False) -> jax.Array:
    """``sqrt(sum(|x|^2, axis))`` of a complex array with finite gradients where it is 0.

    ``jnp.abs`` and ``jnp.sqrt`` have infinite or NaN derivatives at 0, and one such pixel makes
    every gradient NaN (``0 * nan``); the value here is exact and the derivative at 0 is 0.
    """
    s = jnp.sum(jnp.real(x) ** 2 + jnp.imag(x) ** 2, axis=axis, keepdims=keepdims)
    positive = s > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, s, 1.0)), 0.0)


def low_frequency_window(
    mask: jax.Array, num_low_frequencies: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """Start and width of the fully sampled centre block of each mask (reference rules).

    With ``num_low_frequencies`` missing or 0 the width is ``max(2 min(left, right), 1)``, where
    ``left``/``right`` are the runs of sampled columns either side of ``W // 2``. The block
    starts at ``(W - n + 1) // 2``.

    Args:
      mask: ``(batch, W)``, nonzero on sampled columns.
      num_low_frequencies: ``(batch,)`` or scalar int, 0 meaning "find it from the mask".

    Returns:
      ``(start, width)``, int32 ``(batch,)`` each.
    """
    m = (mask != 0).astype(jnp.int32)
    cent = m.shape[1] // 2
    left = jnp.argmin(m[:, :cent][:, ::-1], axis=1)
    right = jnp.argmin(m[:, cent:], axis=1)
    found = jnp.maximum(2 * jnp.minimum(left, right), 1)
    if num_low_frequencies is None:
        n = found
    else:
        given = jnp.broadcast_to(jnp.asarray(num_low_frequencies, jnp.int32), found.shape)
        n = jnp.where(given > 0, given, found)
    start = (m.shape[1] - n + 1) // 2
    return start.astype(jnp.int32), n.astype(jnp.int32)


class SensitivityModel(nnx.Module):
    """Coil sensitivity estimation from the auto-calibration lines.

    Keeps only the centre block of k-space columns (:func:`low_frequency_window`), transforms
    each coil to image space (``ifft2c``), refines each coil image with a :class:`NormUnet`
    (coils as batch items) and divides by the root-sum-of-squares over coils.

    Args:
      chans: NormUnet width (8 in the reference).
      num_pools: NormUnet depth (4).
      mask_center: keep only the centre lines (True in the reference).
      rngs: ``nnx.Rngs``.

    Shapes:
      ``masked_kspace`` complex ``(batch, coils, H, W)``, ``mask`` ``(batch, W)`` ->
      maps complex ``(batch, coils, H, W)`` with ``sum_c |S_c|^2 = 1``.
    """

    def __init__(
        self, chans: int = 8, num_pools: int = 4, *, mask_center: bool = True, rngs: nnx.Rngs
    ):
        self.mask_center = mask_center
        self.norm_unet = NormUnet(chans, num_pools, rngs=rngs)

    def __call__(
        self,
        masked_kspace: jax.Array,
        mask: jax.Array,
        num_low_frequencies: jax.Array | None = None,
    ) -> jax.Array:
        b, c, H, W = masked_kspace.shape
        if self.mask_center:
            start, n = low_frequency_window(mask, num_low_frequencies)
            cols = jnp.arange(W)[None, :]
            keep = (cols >= start[:, None]) & (cols < (start + n)[:, None])
            masked_kspace = jnp.where(keep[:, None, None, :], masked_kspace, 0)
        images = ifft2c(masked_kspace).reshape(b * c, H, W)
        maps = self.norm_unet(images).reshape(b, c, H, W)
        return maps / root_sum_of_squares(maps, axis=1, keepdims=True)


class VarNetBlock(nnx.Module):
    """One VarNet cascade with soft data consistency and a learned weight (initially 1).

    ``k_next = k - where(mask, k - k_ref, 0) * dc_weight - E(NormUnet(R(k)))`` with the coil
    combination ``R(k) = sum_c conj(S_c) ifft2c(k_c)`` and the expansion
    ``E(x)_c = fft2c(S_c x)``.

    Shapes: ``k``, ``k_ref``, ``sens_maps`` complex ``(batch, coils, H, W)``; ``mask``
    ``(batch, W)``.
    """

    def __init__(self, chans: int = 18, num_pools: int = 4, *, rngs: nnx.Rngs):
        self.model = NormUnet(chans, num_pools, rngs=rngs)
        self.dc_weight = nnx.Param(jnp.ones((1,), jnp.float32))

    def __call__(
        self, k: jax.Array, k_ref: jax.Array, mask: jax.Array, sens_maps: jax.Array
    ) -> jax.Array:
        sampled = (mask != 0)[:, None, None, :]
        soft_dc = jnp.where(sampled, k - k_ref, 0) * self.dc_weight[...][0]
        reduced = sens_reduce(k, sens_maps)
        refined = self.model(reduced)
        model_term = sens_expand(refined, sens_maps)
        return k - soft_dc - model_term


class VarNet(nnx.Module):
    """End-to-end variational network (Sriram et al. 2020) for multi-coil k-space.

    Args:
      num_cascades: number of :class:`VarNetBlock` cascades (12).
      sens_chans, sens_pools: sensitivity NormUnet width and depth (8, 4).
      chans, pools: cascade NormUnet width and depth (18, 4).
      mask_center: estimate sensitivities from the centre lines only.
      rngs: ``nnx.Rngs``.

    Shapes:
      ``masked_kspace`` complex ``(batch, coils, H, W)`` (single-coil data: ``coils = 1``),
      ``mask`` ``(batch, W)``, ``num_low_frequencies`` ``(batch,)`` or None ->
      RSS image ``(batch, H, W)`` (crop it to the target with
      :func:`sciml.mri.transforms.center_crop`).
    """

    def __init__(
        self,
        num_cascades: int = 12,
        sens_chans: int = 8,
        sens_pools: int = 4,
        chans: int = 18,
        pools: int = 4,
        *,
        mask_center: bool = True,
        rngs: nnx.Rngs,
    ):
        if num_cascades < 1:
            raise ValueError(f"num_cascades: expected >= 1, found {num_cascades}")
        self.sens_net = SensitivityModel(sens_chans, sens_pools, mask_center=mask_center, rngs=rngs)
        self.cascades = nnx.List(
            [VarNetBlock(chans, pools, rngs=rngs) for _ in range(num_cascades)]
        )

    def __call__(
        self,
        masked_kspace: jax.Array,
        mask: jax.Array,
        num_low_frequencies: jax.Array | None = None,
    ) -> jax.Array:
        if masked_kspace.ndim != 4 or not jnp.iscomplexobj(masked_kspace):
            raise ValueError(
                f"VarNet masked_kspace: expected complex (batch, coils, H, W), found "
                f"{masked_kspace.dtype} {tuple(masked_kspace.shape)}; add a coil axis of size 1 "
                "for single-coil data"
            )
        if mask.shape != (masked_kspace.shape[0], masked_kspace.shape[-1]):
            raise ValueError(
                f"VarNet mask: expected shape (batch, W) = "
                f"{(masked_kspace.shape[0], masked_kspace.shape[-1])}, found {tuple(mask.shape)}"
            )
        sens_maps = self.sens_net(masked_kspace, mask, num_low_frequencies)
        k = masked_kspace
        for cascade in self.cascades:
            k = cascade(k, masked_kspace, mask, sens_maps)
        return root_sum_of_squares(ifft2c(k), axis=1)


def count_parameters(model: nnx.Module) -> int:
    """Number of trainable scalars (``nnx.Param`` leaves) of ``model``."""
    return int(sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))))
