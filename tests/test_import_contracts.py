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


def _lint(stage: Path) -> tuple[dict[str, str], dict[str, str]]:
    """One lint-imports run on the staged tree: contract name -> KEPT/BROKEN, and -> its report."""
    run = subprocess.run(
        [str(LINT), str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=stage,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status = dict(re.findall(r"^(.+) (KEPT|BROKEN)$", run.stdout, flags=re.M))
    assert status, run.stdout + run.stderr
    reports, name = {}, None
    broken = run.stdout.partition("Broken contracts")[2].splitlines()
    for line, underline in zip(broken, [*broken[1:], ""]):
        if line in status and set(underline) == {"-"}:
            name = line
            reports[name] = ""
        elif name is not None:
            reports[name] += line + "\n"
    return status, reports


def _module(rel: str) -> str:
    return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_each_contract_fails_on_an_offending_import_and_passes_without(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from stage_layout import stage
    finally:
        sys.path.pop(0)
    stage(tmp_path)
    names = _contracts()
    assert set(OFFENDERS) == set(names), "every contract needs an offending import here"
    originals = {}
    for rel, line in OFFENDERS.values():  # all offending imports at once: one lint run
        path = tmp_path / rel
        originals[rel] = path.read_text() if path.exists() else None
        path.write_text((originals[rel] or "") + line)
    status, reports = _lint(tmp_path)
    for cid, (rel, _) in OFFENDERS.items():
        # each contract is broken, and by its own offending module
        assert status[names[cid]] == "BROKEN", (cid, status)
        assert re.search(rf"^-?\s*{re.escape(_module(rel))}\b", reports[names[cid]], re.M), (
            cid,
            reports[names[cid]],
        )
    for rel, before in originals.items():  # removed again: every contract passes
        if before is None:
            (tmp_path / rel).unlink()
        else:
            (tmp_path / rel).write_text(before)
    status, _ = _lint(tmp_path)
    assert set(status) == set(names.values()) and set(status.values()) == {"KEPT"}, status
