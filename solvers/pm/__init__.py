"""Particle-mesh N-body solver (installed as ``sciml.solvers.pm``): flat LCDM structure formation.

Background and growth (:mod:`.background`, NumPy float64 on the host), the Eisenstein & Hu linear
power (:mod:`.power`), Gaussian initial conditions and ZA/2LPT (:mod:`.ic`), CIC and the FFT
Poisson force (:mod:`.mesh`), and the FastPM kick-drift-kick integrator (:mod:`.fastpm`, JAX,
jit, float32 particles). Units: H0 = 1, Mpc/h, channels last (n, n, n, 3).

    from sciml.solvers import pm
    cosmo = pm.Cosmology()                               # D3M fiducial, A_s = 2.142e-9
    out = pm.simulate_displacements(cosmo, 32, 128.0, key=jax.random.key(0), steps=10)
    out["za"], out["lpt2"], out["pm"]                    # (32, 32, 32, 3) Mpc/h
"""

from sciml.solvers.pm.background import Cosmology as Cosmology
from sciml.solvers.pm.background import E as E
from sciml.solvers.pm.background import Omega_m_a as Omega_m_a
from sciml.solvers.pm.background import growth_factor as growth_factor
from sciml.solvers.pm.background import growth_hypergeometric as growth_hypergeometric
from sciml.solvers.pm.background import growth_rate as growth_rate
from sciml.solvers.pm.fastpm import displacement as displacement
from sciml.solvers.pm.fastpm import fastpm as fastpm
from sciml.solvers.pm.fastpm import lagrangian_grid as lagrangian_grid
from sciml.solvers.pm.fastpm import simulate_displacements as simulate_displacements
from sciml.solvers.pm.fastpm import step_factors as step_factors
from sciml.solvers.pm.ic import linear_field as linear_field
from sciml.solvers.pm.ic import lpt as lpt
from sciml.solvers.pm.ic import lpt_terms as lpt_terms
from sciml.solvers.pm.mesh import cic_paint as cic_paint
from sciml.solvers.pm.mesh import cic_readout as cic_readout
from sciml.solvers.pm.mesh import fft_wavenumbers as fft_wavenumbers
from sciml.solvers.pm.mesh import poisson_force as poisson_force
from sciml.solvers.pm.power import linear_power as linear_power
from sciml.solvers.pm.power import sigma8 as sigma8
from sciml.solvers.pm.power import sigma_r as sigma_r
from sciml.solvers.pm.power import transfer_eh as transfer_eh

__all__ = [
    "Cosmology",
    "E",
    "Omega_m_a",
    "cic_paint",
    "cic_readout",
    "displacement",
    "fastpm",
    "fft_wavenumbers",
    "growth_factor",
    "growth_hypergeometric",
    "growth_rate",
    "lagrangian_grid",
    "linear_field",
    "linear_power",
    "lpt",
    "lpt_terms",
    "poisson_force",
    "sigma8",
    "sigma_r",
    "simulate_displacements",
    "step_factors",
    "transfer_eh",
]
