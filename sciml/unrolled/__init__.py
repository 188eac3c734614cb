"""Unrolled optimisation: iterative solvers as recurrent networks with learned weights.

ISTA, coordinate descent and convolutional ISTA for sparse coding (classical versions in
:mod:`sciml.solvers.optim`) unrolled for ``K`` steps with learned matrices, kernels and
thresholds, trained through the one loop :func:`sciml.train.fit` to predict the optimal code:

    LISTA         learned ISTA (Gregor and LeCun 2010), with tied, partially shared or untied S
    LCoD          learned coordinate descent (Gregor and LeCun 2010)
    ConvLISTA     convolutional LISTA (dictionary elements are convolution kernels)
    SparseCodingTask   the training objective (squared error to the optimal code)

Shapes: signals ``(batch, n)`` and codes ``(batch, m)``; convolutional images channels-last
``(batch, H, W, 1)`` and feature maps ``(batch, H, W, m)``. VarNet (:mod:`sciml.mri`) is the same
idea for MRI: unrolled gradient steps on the SENSE model with a learned regulariser.
"""

from sciml.unrolled.conv_lista import ConvLISTA as ConvLISTA
from sciml.unrolled.lcod import LCoD as LCoD
from sciml.unrolled.lista import LISTA as LISTA
from sciml.unrolled.lista import count_parameters as count_parameters
from sciml.unrolled.lista import ista_parameters as ista_parameters
from sciml.unrolled.tasks import SparseCodingTask as SparseCodingTask

__all__ = ["LISTA", "ConvLISTA", "LCoD", "SparseCodingTask", "count_parameters", "ista_parameters"]
