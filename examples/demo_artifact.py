"""Make a small stepper artifact for the import examples, without training.

The tendency network here is a depth-1 ``sciml.nn.Tendency`` whose kernel is set by hand, so the
examples run in seconds on any machine. Pass ``--artifact`` to the examples to use a trained one
(``sciml reproduce learned-stepper --quick`` then ``sciml export RUN_DIR --out stepper.h5``).

Two kernels are available:
- ``"laplacian"``: G(u) = nu u_xx with the 4th-order centred stencil (-1, 16, -30, 16, -1) / 12 dx^2;
- ``"correction"``: the difference between that stencil and the 2nd-order one (1, -2, 1) / dx^2, i.e.
  the coarse-grid correction a plain 2nd-order finite-difference solver is missing.
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper import export_stepper
from sciml.stepper.model import LearnedStepper
from sciml.stepper.normalisation import Normalisation

FOURTH = np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0
SECOND = np.array([0.0, 1.0, -2.0, 1.0, 0.0])


def make_artifact(
    path: str | Path,
    *,
    kind: str,
    n: int = 32,
    length: float = 2 * np.pi,
    nu: float = 0.5,
    dt: float = 0.01,
) -> Path:
    dx = length / n
    stencil = FOURTH if kind == "laplacian" else FOURTH - SECOND
    g = Tendency(1, kernel_size=5, depth=1, ndim=1, rngs=nnx.Rngs(0))
    g.convs[0].conv.kernel[...] = jnp.asarray(stencil.reshape(5, 1, 1) * nu / dx**2, jnp.float32)
    g.convs[0].conv.bias[...] = jnp.zeros(1)
    stepper = LearnedStepper(
        g,
        dt=dt,
        integrator="rk4",
        dx=[dx],
        variables=("u",),
        units={"u": "1", "x": "1", "t": "1"},
        grid_shape=(n,),
        normalisation=Normalisation(data_hash=f"demo:{kind}"),
    )
    return export_stepper(stepper, path, overwrite=True)
