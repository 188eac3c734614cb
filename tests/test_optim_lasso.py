"""ISTA/FISTA/CoD for the lasso: optimality (KKT), an independent exhaustive solver, the O(1/k)
and O(1/k^2) rates, backtracking, operators (adjointness, norm) and one-line errors."""

import itertools

import jax
import numpy as np
import pytest
from sciml.solvers.optim import (
    check_adjoint,
    conv_dictionary_operator,
    coordinate_descent,
    fista,
    ista,
    kkt_violation,
    lasso_objective,
    linear_operator,
    matrix_operator,
    power_iteration,
    soft_threshold,
)


@pytest.fixture(scope="module")
def f64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture(scope="module")
def problem(f64):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((5, 7))
    D /= np.linalg.norm(D, axis=0)
    z = np.zeros(7)
    z[[1, 4]] = [1.5, -1.0]
    y = D @ z + 0.05 * rng.standard_normal(5)
    return D, y, 0.1


def exhaustive_lasso(D, y, lam):
    """Independent solver: for every support S and sign pattern s, the stationary point
    x_S = (D_S^T D_S)^-1 (D_S^T y - lam s) if consistent; the best objective wins."""
    n, m = D.shape
    best, best_x = 0.5 * y @ y, np.zeros(m)
    for k in range(1, n + 1):
        for S in itertools.combinations(range(m), k):
            A = D[:, S]
            G = A.T @ A
            for signs in itertools.product((-1.0, 1.0), repeat=k):
                xs = np.linalg.solve(G, A.T @ y - lam * np.array(signs))
                if np.all(np.sign(xs) == signs):
                    x = np.zeros(m)
                    x[list(S)] = xs
                    f = 0.5 * np.sum((D @ x - y) ** 2) + lam * np.abs(x).sum()
                    if f < best:
                        best, best_x = f, x
    return best_x


def test_fista_satisfies_kkt_and_matches_exhaustive_solver(problem):
    D, y, lam = problem
    op = matrix_operator(D)
    x = np.asarray(fista(op, y, lam, iters=3000).x)
    assert 0 < np.count_nonzero(x) < 5
    assert float(kkt_violation(op, y, x, lam)) < 1e-8
    g = D.T @ (y - D @ x)
    on = x != 0
    np.testing.assert_allclose(g[on], lam * np.sign(x[on]), atol=1e-9)
    assert np.all(np.abs(g[~on]) <= lam + 1e-9)
    np.testing.assert_allclose(x, exhaustive_lasso(D, y, lam), atol=1e-8)
    # ISTA with backtracking and CoD reach the same minimiser.
    xi = np.asarray(ista(op, y, lam, iters=4000, backtracking=True).x)
    np.testing.assert_allclose(xi, x, atol=1e-7)
    xc = np.asarray(coordinate_descent(D, y[None], lam, iters=3000))[0]
    np.testing.assert_allclose(xc, x, atol=1e-7)


def test_fista_rate_is_square_of_ista_rate(f64):
    # Least squares with the first-difference matrix (condition number ~ n^2): before the
    # smallest eigenvalue matters, ISTA's gap falls as k^-a and FISTA's as k^-2a (a = 1/2 here)
    # and both respect the theorems' bounds L R^2 / 2k and 2 L R^2 / (k+1)^2.
    n = 200
    A = np.eye(n + 1, n) - np.eye(n + 1, n, k=-1)
    y = np.zeros(n + 1)
    y[0] = 1.0
    op = matrix_operator(A)
    x_star = np.linalg.lstsq(A, y, rcond=None)[0]
    f_star = float(lasso_objective(op, y, x_star, 0.0))
    L = 4.0
    gi = np.asarray(ista(op, y, 0.0, iters=200, lipschitz=L, track=True).objective) - f_star
    gf = np.asarray(fista(op, y, 0.0, iters=200, lipschitz=L, track=True).objective) - f_star
    k = np.arange(1, 201)
    R2 = np.sum(x_star**2)
    assert np.all(gi <= L * R2 / (2 * k)) and np.all(gf <= 2 * L * R2 / (k + 1) ** 2)
    slope_i = np.log(gi[199] / gi[19]) / np.log(10)
    slope_f = np.log(gf[199] / gf[19]) / np.log(10)
    np.testing.assert_allclose(slope_f / slope_i, 2.0, atol=0.35)
    assert gf[199] < gi[199] / 5


def test_soft_threshold_real_and_complex(f64):
    np.testing.assert_allclose(soft_threshold(np.array([-2.0, -0.5, 0.5, 3.0]), 1.0), [-1, 0, 0, 2])
    z = np.array([3 + 4j, 0.3 + 0.4j])
    np.testing.assert_allclose(soft_threshold(z, 1.0), [(3 + 4j) * 0.8, 0], atol=1e-15)


def test_operators_adjoint_and_norm(f64):
    key = jax.random.key(0)
    rng = np.random.default_rng(1)
    D = rng.standard_normal((6, 9))
    op = matrix_operator(D)
    assert check_adjoint(op, key=key) < 1e-12
    np.testing.assert_allclose(power_iteration(op, key=key), np.linalg.norm(D, 2) ** 2, rtol=1e-8)
    for k in (3, 4):  # odd and even kernels
        conv = conv_dictionary_operator(rng.standard_normal((k, k, 3)), (8, 8))
        assert check_adjoint(conv, key=key) < 1e-12
    # Periodic convolution with a delta kernel at the centre is the identity.
    delta = np.zeros((3, 3, 1))
    delta[1, 1, 0] = 1.0
    z = rng.standard_normal((2, 8, 8, 1))
    np.testing.assert_allclose(conv_dictionary_operator(delta, (8, 8))(z), z, atol=1e-14)


def test_bad_inputs_are_one_line_errors(problem):
    D, y, lam = problem
    op = matrix_operator(D)
    with pytest.raises(ValueError, match=r"fista: lipschitz: expected a finite constant > 0.*-1"):
        fista(op, y, lam, lipschitz=-1.0)
    with pytest.raises(ValueError, match=r"ista: lipschitz: expected a finite constant > 0.*0.0"):
        ista(op, y, lam, lipschitz=0.0)
    bad = y.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match=r"fista: y: expected finite measurements, found 1 NaN"):
        fista(op, bad, lam)
    with pytest.raises(ValueError, match=r"y: expected shape \(\*batch, 5\)"):
        fista(op, np.ones(4), lam)
    with pytest.raises(ValueError, match=r"not adjoint: <A x, y> and <x, A\^H y> differ"):
        linear_operator(lambda x: x @ D.T, lambda r: 2.0 * (r @ D), (7,), (5,))
    with pytest.raises(ValueError, match=r"expected unit-norm columns"):
        coordinate_descent(2.0 * D, y[None], lam)
    with pytest.raises(ValueError, match=r"matrix: expected a 2-D"):
        matrix_operator(np.ones(3))
