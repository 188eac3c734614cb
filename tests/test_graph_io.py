"""Graph files (HDF5 layout), the Loader's collate hook, and fixed-shape padded graph samples."""

import jax
import numpy as np
import pytest
from sciml.datasets import Loader
from sciml.datasets import graphs as gd


def _graphs(n=7, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        nn, ne = 3 + k % 4, 2 + 2 * (k % 3)
        out.append(
            gd.make_graph(
                {
                    "x": rng.normal(size=(nn, 2)).astype(np.float32),
                    "y": np.full((nn, 1), k, np.float32),
                },
                rng.integers(0, nn, ne),
                rng.integers(0, nn, ne),
                edges=rng.normal(size=(ne, 3)).astype(np.float32),
                globals=np.array([k], np.float32),
            )
        )
    return out


def _same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("graphs") / "g.h5"
    gd.write_graphs(path, _graphs())
    return path


def test_file_round_trip_and_errors(graph_file, tmp_path):
    graphs = _graphs()
    _same(gd.read_graphs(graph_file), gd.batch_graphs(graphs))
    _same(gd.read_graphs(graph_file, [4, 1]), gd.batch_graphs([graphs[4], graphs[1]]))
    assert [p.name for p in graph_file.parent.iterdir()] == ["g.h5"]  # no temporary left over
    # padding is dropped on write
    padded = gd.pad_graphs(gd.batch_graphs(graphs[:2]), 32, 32, 4)
    gd.write_graphs(tmp_path / "p.h5", padded)
    _same(gd.read_graphs(tmp_path / "p.h5"), gd.batch_graphs(graphs[:2]))
    with pytest.raises(FileNotFoundError, match=r"GraphSource: file '.*missing.h5' not found"):
        gd.GraphSource(tmp_path / "missing.h5")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["u"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"expected a sciml graph file .* found None"):
        gd.GraphSource(tmp_path / "other.h5")


def _collect(loader):
    return [gd.unpad(b) for b in loader]


def test_loader_collate_determinism_resume_sharding(graph_file):
    source = gd.GraphSource(graph_file)
    collate = gd.GraphCollate(n_node=32, n_edge=32, n_graph=5)
    kw = {"seed": 3, "num_epochs": 2, "num_threads": 0, "collate": collate}
    full = _collect(Loader(source, global_batch=2, process_index=0, process_count=1, **kw))
    assert len(full) == 6 and all(
        b.senders.shape == (32,)
        for b in Loader(source, global_batch=2, process_index=0, process_count=1, **kw)
    )
    again = _collect(Loader(source, global_batch=2, process_index=0, process_count=1, **kw))
    for a, b in zip(full, again):
        _same(a, b)
    # every graph of an epoch appears once: globals hold the graph index
    epoch0 = np.concatenate([b.globals[:, 0] for b in full[:3]])
    assert len(set(epoch0.tolist())) == 6
    # resume after two batches gives the rest
    first = Loader(source, global_batch=2, process_index=0, process_count=1, **kw)
    it = iter(first)
    next(it), next(it)
    resumed = Loader(source, global_batch=2, process_index=0, process_count=1, **kw)
    resumed.set_state(first.get_state())
    for a, b in zip(_collect(resumed), full[2:]):
        _same(a, b)
    # two processes: their batches, concatenated in process order, are the one-process batch
    parts = [
        _collect(Loader(source, global_batch=2, process_index=p, process_count=2, **kw))
        for p in (0, 1)
    ]
    for k, whole in enumerate(full):
        _same(gd.batch_graphs([parts[0][k], parts[1][k]]), whole)
    # drop_remainder=False: the last batch holds the remaining valid graphs only
    last = _collect(
        Loader(source, global_batch=4, process_index=0, process_count=1, drop_remainder=False, **kw)
    )
    assert [b.num_graphs for b in last] == [4, 3, 4, 3]
    small = gd.GraphCollate(n_node=8, n_edge=32, n_graph=5)
    with pytest.raises(ValueError, match=r"pad_graphs: n_node: the budget 8 is too small"):
        next(
            iter(
                Loader(
                    source,
                    global_batch=4,
                    seed=0,
                    process_index=0,
                    process_count=1,
                    num_threads=0,
                    collate=small,
                )
            )
        )


def test_padded_graphs_stack_and_merge(graph_file):
    graphs = _graphs()
    source = gd.PaddedGraphs(gd.GraphSource(graph_file), n_node=8, n_edge=8)
    spec = source.element_spec
    assert spec["nodes.x"] == ((8, 2), np.float32) and spec["n_node"][0] == (2,)
    loader = Loader(
        source,
        global_batch=3,
        seed=0,
        shuffle=False,
        num_threads=0,
        process_index=0,
        process_count=1,
    )
    stacked = next(iter(loader))
    assert stacked["senders"].shape == (3, 8)
    merged = jax.jit(lambda b: gd.merge_stacked(gd.graph_from_item(b)))(stacked)
    merged = jax.tree.map(np.asarray, merged)
    gd.check_graph(merged)
    _same(gd.unpad(merged), gd.batch_graphs(graphs[:3]))
    with pytest.raises(
        ValueError, match=r"PaddedGraphs: graph 3 has 6 nodes .* raise n_node to >= 7"
    ):
        gd.PaddedGraphs(graphs, n_node=6, n_edge=8)
