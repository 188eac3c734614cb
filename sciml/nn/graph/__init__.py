"""Graph and spectral ConvNet layers (Flax NNX) for irregular domains.

Interface choice. The zoo imports nothing else of sciml, and the data layer
(``sciml.datasets``) imports no ML, so neither can import the other. The batch type
``sciml.datasets.graphs.GraphBatch`` lives in the data layer, and the layers here are
DUCK TYPED: a layer is called as ``layer(x, graph, ...)`` with node features ``x [N, F]`` and
any ``graph`` object that has integer arrays ``senders [E]``, ``receivers [E]`` (absolute node
rows; edge ``j -> i`` sends from ``j`` to ``i``), ``n_node [G]``, ``n_edge [G]`` and,
optionally, boolean ``node_mask [N]`` / ``edge_mask [E]`` (padding) and ``edges [E, Fe]``
(:class:`GraphLike`). A ``GraphBatch``, a jraph ``GraphsTuple`` or a user's own NamedTuple all
work. Padding edges (``edge_mask == False``) get weight 0 and padding nodes receive nothing
from real ones, so padding never changes real nodes.

Layers: :class:`GCNConv` (Kipf and Welling 2017), :class:`ChebConv` (Defferrard et al. 2016),
:class:`SpectralConv` (Bruna et al. 2014), :class:`ResGatedGraphConv` (Bresson and Laurent
2017), :class:`MeshGraphNet` (encode-process-decode, Pfaff et al. 2021). Reductions:
:mod:`sciml.nn.graph.segment`.
"""

from sciml.nn.graph.cheb import ChebConv as ChebConv
from sciml.nn.graph.cheb import scaled_laplacian_apply as scaled_laplacian_apply
from sciml.nn.graph.gated import ResGatedGraphConv as ResGatedGraphConv
from sciml.nn.graph.gcn import GCNConv as GCNConv
from sciml.nn.graph.meshgraphnet import MLP as MLP
from sciml.nn.graph.meshgraphnet import MeshGraphNet as MeshGraphNet
from sciml.nn.graph.models import CONVS as CONVS
from sciml.nn.graph.models import GraphConvNet as GraphConvNet
from sciml.nn.graph.operators import LAPLACIANS as LAPLACIANS
from sciml.nn.graph.operators import GraphLike as GraphLike
from sciml.nn.graph.operators import LaplacianOperator as LaplacianOperator
from sciml.nn.graph.operators import edge_weights as edge_weights
from sciml.nn.graph.operators import estimate_lambda_max as estimate_lambda_max
from sciml.nn.graph.operators import gcn_coefficients as gcn_coefficients
from sciml.nn.graph.operators import laplacian_operator as laplacian_operator
from sciml.nn.graph.operators import node_graph_ids as node_graph_ids
from sciml.nn.graph.segment import segment_count as segment_count
from sciml.nn.graph.segment import segment_max as segment_max
from sciml.nn.graph.segment import segment_mean as segment_mean
from sciml.nn.graph.segment import segment_softmax as segment_softmax
from sciml.nn.graph.segment import segment_sum as segment_sum
from sciml.nn.graph.spectral import GraphBasis as GraphBasis
from sciml.nn.graph.spectral import SpectralConv as SpectralConv
from sciml.nn.graph.spectral import spline_matrix as spline_matrix
