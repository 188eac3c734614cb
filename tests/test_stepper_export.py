"""Export / import of learned steppers: HDF5 artifact, NumPy-only evaluation, jax.export, bad files."""

import json
import subprocess
import sys
import textwrap

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper.artifact import ArtifactError, export_stepper, load_stepper
from sciml.stepper.jax_export import export_jax, load_jax
from sciml.stepper.model import LearnedStepper
from sciml.stepper.normalisation import Normalisation

RTOL, ATOL = 2e-5, 2e-6  # float32 round-off between XLA and NumPy summation orders


def make_stepper(
    ndim=1,
    grid=(24,),
    channels=2,
    boundary="periodic",
    activation="gelu",
    depth=2,
    integrator="rk4",
    seed=0,
):
    g = Tendency(
        channels,
        width=6,
        kernel_size=3,
        depth=depth,
        ndim=ndim,
        activation=activation,
        boundary=boundary,
        rngs=nnx.Rngs(seed),
    )
    names = ("u", "v", "w")[:channels]
    return LearnedStepper(
        g,
        dt=0.05,
        integrator=integrator,
        dx=[0.25] * ndim,
        variables=names,
        units={n: "m/s" for n in names} | {"x": "m", "t": "s"},
        normalisation=Normalisation(
            state_mean=np.linspace(-0.1, 0.2, channels),
            state_std=np.linspace(1.0, 2.0, channels),
            tendency_mean=np.linspace(0.0, 0.1, channels),
            tendency_std=np.linspace(0.5, 0.7, channels),
            data_hash="sha256:abc",
        ),
        grid_shape=grid,
    )


def state(shape, seed=1):
    return np.asarray(jax.random.normal(jax.random.key(seed), shape), np.float32)


