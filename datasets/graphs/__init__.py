"""Graph data (installed as ``sciml.datasets.graphs``): the batch structure, builders, spectra, files.

No ML here (the layers live in the zoo, :mod:`sciml.nn.graph`). The batch type
:class:`GraphBatch` is defined in this package; the zoo's layers never import it and read any
object with ``senders``, ``receivers``, ``n_node``, ``n_edge`` (and optionally masks and
``edges``) instead, so ``GraphBatch`` goes straight into them.
"""

from sciml.datasets.graphs.batch import GraphBatch as GraphBatch
from sciml.datasets.graphs.batch import batch_graphs as batch_graphs
from sciml.datasets.graphs.batch import check_graph as check_graph
from sciml.datasets.graphs.batch import make_graph as make_graph
from sciml.datasets.graphs.batch import merge_stacked as merge_stacked
from sciml.datasets.graphs.batch import pad_graphs as pad_graphs
from sciml.datasets.graphs.batch import padding_budget as padding_budget
from sciml.datasets.graphs.batch import unbatch as unbatch
from sciml.datasets.graphs.batch import unpad as unpad
from sciml.datasets.graphs.builders import edge_features as edge_features
from sciml.datasets.graphs.builders import grid_graph as grid_graph
from sciml.datasets.graphs.builders import knn_graph as knn_graph
from sciml.datasets.graphs.builders import mesh_edges as mesh_edges
from sciml.datasets.graphs.builders import mesh_graph as mesh_graph
from sciml.datasets.graphs.builders import radius_graph as radius_graph
from sciml.datasets.graphs.convert import from_networkx as from_networkx
from sciml.datasets.graphs.convert import from_scipy_sparse as from_scipy_sparse
from sciml.datasets.graphs.convert import to_networkx as to_networkx
from sciml.datasets.graphs.convert import to_scipy_sparse as to_scipy_sparse
from sciml.datasets.graphs.h5 import GraphSource as GraphSource
from sciml.datasets.graphs.h5 import read_graphs as read_graphs
from sciml.datasets.graphs.h5 import write_graphs as write_graphs
from sciml.datasets.graphs.items import GraphCollate as GraphCollate
from sciml.datasets.graphs.items import PaddedGraphs as PaddedGraphs
from sciml.datasets.graphs.items import graph_from_item as graph_from_item
from sciml.datasets.graphs.items import graph_to_item as graph_to_item
from sciml.datasets.graphs.spectral import lambda_max as lambda_max
from sciml.datasets.graphs.spectral import laplacian as laplacian
from sciml.datasets.graphs.spectral import laplacian_eigenbasis as laplacian_eigenbasis
