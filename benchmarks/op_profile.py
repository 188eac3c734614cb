"""Where a jitted function spends its time, per XLA operation, from the JAX profiler's trace.

:func:`profile_ops` compiles the function, runs it a few times under ``jax.profiler`` (with a
Perfetto trace), and matches every timed event of the trace to the instruction of the same name
in the compiled HLO (on CPU each thunk is named after its instruction). Each instruction is put
in one category from the operations it runs:

- ``conv forward``, ``conv input gradient``, ``conv weight gradient``: convolutions. A weight
  gradient is a convolution whose window is larger than its output (XLA writes ``dW`` as a
  convolution of the input with the output gradient, window = the image); an input gradient is
  one traced under ``transpose(...)`` (JAX's name for the backward pass) or under the custom VJP's
  ``conv_input_grad`` scope; the rest are forward convolutions.
- ``host callback``: custom calls (e.g. the NumPy weight gradient of :mod:`sciml.nn.conv_grad`).
- ``dot``: matrix products (transposed-convolution up-sampling, 1x1 layers, im2col GEMMs).
- ``reduce``: fusions with a reduction (norm statistics, losses, bias gradients).
- ``data movement``: transposes, copies, pads, slices, concatenations only.
- ``elementwise``: every other fusion (activations, normalisation arithmetic, optimiser).

The times are the durations of the events (summed over threads when thunks run concurrently),
divided by the number of runs, so the categories add up to about the wall time of one call on a
quiet machine.
"""

from __future__ import annotations

import collections
import glob
import gzip
import json
import math
import os
import re
import tempfile
from typing import Any

import jax

