"""Configs, overrides, registries, optimiser schedules and the synthetic heat data (no training)."""

import numpy as np
import optax
import pytest
import yaml

from sciml.train import (
    OptimConfig,
    RegressionTask,
    SyntheticHeat,
    TrainConfig,
    dump_config,
    load_config,
    register_model,
)
from sciml.train.optim import make_optimizer, make_schedule
from sciml.train.registry import build_model, build_source


def _write(tmp_path, text):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_load_config_sections_and_overrides(tmp_path):
    path = _write(
        tmp_path,
        "model: {name: tendency, kwargs: {channels: 1, width: 8}}\n"
        "optim: {name: adamw, learning_rate: 1e-3, weight_decay: 0.01}\n"
        "steps: 50\n",
    )
    cfg = load_config(
        path, ["steps=7", "mesh.data=2", "optim.clip_norm=0.5", "model.kwargs.width=4"]
    )
    assert cfg.steps == 7 and cfg.mesh.data == 2
    assert cfg.optim.learning_rate == 1e-3  # YAML 1.1 reads "1e-3" as a string: coerced
    assert cfg.optim.clip_norm == 0.5 and cfg.optim.name == "adamw"
    assert cfg.model.kwargs == {"channels": 1, "width": 4}
    # Round trip through config.yaml.
    dump_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == cfg
    assert yaml.safe_load((tmp_path / "resolved.yaml").read_text())["steps"] == 7
    # Sections given as dicts to the constructor are converted.
    cfg2 = TrainConfig(optim={"learning_rate": 0.1}, mesh={"data": 1})
    assert isinstance(cfg2.optim, OptimConfig) and cfg2.optim.learning_rate == 0.1


def test_unknown_key_lists_valid_keys(tmp_path):
    path = _write(tmp_path, "optim: {lr: 0.1}\n")
    with pytest.raises(ValueError, match=r"unknown key 'optim.lr'.*valid keys.*learning_rate"):
        load_config(path)
    with pytest.raises(ValueError, match=r"unknown key 'stepz'; valid keys: model, task"):
        load_config(None, ["stepz=3"])


def test_wrong_type_names_key_expected_and_found(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"^config steps: expected an integer, found 'ten'; "
        r"fix the value in the YAML file or with --set steps=\.\.\.$",
    ):
        load_config(None, ["steps=ten"])
    with pytest.raises(ValueError, match=r"optim.learning_rate: expected a float, found 'fast'"):
        load_config(None, ["optim.learning_rate=fast"])
    with pytest.raises(ValueError, match=r"config steps: expected an integer >= 1, found 0"):
        load_config(None, ["steps=0"])
    with pytest.raises(ValueError, match=r"compute_dtype: expected 'float32' or 'bfloat16'"):
        load_config(None, ["compute_dtype=float16"])


def test_sections_unions_mappings_and_booleans(tmp_path):
    path = _write(
        tmp_path,
        "data: {train: {kind: synthetic_heat, kwargs: {n: 8, nu: 1e-3, flag: yes}}, eval: null}\n"
        "optim: {clip_norm: null}\n",
    )
    cfg = load_config(path, ["model.kwargs={width: 2e1, on: true}"])
    assert cfg.data.eval is None and cfg.optim.clip_norm is None
    # yes/no/on/off stay strings (only true/false are booleans); exponent text becomes a float
    assert cfg.data.train.kwargs == {"n": 8, "nu": 1e-3, "flag": "yes"}
    assert cfg.model.kwargs == {"width": 20.0, "on": True}
    assert load_config(path, ["data.eval={kind: array}"]).data.eval.kind == "array"
    with pytest.raises(
        ValueError, match=r"config data.eval: expected a mapping or null, found 'none'; fix"
    ):
        load_config(None, ["data.eval=none"])
    with pytest.raises(ValueError, match=r"config data.train: expected a mapping, found 3; fix"):
        load_config(None, ["data.train=3"])
    with pytest.raises(ValueError, match=r"config optim.clip_norm: expected a float or null"):
        load_config(None, ["optim.clip_norm=off"])
    with pytest.raises(ValueError, match=r"config model.kwargs: expected a mapping, found 'x'"):
        load_config(None, ["model.kwargs=x"])


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config: file .*nope.yaml' not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match=r"invalid YAML"):
        load_config(_write(tmp_path, "steps: [1,\n"))
    with pytest.raises(ValueError, match=r"--set 'steps': expected KEY=VALUE"):
        load_config(None, ["steps"])


def test_registries(tmp_path):
    with pytest.raises(ValueError, match=r"unknown model 'nonet'; registered: .*tendency"):
        build_model("nonet", {}, seed=0)
    with pytest.raises(ValueError, match=r"model.kwargs: 'tendency' rejected its arguments"):
        build_model("tendency", {"channels": 1, "widht": 3}, seed=0)
    with pytest.raises(ValueError, match=r"unknown data kind 'nodata'.*synthetic_heat"):
        build_source("nodata", {})

    def builder(*, rngs, scale=1.0):
        return ("built", scale)

    register_model("test_custom", builder)
    assert build_model("test_custom", {"scale": 2.0}, seed=0) == ("built", 2.0)
    # "module:attr" names import on demand.
    task = build_source(
        "sciml.train.synthetic:SyntheticHeat", {"n_samples": 2, "n": 16, "n_modes": 2}
    )
    assert len(task) == 2
    assert isinstance(RegressionTask(), RegressionTask)


