"""Multi-host start-up: ``jax.distributed.initialize`` from flags or the usual environment.

Call :func:`initialize` once, before any other JAX call, in every process of a job. It returns
False (and does nothing) for a plain single-process run, so entry points can always call it.
"""

from __future__ import annotations

import os

import jax

# Variables by which a launcher announces a multi-process job.
_CLUSTER_VARS = {
    "SLURM": ("SLURM_NTASKS", "SLURM_JOB_ID"),
    "Open MPI": ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    "MPICH/PMI": ("PMI_SIZE", "PMI_RANK"),
}


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"environment variable {name}: expected an integer, found {value!r}"
        ) from None


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Join a multi-process JAX job when one is configured.

    Sources, in order: the arguments (CLI ``--coordinator HOST:PORT --num-processes N
    --process-id I``); the variables ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``,
    ``JAX_PROCESS_ID``; a SLURM / Open MPI / MPICH launch with more than one task (JAX detects
    the coordinator itself). Each process then sees all devices in ``jax.devices()`` and reads
    only its own share of the data (``jax.process_index()``).

    Returns:
      True if ``jax.distributed.initialize`` was called.
    """
    if jax.distributed.is_initialized():
        return True
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None:
        num_processes = _env_int("JAX_NUM_PROCESSES")
    if process_id is None:
        process_id = _env_int("JAX_PROCESS_ID")
    explicit = [coordinator_address, num_processes, process_id]
    if any(v is not None for v in explicit):
        if any(v is None for v in explicit):
            raise ValueError(
                "distributed: expected --coordinator, --num-processes and --process-id together "
                f"(found coordinator={coordinator_address!r}, num_processes={num_processes}, "
                f"process_id={process_id}); give all three or none"
            )
        if not 0 <= process_id < num_processes:
            raise ValueError(
                f"distributed: --process-id expected 0..{num_processes - 1}, found {process_id}"
            )
        if num_processes == 1:
            return False
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
        )
        return True
    for size_var, id_var in _CLUSTER_VARS.values():
        size = _env_int(size_var)
        if size is not None and size > 1 and id_var in os.environ:
            jax.distributed.initialize()
            return True
    return False