_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%([\w.\-]+)\s*=\s*(.*?)\s([\w\-]+)\((.*)$")
_COMP = re.compile(r"^(?:ENTRY\s+)?%([\w.\-]+)\s*\(")
_SHAPE = re.compile(r"^\w+\[([\d,]*)\]")
_MOVE_OPS = {
    "parameter",
    "transpose",
    "copy",
    "bitcast",
    "slice",
    "dynamic-slice",
    "pad",
    "concatenate",
    "reshape",
    "broadcast",
    "constant",
    "tuple",
    "get-tuple-element",
    "reverse",
    "dynamic-update-slice",
}
CATEGORIES = (
    "conv forward",
    "conv input gradient",
    "conv weight gradient",
    "host callback",
    "dot",
    "reduce",
    "data movement",
    "elementwise",
)


class HloIndex:
    """Instructions of a compiled HLO module (``compiled.as_text()``) by name."""

    def __init__(self, text: str):
        self.instr: dict[str, tuple[str, str, str]] = {}  # name -> (op, shape, rest of line)
        self.comps: dict[str, list[str]] = collections.defaultdict(list)
        comp = None
        for line in text.splitlines():
            m = _COMP.match(line)
            if m and not line.startswith(" "):
                comp = m.group(1)
                continue
            m = _INSTR.match(line)
            if m and comp is not None:
                name, shape, op, rest = m.groups()
                self.instr[name] = (op, shape, rest)
                self.comps[comp].append(name)

    def ops_of(self, name: str) -> list[str]:
        """Names of the instructions ``name`` runs (itself, or those of its fused computation)."""
        op, _, rest = self.instr[name]
        if op != "fusion":
            return [name]
        m = re.search(r"calls=%([\w.\-]+)", rest)
        return list(self.comps.get(m.group(1), [])) if m else [name]

    def describe(self, name: str) -> tuple[str, str]:
        """``(category, one-line description)`` of the instruction called ``name``."""
        inner = self.ops_of(name)
        ops = [self.instr[i][0] for i in inner]
        meta = self.instr[name][2]
        conv = next((i for i in inner if self.instr[i][0] == "convolution"), None)
        if conv is not None:
            return _describe_conv(self.instr[conv], meta)
        if "custom-call" in ops:
            return "host callback", _short(self.instr[name], "custom-call")
        if "dot" in ops:
            dot = next(i for i in inner if self.instr[i][0] == "dot")
            return "dot", _short(self.instr[dot], "dot")
        if "reduce" in ops or "reduce-window" in ops:
            return "reduce", _short(self.instr[name], "+".join(sorted(set(ops) - _MOVE_OPS)))
        if set(ops) <= _MOVE_OPS:
            return "data movement", _short(self.instr[name], "+".join(sorted(set(ops))))
        return "elementwise", _short(self.instr[name], "+".join(sorted(set(ops) - _MOVE_OPS)))


def _dims(shape: str) -> list[int]:
    m = _SHAPE.match(shape)
    return [int(d) for d in m.group(1).split(",") if d] if m else []


def _short(instr: tuple[str, str, str], what: str) -> str:
    return f"{what} -> {instr[1].split('{')[0]}"


def _op_name(*lines: str) -> str:
    for line in lines:
        m = re.search(r'op_name="([^"]*)"', line)
        if m:
            return m.group(1)
    return ""


def _describe_conv(conv: tuple[str, str, str], fusion_meta: str) -> tuple[str, str]:
    _, shape, rest = conv
    window = re.search(r"window=\{size=([\dx]+)", rest)
    sizes = [int(s) for s in window.group(1).split("x")] if window else []
    labels = re.search(r"dim_labels=(\w+)_(\w+)->(\w+)", rest)
    out = _dims(shape)
    spatial = []
    if labels:
        spatial = [out[i] for i, c in enumerate(labels.group(3)) if c.isdigit()]
    name = _op_name(rest, fusion_meta)
    layout = labels.group(0)[len("dim_labels=") :] if labels else ""
    if sizes and spatial and math.prod(sizes) > math.prod(spatial):
        category = "conv weight gradient"
    elif "transpose(" in name or "conv_input_grad" in name:
        category = "conv input gradient"
    else:
        category = "conv forward"
    k = "x".join(map(str, sizes))
    return category, f"{category}: window {k}, out {shape.split('{')[0]}, {layout}"


def _trace_events(directory: str) -> list[dict[str, Any]]:
    files = sorted(
        glob.glob(os.path.join(directory, "**", "*perfetto_trace.json.gz"), recursive=True)
    )
    if not files:
        return []
    with gzip.open(files[-1], "rt") as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def profile_ops(fn, *args, runs: int = 2, top: int = 12) -> dict[str, Any]:
    """Per-operation time of ``fn(*args)`` (``fn`` is jitted here if it is not already).

    Returns ``{"categories": {category: ms per call}, "top": [(ms, count, description), ...],
    "total_ms": sum, "runs": runs}``; empty categories when the trace has no matching events
    (a backend whose trace does not name HLO instructions).
    """
    jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
    compiled = jitted.lower(*args).compile()
    index = HloIndex(compiled.as_text())
    jax.block_until_ready(compiled(*args))
    with tempfile.TemporaryDirectory(prefix="op-profile-") as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        try:
            for _ in range(runs):
                jax.block_until_ready(compiled(*args))
        finally:
            jax.profiler.stop_trace()
        events = _trace_events(tmp)
    per_op: dict[str, float] = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in index.instr:
            per_op[e["name"]] += float(e.get("dur", 0.0)) / 1e3 / runs
    categories = dict.fromkeys(CATEGORIES, 0.0)
    by_desc: dict[str, list[float]] = {}
    for name, ms in per_op.items():
        category, desc = index.describe(name)
        categories[category] += ms
        entry = by_desc.setdefault(desc, [0.0, 0])
        entry[0] += ms
        entry[1] += 1
    ranked = sorted(((v[0], v[1], d) for d, v in by_desc.items()), reverse=True)[:top]
    return {
        "categories": categories,
        "top": ranked,
        "total_ms": sum(categories.values()),
        "runs": runs,
    }


def format_profile(profile: dict[str, Any], indent: str = "  ") -> str:
    """The profile as lines of text: categories with their share, then the costliest ops."""
    total = profile["total_ms"] or float("nan")
    lines = [f"{indent}per category (ms per call, share of the {total:.0f} ms of XLA ops):"]
    for name, ms in sorted(profile["categories"].items(), key=lambda kv: -kv[1]):
        if ms > 0:
            lines.append(f"{indent}  {name:22s} {ms:9.1f}  {ms / total:5.0%}")
    lines.append(f"{indent}costliest operations (ms per call, number of such ops):")
    for ms, n, desc in profile["top"]:
        lines.append(f"{indent}  {ms:9.1f}  x{n:<3d} {desc}")
    return "\n".join(lines)