def test_schedule_warmup_then_cosine():
    cfg = OptimConfig(learning_rate=0.1, schedule="cosine", warmup_steps=10, end_factor=0.1)
    s = make_schedule(cfg, total_steps=110)
    np.testing.assert_allclose(float(s(0)), 0.0, atol=1e-12)
    np.testing.assert_allclose(float(s(5)), 0.05, rtol=1e-6)
    np.testing.assert_allclose(float(s(10)), 0.1, rtol=1e-6)
    # Half-way through the 100 decay steps: lr * (end + (1 - end) * (1 + cos(pi/2)) / 2).
    np.testing.assert_allclose(float(s(60)), 0.1 * (0.1 + 0.9 * 0.5), rtol=1e-5)
    np.testing.assert_allclose(float(s(110)), 0.01, rtol=1e-5)
    with pytest.raises(ValueError, match=r"optim.schedule: expected one of constant, cosine"):
        make_schedule(OptimConfig(schedule="step"), 10)


def test_optimizer_clipping_and_decay():
    import jax.numpy as jnp

    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([30.0, 40.0])}  # norm 50
    tx, _ = make_optimizer(OptimConfig(name="sgd", learning_rate=0.1, clip_norm=5.0), 10)
    upd, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(np.asarray(upd["w"]), [-0.3, -0.4], rtol=1e-6)
    # Decoupled weight decay on an optimiser without its own: update = -lr g - lr wd p.
    tx, _ = make_optimizer(OptimConfig(name="sgd", learning_rate=0.1, weight_decay=0.5), 10)
    upd, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(np.asarray(upd["w"]), [-3.0 - 0.05, -4.0 + 0.1], rtol=1e-6)
    tx, _ = make_optimizer(OptimConfig(name="adamw", weight_decay=0.1), 10)
    assert isinstance(tx, optax.GradientTransformation)
    with pytest.raises(ValueError, match=r"optim.name: unknown optax optimiser 'adamx'"):
        make_optimizer(OptimConfig(name="adamx"), 10)


@pytest.mark.parametrize("ndim", [1, 2])
def test_synthetic_heat_is_the_exact_solution(ndim):
    """Every Fourier mode of the target decays by exp(-nu |k|^2 dt) (the heat equation)."""
    nu, dt, n, length = 0.05, 0.02, 16, 3.0
    kw = dict(ndim=ndim, nu=nu, dt=dt, length=length, n_modes=3, seed=3)
    nxt = SyntheticHeat(4, n, target="next", **kw)
    rate = SyntheticHeat(4, n, target="rate", **kw)
    tend = SyntheticHeat(4, n, **kw)
    axes = tuple(range(ndim))
    k = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n, length / n)] * ndim, indexing="ij")
    k2 = sum(ki**2 for ki in k)
    for i in range(4):
        x = nxt[i]["x"][..., 0].astype(np.float64)
        np.testing.assert_array_equal(x, rate[i]["x"][..., 0])  # same seed, same states
        x_hat = np.fft.fftn(x, axes=axes)
        want_next = np.fft.ifftn(x_hat * np.exp(-nu * k2 * dt), axes=axes).real
        want_rate = np.fft.ifftn(-nu * k2 * x_hat, axes=axes).real
        np.testing.assert_allclose(nxt[i]["y"][..., 0], want_next, atol=2e-6)
        np.testing.assert_allclose(rate[i]["y"][..., 0], want_rate, atol=2e-5)
        np.testing.assert_allclose(tend[i]["y"][..., 0], (want_next - x) / dt, atol=5e-4)
        assert np.sqrt(np.mean(x**2)) <= 1.0 + 1e-6  # unit RMS at t=0, decays after
    assert nxt.element_spec["x"] == ((n,) * ndim + (1,), np.float32)
    with pytest.raises(ValueError, match=r"synthetic_heat n_modes: expected 1 <= n_modes < n/2"):
        SyntheticHeat(2, 8, n_modes=4)


def test_distributed_flags(monkeypatch):
    from sciml.train import initialize_distributed

    for var in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID", "SLURM_NTASKS",
                "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    assert initialize_distributed() is False  # a plain single-process run
    with pytest.raises(
        ValueError,
        match=r"expected a coordinator, a process count and a process id, found "
        r"coordinator='127.0.0.1:1234', num_processes=2, process_id=None; pass the missing ones",
    ):
        initialize_distributed("127.0.0.1:1234", 2, None)
    with pytest.raises(ValueError, match=r"--process-id expected 0..1, found 2"):
        initialize_distributed("127.0.0.1:1234", 2, 2)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match=r"JAX_NUM_PROCESSES: expected an integer, found 'two'"):
        initialize_distributed()


def test_fit_rejects_non_task_and_non_source():
    from flax import nnx

    from sciml.nn import Tendency
    from sciml.train import fit

    model = Tendency(1, width=2, kernel_size=3, rngs=nnx.Rngs(0))
    src = SyntheticHeat(8, 16, n_modes=2)
    with pytest.raises(ValueError, match=r"fit task: expected an object with loss\(model, batch"):
        fit(model, object(), src, config=TrainConfig(steps=1))
    with pytest.raises(
        ValueError,
        match=r"train_source: expected a data source with __len__.*"
        r"found dict; wrap arrays in sciml.datasets.ArraySource",
    ):
        fit(model, RegressionTask(), {"x": np.zeros((8, 16, 1))}, config=TrainConfig(steps=1))
    with pytest.raises(
        ValueError, match=r"fit config: expected a sciml.train.TrainConfig, found dict"
    ):
        fit(model, RegressionTask(), src, config={"steps": 1})
