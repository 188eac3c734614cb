"""Multi-host start-up: ``jax.distributed.initialize`` from flags or the usual environment.

Call :func:`initialize` once, before any other JAX call, in every process of a job. It returns
False (and does nothing) for a plain single-process run, so entry points can always call it.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jax

# Ports in the ephemeral range derived from a job id, as JAX's cluster detection does.
_PORT_BASE = 65535 - 2**12 + 1


def _port(job_id: str, *, divide: int = 1) -> str:
    """``JAX_COORDINATOR_PORT``, else the port JAX derives from the job id (Open MPI job ids are
    multiples of 2**12, so JAX divides them first)."""
    override = os.environ.get("JAX_COORDINATOR_PORT")
    if override:
        return override
    digits = re.sub(r"\D", "", job_id.split(".")[0]) or "0"
    return str(int(digits) // divide % 2**12 + _PORT_BASE)


def _first_host(node_list: str) -> str:
    """First host of a SLURM node list: 'n01', 'n01,n02', 'n[01-04],m1', 'n[01,07-09]'."""
    head = re.split(r"[,\[]", node_list, maxsplit=1)[0]
    if "[" not in node_list or node_list.index("[") != len(head):
        return head
    inside = node_list[len(head) + 1 :]
    return head + re.split(r"[,\-\]]", inside, maxsplit=1)[0]


def cluster_environment() -> dict[str, Any] | None:
    """The multi-process launch announced by the environment, or None for a plain run.

    Returns ``{"source", "coordinator", "num_processes", "process_id"}``; ``coordinator`` is
    None when the launcher does not say where process 0 runs (MPICH/PMI: pass --coordinator).

    - SLURM (``srun``): ``SLURM_STEP_NODELIST`` (process 0 runs on its first host),
      ``SLURM_STEP_NUM_TASKS`` (or ``SLURM_NTASKS``), ``SLURM_PROCID``, ``SLURM_JOB_ID`` (port).
      A batch script itself (no ``SLURM_STEP_NODELIST``) is one process.
    - Open MPI (``mpirun``): ``OMPI_COMM_WORLD_SIZE``, ``OMPI_COMM_WORLD_RANK`` and the launcher's
      address in ``OMPI_MCA_orte_hnp_uri``.
    - MPICH/PMI: ``PMI_SIZE``, ``PMI_RANK``.

    The port is ``JAX_COORDINATOR_PORT`` when set, else derived from the job id (as JAX does).
    """
    env = os.environ
    if "SLURM_STEP_NODELIST" in env and "SLURM_PROCID" in env:
        count = _env_int("SLURM_STEP_NUM_TASKS")
        count = _env_int("SLURM_NTASKS") if count is None else count
        if count is not None and count > 1:
            host = _first_host(env["SLURM_STEP_NODELIST"])
            return {
                "source": "SLURM",
                "coordinator": f"{host}:{_port(env.get('SLURM_JOB_ID', '0'))}",
                "num_processes": count,
                "process_id": _env_int("SLURM_PROCID"),
            }
    count = _env_int("OMPI_COMM_WORLD_SIZE")
    if count is not None and count > 1 and "OMPI_COMM_WORLD_RANK" in env:
        uri = env.get("OMPI_MCA_orte_hnp_uri", "")
        match = re.search(r"tcp://(.+?)[,:]|tcp6://\[(.+?)[,\]]", uri)
        coordinator = None
        if match:
            host = next(g for g in match.groups() if g is not None)
            coordinator = f"{host}:{_port(uri, divide=2**12)}"
        return {
            "source": "Open MPI",
            "coordinator": coordinator,
            "num_processes": count,
            "process_id": _env_int("OMPI_COMM_WORLD_RANK"),
        }
    count = _env_int("PMI_SIZE")
    if count is not None and count > 1 and "PMI_RANK" in env:
        return {
            "source": "MPICH/PMI",
            "coordinator": None,
            "num_processes": count,
            "process_id": _env_int("PMI_RANK"),
        }
    return None


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
    ``JAX_PROCESS_ID``; a SLURM / Open MPI / MPICH launch with more than one task
    (:func:`cluster_environment`); each missing value is taken from the next source. Each
    process then sees all devices in ``jax.devices()`` and reads only its own share of the data
    (``jax.process_index()``).

    Returns:
      True if ``jax.distributed.initialize`` was called.
    """
    if jax.distributed.is_initialized():
        return True
    source = "--coordinator/--num-processes/--process-id or JAX_* variables"
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None:
        num_processes = _env_int("JAX_NUM_PROCESSES")
    if process_id is None:
        process_id = _env_int("JAX_PROCESS_ID")
    if None in (coordinator_address, num_processes, process_id):
        cluster = cluster_environment()
        if cluster is not None:
            source = cluster["source"]
            coordinator_address = coordinator_address or cluster["coordinator"]
            num_processes = cluster["num_processes"] if num_processes is None else num_processes
            process_id = cluster["process_id"] if process_id is None else process_id
    explicit = [coordinator_address, num_processes, process_id]
    if all(v is None for v in explicit):
        return False
    if any(v is None for v in explicit):
        raise ValueError(
            f"distributed ({source}): expected a coordinator, a process count and a process id, "
            f"found coordinator={coordinator_address!r}, num_processes={num_processes}, "
            f"process_id={process_id}; pass the missing ones (--coordinator HOST:PORT of "
            "process 0, --num-processes, --process-id) or none"
        )
    if not 0 <= process_id < num_processes:
        raise ValueError(
            f"distributed ({source}): --process-id expected 0..{num_processes - 1}, found "
            f"{process_id}"
        )
    if num_processes == 1:
        return False
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    return True
