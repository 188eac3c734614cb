"""The `graphs` reproduction: registered, and its spectral-filtering stage denoises pygsp graphs."""

import numpy as np
import pytest

from sciml.experiments import registry


def test_graphs_reproduction_is_registered():
    from sciml.experiments.graphs import reproduce

    assert registry.get("graphs") is reproduce


def test_chebyshev_least_squares_filter_denoises_pygsp_graphs():
    pytest.importorskip("pygsp")
    from sciml.experiments.graphs import Setup, _spectral_filtering

    res = _spectral_filtering(Setup(n_signals=8, filter_orders=(1, 6)), seed=0)
    assert set(res) == {"airfoil", "minnesota", "bunny"}
    assert res["airfoil"]["nodes"] == 4253 and res["minnesota"]["nodes"] == 2642
    for name, r in res.items():
        assert 5.5 < r["snr_in_db"] < 6.5, (name, r)  # noise std 0.5 on unit-variance signals
        # a localised (K = 6) filter beats the best scalar gain (K = 1) by a margin
        assert r["snr_out_db_K6"] > r["snr_out_db_K1"] + 1.0, (name, r)
        assert r["snr_out_db_K1"] >= r["snr_in_db"] - 0.1


# ------------------------------------------------------------------ long rollouts (graphs_long)


@pytest.fixture(scope="module")
def long_reference():
    """The FEM reference over 1000 frames (t = 50) on the 8 x 8 grid from three bump fields."""
    from sciml.solvers.fem import rectangle

    from sciml.experiments.graphs import Setup
    from sciml.experiments.graphs_long import long_frames, reference_phase

    setup = Setup(n_cells=8, substeps=1)  # one Crank-Nicolson step per frame: cheap
    mesh = rectangle(8, 8)
    rng = np.random.default_rng(0)
    centres, signs = rng.uniform(0.2, 0.8, (3, 4, 2)), rng.choice([-1.0, 1.0], (3, 4))
    d2 = ((mesh.nodes[None, None] - centres[:, :, None]) ** 2).sum(-1)  # (3, 4, N)
    z0 = np.einsum("sb,sbn->sn", signs, np.exp(-d2 / (2 * 0.1**2)))[..., None]
    z0[:, np.unique(mesh.boundary_edges)] = 0.0  # the Dirichlet value
    ref, context, _ = reference_phase(mesh, setup, z0, long_frames(setup))
    return ref, context


def test_long_horizon_is_1000_steps_or_50_training_horizons():
    from sciml.experiments.graphs import Setup
    from sciml.experiments.graphs_long import long_frames

    assert long_frames(Setup()) == 1000
    assert long_frames(Setup(unroll=40)) == 2000


def test_fem_eigenvalue_is_an_upper_bound_converging_at_second_order():
    from sciml.solvers.fem import FEMHeat, rectangle

    from sciml.experiments.graphs_long import dirichlet_modes

    err = []
    for n in (4, 8, 16):
        mesh = rectangle(n, n)
        solver = FEMHeat(mesh, 0.01, dirichlet={t: 0.0 for t in mesh.tag_names})
        lam, modes = dirichlet_modes(solver)
        np.testing.assert_allclose(modes.T @ (solver.M @ modes), np.eye(lam.size), atol=1e-10)
        err.append(lam[0] / (2 * np.pi**2) - 1)
    assert all(e > 0 for e in err)  # conforming Galerkin: min-max upper bound
    np.testing.assert_allclose(np.log2(np.array(err[:-1]) / err[1:]), 2.0, atol=0.05)


