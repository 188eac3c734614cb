"""solvers/ is grouped by method family; every old module path is a deprecated alias."""

import importlib

import pytest
import sciml.solvers

MOVED = {
    "advection": ("spectral.advection", "Advection"),
    "burgers": ("spectral.burgers", "Burgers"),
    "gray_scott": ("spectral.gray_scott", "GrayScott"),
    "heat": ("spectral.heat", "Heat"),
    "kdv": ("spectral.kdv", "KdV"),
    "ks": ("spectral.ks", "KuramotoSivashinsky"),
    "navier_stokes": ("spectral.navier_stokes", "NavierStokes2D"),
    "equations": ("spectral.equations", "register_equation"),
    "fd_base": ("fd.base", "FDStep"),
    "fd_advection": ("fd.advection", "FDAdvection"),
    "fd_burgers": ("fd.burgers", "FDBurgers"),
    "fd_heat": ("fd.heat", "FDHeat"),
    "fd_wave": ("fd.wave", "FDWave"),
    "fd_stencils": ("fd.stencils", "Stencil"),
    "fd_registry": ("fd.registry", "boundary_ic"),
    "ic_random": ("ic.random", "gaussian_random_field"),
    "ic_standard": ("ic.standard", "kdv_soliton"),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_module_paths_are_deprecated_aliases(old):
    new, name = MOVED[old]
    target = getattr(importlib.import_module(f"sciml.solvers.{new}"), name)
    module = importlib.import_module(f"sciml.solvers.{old}")
    with pytest.warns(DeprecationWarning, match=f"sciml.solvers.{old}.{name} moved to"):
        assert getattr(module, name) is target


def test_public_names_and_both_families_registered():
    from sciml.solvers.spectral import SpectralStep

    assert sciml.solvers.SpectralStep is SpectralStep
    for name in sciml.solvers.__all__:
        assert getattr(sciml.solvers, name) is not None
    names = set(sciml.solvers.EQUATIONS)
    assert {"ks1d", "ns2d_kolmogorov"} <= names and any(n.startswith("fd_") for n in names)
