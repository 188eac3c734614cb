"""The import-linter contracts of pyproject.toml hold, and each one fails on an offending import.

The package layout is staged as installed (``scripts/stage_layout.py``: solvers/ and datasets/
inside sciml/), then ``lint-imports`` runs on it: once per offending import added (that
contract must be BROKEN), and once more after removing them all (every contract KEPT).
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"

# contract id -> (file in the staged tree, line that breaks only that contract)
OFFENDERS = {
    "bottom": ("sciml/solvers/_offender.py", "import sciml.nn\n"),
    "zoo": ("sciml/nn/_offender.py", "import sciml.solvers\n"),
    "metrics": ("sciml/metrics/_offender.py", "import sciml.mri\n"),
    "train": ("sciml/train/_offender.py", "from sciml.nn import unet\n"),
    "areas": ("sciml/stepper/_offender.py", "import sciml.mri.masks\n"),
    "experiments": ("sciml/mri/_offender.py", "import sciml.experiments.runner\n"),
    "cli": ("sciml/experiments/_offender.py", "import sciml.commands\n"),
    "light": ("sciml/metrics/__init__.py", "import jax\n"),
    "numpy-loader": ("sciml/stepper/numpy_eval.py", "import jax.numpy\n"),
}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None or not LINT.exists(),
    reason="import-linter is not installed (pip install -e .[test])",
)


def _contracts() -> dict[str, str]:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def _lint(stage: Path) -> dict[str, str]:
    """Contract name -> KEPT/BROKEN of one lint-imports run on the staged tree."""
    run = subprocess.run(
        [str(LINT), str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=stage,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status = dict(re.findall(r"^(.+) (KEPT|BROKEN)$", run.stdout, flags=re.M))
    assert status, run.stdout + run.stderr
    return status


def test_each_contract_fails_on_an_offending_import_and_passes_without(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from stage_layout import stage
    finally:
        sys.path.pop(0)
    stage(tmp_path)
    names = _contracts()
    assert set(OFFENDERS) == set(names), "every contract needs an offending import here"
    for cid, (rel, line) in OFFENDERS.items():
        path = tmp_path / rel
        before = path.read_text() if path.exists() else None
        path.write_text((before or "") + line)
        status = _lint(tmp_path)
        broken = sorted(n for n, s in status.items() if s == "BROKEN")
        assert broken == [names[cid]], f"{rel}: {line.strip()!r} broke {broken}"
        if before is None:
            path.unlink()
        else:
            path.write_text(before)
    status = _lint(tmp_path)
    assert set(status) == set(names.values()) and set(status.values()) == {"KEPT"}, status
