"""``--json PATH`` for the benchmarks: one shared writer so that ``run_all.py`` can merge them.

A benchmark adds the option with :func:`add_json_argument` and, at the end, calls
:func:`write_json` with its figures: a dict with ``"benchmark"`` (its name) and any numbers; keys
starting with ``ratio`` are what ``run_all.py`` puts in its table.
"""

from __future__ import annotations

import argparse
import json
import math

from sciml.atomic import write_text


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", help="write the figures to this JSON file")


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: str | None, result: dict) -> None:
    """Write ``result`` to ``path`` (atomically; NaN and Inf as null); nothing if ``path`` is None."""
    if path:
        write_text(path, json.dumps(_clean(result), indent=1, default=str) + "\n")
