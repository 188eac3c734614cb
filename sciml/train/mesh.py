"""The device mesh (``data`` x ``space``) and the shardings of batches and parameters.

``data`` splits the batch axis; ``space`` splits one spatial axis of every field, so a 3-D
field too large for one device is spread over several and XLA inserts the halo exchange of the
convolutions. Parameters and optimiser state are replicated. The same code runs on one CPU,
on 8 fake CPU devices, on one GPU, or on many hosts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA, SPACE = "data", "space"


def make_mesh(data: int = -1, space: int = 1, *, devices: Sequence | None = None) -> Mesh:
    """A 2-D mesh with axes ``("data", "space")``.

    Args:
      data: devices along the batch axis; -1 takes all devices not used by ``space``.
      space: devices along the spatial axis (1: no spatial split).
      devices: devices to use (default ``jax.devices()``, all processes). With one process a
        smaller mesh uses the first ``data * space`` devices.

    Returns:
      ``jax.sharding.Mesh`` of shape ``(data, space)``.
    """
    devices = list(jax.devices() if devices is None else devices)
    n = len(devices)
    if space < 1 or n % space:
        raise ValueError(
            f"mesh.space: expected a divisor of the device count {n}, found {space}; "
            f"choose one of {[d for d in range(1, n + 1) if n % d == 0]}"
        )
    if data == -1:
        data = n // space
    if data < 1 or data * space > n:
        raise ValueError(
            f"mesh.data: expected 1..{n // space} (data x space <= {n} devices), found {data}; "
            "set mesh.data=-1 to use all devices"
        )
    if data * space < n:
        if jax.process_count() > 1:
            raise ValueError(
                f"mesh: data x space = {data * space} must use all {n} devices when running on "
                f"{jax.process_count()} processes; set mesh.data=-1"
            )
        devices = devices[: data * space]
    try:
        from jax.experimental import mesh_utils

        grid = mesh_utils.create_device_mesh((data, space), devices)
    except (ValueError, AssertionError, NotImplementedError):
        grid = np.array(devices, dtype=object).reshape(data, space)
    return Mesh(grid, (DATA, SPACE))


def replicated(mesh: Mesh) -> NamedSharding:
    """Sharding of parameters and optimiser state: a full copy on every device."""
    return NamedSharding(mesh, PartitionSpec())


def batch_partition_specs(
    mesh: Mesh,
    element_spec: Mapping[str, tuple[tuple[int, ...], object]],
    global_batch: int,
    *,
    space_axis: int = 0,
    spatial_axes: Mapping[str, int] | None = None,
    where: str = "data.train",
) -> dict[str, PartitionSpec]:
    """Partition specs of a global batch and the checks that make them valid.

    Args:
      mesh: the ``("data", "space")`` mesh.
      element_spec: ``{key: (per-sample shape, dtype)}`` of the source.
      global_batch: batch size over all processes.
      space_axis: which spatial axis (0 = x) the ``space`` mesh axis splits by default, i.e. axis
        ``1 + space_axis`` of a ``(batch, *spatial, channels)`` array. Arrays with fewer axes
        (per-sample scalars, vectors) are not split.
      spatial_axes: per-key override, the absolute axis of the batch array (-1: do not split).
      where: config key named in error messages.

    Raises:
      ValueError: the batch is not divisible by the data axis, or the space axis does not divide
        the grid axis it splits.
    """
    n_data, n_space = mesh.shape[DATA], mesh.shape[SPACE]
    if global_batch % n_data:
        lo = global_batch // n_data * n_data
        raise ValueError(
            f"batch_size: expected a multiple of the mesh data axis ({n_data} devices), found "
            f"{global_batch}; set batch_size={max(lo, n_data)} or {lo + n_data}, or change mesh.data"
        )
    specs = {}
    for key, (shape, _) in element_spec.items():
        rank = len(shape) + 1
        axes: list[str | None] = [DATA] + [None] * (rank - 1)
        if n_space > 1:
            axis = (spatial_axes or {}).get(key)
            if axis is None:
                axis = 1 + space_axis if rank >= 3 + space_axis else -1
            if axis >= 0:
                if not 1 <= axis < rank:
                    raise ValueError(
                        f"{where} field {key!r}: space split axis {axis} is outside the batch "
                        f"array of rank {rank}; fix mesh.space_axis or the task's spatial_axes"
                    )
                size = shape[axis - 1]
                if size % n_space:
                    divisors = [d for d in range(1, size + 1) if size % d == 0]
                    raise ValueError(
                        f"mesh.space: {n_space} devices do not divide axis {axis} of {where} field "
                        f"{key!r} (size {size}, batch shape {(global_batch, *shape)}); choose "
                        f"mesh.space among {divisors} or a grid divisible by {n_space}"
                    )
                axes[axis] = SPACE
        specs[key] = PartitionSpec(*axes)
    return specs


def batch_shardings(mesh: Mesh, specs: Mapping[str, PartitionSpec]) -> dict[str, NamedSharding]:
    return {k: NamedSharding(mesh, s) for k, s in specs.items()}
