"""Classical optimisation for inverse problems (installed as ``sciml.solvers.optim``).

Linear operators as (forward, adjoint) pairs, l1-regularised least squares by ISTA and FISTA,
total-variation reconstruction by the Chambolle-Pock primal-dual method, orthonormal wavelets and
the MRI (SENSE) forward model. Everything is JAX (jit, vmap, grad); nothing here imports the ML
code, so the learned solvers (:mod:`sciml.unrolled`, :mod:`sciml.mri`) and the classical ones share
these operators.

Shapes: operators act on ``(*batch, *in_shape)``; dense codes are ``(batch, m)``, convolutional
codes channels-last ``(batch, H, W, m)``, MRI images ``(batch, H, W)`` complex and k-space
``(batch, coils, H, W)`` (the fastMRI file layout).
"""

from sciml.solvers.optim.lasso import LassoResult as LassoResult
from sciml.solvers.optim.lasso import fista as fista
from sciml.solvers.optim.lasso import ista as ista
from sciml.solvers.optim.lasso import kkt_violation as kkt_violation
from sciml.solvers.optim.lasso import l1_norm as l1_norm
from sciml.solvers.optim.lasso import lasso_objective as lasso_objective
from sciml.solvers.optim.lasso import soft_threshold as soft_threshold
from sciml.solvers.optim.operators import LIPSCHITZ_MARGIN as LIPSCHITZ_MARGIN
from sciml.solvers.optim.operators import LinearOperator as LinearOperator
from sciml.solvers.optim.operators import check_adjoint as check_adjoint
from sciml.solvers.optim.operators import conv_analysis as conv_analysis
from sciml.solvers.optim.operators import conv_dictionary_operator as conv_dictionary_operator
from sciml.solvers.optim.operators import conv_synthesis as conv_synthesis
from sciml.solvers.optim.operators import linear_operator as linear_operator
from sciml.solvers.optim.operators import matrix_operator as matrix_operator
from sciml.solvers.optim.operators import power_iteration as power_iteration
from sciml.solvers.optim.sense import estimate_sensitivities as estimate_sensitivities
from sciml.solvers.optim.sense import fft2c as fft2c
from sciml.solvers.optim.sense import ifft2c as ifft2c
from sciml.solvers.optim.sense import sens_expand as sens_expand
from sciml.solvers.optim.sense import sens_reduce as sens_reduce
from sciml.solvers.optim.sense import sense_adjoint as sense_adjoint
from sciml.solvers.optim.sense import sense_forward as sense_forward
from sciml.solvers.optim.sense import sense_operator as sense_operator
from sciml.solvers.optim.sparse_coding import check_unit_atoms as check_unit_atoms
from sciml.solvers.optim.sparse_coding import coordinate_descent as coordinate_descent
from sciml.solvers.optim.sparse_coding import learn_dictionary as learn_dictionary
from sciml.solvers.optim.tv import TVResult as TVResult
from sciml.solvers.optim.tv import divergence as divergence
from sciml.solvers.optim.tv import gradient as gradient
from sciml.solvers.optim.tv import total_variation as total_variation
from sciml.solvers.optim.tv import tv_denoise as tv_denoise
from sciml.solvers.optim.tv import tv_reconstruct as tv_reconstruct
from sciml.solvers.optim.wavelets import daubechies as daubechies
from sciml.solvers.optim.wavelets import detail_weights as detail_weights
from sciml.solvers.optim.wavelets import wavedec2 as wavedec2
from sciml.solvers.optim.wavelets import wavelet_filters as wavelet_filters
from sciml.solvers.optim.wavelets import wavelet_l1 as wavelet_l1
from sciml.solvers.optim.wavelets import waverec2 as waverec2

__all__ = [
    "LIPSCHITZ_MARGIN",
    "LassoResult",
    "LinearOperator",
    "TVResult",
    "check_adjoint",
    "check_unit_atoms",
    "conv_analysis",
    "conv_dictionary_operator",
    "conv_synthesis",
    "coordinate_descent",
    "daubechies",
    "detail_weights",
    "divergence",
    "estimate_sensitivities",
    "fft2c",
    "fista",
    "gradient",
    "ifft2c",
    "ista",
    "kkt_violation",
    "l1_norm",
    "lasso_objective",
    "learn_dictionary",
    "linear_operator",
    "matrix_operator",
    "power_iteration",
    "sens_expand",
    "sens_reduce",
    "sense_adjoint",
    "sense_forward",
    "sense_operator",
    "soft_threshold",
    "total_variation",
    "tv_denoise",
    "tv_reconstruct",
    "wavedec2",
    "wavelet_filters",
    "wavelet_l1",
    "waverec2",
]
