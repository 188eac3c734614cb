"""fastMRI k-space reconstruction with the reference implementation's conventions.

Conventions match the ``fastmri`` package v0.3.0 so that numbers compare with published
results: masks draw from ``numpy.random.RandomState`` in the reference's order, FFTs are centred
and orthonormal, metrics are computed per volume with the volume maximum as data range.

Layouts: complex k-space and complex images are ``(..., H, W)`` (``(..., coils, H, W)``
multi-coil), the fastMRI file layout, because the 2-D FFTs act on the last two axes (``H``
read-out, ``W`` phase-encode). Real images for networks are channels-last ``(batch, H, W, 1)``.
"""

from sciml.metrics.image import mse as mse
from sciml.metrics.image import nmse as nmse
from sciml.metrics.image import psnr as psnr
from sciml.metrics.image import ssim as ssim
from sciml.metrics.image import ssim_jax as ssim_jax
from sciml.metrics.image import ssim_loss as ssim_loss
from sciml.mri.evaluate import evaluate_directories as evaluate_directories
from sciml.mri.evaluate import evaluate_volume as evaluate_volume
from sciml.mri.evaluate import format_metrics as format_metrics
from sciml.mri.io import RECONS_KEYS as RECONS_KEYS
from sciml.mri.io import MRIHeader as MRIHeader
from sciml.mri.io import SliceDataset as SliceDataset
from sciml.mri.io import VolumeInfo as VolumeInfo
from sciml.mri.io import inspect_volume as inspect_volume
from sciml.mri.io import parse_header as parse_header
from sciml.mri.io import read_volume as read_volume
from sciml.mri.masks import MASK_KINDS as MASK_KINDS
from sciml.mri.masks import MaskFunc as MaskFunc
from sciml.mri.masks import mask_func as mask_func
from sciml.mri.masks import seed_from_name as seed_from_name
from sciml.mri.synthesize import synthesize_dataset as synthesize_dataset
from sciml.mri.transforms import UnetDataTransform as UnetDataTransform
from sciml.mri.transforms import VarNetDataTransform as VarNetDataTransform
from sciml.mri.transforms import apply_mask as apply_mask
from sciml.mri.transforms import center_crop as center_crop
from sciml.mri.transforms import complex_abs as complex_abs
from sciml.mri.transforms import fft2c as fft2c
from sciml.mri.transforms import ifft2c as ifft2c
from sciml.mri.transforms import mask_kspace as mask_kspace
from sciml.mri.transforms import normalize as normalize
from sciml.mri.transforms import normalize_instance as normalize_instance
from sciml.mri.transforms import rss as rss
from sciml.mri.transforms import rss_complex as rss_complex
from sciml.mri.transforms import unet_crop_size as unet_crop_size
from sciml.mri.transforms import zero_filled as zero_filled

__all__ = [
    "MASK_KINDS",
    "RECONS_KEYS",
    "MRIHeader",
    "MaskFunc",
    "SliceDataset",
    "UnetDataTransform",
    "VarNetDataTransform",
    "VolumeInfo",
    "apply_mask",
    "center_crop",
    "complex_abs",
    "evaluate_directories",
    "evaluate_volume",
    "fft2c",
    "format_metrics",
    "ifft2c",
    "inspect_volume",
    "mask_func",
    "mask_kspace",
    "mse",
    "nmse",
    "normalize",
    "normalize_instance",
    "parse_header",
    "psnr",
    "read_volume",
    "rss",
    "rss_complex",
    "seed_from_name",
    "ssim",
    "ssim_jax",
    "ssim_loss",
    "synthesize_dataset",
    "unet_crop_size",
    "zero_filled",
]

# --- models (D2) ---
from sciml.mri.models import UNET_VARIANTS as UNET_VARIANTS
from sciml.mri.models import NormUnet as NormUnet
from sciml.mri.models import SensitivityModel as SensitivityModel
from sciml.mri.models import VarNet as VarNet
from sciml.mri.models import VarNetBlock as VarNetBlock
from sciml.mri.models import count_parameters as count_parameters
from sciml.mri.models import fastmri_unet as fastmri_unet

# The SENSE forward model lives in sciml.solvers.optim (shared with the CS baselines).
from sciml.solvers.optim.sense import estimate_sensitivities as estimate_sensitivities
from sciml.solvers.optim.sense import sens_expand as sens_expand
from sciml.solvers.optim.sense import sens_reduce as sens_reduce
from sciml.solvers.optim.sense import sense_adjoint as sense_adjoint
from sciml.solvers.optim.sense import sense_forward as sense_forward
from sciml.solvers.optim.sense import sense_operator as sense_operator

__all__ += [
    "UNET_VARIANTS",
    "NormUnet",
    "SensitivityModel",
    "VarNet",
    "VarNetBlock",
    "count_parameters",
    "estimate_sensitivities",
    "fastmri_unet",
    "sens_expand",
    "sens_reduce",
    "sense_adjoint",
    "sense_forward",
    "sense_operator",
]
