"""P1 finite elements: assembly identities, second-order convergence to manufactured solutions,
exact energy conservation of the undamped wave, consistent vs lumped mass, bad input."""

import numpy as np
import pytest
from sciml.solvers.fem import (
    FEMHeat,
    FEMWave,
    l2_norm,
    l_shape,
    mass,
    rectangle,
    rectangle_with_hole,
    refine,
    stiffness,
)

# manufactured solution: smooth, not an eigenfunction, non-zero on every boundary
A, B = 1.3, 0.9


def shape(x):
    return np.sin(A * x[..., 0] + 0.4) * np.cos(B * x[..., 1])


def shape_x(x):
    return A * np.cos(A * x[..., 0] + 0.4) * np.cos(B * x[..., 1])


def shape_y(x):
    return -B * np.sin(A * x[..., 0] + 0.4) * np.sin(B * x[..., 1])


def slope(hs, errs):
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.fixture(scope="module")
def hole_meshes():
    m = rectangle_with_hole(0.4)
    return [m, refine(m), refine(refine(m))]


@pytest.fixture(scope="module")
def l_meshes():
    m = l_shape(0.5)
    return [m, refine(m), refine(refine(m))]


def test_assembly_identities():
    m = rectangle_with_hole(0.3)
    k, mc, ml = stiffness(m), mass(m), mass(m, lumped=True)
    one, x = np.ones(m.n_nodes), m.nodes[:, 0]
    np.testing.assert_allclose(k @ one, 0, atol=1e-12)  # constants are in the kernel
    area = m.areas.sum()
    np.testing.assert_allclose(one @ mc @ one, area, rtol=1e-13)
    np.testing.assert_allclose(one @ ml @ one, area, rtol=1e-13)
    np.testing.assert_allclose(x @ k @ x, area, rtol=1e-12)  # int |grad x|^2 = |Omega|
    np.testing.assert_allclose(abs(k - k.T).max(), 0, atol=1e-14)
    # int x^2 exactly by the consistent mass (x is P1)
    np.testing.assert_allclose(x @ mc @ x, l2_norm(m, x) ** 2, rtol=1e-12)


def test_heat_manufactured_solution_converges_at_second_order(hole_meshes):
    """u = exp(-t/2) sin(1.3 x + 0.4) cos(0.9 y): Dirichlet on 4 tags, Neumann on 'right'."""
    kappa, T = 0.5, 0.5

    def u(x, t):
        return np.exp(-0.5 * t) * shape(x)

    def f(x, t):
        return (-0.5 + kappa * (A**2 + B**2)) * u(x, t)

    def q_right(x, t):  # outward normal +x
        return np.exp(-0.5 * t) * shape_x(x)

    errs, hs = [], []
    for lvl, m in enumerate(hole_meshes):
        n = 4 * 2**lvl  # dt ~ h: Crank-Nicolson keeps O(h^2)
        s = FEMHeat(
            m,
            T / n,
            kappa=kappa,
            dirichlet={"left": u, "top": u, "bottom": u, "hole": u},
            neumann={"right": q_right},
            source=f,
        )
        traj, times = s.run(u(m.nodes, 0.0)[:, None], n)
        np.testing.assert_allclose(times[-1], T)
        errs.append(l2_norm(m, traj[-1, :, 0], lambda x: u(x, T)))
        hs.append(m.h)
    p = slope(hs, errs)
    assert 1.85 < p < 2.3, (p, errs)
    assert errs[-1] < 2e-3


@pytest.mark.parametrize("scheme,mass_kind", [("newmark", "consistent"), ("leapfrog", "lumped")])
def test_wave_manufactured_solution_converges_at_second_order(l_meshes, scheme, mass_kind):
    """u = cos(2t) sin(1.3 x + 0.4) cos(0.9 y), time-dependent Dirichlet data, Neumann on top."""
    c, w, T = 1.2, 2.0, 0.5

    def u(x, t):
        return np.cos(w * t) * shape(x)

    def v(x, t):
        return -w * np.sin(w * t) * shape(x)

    def f(x, t):
        return (-(w**2) + c**2 * (A**2 + B**2)) * u(x, t)

    errs, hs = [], []
    for lvl, m in enumerate(l_meshes):
        n = 8 * 2**lvl
        s = FEMWave(
            m, T / n, c=c, scheme=scheme, mass=mass_kind, dirichlet={"boundary": u}, source=f
        )
        z0 = np.stack([u(m.nodes, 0.0), v(m.nodes, 0.0)], -1)
        traj, _ = s.run(z0, n)
        errs.append(l2_norm(m, traj[-1, :, 0], lambda x: u(x, T)))
        hs.append(m.h)
    p = slope(hs, errs)
    assert 1.85 < p < 2.3, (p, errs)


