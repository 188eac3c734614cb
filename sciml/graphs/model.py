"""The graph learned stepper: Z(t + dt) = Z(t) + dt G(Z(t)) with G a graph network on a fixed mesh.

The state is a node field ``z`` ``(batch, N, C)`` on one :class:`~sciml.graphs.graph.FixedGraph`
(the mesh of the solver that made the training data). G comes from the zoo
(:mod:`sciml.nn.graph`), chosen by ``kind``:

- ``"gcn"``: ``depth`` Kipf-Welling graph convolutions ``D^-1/2 (A + I) D^-1/2 X W + b``,
  the activation between them;
- ``"cheb"``: ``depth`` Chebyshev filters with ``K`` terms on ``2 L / lambda_max - I``
  (Defferrard et al. 2016; ``lambda_max`` of the graph computed once, exactly, on the host);
- ``"mpnn"``: encode-process-decode message passing (MeshGraphNets, Pfaff et al. 2021) with
  ``depth`` unshared blocks of width ``width`` and the relative edge positions as edge features.

As for the grid steppers, G is a continuous-time tendency and the normalisation travels with the
model (per channel, ``(C,)``)::

    z_n = (z - state_mean) / state_std
    dz/dt = tendency_std * G(z_n) + tendency_mean          (0 on ``fixed_nodes``)

``fixed_nodes`` are nodes whose value the physics holds (Dirichlet nodes of the solver): their
tendency is zero, so they keep their value exactly. A batch of ``B`` states is one block-diagonal
graph of ``B`` copies (senders offset by ``b N``), so the zoo layers see flat node arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.graphs.graph import FixedGraph
from sciml.solvers.integrators import INTEGRATORS

KINDS = ("gcn", "cheb", "mpnn")


class Constant(nnx.Variable):
    """Non-trainable arrays of the model (graph, statistics): checkpointed, never optimised."""


class _Batched(NamedTuple):
    """What the zoo layers read from a graph (duck typed, see :mod:`sciml.nn.graph`)."""

    senders: jax.Array
    receivers: jax.Array
    n_node: jax.Array
    n_edge: jax.Array
    edges: jax.Array


class GraphTendency(nnx.Module):
    """G: ``(N_total, C) -> (N_total, C)`` on a (batched) graph; see the module docstring.

    Args:
      channels: ``C``.
      kind: ``"gcn"``, ``"cheb"`` or ``"mpnn"``.
      width: hidden features (``gcn``/``cheb``) or latent width (``mpnn``).
      depth: layers (``gcn``/``cheb``, >= 1) or message-passing blocks (``mpnn``).
      K: Chebyshev terms per layer (``cheb``).
      activation: between layers (``gcn``/``cheb``; ``mpnn`` uses ReLU inside its MLPs).
      edge_features: width of the edge features (``mpnn``; ``d + 1``).
      mlp_layers: hidden layers per MLP (``mpnn``).
      use_bias: biases in the layers (``gcn``/``cheb``). Without them (and with an activation
        that vanishes at 0, e.g. tanh) ``G(0) = 0`` exactly, as for linear homogeneous physics.
        ``mpnn`` always has biases (its edge features make ``G(0) != 0`` anyway): use
        :class:`GraphStepper`'s ``zero_anchor`` there.
    """

    def __init__(
        self,
        channels: int,
        *,
        kind: str = "cheb",
        width: int = 32,
        depth: int = 2,
        K: int = 3,
        activation: str = "tanh",
        edge_features: int = 3,
        mlp_layers: int = 1,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        from sciml.nn.activations import get_activation

        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {list(KINDS)}, found {kind!r}")
        if depth < 1 or width < 1:
            raise ValueError(f"depth, width: expected >= 1, found {depth}, {width}")
        self.kind, self.depth, self.width, self.K = kind, int(depth), int(width), int(K)
        self.channels, self.edge_features, self.mlp_layers = channels, edge_features, mlp_layers
        self.activation_name = activation
        self.use_bias = bool(use_bias)
        self._act = get_activation(activation)
        if kind == "mpnn":
            if not use_bias:
                raise ValueError(
                    "use_bias: kind='mpnn' needs its biases (edge features make G(0) != 0 "
                    "anyway), found use_bias=False; pass zero_anchor=True to the stepper instead"
                )
            from sciml.nn.graph import MeshGraphNet

            self.net = MeshGraphNet(
                channels,
                edge_features,
                channels,
                latent=width,
                hidden=width,
                n_hidden=mlp_layers,
                steps=depth,
                rngs=rngs,
            )
            return
        from sciml.nn.graph import ChebConv, GCNConv

        sizes = [channels] + [width] * (depth - 1) + [channels]
        if kind == "gcn":
            layers = [
                GCNConv(a, b, use_bias=use_bias, rngs=rngs) for a, b in itertools.pairwise(sizes)
            ]
        else:
            layers = [
                ChebConv(a, b, K, use_bias=use_bias, rngs=rngs)
                for a, b in itertools.pairwise(sizes)
            ]
        self.layers = nnx.List(layers)

    def __call__(self, x: jax.Array, graph: Any, lambda_max: jax.Array) -> jax.Array:
        if self.kind == "mpnn":
            return self.net(x, graph)
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h, graph) if self.kind == "gcn" else layer(h, graph, lambda_max=lambda_max)
            if i < len(self.layers) - 1:
                h = self._act(h)
        return h

    def architecture(self) -> dict[str, Any]:
        return {
            "kind": "graph",
            "network": self.kind,
            "channels": self.channels,
            "width": self.width,
            "depth": self.depth,
            "K": self.K,
            "activation": self.activation_name,
            "edge_features": self.edge_features,
            "mlp_layers": self.mlp_layers,
            "use_bias": self.use_bias,
        }


def _vec(v, c: int, default: float, name: str) -> jax.Array:
    if v is None:
        return jnp.full((c,), default, jnp.float32)
    a = jnp.asarray(v, jnp.float32).reshape(-1)
    a = jnp.broadcast_to(a, (c,)) if a.shape[0] == 1 else a
    if a.shape != (c,):
        raise ValueError(f"{name}: expected {c} per-channel values, found shape {tuple(a.shape)}")
    return a


class GraphStepper(nnx.Module):
    """A learned ``state -> state`` step on a fixed graph (see the module docstring).

    Args:
      tendency: the network G (:class:`GraphTendency`).
      graph: the :class:`FixedGraph` (mesh or grid) the states live on.
      dt: time step (time units). integrator: ``euler``, ``rk2``, ``ssprk3`` or ``rk4``.
      variables, units: channel names and units.
      state_mean, state_std, tendency_mean, tendency_std: per-channel statistics ``(C,)``.
      fixed_nodes: indices of nodes held by the physics (zero tendency), or None.
      data_hash: provenance of the training data.
      zero_anchor: use ``dz/dt(z) - dz/dt(0)`` as the tendency, so the zero state is a fixed
        point exactly (linear homogeneous physics such as diffusion with ``u = 0`` on the
        boundary) whatever the network; costs one extra network call on one zero state per step.

    Shapes: ``step(z)``, ``tendency_fn(z)``: ``(batch, N, C)`` -> ``(batch, N, C)``.
    """

    def __init__(
        self,
        tendency: GraphTendency,
        graph: FixedGraph,
        *,
        dt: float,
        integrator: str = "euler",
        variables: Sequence[str] = ("u",),
        units: dict[str, str] | None = None,
        state_mean=None,
        state_std=None,
        tendency_mean=None,
        tendency_std=None,
        fixed_nodes: Sequence[int] | np.ndarray | None = None,
        data_hash: str = "",
        zero_anchor: bool = False,
    ):
        if not dt > 0:
            raise ValueError(f"dt: expected a positive time step, found {dt}")
        if integrator not in INTEGRATORS:
            raise ValueError(
                f"integrator: expected one of {sorted(INTEGRATORS)}, found {integrator!r}"
            )
        self.tendency = tendency
        self.dt = float(dt)
        self.integrator = integrator
        self.variables = tuple(variables)
        self.units = dict(units or {})
        self.data_hash = str(data_hash)
        self.zero_anchor = bool(zero_anchor)
        self.graph_name = graph.name
        c = len(self.variables)
        if tendency.channels != c:
            raise ValueError(f"tendency: built for {tendency.channels} channels, variables {c}")
        self.n_nodes = graph.n_nodes
        self.senders = Constant(jnp.asarray(graph.senders, jnp.int32))
        self.receivers = Constant(jnp.asarray(graph.receivers, jnp.int32))
        self.edge_features = Constant(jnp.asarray(graph.edge_features, jnp.float32))
        self.positions = Constant(jnp.asarray(graph.positions, jnp.float32))
        self.lambda_max = float(graph.lambda_max)
        mask = np.ones(graph.n_nodes, np.float32)
        if fixed_nodes is not None and len(fixed_nodes):
            idx = np.asarray(fixed_nodes, np.int64)
            if idx.min() < 0 or idx.max() >= graph.n_nodes:
                raise ValueError(f"fixed_nodes: indices must lie in 0..{graph.n_nodes - 1}")
            mask[idx] = 0.0
        self.free_mask = Constant(jnp.asarray(mask))
        self.state_mean = Constant(_vec(state_mean, c, 0.0, "state_mean"))
        self.state_std = Constant(_vec(state_std, c, 1.0, "state_std"))
        self.tendency_mean = Constant(_vec(tendency_mean, c, 0.0, "tendency_mean"))
        self.tendency_std = Constant(_vec(tendency_std, c, 1.0, "tendency_std"))

    @property
    def channels(self) -> int:
        return len(self.variables)

    def with_integrator(
        self, integrator: str | None = None, dt: float | None = None
    ) -> GraphStepper:
        """Swap the time integrator and/or dt in place (G is continuous-time); returns self."""
        if integrator is not None:
            if integrator not in INTEGRATORS:
                raise ValueError(
                    f"integrator: expected one of {sorted(INTEGRATORS)}, found {integrator!r}"
                )
            self.integrator = integrator
        if dt is not None:
            if not dt > 0:
                raise ValueError(f"dt: expected a positive time step, found {dt}")
            self.dt = float(dt)
        return self

    def graph(self) -> FixedGraph:
        """The graph as NumPy arrays."""
        return FixedGraph(
            senders=np.asarray(self.senders[...]),
            receivers=np.asarray(self.receivers[...]),
            positions=np.asarray(self.positions[...], np.float64),
            edge_features=np.asarray(self.edge_features[...]),
            lambda_max=self.lambda_max,
            name=self.graph_name,
        )

    def check_state(self, z: jax.Array) -> None:
        if z.ndim != 3 or z.shape[1:] != (self.n_nodes, self.channels):
            raise ValueError(
                f"state: expected (batch, {self.n_nodes}, {self.channels}) for variables "
                f"{list(self.variables)} on the stepper's graph, found {tuple(z.shape)}"
            )

    def _batched_graph(self, b: int) -> _Batched:
        n, s, r = self.n_nodes, self.senders[...], self.receivers[...]
        offs = (jnp.arange(b, dtype=jnp.int32) * n)[:, None]
        e = s.shape[0]
        return _Batched(
            senders=(s[None] + offs).reshape(-1),
            receivers=(r[None] + offs).reshape(-1),
            n_node=jnp.full((b,), n, jnp.int32),
            n_edge=jnp.full((b,), e, jnp.int32),
            edges=jnp.tile(self.edge_features[...], (b, 1)),
        )

    def _raw_tendency(self, z: jax.Array) -> jax.Array:
        b = z.shape[0]
        zn = (z - self.state_mean[...]) / self.state_std[...]
        lam = jnp.full((b,), self.lambda_max, zn.dtype)
        g = self.tendency(zn.reshape(b * self.n_nodes, -1), self._batched_graph(b), lam)
        return g.reshape(z.shape) * self.tendency_std[...] + self.tendency_mean[...]

    def tendency_fn(self, z: jax.Array) -> jax.Array:
        """Physical tendency ``dz/dt`` ``(batch, N, C)``."""
        self.check_state(z)
        g = self._raw_tendency(z)
        if self.zero_anchor:
            g = g - self._raw_tendency(jnp.zeros((1, *z.shape[1:]), z.dtype))
        return g * self.free_mask[...][None, :, None]

    def step(self, z: jax.Array) -> jax.Array:
        """One step of the integrator: ``(batch, N, C)`` -> same."""
        return INTEGRATORS[self.integrator](self.tendency_fn, z, self.dt)

    __call__ = step

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description (everything but the arrays)."""
        return {
            "dt": self.dt,
            "integrator": self.integrator,
            "variables": list(self.variables),
            "units": self.units,
            "data_hash": self.data_hash,
            "n_nodes": self.n_nodes,
            "graph_name": self.graph_name,
            "lambda_max": self.lambda_max,
            "zero_anchor": self.zero_anchor,
        }


def make_graph_stepper(
    graph: FixedGraph,
    *,
    kind: str = "cheb",
    variables: Sequence[str] = ("u",),
    dt: float,
    integrator: str = "euler",
    network_kwargs: dict[str, Any] | None = None,
    units: dict[str, str] | None = None,
    state_mean=None,
    state_std=None,
    tendency_mean=None,
    tendency_std=None,
    fixed_nodes=None,
    data_hash: str = "",
    zero_anchor: bool = False,
    rngs: nnx.Rngs,
) -> GraphStepper:
    """Build a :class:`GraphStepper` with G a :class:`GraphTendency` of ``kind``."""
    g = GraphTendency(
        len(tuple(variables)),
        kind=kind,
        edge_features=int(graph.edge_features.shape[1]),
        rngs=rngs,
        **dict(network_kwargs or {}),
    )
    return GraphStepper(
        g,
        graph,
        dt=dt,
        integrator=integrator,
        variables=variables,
        units=units,
        state_mean=state_mean,
        state_std=state_std,
        tendency_mean=tendency_mean,
        tendency_std=tendency_std,
        fixed_nodes=fixed_nodes,
        data_hash=data_hash,
        zero_anchor=zero_anchor,
    )
