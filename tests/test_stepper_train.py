"""Training objectives (RolloutTask), data windows/statistics, and training through sciml.train."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.datasets import ArraySource
from sciml.datasets.trajectory_file import write_trajectories
from sciml.solvers import Grid, coarsen_array

from sciml.stepper.data import (
    check_data_grid,
    data_hash,
    load_trajectories,
    make_windows,
    normalisation_stats,
)
from sciml.stepper.model import make_learned_stepper
from sciml.stepper.tasks import RolloutTask
from sciml.train import TrainConfig, fit, restore_model


class Scale(nnx.Module):
    """z -> a z with one scalar parameter (analytic gradients)."""

    def __init__(self, a: float):
        self.a = nnx.Param(jnp.asarray(a, jnp.float32))

    def __call__(self, z):
        return self.a[...] * z


def _batch(z0, targets):
    return {"inputs": jnp.asarray(z0)[:, None], "targets": jnp.asarray(targets)}


def _grad(task, model, batch, step=0):
    def f(m):
        return task.loss(m, batch, key=jax.random.key(0), step=jnp.int32(step))[0]

    return float(nnx.jit(nnx.grad(f))(model).a[...])


def test_unrolled_loss_and_gradients_match_the_analytic_scalar_model():
    a, z, y1, y2 = 0.9, 2.0, 1.5, 1.0
    model = Scale(a)
    batch = _batch(np.full((1, 1, 1), z), np.array([y1, y2]).reshape(1, 2, 1, 1))
    full = RolloutTask(2)
    loss, aux = full.loss(model, batch, key=jax.random.key(0), step=jnp.int32(0))
    want = ((a * z - y1) ** 2 + (a * a * z - y2) ** 2) / 2
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_allclose(aux["mse_last_step"], (a * a * z - y2) ** 2, rtol=1e-6)
    # back-propagation through the rollout: d/da of a^2 z includes 2 a z
    g_full = (2 * (a * z - y1) * z + 2 * (a * a * z - y2) * 2 * a * z) / 2
    np.testing.assert_allclose(_grad(full, model, batch), g_full, rtol=1e-5)
    # truncated after one step: the second step sees s = a z as a constant
    g_trunc = (2 * (a * z - y1) * z + 2 * (a * a * z - y2) * a * z) / 2
    np.testing.assert_allclose(_grad(RolloutTask(2, truncate=1), model, batch), g_trunc, rtol=1e-5)
    # pushforward: one step without gradient, trained on the second target only
    g_push = 2 * (a * a * z - y2) * a * z
    np.testing.assert_allclose(
        _grad(RolloutTask(1, pushforward=1), model, batch), g_push, rtol=1e-5
    )


def test_curriculum_counts_only_the_active_unroll():
    task = RolloutTask(3, curriculum=[(0, 1), (10, 2), (20, 3)])
    assert [int(task.active_unroll(jnp.int32(s))) for s in (0, 9, 10, 25)] == [1, 1, 2, 3]
    model = Scale(1.1)
    rng = np.random.default_rng(0)
    z0, targets = rng.normal(size=(4, 8, 1)), rng.normal(size=(4, 3, 8, 1))
    changed = targets.copy()
    changed[:, 1:] += 5.0  # frames beyond the active unroll do not matter at step 0
    loss = task.loss(model, _batch(z0, targets), key=jax.random.key(0), step=jnp.int32(0))[0]
    same = task.loss(model, _batch(z0, changed), key=jax.random.key(0), step=jnp.int32(0))[0]
    later = task.loss(model, _batch(z0, changed), key=jax.random.key(0), step=jnp.int32(10))[0]
    np.testing.assert_allclose(loss, np.mean((1.1 * z0 - targets[:, 0]) ** 2), rtol=1e-5)
    np.testing.assert_allclose(same, loss, rtol=1e-6)
    assert float(later) > float(loss) + 1.0
    # mse_unrolled always averages every unrolled step (fair best-checkpoint metric)
    key = jax.random.key(0)
    aux = task.loss(model, _batch(z0, targets), key=key, step=jnp.int32(0))[1]
    aux_late = task.loss(model, _batch(z0, targets), key=key, step=jnp.int32(25))[1]
    np.testing.assert_allclose(aux["mse_unrolled"], aux_late["mse_unrolled"], rtol=1e-6)
    z, want = z0, 0.0
    for i in range(3):
        z = 1.1 * z
        want += np.mean((z - targets[:, i]) ** 2) / 3
    np.testing.assert_allclose(aux["mse_unrolled"], want, rtol=1e-5)


def test_task_bad_input():
    with pytest.raises(ValueError, match="unroll: expected >= 1"):
        RolloutTask(0)
    with pytest.raises(ValueError, match=r"curriculum: unroll lengths must lie in 1\.\.unroll=2"):
        RolloutTask(2, curriculum=[(0, 1), (5, 4)])
    with pytest.raises(ValueError, match="increasing start steps"):
        RolloutTask(2, curriculum=[(5, 1), (0, 2)])
    batch = _batch(np.zeros((1, 4, 1)), np.zeros((1, 1, 4, 1)))
    with pytest.raises(ValueError, match="build the windows with n_target=3"):
        RolloutTask(2, pushforward=1).loss(Scale(1.0), batch, key=jax.random.key(0), step=0)


def test_windows_stats_and_coarse_graining():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2, 6, 8, 2)).astype(np.float32)
    w = make_windows(data, n_target=2, stride=2)
    assert w["inputs"].shape == (4, 1, 8, 2) and w["targets"].shape == (4, 2, 8, 2)
    np.testing.assert_array_equal(w["inputs"][3, 0], data[1, 2])
    np.testing.assert_array_equal(w["targets"][3], data[1, 3:5])
    stats = normalisation_stats(data, dt=0.5)
    np.testing.assert_allclose(stats["state_std"], data.reshape(-1, 2).std(0), rtol=1e-5)
    dz = (data[:, 1:] - data[:, :-1]) / 0.5
    np.testing.assert_allclose(stats["tendency_mean"], dz.reshape(-1, 2).mean(0), rtol=1e-4)
    assert data_hash(data) == data_hash(data.copy()) != data_hash(data[:1])
    x = np.arange(64) * 2 * np.pi / 64
    u = (np.sin(x) + 0.3 * np.cos(20 * x))[None, :, None]
    np.testing.assert_allclose(coarsen_array(u, (16,), ndim=1)[0, :, 0], np.sin(x[::4]), atol=1e-5)
    with pytest.raises(ValueError, match="time >= 4"):
        make_windows(data[:, :3], n_target=3)


def test_trajectory_file_grid_must_match_the_model(tmp_path):
    grid = Grid((16,), (8.0,))
    data = np.random.default_rng(0).normal(size=(2, 3, 16, 1)).astype(np.float32)
    path = write_trajectories(
        tmp_path / "t.nc", data, fields=("u",), grid=grid, times=np.arange(3) * 0.5
    )
    traj = load_trajectories(path)
    np.testing.assert_array_equal(traj.data, data)
    assert traj.dt == 0.5 and traj.grid.shape == (16,)
    model = make_learned_stepper(
        dx=[0.5], dt=0.5, network_kwargs={"width": 2, "kernel_size": 3}, rngs=nnx.Rngs(0)
    )
    check_data_grid(model, traj.grid)
    with pytest.raises(ValueError, match=r"dx=\[0.25\] does not match the model's dx=\[0.5\]"):
        check_data_grid(model, Grid((32,), (8.0,)), source=str(path))
    with pytest.raises(ValueError, match="periodic without ghost cells"):
        check_data_grid(model, Grid((16,), (8.0,), boundary="dirichlet"))
    with pytest.raises(ValueError, match=r"variables \['v'\] not found"):
        load_trajectories(path, variables=["v"])


def _advection_windows(n=16, steps=12, shift=1):
    """u(t + dt) = u(t) shifted by one cell: an exactly learnable linear stepper."""
    rng = np.random.default_rng(0)
    x = np.arange(n) * 2 * np.pi / n
    u0 = sum(rng.normal(size=(8, 1)) * np.sin(m * x + rng.uniform(0, 6, (8, 1))) for m in (1, 2, 3))
    traj = np.stack([np.roll(u0, shift * t, axis=1) for t in range(steps)], axis=1)
    return traj[..., None].astype(np.float32)


def test_training_through_the_loop_learns_and_restores_from_the_run_dir(tmp_path):
    traj = _advection_windows()
    stats = normalisation_stats(traj, 1.0)
    kwargs = {
        "dx": [2 * np.pi / 16],
        "dt": 1.0,
        "grid_shape": [16],
        "network_kwargs": {"width": 4, "kernel_size": 3, "depth": 1},
        **stats,
    }
    config = TrainConfig.from_dict(
        {
            "model": {"name": "sciml.stepper.model:make_learned_stepper", "kwargs": kwargs},
            "task": {"name": "sciml.stepper.tasks:RolloutTask", "kwargs": {"unroll": 2}},
            "optim": {"learning_rate": 0.05},
            "mesh": {"data": 1},
            "steps": 60,
            "batch_size": 8,
            "log_every": 10,
            "seed": 0,
            "run_dir": str(tmp_path / "run"),
        }
    )
    from sciml.train.registry import build_model

    model = build_model(config.model.name, dict(config.model.kwargs), seed=0)
    source = ArraySource(make_windows(traj, n_target=2))
    result = fit(model, RolloutTask(2), source, config=config)
    losses = [r["loss"] for r in result.history if r["split"] == "train"]
    assert losses[-1] < 0.05 * losses[0]
    restored = restore_model(tmp_path / "run", which="latest")
    z = jnp.asarray(traj[:, 0])
    np.testing.assert_allclose(restored(z), model(z), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(restored.state_std[...], stats["state_std"], rtol=1e-6)
    # the learned linear stencil is the shift: one step reproduces the data
    err = np.sqrt(np.mean((np.asarray(model(z)) - traj[:, 1]) ** 2) / np.mean(traj[:, 1] ** 2))
    assert err < 0.1


def test_task_cpu_compiler_options_reach_the_compiled_steps(monkeypatch):
    # a task's cpu_compiler_options reach both jitted steps on the CPU
    import sciml.train.prepare as prepare

    options = {"xla_disable_hlo_passes": "fusion"}
    seen, real_jit = [], jax.jit

    def spy(fun, **kwargs):
        seen.append(kwargs.get("compiler_options"))
        return real_jit(fun, **kwargs)

    monkeypatch.setattr(prepare.jax, "jit", spy)
    task = RolloutTask(1)
    task.cpu_compiler_options = options
    z = np.random.default_rng(0).standard_normal((8, 2, 4, 1)).astype(np.float32)
    source = ArraySource({"inputs": z[:, :1], "targets": z[:, 1:]})
    config = TrainConfig(steps=2, batch_size=8, log_every=1)
    fit(Scale(0.5), task, source, config=config)
    assert seen.count(options) == 2  # the update and the evaluation step