@pytest.mark.parametrize(
    "ndim,grid,boundary,activation,integrator",
    [
        (1, (24,), "periodic", "gelu", "rk4"),
        (1, (24,), "zero", "tanh", "euler"),
        (2, (8, 6), "reflect", "swish", "rk2"),
        (2, (8, 6), "periodic", "softplus", "ssprk3"),
        (3, (4, 5, 6), "periodic", "relu", "rk4"),
    ],
)
def test_numpy_evaluator_matches_jax(tmp_path, ndim, grid, boundary, activation, integrator):
    s = make_stepper(ndim, grid, boundary=boundary, activation=activation, integrator=integrator)
    z = state((3, *grid, 2))
    path = export_stepper(s, tmp_path / "s.h5")
    loaded = load_stepper(path)
    want_g, want_step = jax.jit(lambda v: (s.tendency_fn(v), s.step(v)))(jnp.asarray(z))
    np.testing.assert_allclose(loaded.tendency(z), np.asarray(want_g), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(loaded.step(z), np.asarray(want_step), rtol=RTOL, atol=ATOL)
    # unbatched input gives the unbatched result
    np.testing.assert_allclose(loaded.step(z[1]), loaded.step(z)[1], rtol=1e-6, atol=1e-7)
    assert loaded.state_shape == (*grid, 2)


def test_metadata_round_trip(tmp_path):
    s = make_stepper()
    loaded = load_stepper(export_stepper(s, tmp_path / "s.h5"))
    assert loaded.dt == 0.05 and loaded.dx == (0.25,)
    assert (
        loaded.variables == ("u", "v") and loaded.units["u"] == "m/s" and loaded.units["t"] == "s"
    )
    assert loaded.boundary == "periodic" and loaded.integrator == "rk4"
    assert loaded.metadata["data_hash"] == "sha256:abc"
    with h5py.File(tmp_path / "s.h5") as f:  # the documented layout, readable without sciml
        assert f.attrs["format"] == "sciml-stepper"
        assert f["tendency/conv_0/kernel"].shape == (3, 2, 6)
        assert f["tendency/conv_1/kernel"].shape == (3, 6, 2)
        assert f["normalization/state_std"].dtype == np.float32


def test_rhs_with_solve_ivp(tmp_path):
    from scipy.integrate import solve_ivp

    s = make_stepper(channels=1, integrator="rk4")
    loaded = load_stepper(export_stepper(s, tmp_path / "s.h5"))
    z0 = 0.3 * state((24, 1))
    y = loaded.rhs(0.0, z0.reshape(-1))
    np.testing.assert_allclose(y, loaded.tendency(z0).reshape(-1), rtol=1e-6)
    sol = solve_ivp(loaded.rhs, (0.0, 0.2), z0.reshape(-1).astype(np.float64), rtol=1e-9, atol=1e-9)
    assert sol.success
    # Four RK4 steps of dt=0.05 agree with the adaptive solution to RK4's truncation error.
    z = z0.astype(np.float64)
    for _ in range(4):
        z = loaded.step(z)
    np.testing.assert_allclose(sol.y[:, -1], z.reshape(-1), rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="expected a flat state of 24 values"):
        loaded.rhs(0.0, np.zeros(23))


def test_state_shape_errors(tmp_path):
    loaded = load_stepper(export_stepper(make_stepper(), tmp_path / "s.h5"))
    with pytest.raises(ValueError, match=r"state: expected shape \(24, 2\)"):
        loaded.step(np.zeros((3, 25, 2), np.float32))
    with pytest.raises(ValueError, match=r"state: expected shape \(24, 2\)"):
        loaded.step(np.zeros((2,), np.float32))
    s = make_stepper()
    with pytest.raises(ValueError, match=r"state: expected shape \(batch, <1 spatial axes>, 2\)"):
        s.step(jnp.zeros((24, 2)))


NO_JAX = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED}:
                raise ImportError("blocked for the test: " + name)
    sys.meta_path.insert(0, Block())
    """
)


def test_loader_runs_without_jax(tmp_path):
    s = make_stepper(2, (8, 6))
    path = export_stepper(s, tmp_path / "s.h5")
    z = state((2, 8, 6, 2))
    np.save(tmp_path / "z.npy", z)
    code = NO_JAX.replace(
        "{BLOCKED}", "{'jax', 'jaxlib', 'flax', 'optax', 'orbax'}"
    ) + textwrap.dedent(
        f"""
        import numpy as np, sciml
        st = sciml.load_stepper({str(path)!r})
        np.save({str(tmp_path / "out.npy")!r}, st.step(np.load({str(tmp_path / "z.npy")!r})))
        assert "jax" not in sys.modules, "jax was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"),
        np.asarray(jax.jit(s.step)(jnp.asarray(z))),
        rtol=RTOL,
        atol=ATOL,
    )


