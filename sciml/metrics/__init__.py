"""Metrics shared by every area; imports no area.

- :mod:`sciml.metrics.field`    trajectories against a reference: nRMSE (PDEBench per-channel
  definition by default, pooled under its own name), correlation against time, correlation time
  (threshold parameter; Kochkov et al. 2021's convention by name), blow-up horizon. NumPy only.
- :mod:`sciml.metrics.spectra`  energy and enstrophy spectra of periodic 1-D/2-D/3-D fields.
- :mod:`sciml.metrics.long_rollout`  long rollouts: bounded fraction, time to blow-up, and the
  attractor's statistics (time-averaged spectrum, value distribution) against a reference.
- :mod:`sciml.metrics.dissipation`  long rollouts of dissipative problems without an attractor:
  energy norm ``||u||_M``, first growth, late decay-rate fit, energy per eigenmode (and shells).
- :mod:`sciml.metrics.image`    image quality as the fastMRI evaluation: NMSE, PSNR, SSIM per
  volume, and a differentiable SSIM (JAX) for training losses.
- :mod:`sciml.metrics.spectra3d`  3-D power/cross spectra, T(k), r(k), CIC density, displacement
  error (cosmology conventions, D3M's evaluation). NumPy only.

Names resolve lazily so that ``import sciml.metrics`` does not import JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "NRMSE_DEFINITION": "sciml.metrics.field",
    "NRMSE_POOLED_DEFINITION": "sciml.metrics.field",
    "KOCHKOV2021_THRESHOLD": "sciml.metrics.field",
    "finite_mask": "sciml.metrics.field",
    "nrmse_per_sample": "sciml.metrics.field",
    "nrmse_pooled_per_sample": "sciml.metrics.field",
    "nrmse_vs_time": "sciml.metrics.field",
    "nrmse_pooled_vs_time": "sciml.metrics.field",
    "correlation_vs_time": "sciml.metrics.field",
    "correlation_time": "sciml.metrics.field",
    "correlation_time_kochkov2021": "sciml.metrics.field",
    "correlation_time_definition": "sciml.metrics.field",
    "blowup_time": "sciml.metrics.field",
    "shell_spectrum": "sciml.metrics.spectra",
    "energy_spectrum": "sciml.metrics.spectra",
    "enstrophy_spectrum": "sciml.metrics.spectra",
    "energy_spectrum_from_vorticity": "sciml.metrics.spectra",
    "first_unbounded_frame": "sciml.metrics.long_rollout",
    "long_rollout_statistics": "sciml.metrics.long_rollout",
    "weighted_norm": "sciml.metrics.dissipation",
    "first_growth_frame": "sciml.metrics.dissipation",
    "late_window": "sciml.metrics.dissipation",
    "decay_rate": "sciml.metrics.dissipation",
    "modal_energy_fractions": "sciml.metrics.dissipation",
    "eigen_shell_spectrum": "sciml.metrics.dissipation",
    "mse": "sciml.metrics.image",
    "nmse": "sciml.metrics.image",
    "psnr": "sciml.metrics.image",
    "ssim": "sciml.metrics.image",
    "ssim_slices": "sciml.metrics.image",
    "ssim_jax": "sciml.metrics.image",
    "ssim_loss": "sciml.metrics.image",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sciml.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