@pytest.mark.parametrize("scheme", ["newmark", "leapfrog"])
@pytest.mark.parametrize("mass_kind", ["consistent", "lumped"])
def test_undamped_wave_conserves_discrete_energy(scheme, mass_kind):
    m = rectangle_with_hole(0.3)
    s = FEMWave(m, 0.02, scheme=scheme, mass=mass_kind, dirichlet={"hole": 0.0, "left": 0.0})
    bump = np.exp(-20 * ((m.nodes[:, 0] - 1.3) ** 2 + (m.nodes[:, 1] - 0.5) ** 2))
    bump[s.bc.dirichlet_nodes] = 0.0
    z0 = np.stack([bump, 0.3 * bump], -1)
    traj, _ = s.run(z0, 200, save_every=20)
    modified = scheme == "leapfrog"
    e = np.array([s.energy(traj[j], modified=modified) for j in range(traj.shape[0])])
    np.testing.assert_allclose(e, e[0], rtol=1e-12)
    assert np.ptp(traj[:, :, 0]) > 0.5  # the wave actually moved
    if modified:  # the plain energy of leapfrog oscillates at O(dt^2) but does not drift
        plain = np.array([s.energy(traj[j]) for j in range(traj.shape[0])])
        assert np.max(np.abs(plain / plain[0] - 1)) < 0.05


def test_leapfrog_stability_limit_is_checked():
    m = rectangle(6, 6)
    limit = FEMWave(m, 1e-3, scheme="leapfrog", mass="lumped").max_stable_dt()
    # P1 lumped on right triangles: lambda_max(M^-1 K) = 8 / h^2 * (1 - cos(...)) < 16 / h^2
    assert 0.9 * (1 / 6) / 2 < limit < 1.01 * (1 / 6) / np.sqrt(2)
    with pytest.raises(
        ValueError, match=r"leapfrog is unstable for dt=.* use dt < .* or scheme='newmark'"
    ):
        FEMWave(m, 1.01 * limit, scheme="leapfrog", mass="lumped")


def test_consistent_and_lumped_mass_agree_as_h_goes_to_zero(hole_meshes):
    diffs = []
    for m in hole_meshes:
        u0 = np.exp(-10 * ((m.nodes[:, 0] - 1.2) ** 2 + (m.nodes[:, 1] - 0.5) ** 2))[:, None]
        runs = [
            FEMHeat(m, 0.01, kappa=0.1, mass=k, dirichlet={"left": 0.0}).run(u0, 20)[0][-1, :, 0]
            for k in ("consistent", "lumped")
        ]
        diffs.append(l2_norm(m, runs[0] - runs[1]))
    assert diffs[0] > diffs[1] > diffs[2]
    assert 1.7 < slope([1, 0.5, 0.25], diffs) < 2.3, diffs


def test_insulated_heat_conserves_total_heat_and_decays_to_the_mean():
    m = l_shape(0.4)
    for kind in ("consistent", "lumped"):
        s = FEMHeat(m, 0.05, kappa=1.0, mass=kind, scheme="implicit-euler")
        u0 = np.sin(3 * m.nodes[:, 0]) + m.nodes[:, 1] ** 2
        traj, _ = s.run(u0[:, None], 200, save_every=50)
        q = s.total_heat(traj)
        np.testing.assert_allclose(q, q[0], rtol=1e-12)
        np.testing.assert_allclose(traj[-1, :, 0], q[0] / m.areas.sum(), atol=1e-6)


def test_batched_equals_one_at_a_time():
    m = l_shape(0.5)
    s = FEMWave(m, 0.05, dirichlet={"boundary": 0.0})
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, m.n_nodes, 2))
    both = s.step(z)
    for i in range(3):
        np.testing.assert_allclose(both[i], s.step(z[i]), rtol=1e-13, atol=1e-13)


def test_bad_solver_input():
    m = l_shape(0.5)
    with pytest.raises(
        ValueError, match=r"boundary tag 'hole' is not on mesh 'l-shape' \(tags: \['boundary'\]\)"
    ):
        FEMHeat(m, 0.1, dirichlet={"hole": 0.0})
    with pytest.raises(ValueError, match=r"kappa: expected a positive number, found -1\.0"):
        FEMHeat(m, 0.1, kappa=-1)
    with pytest.raises(
        ValueError, match=r"mass: expected one of \['consistent', 'lumped'\], found 'diag'"
    ):
        FEMWave(m, 0.1, mass="diag")
    with pytest.raises(ValueError, match=r"state: expected \(batch, \d+, 2\)"):
        FEMWave(m, 0.1).step(np.zeros((2, m.n_nodes, 1)))
    with pytest.raises(ValueError, match="both Dirichlet and Neumann"):
        FEMHeat(m, 0.1, dirichlet={"boundary": 0.0}, neumann={"boundary": 1.0})