def test_fem_reference_decays_at_2pi2_kappa_up_to_the_fem_eigenvalue_error(long_reference):
    from sciml.experiments.graphs_long import reference_summary

    ref, context = long_reference
    r = reference_summary(ref, **context)
    assert r["long_horizon"] == 50.0 and r["energy_monotone_fraction"] == 1.0
    # the fitted rate is Crank-Nicolson's for the FEM's discrete kappa lambda_1,h (a = kappa
    # lambda_1,h dt: r = -log((1 - a / 2) / (1 + a / 2)) / dt = kappa lambda_1,h (1 + a^2 / 12 ..))
    a, dt = r["decay_rate_fem_discrete"] * context["dt"], context["dt"]
    assert r["decay_rate"] == pytest.approx(-np.log((1 - a / 2) / (1 + a / 2)) / dt, rel=1e-6)
    # ... so its error against 2 pi^2 kappa is the spatial discretisation error (3.9 % at h = 1/8)
    assert r["decay_rate_rel_error_analytic"] == pytest.approx(r["fem_eigenvalue_rel_error"], 2e-3)
    assert 0.03 < r["fem_eigenvalue_rel_error"] < 0.05
    assert r["late_energy_outside_slowest_mode"] < 1e-10
    assert r["late_shell_spectrum"][0] == pytest.approx(1.0, abs=1e-10)  # all in shell 1


def test_long_statistics_flag_a_spurious_fixed_point_and_a_blow_up(long_reference):
    from sciml.experiments.graphs_long import long_statistics
    from sciml.metrics.dissipation import weighted_norm

    ref, context = long_reference
    exact = long_statistics(ref.astype(np.float32), ref, **context)
    assert exact["bounded_fraction_long"] == 1.0 and exact["energy_monotone_fraction"] == 1.0
    assert exact["decay_rate_rel_error"] < 1e-4 and exact["blowup_time_learned"] == np.inf
    assert exact["spectrum_error_long"] < 1e-10
    assert exact["long_horizon_over_training_horizon"] == pytest.approx(1000.0)
    # an emulator with a spurious zero u* of its tendency: u = ref + (1 - exp(-t)) u*
    m, modes = context["solver"].M, context["modes"]
    u_star = 0.01 * (modes[:, 0] + modes[:, 1])[:, None]
    t = np.arange(ref.shape[1]) * context["dt"]
    stuck = ref + (1 - np.exp(-t))[None, :, None, None] * u_star
    s = long_statistics(stuck, ref, **context)
    assert s["bounded_fraction_long"] == 1.0 and s["decay_rate_rel_error"] == pytest.approx(1, 1e-3)
    # half its late energy sits outside the slowest mode (up to the reference's share, which is
    # below exp(-kappa lambda_1 25) ~ 4e-5 of its initial norm); its norm stays at ||u*||
    assert s["late_energy_outside_slowest_mode"] == pytest.approx(0.5, abs=1e-4)
    assert s["spectrum_error_long"] == pytest.approx(0.5, abs=1e-4)  # mode 2 is in shell 2
    norm0 = np.median(weighted_norm(ref[:, :1], m)[:, 0])
    assert s["final_norm_over_initial"] == pytest.approx(0.01 * np.sqrt(2) / norm0, rel=0.2)
    # a stepper that amplifies: the first trajectory grows by exp(t), the others are exact
    grow = ref.copy()
    grow[0] *= np.exp(t)[:, None, None]
    g = long_statistics(grow, ref, **context)
    assert g["bounded_fraction_long"] == pytest.approx(2 / 3)
    assert 0 < g["blowup_time_learned"] < 50 and g["energy_monotone_fraction"] == pytest.approx(
        2 / 3
    )
    assert g["decay_rate_rel_error"] < 1e-4  # over the bounded trajectories only


def test_stability_recipes_and_bad_g0(tmp_path):
    from sciml.experiments.graphs import RECIPES, Setup, recipe, reproduce

    s = recipe(Setup(), "grid/convnet")
    assert (s.g0, s.noise_std) == (RECIPES["grid/convnet"]["g0"], 0.05)
    assert recipe(Setup(stabilised=False), "grid/convnet") == Setup(stabilised=False)
    with pytest.raises(ValueError, match=r"Setup\.g0: expected one of .*found 'bias'"):
        reproduce(tmp_path / "out", setup=Setup(g0="bias"))
    assert not (tmp_path / "out").exists()  # refused before any work
