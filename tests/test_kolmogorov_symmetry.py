"""Kolmogorov-flow symmetries (sciml.solvers.kolmogorov_symmetry): each image of a state is again
a solution, i.e. the map commutes with the finite-volume and the spectral step; the group has the
stated structure; bad grids are refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import Grid, NavierStokes2D
from sciml.solvers.fvns import FiniteVolumeNS2D
from sciml.solvers.kolmogorov_symmetry import kolmogorov_images, rotate_180, shift_reflect

TWO_PI = 2 * np.pi
PARAMS = {"nu": 0.01, "drag": 0.1, "forcing_wavenumber": 2, "forcing_amplitude": 1.0}


@pytest.fixture(scope="module", autouse=True)
def _x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


@pytest.fixture(scope="module")
def state():
    """A generic (no symmetry of its own) float64 field on 16^2."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 16, 16, 1))
    spec = np.fft.fft2(w[..., 0])
    k = np.fft.fftfreq(16, 1 / 16)
    spec *= np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / 8)  # smooth, but every mode present
    return 5 * np.fft.ifft2(spec).real[..., None]


@pytest.mark.parametrize("cls", [FiniteVolumeNS2D, NavierStokes2D])
def test_images_commute_with_the_solvers(state, cls):
    """step(g w) = g step(w) for g in {R, S, RS}, to round-off (float64), after 5 steps; and the
    images differ from w (the test would see a wrong map)."""
    solver = cls(Grid((16, 16), (TWO_PI, TWO_PI)), 0.02, **PARAMS)
    run = jax.jit(lambda w: jax.lax.fori_loop(0, 5, lambda _, x: solver(x), w))
    images = kolmogorov_images(state, 2)
    stepped = np.asarray(run(jnp.asarray(images)))
    expected = kolmogorov_images(np.asarray(run(jnp.asarray(state))), 2)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(stepped, expected, rtol=0, atol=1e-12 * scale)
    for img in images[1:]:
        assert np.abs(img - state[0]).max() > 0.1 * scale


def test_group_structure(state):
    """R^2 = 1; S^2 = translation by one forcing wavelength (Ny / n_f cells); R S = S R up to that
    translation (so modulo translations the images {1, R, S, RS} form a group)."""
    np.testing.assert_array_equal(rotate_180(rotate_180(state)), state)
    np.testing.assert_array_equal(shift_reflect(shift_reflect(state, 2), 2), np.roll(state, 8, -2))
    np.testing.assert_array_equal(
        rotate_180(shift_reflect(state, 2)), np.roll(shift_reflect(rotate_180(state), 2), -8, -2)
    )
    assert kolmogorov_images(state[None], 2, axis=1).shape == (1, 4, 16, 16, 1)


def test_refuses_a_grid_without_a_whole_half_wavelength():
    with pytest.raises(ValueError, match=r"Ny = 12 .* multiple of 2 n_f = 8"):
        shift_reflect(np.zeros((1, 12, 12, 1)), 4)
