"""Coarse-graining: exactness for resolved fields, conservation, layouts, commuting with solvers."""

import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import Grid, Heat, coarse_grid, coarsen


def _field(grid, modes):
    mesh = grid.mesh()
    out = np.zeros(grid.shape)
    for amp, m, phase in modes:
        out += amp * np.cos(
            sum(2 * np.pi * mi * x / L for mi, x, L in zip(m, mesh, grid.length)) + phase
        )
    return out


def test_spectral_coarsening_is_exact_for_resolved_fields():
    fine = Grid((48, 40), (2.0, 1.0))
    coarse = coarse_grid(fine, (12, 10))
    assert coarse.shape == (12, 10) and coarse.length == fine.length
    modes = [(1.0, (1, 2), 0.3), (0.5, (-5, 3), 1.0), (0.2, (0, 4), 0.0)]  # |m| < N_c / 2
    u = _field(fine, modes)[None, ..., None]
    out = coarsen(jnp.asarray(u, jnp.float32), (12, 10))
    assert out.shape == (1, 12, 10, 1) and out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out[0, ..., 0]), _field(coarse, modes), atol=1e-5)
    # Unresolved modes (|m| >= N_c / 2, incl. the coarse Nyquist) are removed, not aliased.
    high = _field(fine, [(1.0, (6, 0), 0.0), (1.0, (9, 7), 0.0)])[None, ..., None]
    np.testing.assert_allclose(np.asarray(coarsen(jnp.asarray(high), (12, 10))), 0.0, atol=1e-5)
    # No divisibility needed.
    odd = coarsen(jnp.asarray(u, jnp.float32), (15, 11))
    np.testing.assert_allclose(
        np.asarray(odd[0, ..., 0]), _field(coarse_grid(fine, (15, 11)), modes), atol=1e-5
    )


@pytest.mark.parametrize("ratio", [3, 4])
def test_block_coarsening_is_a_centred_box_filter_and_conserves_the_mean(ratio):
    n = 8 * ratio
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2, 3, n, 1))  # (batch, time, x, C)
    out = np.asarray(coarsen(jnp.asarray(u, jnp.float32), 8, ndim=1, method="block"))
    assert out.shape == (2, 3, 8, 1)
    np.testing.assert_allclose(out.mean(axis=2), u.mean(axis=2), atol=1e-6)
    j = 3  # coarse point x_j = j * ratio * dx: the cell [x_j - dx_c / 2, x_j + dx_c / 2]
    centre = j * ratio
    if ratio % 2:
        expected = u[..., centre - 1 : centre + 2, 0].mean(axis=-1)
    else:
        w = np.array([0.5, 1, 1, 1, 0.5]) / 4
        expected = (u[..., centre - 2 : centre + 3, 0] * w).sum(axis=-1)
    np.testing.assert_allclose(out[..., j, 0], expected, atol=1e-6)
    # A linear function inside a cell is reproduced at the centre (no half-cell shift).
    x = np.arange(n, dtype=float)
    ramp = np.sin(2 * np.pi * x / n)[None, :, None]
    got = np.asarray(coarsen(jnp.asarray(ramp), 8, method="block"))[0, :, 0]
    np.testing.assert_allclose(got, np.sin(2 * np.pi * np.arange(8) * ratio / n), atol=0.06)


def test_block_coarsening_in_3d_with_time_axis():
    u = np.random.default_rng(1).normal(size=(1, 2, 8, 4, 6, 2))
    out = coarsen(jnp.asarray(u, jnp.float32), (4, 2, 3), method="block")
    assert out.shape == (1, 2, 4, 2, 3, 2)
    np.testing.assert_allclose(
        np.asarray(out).mean(axis=(2, 3, 4)), u.mean(axis=(2, 3, 4)), atol=1e-6
    )


def test_spectral_coarsening_commutes_with_the_heat_step():
    fine = Grid((64,), (1.0,))
    coarse = coarse_grid(fine, 16)
    u = np.random.default_rng(2).normal(size=(3, 64, 1)).astype(np.float32)
    a = coarsen(Heat(fine, 0.01, nu=0.01)(jnp.asarray(u)), 16)
    b = Heat(coarse, 0.01, nu=0.01)(coarsen(jnp.asarray(u), 16))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def test_coarsen_rejects_bad_input():
    u = jnp.zeros((1, 30, 1))
    with pytest.raises(ValueError, match="block averaging needs fine sizes divisible"):
        coarsen(u, 8, method="block")
    with pytest.raises(ValueError, match="coarsen: method: expected one of spectral, block"):
        coarsen(u, 10, method="mean")
    with pytest.raises(ValueError, match="must be between 2 and the fine shape"):
        coarsen(u, 40)
    with pytest.raises(ValueError, match="expected an array"):
        coarsen(jnp.zeros((30, 30)), (10, 10))
