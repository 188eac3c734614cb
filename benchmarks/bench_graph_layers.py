"""Graph layer benchmark: GCN and Chebyshev epoch time on a ~100k-node mesh, JAX against PyG.

The graph is the Delaunay triangulation of a jittered ``m x m`` grid of the unit square
(``--nodes`` points, ~3 undirected edges per node, both directions stored: ~6 directed edges
per node), built with :func:`sciml.datasets.graphs.mesh_graph`. One "epoch" is one full-graph
forward and backward pass (gradients of ``sum(out^2)`` with respect to the layer's parameters)
of a ``F -> F`` layer on random node features, as in full-batch node regression:

- ``sciml.nn.graph.GCNConv`` / ``ChebConv(K=3)`` under ``jax.jit`` (normalisation recomputed
  every call; ``lambda_max`` per graph computed once on the host by Lanczos and passed in);
- ``torch_geometric.nn.GCNConv(cached=False)`` / ``ChebConv(K=3, normalization="sym")`` with the
  same ``lambda_max`` (optional extra ``graphs``; skipped when torch_geometric is missing).

Both run on the CPU in the same process, with the same thread count (``--threads``; on a
loaded machine, one thread each gives the most repeatable figures: PyTorch's OpenMP kernels
slow down by an order of magnitude when their threads must share oversubscribed cores). It prints the median time
per epoch over ``--repeats`` epochs (after one warm-up epoch that includes compilation) and the
ratio ``sciml / PyG`` (< 1: sciml faster).

    python benchmarks/bench_graph_layers.py                      # 100k nodes, 32 features
    python benchmarks/bench_graph_layers.py --nodes 20000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


def mesh(n_nodes: int, seed: int = 0):
    from sciml.datasets.graphs import mesh_graph
    from scipy.spatial import Delaunay

    m = round(np.sqrt(n_nodes))
    rng = np.random.default_rng(seed)
    xy = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)
    pts = (xy + rng.uniform(-0.3, 0.3, xy.shape)) / m
    tri = Delaunay(pts)
    return mesh_graph(pts, tri.simplices)


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_jax(graph, x: np.ndarray, lam: np.ndarray, kind: str, repeats: int) -> float:
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from sciml.nn.graph import ChebConv, GCNConv

    f = x.shape[1]
    layer = (
        GCNConv(f, f, rngs=nnx.Rngs(0)) if kind == "gcn" else ChebConv(f, f, 3, rngs=nnx.Rngs(0))
    )
    graphdef, params = nnx.split(layer, nnx.Param)
    g = jax.tree.map(jnp.asarray, graph._replace(nodes=None, edges=None))
    xj, lamj = jnp.asarray(x), jnp.asarray(lam, jnp.float32)

    @jax.jit  # data as arguments, not closed-over constants (XLA would constant-fold them)
    def epoch(params, x, g, lam):
        def loss(p):
            m = nnx.merge(graphdef, p)
            out = m(x, g, lambda_max=lam) if kind == "cheb" else m(x, g)
            return jnp.sum(out**2)

        return jax.value_and_grad(loss)(params)

    def run():
        _, grads = epoch(params, xj, g, lamj)
        jax.block_until_ready(grads)

    return _median_time(run, repeats)


def bench_pyg(graph, x: np.ndarray, lam: np.ndarray, kind: str, repeats: int) -> float:
    import torch
    from torch_geometric.nn import ChebConv, GCNConv

    f = x.shape[1]
    torch.manual_seed(0)
    layer = (
        GCNConv(f, f, cached=False) if kind == "gcn" else ChebConv(f, f, K=3, normalization="sym")
    )
    edge_index = torch.from_numpy(np.stack([graph.senders, graph.receivers]).astype(np.int64))
    xt = torch.from_numpy(x)
    lam_t = torch.tensor(lam, dtype=torch.float32)

    def run():
        layer.zero_grad()
        out = layer(xt, edge_index) if kind == "gcn" else layer(xt, edge_index, lambda_max=lam_t)
        (out**2).sum().backward()

    return _median_time(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU threads for both (default: all)",
    )
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.threads == 1:  # before JAX starts: XLA's CPU client then runs on one thread
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    from sciml.datasets.graphs import lambda_max

    t0 = time.perf_counter()
    graph = mesh(args.nodes)
    lam = lambda_max(graph, "sym", method="lanczos").astype(np.float32)
    build = time.perf_counter() - t0
    n, e = int(graph.n_node[0]), int(graph.n_edge[0])
    x = np.random.default_rng(1).standard_normal((n, args.features)).astype(np.float32)
    print(
        f"mesh graph: {n} nodes, {e} directed edges, lambda_max(sym) = {lam[0]:.4f} "
        f"(built in {build:.1f} s); {args.features} -> {args.features} features; "
        f"{os.cpu_count()} CPUs"
    )
    try:
        import torch
        import torch_geometric

        torch.set_num_threads(args.threads)
        pyg = f"torch {torch.__version__}, torch_geometric {torch_geometric.__version__}"
    except ImportError:
        pyg = None
        print("torch_geometric not installed (pip install 'sciml[graphs]'): JAX figures only")
    import jax

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {pyg or ''}")
    rows = []
    print(f"{'layer':8s} {'sciml (JAX) s/epoch':>20s} {'PyG s/epoch':>12s} {'ratio':>8s}")
    for kind in ("gcn", "cheb"):
        tj = bench_jax(graph, x, lam, kind, args.repeats)
        tp = bench_pyg(graph, x, lam, kind, args.repeats) if pyg else float("nan")
        rows.append({"layer": kind, "jax_s": tj, "pyg_s": tp, "ratio": tj / tp})
        print(f"{kind:8s} {tj:20.4f} {tp:12.4f} {tj / tp:8.2f}")
    print("ratio = sciml time / PyG time per forward+backward epoch (< 1: sciml faster)")
    if args.json:
        from sciml.atomic import write_text

        write_text(args.json, json.dumps({"nodes": n, "edges": e, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
