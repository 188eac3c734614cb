"""XLA options sciml sets at import, only where the user has not set them.

One option so far, for the CPU backend of jaxlib 0.10:

``--xla_cpu_experimental_ynn_fusion_type=-individual_convolution``
    jaxlib 0.10 hands every convolution without padding (``padding="VALID"``, which is what
    every convolution of the zoo is: :class:`sciml.nn.Conv` pads for its boundary condition and
    then convolves VALID) to YNNPACK on CPU, and YNNPACK's convolution measured 5-7x slower than
    XLA's own (Eigen) convolution on the 2-core Xeon of the project: a 3x3 convolution, 320 x 320,
    32 -> 32 channels, batch 1, took 66 ms through YNNPACK and 9-10 ms without it, and its weight
    gradient 60 ms against 7 ms (``benchmarks/bench_conv_backends.py`` prints both). Removing only
    the convolution from YNNPACK's fusion types keeps its other fusions (dots, elementwise) as
    jaxlib ships them.

How it is applied: ``import sciml`` (every ``sciml.*`` import runs it first) appends the flag to
the environment variable ``XLA_FLAGS`` when all of these hold:

- ``SCIML_XLA_DEFAULTS`` is not ``0`` (the opt-out);
- ``XLA_FLAGS`` does not already name ``--xla_cpu_experimental_ynn_fusion_type`` (the user's own
  setting wins, whatever it is);
- the installed jaxlib is one this flag was verified on (0.10.2 up to, not including, 0.11): XLA
  aborts on a flag it does not know, so an unverified jaxlib is left alone (set the flag yourself
  if your jaxlib has it: ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-individual_convolution``).

XLA reads ``XLA_FLAGS`` once, when JAX creates its first backend, so the flag takes effect only if
``sciml`` is imported before the first JAX computation of the process; :func:`status` says whether
it did. Accelerators are not affected (the flag concerns XLA's CPU backend only). This module
imports neither JAX nor NumPy.
"""

from __future__ import annotations

import os
import sys

__all__ = ["CPU_CONV_FLAG", "apply", "status"]

CPU_CONV_FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
_FLAG_NAME = CPU_CONV_FLAG.split("=", 1)[0]
_VERIFIED = ((0, 10, 2), (0, 11, 0))  # [low, high)


def _jaxlib_version() -> tuple[int, ...] | None:
    """The installed jaxlib's ``(major, minor, patch)``, without importing it.

    Read from ``jaxlib/version.py`` (a few kB) rather than through ``importlib.metadata``, which
    costs about 40 ms at every ``import sciml``; None when jaxlib is not installed or the file
    has no ``_version = "X.Y.Z"`` line."""
    import importlib.util
    import re
    from pathlib import Path

    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        try:
            text = (Path(root) / "version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r'^_version\s*=\s*"(\d+)\.(\d+)\.(\d+)', text, re.MULTILINE)
        if found:
            return tuple(int(v) for v in found.groups())
    return None


def _backend_started() -> bool:
    """Whether JAX has already created a backend in this process (then XLA_FLAGS is read)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def apply(environ: dict[str, str] | None = None) -> str:
    """Append sciml's default XLA flags to ``XLA_FLAGS`` where allowed; returns what was done:
    ``"set"``, ``"user"`` (the user set the flag), ``"off"`` (``SCIML_XLA_DEFAULTS=0``),
    ``"unverified-jaxlib"`` or ``"no-jaxlib"``."""
    env = os.environ if environ is None else environ
    if env.get("SCIML_XLA_DEFAULTS", "1").strip() == "0":
        return "off"
    flags = env.get("XLA_FLAGS", "")
    if _FLAG_NAME in flags:
        return "user"
    version = _jaxlib_version()
    if version is None:
        return "no-jaxlib"
    if not (_VERIFIED[0] <= version < _VERIFIED[1]):
        return "unverified-jaxlib"
    env["XLA_FLAGS"] = f"{flags} {CPU_CONV_FLAG}".strip()
    return "set"


def status() -> dict[str, object]:
    """What :func:`apply` did at import, and whether the flag is in effect for this process.

    ``in_effect`` is True when ``XLA_FLAGS`` holds the flag and either no JAX backend exists yet or
    the one that exists was created after the flag was set (sciml imported before the first JAX
    computation)."""
    flags = os.environ.get("XLA_FLAGS", "")
    return {
        "applied": _APPLIED,
        "flag": CPU_CONV_FLAG,
        "in_xla_flags": _FLAG_NAME in flags,
        "backend_started_before_sciml": _STARTED_BEFORE,
        "in_effect": (_FLAG_NAME in flags) and not _STARTED_BEFORE,
    }


_STARTED_BEFORE = _backend_started()
_APPLIED = apply()
