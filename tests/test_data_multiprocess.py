"""Two real JAX processes (jax.distributed on CPU): local shares and global arrays on the mesh."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sciml.datasets import ArraySource, Loader

WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    import numpy as np
    jax.distributed.initialize(f"localhost:{sys.argv[2]}", num_processes=2,
                               process_id=int(sys.argv[1]))
    from jax.sharding import Mesh
    from sciml.datasets import ArraySource, Loader, batch_sharding, to_global_array

    src = ArraySource({"id": np.arange(20), "u": np.arange(40.0).reshape(20, 2)})
    loader = Loader(src, global_batch=8, seed=3, num_epochs=1)  # process index/count from JAX
    mesh = Mesh(np.array(jax.devices()), ("data",))
    batches = []
    for batch in loader:
        g = to_global_array(batch, batch_sharding(mesh))
        shards = sorted(
            (s.index[0].start, np.asarray(s.data).tolist()) for s in g["id"].addressable_shards
        )
        batches.append({"shape": list(g["u"].shape), "local": batch["id"].tolist(),
                        "shards": shards})
    print(json.dumps({"index": jax.process_index(), "count": jax.process_count(),
                      "batches": batches}))
    jax.distributed.shutdown()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.multiprocess
def test_two_processes_load_their_share_and_build_global_arrays(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [(r["index"], r["count"]) for r in results] == [(0, 2), (1, 2)]

    single = Loader(
        ArraySource({"id": np.arange(20)}),
        global_batch=8,
        seed=3,
        num_epochs=1,
        process_index=0,
        process_count=1,
    )
    expected = [b["id"].tolist() for b in single]
    assert len(expected) == 2
    for step, want in enumerate(expected):
        parts = [r["batches"][step] for r in results]
        assert [p["shape"] for p in parts] == [[8, 2], [8, 2]]
        # each process yields its 4 rows; in process order they make the single-process batch
        assert parts[0]["local"] + parts[1]["local"] == want
        # and its devices hold exactly those rows at their global positions (2 rows per device)
        for p, part in enumerate(parts):
            for start, rows in part["shards"]:
                assert 4 * p <= start < 4 * p + 4
                assert rows == want[start : start + 2]
