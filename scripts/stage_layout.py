"""Stage the installed package layout for import-linter: sciml/ with solvers/ and datasets/ inside.

The repository keeps ``solvers/`` and ``datasets/`` at the top level and installs them as
``sciml.solvers`` and ``sciml.datasets`` (``pyproject.toml`` package-dir). import-linter (grimp)
reads a package from one directory tree, so this script copies the Python sources into that
tree under ``DEST``; ``.ci/run`` then runs ``lint-imports`` there against this repository's
``pyproject.toml`` contracts. Usage: ``python scripts/stage_layout.py DEST``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAPPING = {"sciml": "sciml", "solvers": "sciml/solvers", "datasets": "sciml/datasets"}


def stage(dest: str | Path, repo: str | Path = REPO) -> Path:
    """Copy the ``.py`` files of the three source trees into ``dest`` (installed layout)."""
    dest, repo = Path(dest), Path(repo)
    for src, target in MAPPING.items():
        for path in (repo / src).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            out = dest / target / path.relative_to(repo / src)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/stage_layout.py DEST")
    print(stage(sys.argv[1]))
