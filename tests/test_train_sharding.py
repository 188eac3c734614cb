"""The loop on 8 fake CPU devices: sharded runs equal the single-device run; checkpoints move
between device counts; bad mesh/batch combinations are rejected with one-line errors."""

import shutil

import jax
import numpy as np
import pytest
from flax import nnx

from sciml.nn import Tendency
from sciml.train import RegressionTask, SyntheticHeat, TrainConfig, fit, make_mesh

STEPS = 6


def _model():
    return Tendency(1, width=4, kernel_size=3, ndim=2, rngs=nnx.Rngs(0))


def _config(data, space, **kw):
    return TrainConfig(
        steps=STEPS,
        batch_size=8,
        log_every=1,
        optim={"learning_rate": 1e-2, "clip_norm": 1.0},
        mesh={"data": data, "space": space},
        **kw,
    )


@pytest.fixture(scope="module")
def source():
    return SyntheticHeat(32, 16, ndim=2, n_modes=4, seed=0)


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory):
    """8 devices on the data axis, checkpoints at steps 3 and 6."""
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    res = fit(
        _model(),
        RegressionTask(),
        source,
        config=_config(8, 1, run_dir=str(run_dir), checkpoint_every=3),
    )
    return res, run_dir


def _losses(result):
    return np.array([r["loss"] for r in result.history if r["split"] == "train"])


def test_eight_fake_devices():
    assert jax.device_count() == 8


@pytest.mark.parametrize("data,space", [(1, 1), (4, 2)])
def test_sharded_losses_equal_single_device(source, reference, data, space):
    """data=8 (reference), data=1 and data=4 x space=2 give the same losses to rtol 1e-5."""
    ref, _ = reference
    res = fit(_model(), RegressionTask(), source, config=_config(data, space))
    assert len(_losses(res)) == STEPS
    np.testing.assert_allclose(_losses(res), _losses(ref), rtol=1e-5)
    assert _losses(res)[-1] < _losses(res)[0]  # it does train
    for a, b in zip(jax.tree.leaves(nnx.state(res.model)), jax.tree.leaves(nnx.state(ref.model))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_checkpoint_restores_on_fewer_devices(source, reference, tmp_path):
    """Resume the 8-device run's step-3 checkpoint on a 2-device mesh: same steps 4-6."""
    ref, ref_dir = reference
    run_dir = tmp_path / "run"
    shutil.copytree(ref_dir, run_dir)
    shutil.rmtree(run_dir / "checkpoints" / str(STEPS))
    res = fit(_model(), RegressionTask(), source, config=_config(2, 1, run_dir=str(run_dir)))
    assert res.final_step == STEPS
    train = [r for r in res.history if r["split"] == "train"]
    assert [r["step"] for r in train] == list(range(1, STEPS + 1))  # 1-3 kept from the file
    np.testing.assert_allclose(_losses(res), _losses(ref), rtol=1e-5)
    for a, b in zip(jax.tree.leaves(nnx.state(res.model)), jax.tree.leaves(nnx.state(ref.model))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_batch_not_divisible_by_data_axis(source):
    cfg = _config(8, 1).replace(batch_size=12)
    with pytest.raises(
        ValueError,
        match=r"batch_size: expected a multiple of the mesh data axis "
        r"\(8 devices\), found 12; set batch_size=8 or 16",
    ):
        fit(_model(), RegressionTask(), source, config=cfg)


def test_space_axis_must_divide_grid():
    src = SyntheticHeat(16, 12, ndim=2, n_modes=3)  # 12 points: not divisible by 8
    with pytest.raises(
        ValueError,
        match=r"mesh.space: 8 devices do not divide axis 1 of data.train "
        r"field 'x' \(size 12.*choose mesh.space among \[1, 2, 3, 4, 6, 12\]",
    ):
        fit(_model(), RegressionTask(), src, config=_config(1, 8))


def test_mesh_errors():
    with pytest.raises(
        ValueError,
        match=r"mesh.space: expected a divisor of the device count 8, "
        r"found 3",
    ):
        make_mesh(space=3)
    with pytest.raises(ValueError, match=r"mesh.data: expected 1..4 .* found 5"):
        make_mesh(data=5, space=2)
    mesh = make_mesh(data=-1, space=2)
    assert dict(mesh.shape) == {"data": 4, "space": 2}


def test_bfloat16_compute_keeps_float32_parameters(source, reference):
    """bfloat16 compute: losses within bfloat16 round-off of float32, parameters stay float32."""
    ref, _ = reference
    cfg = _config(8, 1, compute_dtype="bfloat16")
    bf16 = fit(_model(), RegressionTask(), source, config=cfg)
    np.testing.assert_allclose(_losses(bf16), _losses(ref), rtol=3e-2)
    assert not np.array_equal(_losses(bf16), _losses(ref))  # it did compute in bfloat16
    dtypes = {x.dtype for x in jax.tree.leaves(nnx.state(bf16.model, nnx.Param))}
    assert dtypes == {np.dtype("float32")}


def test_space_split_of_a_3d_field():
    """A 3-D field split over 4 devices along y (space_axis=1) trains like one device."""
    src = SyntheticHeat(8, 8, ndim=3, n_modes=2, seed=2)
    losses = []
    for data, space in [(1, 1), (2, 4)]:
        cfg = TrainConfig(steps=3, batch_size=4, log_every=1, optim={"learning_rate": 1e-2},
                          mesh={"data": data, "space": space, "space_axis": 1})  # fmt: skip
        model = Tendency(1, width=2, kernel_size=3, ndim=3, rngs=nnx.Rngs(0))
        losses.append(_losses(fit(model, RegressionTask(), src, config=cfg)))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
