"""A graph model trains through the one loop (sciml.train) from a graph file: data kind ``graphs``,
task ``graph_regression``, model ``graph_convnet``."""

import numpy as np
from sciml.datasets import graphs as gd

from sciml.train import TrainConfig, train


def _propagated(g, x):
    """Target: one Kipf-Welling propagation ``D^-1/2 (A + I) D^-1/2 x`` (a GCN layer can fit it)."""
    n = x.shape[0]
    a = np.eye(n)
    np.add.at(a, (g.receivers, g.senders), 1.0)
    dis = 1 / np.sqrt(a.sum(1))
    return (dis[:, None] * a * dis) @ x


def test_graph_convnet_trains_through_fit(tmp_path):
    rng = np.random.default_rng(0)
    graphs = []
    for k in range(24):
        shape = (3 + k % 3, 3 + (k // 3) % 3)
        g = gd.grid_graph(shape, periodic=False)
        x = rng.normal(size=(g.n_node[0], 1)).astype(np.float32)
        y = (2.0 * _propagated(g, x)).astype(np.float32)
        graphs.append(g._replace(nodes={"x": x, "y": y}))
    gd.write_graphs(tmp_path / "train.h5", graphs[:16])
    gd.write_graphs(tmp_path / "eval.h5", graphs[16:])
    config = TrainConfig.from_dict(
        {
            "model": {"name": "graph_convnet", "kwargs": {"layers": 1}},
            "task": {"name": "graph_regression", "kwargs": {"input_key": "x", "target_key": "y"}},
            "data": {
                "train": {"kind": "graphs", "kwargs": {"path": str(tmp_path / "train.h5")}},
                "eval": {
                    "kind": "graphs",
                    "kwargs": {"path": str(tmp_path / "eval.h5"), "n_node": 26, "n_edge": 80},
                },
            },
            "optim": {"learning_rate": 0.05},
            "mesh": {"data": 1},
            "steps": 60,
            "batch_size": 4,
            "eval_every": 0,
            "log_every": 5,
        }
    )
    result = train(config)
    evals = [r for r in result.history if r["split"] == "eval"]
    trains = [r for r in result.history if r["split"] == "train"]
    assert trains[-1]["loss"] < 0.05 * trains[0]["loss"], trains  # step 60 against step 5
    assert evals[-1]["nrmse"] < 0.05, evals  # held-out graphs of other sizes
