"""Flat LCDM background, growth and the Eisenstein & Hu power spectrum of sciml.solvers.pm."""

import numpy as np
import pytest
from sciml.solvers import pm


def test_growth_anchors():
    c = pm.Cosmology(Omega_m=0.3075)
    d = pm.growth_factor(c, [0.1, 0.5, 1.0])
    np.testing.assert_allclose(d, [0.12759, 0.60925, 1.0], rtol=4e-5)
    np.testing.assert_allclose(pm.growth_rate(c, [0.5, 1.0]), [0.87306, 0.51999], rtol=2e-5)
    c3 = pm.Cosmology(Omega_m=0.3)
    np.testing.assert_allclose(pm.growth_factor(c3, 1.0, normalized=False), 0.77898, rtol=2e-5)
    np.testing.assert_allclose(pm.growth_rate(c3, 1.0), 0.51280, rtol=2e-5)
    a = np.array([0.1, 0.5, 1.0])
    ratio = pm.growth_factor(c3, a, order=2) / pm.growth_factor(c3, a) ** 2
    # convention D2 = +3/7 D1^2 early (pmwd); Omega_m = 0.3 anchor 0.4323 at a = 1
    np.testing.assert_allclose(ratio, [0.42858, 0.42935, 0.43227], rtol=3e-5)
    np.testing.assert_allclose(
        pm.growth_factor(c3, 1e-4, order=2, normalized=False), 3 / 7 * 1e-8, rtol=1e-6
    )


@pytest.mark.parametrize("omega_m", [0.1, 0.3089, 0.5, 1.0])
def test_growth_matches_hypergeometric(omega_m):
    c = pm.Cosmology(Omega_m=omega_m, Omega_b=0.04)
    a = np.geomspace(0.01, 2.0, 17)
    d_ref, f_ref = pm.growth_hypergeometric(c, a)
    np.testing.assert_allclose(pm.growth_factor(c, a, normalized=False), d_ref, rtol=1e-8)
    np.testing.assert_allclose(pm.growth_rate(c, a), f_ref, rtol=1e-8)


def test_second_order_rate_is_log_derivative():
    c = pm.Cosmology(Omega_m=0.25)
    a = np.array([0.05, 0.3, 1.0])
    h = 1e-4
    num = (
        np.log(pm.growth_factor(c, a * np.exp(h), order=2))
        - np.log(pm.growth_factor(c, a * np.exp(-h), order=2))
    ) / (2 * h)
    np.testing.assert_allclose(pm.growth_rate(c, a, order=2), num, rtol=1e-7)
    # Einstein-de Sitter: f1 = 1, f2 = 2 exactly
    eds = pm.Cosmology(Omega_m=1.0, Omega_b=0.04)
    np.testing.assert_allclose(pm.growth_rate(eds, a, order=2), 2.0, rtol=1e-8)


def test_hubble_rate():
    c = pm.Cosmology(Omega_m=0.3)
    np.testing.assert_allclose(pm.E(c, [1.0, 0.5]), [1.0, np.sqrt(0.3 * 8 + 0.7)], rtol=1e-14)


# T(k) of jax-cosmo 0.1.0 (jc.transfer.Eisenstein_Hu) for the default Cosmology(): an
# independent implementation of EH98, computed once (jax-cosmo needs pkg_resources, which
# setuptools 84 no longer ships, so it cannot be a live test dependency).
K_REF = np.array([0.001, 0.01, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 3.0])
T_JAXCOSMO = {
    False: [9.92018463e-01, 7.85396057e-01, 4.35634520e-01, 2.77877227e-01, 1.33108879e-01,
            5.45619707e-02, 1.40681505e-02, 4.64572580e-03, 7.33462838e-04],
    True: [9.92203370e-01, 7.79486099e-01, 4.33992311e-01, 2.70776271e-01, 1.30842927e-01,
           5.49477196e-02, 1.40714841e-02, 4.67677199e-03, 7.41406053e-04],
}  # fmt: skip


@pytest.mark.parametrize("wiggles", [False, True])
def test_transfer_matches_jax_cosmo(wiggles):
    t = pm.transfer_eh(pm.Cosmology(), K_REF, wiggles=wiggles)
    np.testing.assert_allclose(t, T_JAXCOSMO[wiggles], rtol=1.5e-3)


def test_power_normalisation():
    k = np.geomspace(1e-3, 2.0, 50)
    # sigma8 normalisation reproduces itself, with and without wiggles
    for wiggles in (False, True):
        c = pm.Cosmology(sigma8=0.8)
        np.testing.assert_allclose(pm.sigma8(c, wiggles=wiggles), 0.8, rtol=1e-10)
    # the A_s normalisation, then re-normalised to its own sigma8, gives the same P(k)
    ca = pm.Cosmology()
    s8 = pm.sigma8(ca)
    assert 0.80 < s8 < 0.86  # Planck 2015 (with 0.06 eV neutrinos, CAMB): 0.8159
    cs = ca.replace(sigma8=s8)
    np.testing.assert_allclose(pm.linear_power(cs, k), pm.linear_power(ca, k), rtol=1e-8)
    # growth scaling and P(0) = 0
    np.testing.assert_allclose(
        pm.linear_power(ca, k, a=0.5), pm.linear_power(ca, k) * pm.growth_factor(ca, 0.5) ** 2
    )
    assert pm.linear_power(ca, 0.0) == 0.0
    # sigma8 against an independent adaptive quadrature in k
    from scipy.integrate import quad

    def integrand(lnk):
        kk = np.exp(lnk)
        x = 8.0 * kk
        w = 3 * (np.sin(x) - x * np.cos(x)) / x**3
        return kk**3 * pm.linear_power(ca, kk) / (2 * np.pi**2) * w * w

    ref = np.sqrt(quad(integrand, np.log(1e-5), np.log(1e3), limit=400)[0])
    np.testing.assert_allclose(s8, ref, rtol=1e-6)


def test_wiggles_oscillate_around_no_wiggle():
    c = pm.Cosmology()
    k = np.linspace(0.02, 0.4, 2000)
    r = pm.linear_power(c, k) / pm.linear_power(c, k, wiggles=False)
    assert np.all(np.abs(r - 1) < 0.1)
    crossings = np.sum(np.diff(np.sign(r - 1)) != 0)
    assert crossings >= 6  # BAO: period ~ 2 pi / r_s ~ 0.06 h/Mpc


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"Omega_m": -0.3}, "Omega_m expected a number in"),
        ({"Omega_b": -0.01}, "Omega_b expected a number in"),
        ({"Omega_m": 0.04, "Omega_b": 0.05}, "Omega_b expected < Omega_m"),
        ({"sigma8": 0.8, "A_s": 2e-9}, "one of sigma8 or A_s"),
        ({"h": float("nan")}, "h expected"),
        ({"sigma8": -1.0}, "sigma8 expected a number > 0"),
    ],
)
def test_bad_cosmology(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pm.Cosmology(**kwargs)


def test_bad_scale_factor():
    with pytest.raises(
        ValueError, match=r"a: expected scale factors .* found 0; a = 0 is the Big Bang"
    ):
        pm.growth_factor(pm.Cosmology(), 0.0)
    with pytest.raises(ValueError, match="found nan"):
        pm.E(pm.Cosmology(), [0.5, np.nan])
    with pytest.raises(ValueError, match="k expected finite"):
        pm.linear_power(pm.Cosmology(), [-1.0])
