"""D3M: parameter count, augmentation symmetry, tiled inference, loss, bad input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sciml.cosmo import D3M, D3MTask, count_parameters, default_halo, predict, transform
from sciml.cosmo.augment import apply_symmetries, random_symmetries, transform_scalar
from sciml.cosmo.density import displacement_density as density_jax
from sciml.cosmo.model import PAPER_BN_PARAMETERS, PAPER_CONV_PARAMETERS
from sciml.metrics.spectra3d import displacement_density as density_np


def _lpt(delta: np.ndarray, box: float) -> tuple[np.ndarray, np.ndarray]:
    """ZA and second-order displacements of a linear density (NumPy FFTs)."""
    n = delta.shape[0]
    k1 = 2 * np.pi * np.fft.fftfreq(n, box / n)
    kd = np.where(np.abs(np.fft.fftfreq(n, 1 / n)) == n // 2, 0.0, k1)  # no Nyquist gradient
    kk = np.meshgrid(k1, k1, k1, indexing="ij")
    kg = np.meshgrid(kd, kd, kd, indexing="ij")
    k2 = sum(k**2 for k in kk)
    k2[0, 0, 0] = 1.0

    def grad_inv_lap(f):
        fk = -np.fft.fftn(f) / k2
        return np.stack([-np.fft.ifftn(1j * k * fk).real for k in kg], -1)

    phi_k = -np.fft.fftn(delta) / k2
    d2 = [[np.fft.ifftn(-kg[i] * kg[j] * phi_k).real for j in range(3)] for i in range(3)]
    src = sum(d2[i][i] * d2[j][j] - d2[i][j] ** 2 for i, j in [(0, 1), (0, 2), (1, 2)])
    return grad_inv_lap(delta), grad_inv_lap(src)


def numpy_model(factory, seed: int = 0):
    """The model of ``factory`` with NumPy-drawn variables (no XLA compilation per layer, which
    dominates an eager init): kernels N(0, 1/fan_in), biases 0.1 N(0, 1), batch-norm scales near
    1, running means near 0 and variances near 1 (non-trivial, so eval mode is exercised)."""
    graphdef, state = nnx.split(nnx.eval_shape(factory))
    rng = np.random.default_rng(seed)
    pure = nnx.to_pure_dict(state)

    def draw(path, leaf):
        name, shape = path[-1].key, leaf.shape
        if name == "kernel":
            v = rng.normal(size=shape) / np.sqrt(np.prod(shape[:-1]))
        elif name in ("scale", "var"):
            v = 1.0 + 0.2 * rng.random(shape)
        else:
            v = 0.1 * rng.normal(size=shape)
        return jnp.asarray(v, leaf.dtype)

    nnx.replace_by_pure_dict(state, jax.tree_util.tree_map_with_path(draw, pure))
    model = nnx.merge(graphdef, state)
    model.eval()
    return model


@pytest.fixture(scope="module")
def tiny():
    """Depth-1, width-2 D3M in eval mode with non-trivial batch-norm statistics."""
    return numpy_model(lambda: D3M(width=2, depth=1, length_scale=2.0, rngs=nnx.Rngs(0)))


def test_paper_parameter_count():
    abstract = nnx.eval_shape(lambda: D3M(rngs=nnx.Rngs(0)))
    counts = count_parameters(abstract)
    assert counts["conv"] == PAPER_CONV_PARAMETERS == 8_412_227
    assert counts["batch_norm"] == PAPER_BN_PARAMETERS == 3_712


def test_augmented_pair_is_a_consistent_lpt_pair():
    n, box = 8, 32.0
    delta = np.random.default_rng(0).normal(size=(n, n, n))
    za, lpt2 = _lpt(delta, box)
    for flips, perm in [((True, False, False), (0, 1, 2)), ((False, True, True), (2, 0, 1))]:
        za_t, lpt2_t = _lpt(transform_scalar(delta, flips, perm), box)
        np.testing.assert_allclose(transform(za, flips, perm), za_t, atol=1e-12)
        np.testing.assert_allclose(transform(lpt2, flips, perm), lpt2_t, atol=1e-12)
    # A flip without negating the component is not a symmetry: the check can fail.
    assert np.abs(np.flip(za, 0) - _lpt(np.flip(delta, 0), box)[0]).max() > 1e-3


def test_batched_jax_augmentation_matches_numpy():
    x = np.random.default_rng(1).normal(size=(6, 4, 4, 4, 3)).astype(np.float32)
    flips, perms = random_symmetries(jax.random.key(3), 6)
    got = np.asarray(jax.jit(apply_symmetries)(jnp.asarray(x), flips, perms))
    from sciml.cosmo.augment import PERMUTATIONS

    for i in range(6):
        f = tuple(bool(v) for v in np.asarray(flips[i]))
        want = transform(x[i], f, PERMUTATIONS[int(perms[i])])
        np.testing.assert_array_equal(got[i], want)
    assert len(set(itertools.permutations(range(3)))) == len(PERMUTATIONS) == 6


def test_tiled_equals_whole_and_shift_equivariance(tiny):
    n = 16
    x = np.random.default_rng(2).normal(size=(n, n, n, 3)).astype(np.float32) * 3.0
    whole = predict(tiny, x)
    tiled = predict(tiny, x, tile=8, batch_size=4)
    scale = np.abs(whole).max()
    assert scale > 0.1
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=2e-6 * scale)
    # Too little halo: the tiles no longer see their full receptive field (the test can fail).
    assert np.abs(predict(tiny, x, tile=8, halo=2) - whole).max() > 1e-3 * scale
    assert default_halo(1) == 10 and default_halo(2) == 28
    shifted = predict(tiny, np.roll(x, (2, 4), (0, 1)))
    np.testing.assert_allclose(shifted, np.roll(whole, (2, 4), (0, 1)), atol=2e-6 * scale)


def test_density_term_matches_numpy_cic(x64):
    n, box = 8, 16.0
    disp = np.random.default_rng(3).normal(size=(n, n, n, 3)) * 1.5
    np.testing.assert_allclose(
        np.asarray(jax.jit(density_jax, static_argnums=1)(jnp.asarray(disp), box)),
        density_np(disp, box),
        atol=1e-12,
    )


def test_loss_with_density_term():
    n, box = 8, 16.0
    disp = np.random.default_rng(3).normal(size=(n, n, n, 3)) * 1.5
    y = jnp.asarray(disp[None], jnp.float32)
    key, step = jax.random.key(0), jnp.int32(0)

    @jax.jit
    def losses(y):
        # Augmentation transforms input and target alike: an identity model stays exact.
        task = D3MTask(density_weight=0.5, box=box)
        exact = task.loss(lambda v: v, {"za": y, "pm": y}, key=key, step=step)
        task = D3MTask(density_weight=0.5, box=box, augment=False)
        scaled = task.loss(lambda v: 1.1 * v, {"za": y, "pm": y}, key=key, step=step)
        return exact, scaled

    (loss, aux), (loss2, aux2) = losses(y)
    assert float(loss) == 0.0 and float(aux["density_mse"]) == 0.0
    loss, aux = loss2, aux2
    want = np.mean((0.1 * disp) ** 2)
    np.testing.assert_allclose(float(aux["mse"]), want, rtol=1e-5)
    np.testing.assert_allclose(float(aux["displacement_error"]), 0.1, rtol=1e-5)
    assert float(loss) > float(aux["mse"])


def test_bad_input_one_line_errors(tiny):
    with pytest.raises(ValueError, match=r"multiple of 2 cells .* found \(6, 6, 5\)"):
        predict(tiny, np.zeros((6, 6, 5, 3), np.float32))
    deep = nnx.eval_shape(lambda: D3M(width=2, depth=2, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match=r"multiple of 4 cells .* found \(6, 6, 6\)"):
        jax.eval_shape(lambda v: deep(v), jax.ShapeDtypeStruct((1, 6, 6, 6, 3), jnp.float32))
    x = np.zeros((8, 8, 8, 3), np.float32)
    x[1, 2, 3, 0] = np.nan
    with pytest.raises(ValueError, match="found 1 NaN/Inf displacement values"):
        predict(tiny, x)
    with pytest.raises(ValueError, match="tile, halo: expected multiples of 2"):
        predict(tiny, np.zeros((8, 8, 8, 3), np.float32), tile=3)
    with pytest.raises(ValueError, match="box: the density term needs"):
        D3MTask(density_weight=1.0)


def test_reproduction_evaluation_on_exact_and_scaled_predictions():
    from sciml.experiments.d3m import evaluate

    rng = np.random.default_rng(4)
    pm = rng.normal(size=(2, 8, 8, 8, 3)) * 2.0
    fields = {"pm": pm, "za": 0.8 * pm, "lpt2": 0.9 * pm}
    ev = evaluate(fields, pm.copy(), 32.0)
    assert ev["displacement_error_d3m"] == 0.0
    np.testing.assert_allclose(ev["displacement_error_za"], 0.2, rtol=1e-12)
    np.testing.assert_allclose(ev["displacement_error_2lpt"], 0.1, rtol=1e-12)
    for kind in ("density", "displacement"):
        np.testing.assert_allclose(ev[f"{kind}_T_d3m_k0.50"], 1.0, rtol=1e-12)
        np.testing.assert_allclose(ev[f"{kind}_r_d3m_k0.50"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(ev["displacement_T_za_k0.50"], 0.8, rtol=1e-12)
    np.testing.assert_allclose(ev["displacement_r_2lpt_k0.11"], 1.0, rtol=1e-12)


def test_receptive_radius_is_the_gradient_support():
    # The D3M U-Net's layers in 1-D: the support of d out[i] / d in is exactly the radius.
    from sciml.cosmo.inference import receptive_radius
    from sciml.nn import UNet

    kw = dict(norm="batch", norm_affine=True, down="strided", up="transpose", up_kernel_size=3)
    m = numpy_model(
        lambda: UNet(
            3,
            3,
            ndim=1,
            width=8,
            depth=2,
            up_norm=True,
            up_bias=True,
            boundary="periodic",
            rngs=nnx.Rngs(0),
            **kw,
        )
    )
    n, lo, hi = 64, 32, 35  # outputs lo..hi: one of each phase of the stride-4 grid
    x = jax.random.normal(jax.random.key(0), (1, n, 3))
    g = nnx.jit(lambda m, v: jax.grad(lambda v: m(v)[0, lo : hi + 1].sum())(v))(m, x)
    idx = np.nonzero(np.abs(np.asarray(g[0])).sum(-1))[0]
    assert max(lo - idx.min(), idx.max() - hi) == receptive_radius(2) == 26
