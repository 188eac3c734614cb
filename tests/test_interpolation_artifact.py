"""Kind ``fv_interpolation``: the learned interpolation on the FV Navier-Stokes base, exported to
HDF5 and run in NumPy alone, against the JAX model; its constraint, conservation and errors."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers import Grid
from sciml.solvers.fvns import FiniteVolumeNS2D

import sciml
from sciml.artifacts import stepper_kind
from sciml.stepper.interpolation_artifact import (
    LoadedInterpolationModel,
    export_interpolation_model,
    load_interpolation_model,
)
from sciml.stepper.learned_interpolation import (
    STENCIL_OFFSETS,
    ConstrainedStencil,
    LearnedInterpolationStepper,
)
from sciml.stepper.numpy_fvns import NumpyFVNS2D

TWO_PI = 2 * np.pi
PARAMS = {"nu": 0.02, "drag": 0.1, "forcing_wavenumber": 2, "forcing_amplitude": 1.0}
EXAMPLE = Path(__file__).parents[1] / "examples" / "numpy_fv_kolmogorov_learned_interpolation.py"
N_STEPS = 3


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """An 8^2 model with random weights (non-zero last layer, non-default scale and bound), its
    artifact, a batch of two states with a non-zero mean and the JAX trajectory of N_STEPS steps."""
    solver = FiniteVolumeNS2D(Grid((8, 8), (TWO_PI, TWO_PI)), 0.05, **PARAMS)
    model = LearnedInterpolationStepper(
        solver, dt=0.1, state_mean=0.2, state_std=1.3, width=4, depth=2, rngs=nnx.Rngs(0)
    )
    model.stencil = ConstrainedStencil(order=1, scale=0.7, bound=0.3)
    last, rng = model.net.convs[-1].conv, np.random.default_rng(1)  # NumPy: no eager compiles
    last.kernel[...] = jnp.asarray(rng.normal(0, 0.5, last.kernel[...].shape), jnp.float32)
    last.bias[...] = jnp.asarray(rng.normal(0, 0.2, last.bias[...].shape), jnp.float32)
    x, y = Grid((8, 8), (TWO_PI, TWO_PI)).mesh()
    w0 = np.stack([np.sin(x + 0.3) * np.cos(y) + 0.5 * np.cos(2 * x - y) + 0.3,
                   np.cos(x) * np.sin(2 * y + 1.0) - 0.2])[..., None]  # fmt: skip
    step = nnx.jit(lambda m, w: (m(w), m.coefficients(w)))  # one compilation for both
    traj, coeffs = [w0.astype(np.float32)], []
    for _ in range(N_STEPS):
        w, c = step(model, jnp.asarray(traj[-1]))
        traj.append(np.asarray(w))
        coeffs.append(np.asarray(c))
    run_dir = tmp_path_factory.mktemp("li")
    path = export_interpolation_model(model, run_dir / "learned_interpolation.h5")
    return {"model": model, "path": path, "w0": w0, "traj": np.stack(traj), "coeffs": coeffs[0]}


def _rollout(stepper, w0, n):
    out = [w0]
    for _ in range(n):
        out.append(stepper.step(out[-1]))
    return np.stack(out)


def test_numpy_step_equals_the_jax_model(case):
    """float64 NumPy vs the float32 JAX model over N_STEPS model steps (2 solver steps each):
    agreement to float32 round-off, |diff| <= 1e-5 max|omega| + 1e-4 |omega|."""
    loaded = load_interpolation_model(case["path"])
    via_sciml = sciml.load_stepper(case["path"])
    assert stepper_kind(case["path"]) == "fv_interpolation"
    assert isinstance(via_sciml, LoadedInterpolationModel) and via_sciml.substeps == 2
    ref = case["traj"].astype(np.float64)
    scale = np.abs(ref).max()
    for st in (loaded, via_sciml):
        got = _rollout(st, case["w0"], N_STEPS)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * scale)
    # the network acts: the model departs from the plain scheme by far more than the tolerance
    plain = NumpyFVNS2D((8, 8), (TWO_PI, TWO_PI), 0.05, **PARAMS)
    pure = plain.step(plain.step(case["w0"]))
    assert np.abs(ref[1] - pure).max() > 100 * 1e-5 * scale
    # float32 in, float32 out; one unbatched state works too
    w32 = loaded.step(case["w0"][0].astype(np.float32))
    assert w32.dtype == np.float32 and w32.shape == (8, 8, 1)
    np.testing.assert_allclose(w32, ref[1, 0], rtol=1e-4, atol=1e-5 * scale)


def test_loaded_coefficients_match_and_keep_the_constraint(case):
    loaded = load_interpolation_model(case["path"])
    c = loaded.coefficients(case["w0"])  # (B, Nx, Ny, 2, 4) float64
    assert c.shape == (2, 8, 8, 2, 4)
    np.testing.assert_allclose(c, case["coeffs"], atol=1e-6)
    x = np.asarray(STENCIL_OFFSETS)
    # stencils annihilate constants and linear functions (first-order exact), and are not zero
    np.testing.assert_allclose(c.sum(-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(c @ x, 0.0, atol=1e-6)
    assert np.abs(c).max() > 0.05
    # the tanh bound holds on the free coefficients: |N^T c| <= bound
    assert np.abs(c @ loaded.basis).max() <= 0.3 + 1e-6


def test_mean_vorticity_changes_only_by_drag(case):
    """Flux form: the learned face values move no vorticity in or out of the box; the mean
    changes exactly as in the plain scheme (drag; the forcing has zero mean)."""
    loaded = load_interpolation_model(case["path"])
    plain = NumpyFVNS2D((8, 8), (TWO_PI, TWO_PI), 0.05, **PARAMS)
    w = case["w0"]
    np.testing.assert_allclose(
        loaded.step(w).mean(axis=(1, 2)), plain.step(plain.step(w)).mean(axis=(1, 2)), atol=1e-13
    )


def test_the_numpy_example_loop_equals_the_loader_and_needs_no_jax(case):
    spec = importlib.util.spec_from_file_location("li_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    got = example.interpolation_rollout(case["path"], case["w0"][0, ..., 0], N_STEPS)
    ref = _rollout(load_interpolation_model(case["path"]), case["w0"][:1], N_STEPS)[:, 0, ..., 0]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    # the example's main in a process that cannot import JAX
    code = (
        "import sys, json, runpy\n"
        "sys.modules['jax'] = None\n"
        f"sys.argv = ['x', {str(case['path'].parent)!r}, '--steps', '4', '--spinup', '0.2']\n"
        f"g = runpy.run_path({str(EXAMPLE)!r})\n"
        "out = g['main']()\n"
        "assert 'jax' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                         capture_output=True, text=True)  # fmt: skip
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(out["t"]) == 5 and np.isfinite(out["LI"]["enstrophy"]).all()
    assert 0.5 < out["correlation_LI_FV"][-1] < 1.0 and out["correlation_LI_FV"][0] == 1.0


def _broken(case, tmp_path, edit):
    path = tmp_path / "broken.h5"
    shutil.copy(case["path"], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _set_meta(key, value):
    def edit(f):
        meta = json.loads(f.attrs["metadata"])
        if key == "kind":
            meta["architecture"]["kind"] = value
        else:
            meta[key] = value
        f.attrs["metadata"] = json.dumps(meta)

    return edit


def _replace(name, data):
    def edit(f):
        del f[name]
        f[name] = data

    return edit


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_set_meta("kind", "stencil_flux"),
         r"broken\.h5.*architecture\.kind expected 'fv_interpolation', found 'stencil_flux'; "
         "load it with sciml.load_stepper"),
        (lambda f: f.__delitem__("stencil/basis"),
         r"broken\.h5.*missing dataset 'stencil/basis' \(expected shape \(4, 2\)\); re-export"),
        (_replace("stencil/basis", np.zeros((4, 3), np.float32)),
         r"'stencil/basis' expected shape \(4, 2\) \(\(len\(offsets\), n_free\)\), found \(4, 3\)"),
        (_replace("stencil/offsets", np.zeros(5, np.float32)),
         r"'stencil/offsets' expected shape \(4,\) .*found \(5,\); re-export"),
        (_replace("stencil/basis", np.ones((4, 2), np.float32)),
         r"stencil/basis expected to annihilate polynomials of degree <= 1 .*found moments"),
        (lambda f: f.attrs.__delitem__("solver_dt"),
         r"missing attribute /solver_dt \(kind 'fv_interpolation' needs it\); re-export"),
        (lambda f: f.attrs.__setitem__("nu", 0.5),
         r"attribute /nu = 0\.5 disagrees with metadata 0\.02; re-export"),
        (lambda f: (_set_meta("substeps", 3)(f), f.attrs.__setitem__("substeps", 3)),
         r"dt expected substeps \* solver_dt = 0\.15.*, found 0\.1"),
    ],
    ids=["kind", "missing", "basis-shape", "offsets-shape", "basis-constraint", "no-attr", "attr",
         "dt"],
)  # fmt: skip
def test_bad_artifacts_name_file_field_and_fix(case, tmp_path, edit, match):
    path = _broken(case, tmp_path, edit)
    with pytest.raises(ValueError, match=match):
        load_interpolation_model(path)
    with pytest.raises(ValueError, match=match):  # the same message through the dispatch
        sciml.load_stepper(path)


def test_bad_input_and_paths(case, tmp_path):
    loaded = load_interpolation_model(case["path"])
    grid = (r"omega: expected a real \(batch, 8, 8, 1\) state on the grid of "
            r".*learned_interpolation\.h5.*found \(1, 16, 16, 1\).*coarse-grain")  # fmt: skip
    with pytest.raises(ValueError, match=grid):
        loaded.step(np.zeros((1, 16, 16, 1)))
    with pytest.raises(FileNotFoundError, match=r"nothing\.h5: no such stepper artifact"):
        load_interpolation_model(tmp_path / "nothing.h5")
    with pytest.raises(FileExistsError, match=r"learned_interpolation\.h5: output exists; pass "
                       "overwrite=True"):  # fmt: skip
        export_interpolation_model(case["model"], case["path"])
