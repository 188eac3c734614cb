"""Cosmological structure formation emulators: D3M (He et al., PNAS 2019).

- :class:`D3M` / :func:`d3m`: the 3-D periodic U-Net mapping ZA to N-body displacements.
- :class:`D3MTask`: its training objective (MSE, optional CIC density term, flips and axis
  permutations as augmentation) for ``sciml train``.
- :func:`predict`: whole-box or tiled (periodic halos) inference on boxes of any size.

Importing this package registers the model ``d3m`` and the task ``d3m`` with
:mod:`sciml.train`. Evaluation spectra live in :mod:`sciml.metrics.spectra3d`.
"""

from sciml.cosmo.augment import PERMUTATIONS as PERMUTATIONS
from sciml.cosmo.augment import augment_pair as augment_pair
from sciml.cosmo.augment import transform as transform
from sciml.cosmo.inference import default_halo as default_halo
from sciml.cosmo.inference import predict as predict
from sciml.cosmo.model import D3M as D3M
from sciml.cosmo.model import count_parameters as count_parameters
from sciml.cosmo.model import d3m as d3m
from sciml.cosmo.task import D3MTask as D3MTask
from sciml.cosmo.task import register as _register

_register()

__all__ = [
    "D3M",
    "PERMUTATIONS",
    "D3MTask",
    "augment_pair",
    "count_parameters",
    "d3m",
    "default_halo",
    "predict",
    "transform",
]