def test_jax_export_runs_without_flax_or_sciml(tmp_path):
    s = make_stepper(1, (24,))
    path = export_jax(s, tmp_path / "s.jaxexport")
    meta = json.loads((tmp_path / "s.jaxexport.json").read_text())
    assert meta["grid_shape"] == [24] and meta["variables"] == ["u", "v"]
    z = state((5, 24, 2))
    np.save(tmp_path / "z.npy", z)
    code = NO_JAX.replace("{BLOCKED}", "{'flax', 'sciml', 'optax'}") + textwrap.dedent(
        f"""
        import jax, numpy as np
        exp = jax.export.deserialize(bytearray(open({str(path)!r}, 'rb').read()))
        z = np.load({str(tmp_path / "z.npy")!r})
        a = np.asarray(exp.call(z))
        b = np.asarray(exp.call(z[:2]))   # a second batch size through the symbolic dimension
        np.testing.assert_allclose(a[:2], b, rtol=1e-6)
        np.save({str(tmp_path / "out.npy")!r}, a)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"),
        np.asarray(jax.jit(s.step)(jnp.asarray(z))),
        rtol=1e-5,
        atol=1e-6,
    )
    _, meta2 = load_jax(path)
    assert meta2["dt"] == 0.05
    with pytest.raises(FileExistsError, match="output exists"):
        export_jax(s, path)


def _corrupt(tmp_path, edit):
    path = export_stepper(make_stepper(), tmp_path / "s.h5")
    with h5py.File(path, "a") as f:
        edit(f)
    return path


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda f: f.attrs.__setitem__("format", "something-else"), "attribute 'format' expected"),
        (
            lambda f: f.attrs.__setitem__("format_version", 99),
            r"format_version expected one of \(1, 2\), found 99",
        ),
        (
            lambda f: f.__delitem__("tendency/conv_1/kernel"),
            "missing array 'tendency/conv_1/kernel'",
        ),
        (
            lambda f: f.__delitem__("normalization/state_std"),
            "missing array 'normalization/state_std'",
        ),
        (
            lambda f: (
                f.__delitem__("tendency/conv_0/kernel"),
                f.create_dataset("tendency/conv_0/kernel", data=np.zeros((5, 2, 6), np.float32)),
            ),
            r"has shape \(5, 2, 6\), the architecture needs \(3, 2, 6\)",
        ),
        (lambda f: f.attrs.__setitem__("metadata", "{not json"), "not JSON"),
        (
            lambda f: f.attrs.__setitem__(
                "metadata",
                json.dumps(
                    json.loads(f.attrs["metadata"])
                    | {"integrator": "__import__('os').system('touch PWNED')"}
                ),
            ),
            "integrator .* is not one of",
        ),
        (
            lambda f: (
                f.__delitem__("tendency/conv_0/bias"),
                f.create_dataset("tendency/conv_0/bias", data=np.array([b"x"] * 6)),
            ),
            "must be a floating-point dataset",
        ),
    ],
)
def test_invalid_artifacts(tmp_path, monkeypatch, edit, match):
    monkeypatch.chdir(tmp_path)
    path = _corrupt(tmp_path, edit)
    with pytest.raises(ArtifactError, match=match):
        load_stepper(path)
    assert not (tmp_path / "PWNED").exists()


def test_not_hdf5_and_missing(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x80\x04\x95 this is a pickle-looking blob, not HDF5")
    with pytest.raises(ArtifactError, match="cannot open as HDF5"):
        load_stepper(bad)
    with pytest.raises(FileNotFoundError, match="no such stepper artifact"):
        load_stepper(tmp_path / "absent.h5")


def test_export_is_atomic_and_refuses_overwrite(tmp_path):
    s = make_stepper()
    path = export_stepper(s, tmp_path / "s.h5")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="output exists"):
        export_stepper(s, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]  # no temporary left behind


@pytest.mark.parametrize("boundary,value", [("dirichlet", 0.3), ("neumann", -0.2)])
def test_ghost_cell_steppers_round_trip(tmp_path, boundary, value):
    """Non-periodic steppers fill ghost cells from the physical boundary in JAX and in NumPy alike."""
    g = Tendency(1, width=4, kernel_size=3, depth=2, ndim=2, boundary="ghost", rngs=nnx.Rngs(3))
    s = LearnedStepper(
        g,
        dt=0.01,
        integrator="rk2",
        dx=[0.1, 0.2],
        boundary=boundary,
        boundary_value=value,
        grid_shape=(7, 5),
    )
    z = state((2, 7, 5, 1))
    loaded = load_stepper(export_stepper(s, tmp_path / "g.h5"))
    np.testing.assert_allclose(
        loaded.step(z), np.asarray(jax.jit(s.step)(jnp.asarray(z))), rtol=RTOL, atol=ATOL
    )


def test_numpy_ghost_fill_matches_solvers():
    from sciml.solvers.ghost import fill_ghost as jax_fill

    from sciml.stepper.numpy_eval import fill_ghost as np_fill

    z = state((2, 6, 5, 2))
    for boundary, value in (("dirichlet", 0.7), ("neumann", 0.4), ("periodic", 0.0)):
        want = jax_fill(jnp.asarray(z), 2, boundary, dx=(0.5, 0.25), value=value)
        np.testing.assert_allclose(
            np_fill(z, 2, boundary, (0.5, 0.25), value), np.asarray(want), rtol=1e-6, atol=1e-6
        )


def test_periodic_network_refuses_non_periodic_data():
    g = Tendency(1, width=4, kernel_size=3, ndim=1, rngs=nnx.Rngs(0))
    with pytest.raises(
        ValueError, match="a periodic tendency network cannot step 'dirichlet' data"
    ):
        LearnedStepper(g, dt=0.1, dx=[0.1], boundary="dirichlet")
