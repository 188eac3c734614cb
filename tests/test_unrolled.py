"""LISTA, LCoD and ConvLISTA: initialised as the classical solvers they unroll, better than ISTA
at equal depth after brief training through sciml.train.fit, and one-line errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.datasets import ArraySource
from sciml.solvers.optim import (
    conv_dictionary_operator,
    coordinate_descent,
    fista,
    ista,
    matrix_operator,
    power_iteration,
)

from sciml.train import MeshConfig, OptimConfig, TrainConfig, fit
from sciml.unrolled import LISTA, ConvLISTA, LCoD, SparseCodingTask, count_parameters


@pytest.fixture(scope="module")
def sparse_data():
    rng = np.random.default_rng(0)
    n, m, N = 16, 32, 1200
    D = rng.standard_normal((n, m))
    D /= np.linalg.norm(D, axis=0)
    z = rng.standard_normal((N, m)) * (rng.random((N, m)) < 0.1)
    y = (z @ D.T + 0.02 * rng.standard_normal((N, n))).astype(np.float32)
    lam = 0.1
    z_star = np.asarray(fista(matrix_operator(D.astype(np.float32)), y, lam, iters=400).x)
    return D.astype(np.float32), y, z_star, lam


def rel(z, z_star):
    return float(np.sum((np.asarray(z) - z_star) ** 2) / np.sum(z_star**2))


def test_initialised_as_the_classical_solvers(sparse_data):
    D, y, _, lam = sparse_data
    y = y[:64]
    L = float(np.linalg.norm(D.astype(np.float64), 2) ** 2)
    ref = ista(matrix_operator(D), y, lam, iters=5, lipschitz=L).x
    np.testing.assert_allclose(LISTA(D, lam, 5)(jnp.asarray(y)), ref, atol=2e-5)
    np.testing.assert_allclose(
        LISTA(D, lam, 5, groups=5, per_step_thresholds=True)(jnp.asarray(y)), ref, atol=2e-5
    )
    np.testing.assert_allclose(
        LCoD(D, lam, 7)(jnp.asarray(y)), coordinate_descent(D, y, lam, iters=7), atol=2e-5
    )
    rng = np.random.default_rng(1)
    kernels = rng.standard_normal((3, 3, 4)).astype(np.float32)
    op = conv_dictionary_operator(kernels, (12, 12))
    Lc = 1.01 * float(power_iteration(op, key=jax.random.key(0), iters=200))
    img = rng.standard_normal((2, 12, 12, 1)).astype(np.float32)
    ref = ista(op, img, 0.2, iters=4, lipschitz=Lc).x
    np.testing.assert_allclose(ConvLISTA(kernels, 0.2, 4, lipschitz=Lc)(img), ref, atol=2e-5)


def test_partial_sharing_parameter_counts(sparse_data):
    D, _, _, lam = sparse_data
    m, n = D.shape[1], D.shape[0]
    assert count_parameters(LISTA(D, lam, 8)) == m * n + m * m + m
    assert count_parameters(LISTA(D, lam, 8, groups=2, per_step_thresholds=True)) == (
        m * n + 2 * m * m + 8 * m
    )


def test_lista_beats_ista_at_equal_depth_after_brief_training(sparse_data):
    D, y, z_star, lam = sparse_data
    K, n_test = 4, 200
    model = LISTA(D, lam, K)
    config = TrainConfig(
        optim=OptimConfig(name="adam", learning_rate=3e-3),
        mesh=MeshConfig(data=1, space=1),
        steps=300,
        batch_size=50,
        log_every=100,
    )
    source = ArraySource({"y": y[n_test:], "z": z_star[n_test:]})
    fit(model, SparseCodingTask(), source, config=config)
    err_lista = rel(model(jnp.asarray(y[:n_test])), z_star[:n_test])
    err_ista = rel(ista(matrix_operator(D), y[:n_test], lam, iters=K).x, z_star[:n_test])
    err_fista = rel(fista(matrix_operator(D), y[:n_test], lam, iters=K).x, z_star[:n_test])
    assert err_lista < 0.7 * min(err_ista, err_fista), (err_lista, err_ista, err_fista)


def test_bad_inputs(sparse_data):
    D, _, _, lam = sparse_data
    with pytest.raises(ValueError, match=r"LISTA: dictionary: expected unit-norm columns"):
        LISTA(3 * D, lam, 4)
    with pytest.raises(ValueError, match=r"groups: expected a divisor of num_steps=6.*found 4"):
        LISTA(D, lam, 6, groups=4)
    with pytest.raises(ValueError, match=r"S: expected a square \(32, 32\) matrix.*\(32, 16\)"):
        LISTA.from_weights(D.T, D.T, 0.1, 4)
    with pytest.raises(ValueError, match=r"LCoD: lam: expected > 0, found -1"):
        LCoD(D, -1, 4)
    with pytest.raises(ValueError, match=r"ConvLISTA: kernels: expected \(kh, kw, m\)"):
        ConvLISTA(np.ones((3, 3)), 0.1, 2)


def test_conv_lista_trains_through_the_loop():
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 3, 4)).astype(np.float32)
    kernels /= np.linalg.norm(kernels.reshape(-1, 4), axis=0)
    op = conv_dictionary_operator(kernels, (12, 12))
    z = rng.standard_normal((240, 12, 12, 4)) * (rng.random((240, 12, 12, 4)) < 0.05)
    y = np.asarray(op(z.astype(np.float32)))
    L = 1.01 * float(power_iteration(op, key=jax.random.key(0)))
    z_star = np.asarray(fista(op, y, 0.1, iters=200, lipschitz=L).x)
    model = ConvLISTA(kernels, 0.1, 3, lipschitz=L)
    before = rel(model(y[:80]), z_star[:80])
    config = TrainConfig(
        optim=OptimConfig(learning_rate=3e-3),
        mesh=MeshConfig(data=1, space=1),
        steps=60,
        batch_size=20,
        log_every=30,
    )
    fit(model, SparseCodingTask(), ArraySource({"y": y[80:], "z": z_star[80:]}), config=config)
    assert rel(model(y[:80]), z_star[:80]) < 0.8 * before
