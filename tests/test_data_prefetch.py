"""Batches onto the mesh: global arrays with the batch sharding, prefetch keeps resumability."""

import itertools

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from sciml.datasets import ArraySource, Loader, batch_sharding, prefetch_to_mesh, to_global_array


def _mesh():
    return Mesh(np.array(jax.devices()[:8]).reshape(4, 2), ("data", "model"))


def _loader(**kw):
    n = 40
    src = ArraySource(
        {"id": np.arange(n), "u": np.arange(n * 6, dtype=np.float32).reshape(n, 3, 2)}
    )
    return Loader(src, global_batch=8, seed=2, process_index=0, process_count=1, **kw)


def test_to_global_array_shards_the_batch_axis():
    mesh = _mesh()
    sharding = batch_sharding(mesh, "data")
    assert sharding.spec == PartitionSpec("data")
    batch = next(iter(_loader()))
    out = to_global_array(batch, sharding)
    assert set(out) == {"id", "u"}
    np.testing.assert_array_equal(np.asarray(out["u"]), batch["u"])
    np.testing.assert_array_equal(np.asarray(out["id"]), batch["id"])
    assert out["u"].sharding == sharding
    # each of the 4 data shards holds 2 consecutive rows, replicated over "model"
    for shard in out["u"].addressable_shards:
        rows = shard.index[0]
        assert rows.stop - rows.start == 2
        np.testing.assert_array_equal(np.asarray(shard.data), batch["u"][rows])
    per_key = {"id": NamedSharding(mesh, PartitionSpec()), "u": sharding}
    out = to_global_array(batch, per_key)
    assert out["id"].sharding.is_fully_replicated


def test_prefetch_to_mesh_checkpoints_the_consumer_position():
    sharding = batch_sharding(_mesh(), ("data", "model"))
    reference = [b["id"].copy() for b in itertools.islice(_loader(), 6)]
    loader = _loader()
    stream = prefetch_to_mesh(loader, sharding, size=3)
    got = [np.asarray(b["id"]) for b in itertools.islice(stream, 2)]
    # 2 consumed, up to 3 more already on the device; the state points after the consumed ones
    assert loader.get_state()["step"] > 2
    state = stream.get_state()
    assert state["step"] == 2
    resumed = _loader()
    resumed.set_state(state)
    got += [b["id"].copy() for b in itertools.islice(resumed, 4)]
    for a, b in zip(got, reference):
        np.testing.assert_array_equal(a, b)


def test_prefetch_finite_loader_ends():
    sharding = batch_sharding(_mesh(), "data")
    stream = prefetch_to_mesh(_loader(num_epochs=1), sharding, size=2)
    assert len(list(stream)) == 5
    assert stream.get_state()["step"] == 5


def test_mesh_errors():
    mesh = _mesh()
    with pytest.raises(
        ValueError, match=r"axes: expected names of the mesh axes.*found \['batch'\]"
    ):
        batch_sharding(mesh, "batch")
    batch = {"u": np.zeros((8, 2)), "v": np.zeros((8,))}
    with pytest.raises(ValueError, match=r"expected a sharding for every batch key.*'v'"):
        to_global_array(batch, {"u": batch_sharding(mesh)})
    with pytest.raises(ValueError, match=r"'u': expected a local batch divisible by the 4 batch"):
        to_global_array({"u": np.zeros((6, 2))}, batch_sharding(mesh))
