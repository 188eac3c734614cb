"""The learned integrator: Z(t + dt) = Z(t) + dt G(Z(t)) with a trained tendency G.

G is a continuous-time tendency (units: state units per time unit), so the integrator and dt are
run-time choices: a stepper trained with forward Euler at dt can be rolled out with RK4 or at dt/2
and the effect measured.

Normalisation is carried by the model (per channel, shape ``(C,)``)::

    z_n      = (z - state_mean) / state_std
    G_phys(z) = tendency_std * G(z_n) + tendency_mean

The statistics are :class:`Stats` variables: saved in checkpoints and exported, never trained.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.choices import check_choice
from sciml.runge_kutta import TABLEAUX, rk_step
from sciml.stepper.normalisation import FIELDS, Normalisation, resolve


class Stats(nnx.Variable):
    """Non-trainable normalisation statistics (excluded from the optimiser, kept in checkpoints)."""


class LearnedStepper(nnx.Module):
    """A trained ``state -> state`` step on a coarse grid, driven by ``sciml.solvers.rollout``.

    Args:
      tendency: the network G, an ``nnx.Module`` mapping ``(batch, *spatial, C)`` to the same shape
        (``sciml.nn.Tendency`` by default; any zoo network with that contract works). With a
        ``"ghost"`` tendency boundary the stepper fills ``tendency.halo`` ghost cells from the
        physical ``boundary`` before calling G.
      dt: time step (time units).
      integrator: ``"euler"`` (the seed's form), ``"rk2"``, ``"ssprk3"`` or ``"rk4"``.
      dx: grid spacing per spatial axis (length units).
      boundary: physical boundary: ``"periodic"``, ``"dirichlet"`` or ``"neumann"``.
      boundary_value: Dirichlet value (or Neumann normal derivative), physical units.
      variables: field names, one per channel (e.g. ``("u",)``).
      units: units per field, plus optional ``"x"`` and ``"t"`` entries.
      normalisation: per-channel statistics of states and tendencies and the hash of the
        training data (:class:`sciml.stepper.normalisation.Normalisation`; default 0/1). The
        flat keywords ``state_mean``, ``state_std``, ``tendency_mean``, ``tendency_std`` and
        ``data_hash`` of earlier releases are still accepted, with a DeprecationWarning.
      grid_shape: points per spatial axis of the training grid (the stepper itself is
        shape-agnostic; this is the grid it was trained and validated on).

    Shapes:
      ``step(z)`` and ``tendency_fn(z)``: ``(batch, *spatial, C)`` -> ``(batch, *spatial, C)``.
    """

    def __init__(
        self,
        tendency: nnx.Module,
        *,
        dt: float,
        integrator: str = "euler",
        dx: Sequence[float],
        boundary: str = "periodic",
        boundary_value: float = 0.0,
        variables: Sequence[str] = ("u",),
        units: dict[str, str] | None = None,
        normalisation: Normalisation | None = None,
        grid_shape: Sequence[int] | None = None,
        **legacy: Any,
    ):
        unknown = sorted(set(legacy) - {*FIELDS, "data_hash"})
        if unknown:
            raise TypeError(f"LearnedStepper: unexpected keyword arguments {unknown}")
        if legacy:
            warnings.warn(
                f"LearnedStepper({', '.join(sorted(legacy))}=...): pass "
                "normalisation=Normalisation(...) instead (one dataclass)",
                DeprecationWarning,
                stacklevel=2,
            )
            normalisation = resolve(normalisation, None, legacy)
        norm = normalisation if normalisation is not None else Normalisation()
        if dt <= 0:
            raise ValueError(f"dt: expected a positive time step, found {dt}")
        self.tendency = tendency
        self.dt = float(dt)
        self.integrator = self._check_integrator(integrator)
        self.dx = tuple(float(d) for d in np.atleast_1d(dx))
        if boundary not in ("periodic", "dirichlet", "neumann"):
            raise ValueError(
                f"boundary: expected 'periodic', 'dirichlet' or 'neumann', found {boundary!r}"
            )
        tb = getattr(tendency, "boundary", "periodic")
        if boundary != "periodic" and tb == "periodic":
            raise ValueError(
                f"boundary: a periodic tendency network cannot step {boundary!r} data; build G with "
                "boundary='ghost' so the stepper can fill ghost cells from the physical boundary"
            )
        self.boundary = boundary
        self.boundary_value = float(boundary_value)
        self.variables = tuple(variables)
        self.units = dict(units or {})
        c = len(self.variables)
        for name in FIELDS:
            setattr(self, name, Stats(jnp.asarray(norm.vector(name, c))))
        self.data_hash = str(norm.data_hash)
        self.grid_shape = None if grid_shape is None else tuple(int(n) for n in grid_shape)
        if self.grid_shape is not None and len(self.grid_shape) != len(self.dx):
            raise ValueError(
                f"grid_shape: expected {len(self.dx)} entries (one per dx), found {self.grid_shape}"
            )

    @staticmethod
    def _check_integrator(name: str) -> str:
        return check_choice(name, TABLEAUX, name="integrator")

    @property
    def ndim(self) -> int:
        return len(self.dx)

    @property
    def channels(self) -> int:
        return len(self.variables)

    @property
    def normalisation(self) -> Normalisation:
        """The current statistics and data hash as one :class:`Normalisation`."""
        return Normalisation(
            **{n: np.asarray(getattr(self, n)[...]) for n in FIELDS}, data_hash=self.data_hash
        )

    def with_integrator(
        self, integrator: str | None = None, dt: float | None = None
    ) -> LearnedStepper:
        """A new stepper with the same G (shared weights) and another integrator and/or dt.

        G is a continuous-time tendency, so it can be rolled out with any integrator of the
        table and any dt; ``self`` is not changed.
        """
        if integrator is not None:
            integrator = self._check_integrator(integrator)
        if dt is not None and not dt > 0:
            raise ValueError(f"dt: expected a positive time step, found {dt}")
        graphdef, state = nnx.split(self)
        new = nnx.merge(graphdef, state)
        if integrator is not None:
            new.integrator = integrator
        if dt is not None:
            new.dt = float(dt)
        return new

    def check_state(self, z: jax.Array) -> None:
        if z.ndim != self.ndim + 2 or z.shape[-1] != self.channels:
            raise ValueError(
                f"state: expected shape (batch, <{self.ndim} spatial axes>, {self.channels}) for "
                f"variables {list(self.variables)}, found {tuple(z.shape)}; add a batch axis with z[None]"
            )

    def _ghost(self, z: jax.Array) -> jax.Array:
        from sciml.ghost_cells import fill_ghost

        return fill_ghost(
            z, self.tendency.halo, self.boundary, dx=self.dx, value=self.boundary_value
        )

    def tendency_fn(self, z: jax.Array) -> jax.Array:
        """Physical tendency dz/dt = G_phys(z), shape ``(batch, *spatial, C)``."""
        self.check_state(z)
        if getattr(self.tendency, "boundary", "periodic") == "ghost":
            z = self._ghost(z)
        zn = (z - self.state_mean[...]) / self.state_std[...]
        return self.tendency(zn) * self.tendency_std[...] + self.tendency_mean[...]

    def step(self, z: jax.Array) -> jax.Array:
        """One step of the chosen integrator: ``(batch, *spatial, C)`` -> same."""
        return rk_step(self.integrator, self.tendency_fn, z, self.dt)

    __call__ = step

    def check_data(self, source: Any, *, where: str = "data", reference: Any = None) -> None:
        """Refuse training data this stepper cannot have been meant for (called by the training
        loop before the first step, for the train and the eval split).

        Compares, when ``source`` states them (e.g. :class:`sciml.datasets.TrajectoryWindows`:
        ``frame_dt``, ``spatial_shape``, ``attrs``), the time between frames with ``dt``, the
        grid spacing and boundary with ``dx``/``boundary``, the grid with ``grid_shape`` and the
        number of fields with ``variables``; with ``reference`` (the training split), an
        ``equation`` attribute that differs. Raises ValueError with both values and the fix.
        """
        from sciml.stepper.data import check_data_grid, grid_from_attrs

        name = f"{where} '{getattr(source, 'name', type(source).__name__)}'"
        frame_dt = getattr(source, "frame_dt", None)
        if frame_dt is not None and not np.isclose(frame_dt, self.dt, rtol=1e-6, atol=0.0):
            raise ValueError(
                f"{name}: frames are dt={frame_dt:g} apart but the model's dt={self.dt:g} (its "
                f"learned tendency would be {frame_dt / self.dt:.3g}x the true rate); set "
                f"model.kwargs.dt={frame_dt:g} (sciml init stepper reads it from the file)"
            )
        shape = getattr(source, "spatial_shape", None)
        if shape is not None and self.grid_shape is not None and tuple(shape) != self.grid_shape:
            raise ValueError(
                f"{name}: grid shape {list(shape)} but the model's grid_shape="
                f"{list(self.grid_shape)}; set model.kwargs.grid_shape={list(shape)} or "
                "coarse-grain the data to the model grid (sciml.solvers.coarsen)"
            )
        spec = getattr(source, "element_spec", {}).get("inputs")
        if spec is not None and spec[0][-1] != self.channels:
            raise ValueError(
                f"{name}: {spec[0][-1]} channels per frame but the model steps "
                f"{self.channels} variables {list(self.variables)}; set model.kwargs.variables "
                "to the data's variables"
            )
        attrs = getattr(source, "attrs", None) or {}
        grid = grid_from_attrs(attrs, shape)
        if grid is not None:
            check_data_grid(self, grid, source=name)
        if reference is not None:
            mine = attrs.get("equation")
            theirs = (getattr(reference, "attrs", None) or {}).get("equation")
            if mine is not None and theirs is not None and str(mine) != str(theirs):
                raise ValueError(
                    f"{name}: equation {mine!r} but the training split is {theirs!r}; evaluate "
                    "on held-out trajectories of the same equation"
                )

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (everything but the weights)."""
        return {
            "dt": self.dt,
            "integrator": self.integrator,
            "dx": list(self.dx),
            "boundary": self.boundary,
            "boundary_value": self.boundary_value,
            "variables": list(self.variables),
            "units": self.units,
            "data_hash": self.data_hash,
            "grid_shape": None if self.grid_shape is None else list(self.grid_shape),
        }


NETWORKS = ("tendency", "resnet", "unet")


def build_tendency_network(
    network: str,
    channels: int,
    *,
    ndim: int,
    boundary: str = "periodic",
    rngs: nnx.Rngs,
    **kwargs: Any,
) -> nnx.Module:
    """G from the zoo: ``"tendency"`` (conv -> f -> conv, :class:`sciml.nn.Tendency`), ``"resnet"``
    (:class:`sciml.nn.resnet.ResNet`) or ``"unet"`` (:class:`sciml.nn.unet.UNet`).

    ``kwargs`` go to the network (``width``, ``kernel_size``, ``depth``/``num_blocks``,
    ``activation``...). The ResNet and U-Net pad with ``boundary`` (``"periodic"`` or ``"zero"``).
    """
    if network == "tendency":
        from sciml.nn import Tendency

        return Tendency(channels, ndim=ndim, boundary=boundary, rngs=rngs, **kwargs)
    if network == "resnet":
        from sciml.nn.resnet import ResNet

        net = ResNet(channels, channels, ndim=ndim, boundary=boundary, rngs=rngs, **kwargs)
    elif network == "unet":
        from sciml.nn.unet import UNet

        kwargs.setdefault("norm", "none")
        net = UNet(channels, channels, ndim=ndim, boundary=boundary, rngs=rngs, **kwargs)
    else:
        check_choice(network, NETWORKS, name="network")
    if boundary == "ghost":
        raise ValueError(
            f"network: {network!r} has no ghost-cell mode; use network='tendency' with "
            "boundary='ghost' for non-periodic data"
        )
    net.boundary = boundary
    return net


def make_learned_stepper(
    *,
    variables: Sequence[str] = ("u",),
    dx: Sequence[float],
    dt: float,
    integrator: str = "euler",
    boundary: str = "periodic",
    boundary_value: float = 0.0,
    network: str = "tendency",
    network_kwargs: dict[str, Any] | None = None,
    network_boundary: str | None = None,
    units: dict[str, str] | None = None,
    normalisation: dict[str, Any] | Normalisation | None = None,
    stats_dir: str | None = None,
    grid_shape: Sequence[int] | None = None,
    rngs: nnx.Rngs,
    **legacy: Any,
) -> LearnedStepper:
    """Build a :class:`LearnedStepper` from plain (config/JSON) values.

    This is the model builder the training loop's config names (``model.name:
    "sciml.stepper.model:make_learned_stepper"``), so ``sciml.train.restore_model(run_dir)``
    rebuilds the same stepper. ``network_boundary`` defaults to ``"periodic"`` for periodic data
    and ``"ghost"`` otherwise. The statistics come from ``stats_dir`` (a run's ``stats/`` folder,
    :meth:`Normalisation.load`) or ``normalisation`` (:meth:`Normalisation.to_dict` values); the
    flat ``state_mean`` ... ``data_hash`` keys of configs of earlier releases are still read.
    """
    unknown = sorted(set(legacy) - {*FIELDS, "data_hash"})
    if unknown:
        raise TypeError(f"make_learned_stepper: unexpected keyword arguments {unknown}")
    norm = resolve(normalisation, stats_dir, legacy)
    ndim = len(np.atleast_1d(dx))
    if network_boundary is None:
        network_boundary = "periodic" if boundary == "periodic" else "ghost"
    g = build_tendency_network(
        network,
        len(tuple(variables)),
        ndim=ndim,
        boundary=network_boundary,
        rngs=rngs,
        **dict(network_kwargs or {}),
    )
    return LearnedStepper(
        g,
        dt=dt,
        integrator=integrator,
        dx=dx,
        boundary=boundary,
        boundary_value=boundary_value,
        variables=variables,
        units=units,
        normalisation=norm,
        grid_shape=grid_shape,
    )
