"""Run every benchmark of ``benchmarks/``, each in its own process, into one JSON and one table.

    python benchmarks/run_all.py --quick               # CPU: a few minutes per benchmark at most
    python benchmarks/run_all.py --gpu                 # GPU sizes (fastMRI batch 1/8/32, ...)
    python benchmarks/run_all.py --only mri_unet unet3d --out bench-results
    python benchmarks/run_all.py --suite issue12      # the CPU figures of the README's table

Every ``benchmarks/bench_*.py`` is run, including ones added later (``bench_pm.py``,
``bench_d3m.py``, ``bench_graph_layers.py``, ``bench_unrolled.py``, ...): the known ones with the
sizes of :data:`PLANS`, any other with no arguments (plus ``--quick`` where its source accepts
it). A benchmark whose source accepts ``--json`` writes its figures there and they are merged
into the result; for the others the lines of their output that mention a ratio are kept. Each
process gets ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so a PyTorch reference can share the GPU,
and its own time limit (``--timeout``).

``--suite NAME`` runs a fixed list of (label, benchmark, arguments) instead (:data:`SUITES`),
e.g. ``issue12``: the fastMRI U-Net step vs PyTorch at 320^2 and 160^2, the D3M-size 3-D U-Net
step vs PyTorch and the loader vs plain h5py, about 8 minutes on 2 CPU cores.

Writes ``OUT/results.json`` (device, versions, per benchmark: command, seconds, return code,
figures or ratio lines) and ``OUT/results.md`` (one table: benchmark, ratio name, value).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> {"quick": [...], "default": [...], "gpu": [...]} extra arguments per size
PLANS: dict[str, dict[str, list[str]]] = {
    "mri_unet": {
        "quick": ["--quick"],
        "default": [],
        "gpu": ["--batch", "1", "8", "32", "--repeats", "5"],
    },
    "unet3d": {"quick": ["--quick"], "default": [], "gpu": ["--repeats", "5"]},
    "data_pipeline": {
        "quick": ["--sizes-gb", "0.05", "0.2", "--repeats", "2"],
        "default": [],
        "gpu": [],
    },
    "solvers": {"quick": ["--steps", "50", "--repeats", "2"], "default": [], "gpu": []},
    "train_step": {"quick": ["--grid", "32", "--steps", "10"], "default": [], "gpu": []},
    "trajectory_io": {"quick": ["--quick"], "default": [], "gpu": []},
    "burgers": {"quick": ["--batch", "32", "--repeats", "1"], "default": [], "gpu": []},
    "d3m": {
        "quick": ["--width", "8", "--batch", "1", "--n", "16", "--repeats", "1"],
        "default": [],
        "gpu": [],
    },
    "kolmogorov": {"quick": ["--small"], "default": [], "gpu": []},
    "kolmogorov_regimes": {"quick": ["--small"], "default": [], "gpu": []},
    "fv_hybrid_step": {"quick": ["--small"], "default": [], "gpu": []},
    "pm": {"quick": ["--sizes", "32", "--steps", "2", "--repeats", "1"], "default": [], "gpu": []},
    "unrolled": {
        "quick": ["--signals", "1000", "--repeats", "1", "--slice", "128"],
        "default": [],
        "gpu": [],
    },
    "graph_layers": {"quick": ["--nodes", "10000", "--repeats", "2"], "default": [], "gpu": []},
}

# one thread for XLA, PyTorch (OpenMP/MKL) and NumPy: on a shared machine neither library's
# threads then wait on descheduled siblings (OpenMP barriers suffer most)
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}

# suite -> [(label, benchmark name, arguments, extra environment)]: fixed sizes, a row per label
SUITES: dict[str, list[tuple[str, str, list[str], dict[str, str]]]] = {
    "issue12": [
        ("mri_unet_320", "mri_unet", ["--size", "320", "--chans", "32", "--repeats", "5"], {}),
        ("mri_unet_160", "mri_unet", ["--size", "160", "--chans", "32", "--repeats", "3"], {}),
        (
            "mri_unet_160_1thread",
            "mri_unet",
            ["--size", "160", "--chans", "32", "--repeats", "3"],
            ONE_THREAD,
        ),
        ("unet3d_d3m", "unet3d", ["--repeats", "1", "--no-profile"], {}),
        (
            "data_pipeline",
            "data_pipeline",
            ["--sizes-gb", "0.5", "--repeats", "5", "--max-batches", "200"],
            {},
        ),
    ],
}


def discover() -> list[str]:
    """Names of every ``bench_NAME.py`` next to this file, in alphabetical order."""
    files = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    return [os.path.basename(f)[len("bench_") : -len(".py")] for f in files]


def _accepts(name: str, flag: str) -> bool:
    with open(os.path.join(HERE, f"bench_{name}.py")) as f:
        source = f.read()
    return f'"{flag}"' in source or (flag == "--json" and "add_json_argument(" in source)


def command(name: str, size: str, json_path: str, extra: list[str] | None = None) -> list[str]:
    """The command line that runs benchmark ``name`` at ``size`` ("quick", "default", "gpu"),
    or with the arguments ``extra`` instead when given (a suite's)."""
    cmd = [sys.executable, os.path.join(HERE, f"bench_{name}.py")]
    if extra is not None:
        cmd += extra
    elif name in PLANS:
        cmd += PLANS[name][size]
    elif size == "quick" and _accepts(name, "--quick"):
        cmd.append("--quick")
    if _accepts(name, "--json"):
        cmd += ["--json", json_path]
    return cmd


# keys of a benchmark's JSON that go into the table: ratios, and the loader's time blocked in
# next() per training step and its extra peak memory over plain h5py
TABLE_KEYS = ("ratio", "blocked_in_next", "peak_rss_loader")


def _ratios(tree, prefix: str = "") -> dict[str, float]:
    """Every number under a key starting with one of :data:`TABLE_KEYS` in a JSON tree, by its
    dotted path."""
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if str(k).startswith(TABLE_KEYS) and isinstance(v, (int, float)):
                out[path] = float(v)
            else:
                out.update(_ratios(v, path))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.update(_ratios(v, f"{prefix}[{i}]"))
    return out


def environment() -> dict:
    """Device and versions, asked of a child process (this one never initialises a GPU)."""
    code = (
        "import json, platform, jax, jaxlib, numpy\n"
        "d = jax.devices()[0]\n"
        "try:\n import torch; tv = torch.__version__\nexcept ImportError:\n tv = None\n"
        "print(json.dumps({'backend': jax.default_backend(), 'device': d.device_kind,"
        " 'device_count': jax.device_count(), 'jax': jax.__version__, 'jaxlib':"
        " jaxlib.__version__, 'numpy': numpy.__version__, 'torch': tv}))"
    )
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    info.update(
        python=platform.python_version(),
        machine=platform.machine(),
        cpus=os.cpu_count(),
        processor=_cpu_model(),
    )
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run(
    name: str,
    size: str,
    out_dir: str,
    timeout: float,
    *,
    label: str | None = None,
    extra: list[str] | None = None,
    environment: dict[str, str] | None = None,
) -> dict:
    label = label or name
    json_path = os.path.join(out_dir, f"{label}.json")
    cmd = command(name, size, json_path, extra)
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", **(environment or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [HERE, env.get("PYTHONPATH")]))
    print(f"[run_all] {label}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        code = "timeout"
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        stderr = f"killed after {timeout:.0f} s (--timeout)"
    seconds = time.perf_counter() - t0
    with open(os.path.join(out_dir, f"{label}.log"), "w") as f:
        f.write(stdout + "\n--- stderr ---\n" + stderr)
    result = {"command": cmd[1:], "seconds": seconds, "returncode": code}
    if environment:
        result["environment"] = environment
    if code == 0 and os.path.exists(json_path):
        with open(json_path) as f:
            result["figures"] = json.load(f)
        result["ratios"] = _ratios(result["figures"])
    else:
        lines = [ln.strip() for ln in stdout.splitlines() if re.search(r"ratio", ln, re.I)]
        result["ratio_lines"] = lines
        if code != 0:
            result["error_tail"] = (stderr or stdout).strip().splitlines()[-5:]
    status = "ok" if code == 0 else f"FAILED ({code})"
    print(f"[run_all] {label}: {status} in {seconds:.0f} s", flush=True)
    return result


def markdown(env: dict, results: dict[str, dict], size: str) -> str:
    lines = [
        f"Device: {env['device']} ({env['backend']}, {env['device_count']} device(s)); CPU "
        f"{env['processor']}, {env['cpus']} cores; jax {env['jax']}, torch {env['torch']}, "
        f"numpy {env['numpy']}, Python {env['python']}; sizes: {size}.",
        "",
        "| benchmark | figure | value | run time (s) |",
        "| --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        seconds = f"{r['seconds']:.0f}"
        if r["returncode"] != 0:
            lines.append(f"| {name} | failed ({r['returncode']}) | see {name}.log | {seconds} |")
            continue
        rows = [(k, f"{v:.2f}") for k, v in r.get("ratios", {}).items()]
        rows += [("output", ln.replace("|", "/")) for ln in r.get("ratio_lines", [])]
        if not rows:
            rows = [("(no ratio printed)", "see log")]
        for k, v in rows:
            lines.append(f"| {name} | {k} | {v} | {seconds} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CPU sizes, a few minutes each")
    size.add_argument("--gpu", action="store_true", help="GPU sizes (8 minutes in all)")
    size.add_argument("--suite", choices=sorted(SUITES), help="a fixed list of runs (SUITES)")
    parser.add_argument("--only", nargs="+", help="benchmark names (bench_NAME.py)")
    parser.add_argument("--skip", nargs="+", default=[], help="benchmark names to leave out")
    parser.add_argument("--out", default="bench-results", help="directory for the results")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per benchmark")
    args = parser.parse_args()
    chosen = "quick" if args.quick else "gpu" if args.gpu else "default"
    if args.suite:
        chosen = f"suite {args.suite}"
    names = [n for n in discover() if n not in args.skip]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(
                f"run_all: --only: no benchmarks/bench_NAME.py for {unknown}; choose among {names}"
            )
        names = [n for n in names if n in args.only]
    os.makedirs(args.out, exist_ok=True)
    env = environment()
    print(f"[run_all] {env['device']} ({env['backend']}), sizes: {chosen}")
    if args.suite:
        runs = [r for r in SUITES[args.suite] if not args.only or r[1] in args.only]
        results = {
            label: run(
                name, chosen, args.out, args.timeout, label=label, extra=extra, environment=e
            )
            for label, name, extra, e in runs
        }
    else:
        results = {name: run(name, chosen, args.out, args.timeout) for name in names}
    summary = {"size": chosen, "environment": env, "benchmarks": results}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    table = markdown(env, results, chosen)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table)
    print(table)
    return 0 if all(r["returncode"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
