"""The wheel installs sciml.solvers and sciml.datasets under sciml/, never as top-level packages."""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (whl,) = out.glob("sciml-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"sciml", next(t for t in top if t.endswith(".dist-info"))}, top
    for module in (
        "sciml/solvers/__init__.py",
        "sciml/solvers/rollout.py",
        "sciml/datasets/__init__.py",
        "sciml/nn/__init__.py",
        "sciml/train/__init__.py",
        "sciml/stepper/artifact.py",
        "sciml/mri/__init__.py",
        "sciml/commands/__init__.py",
    ):
        assert module in names, module
    # every sub-package directory in the source tree made it into the wheel
    for src, dst in (("solvers", "sciml/solvers"), ("datasets", "sciml/datasets")):
        for py in (ROOT / src).glob("*.py"):
            assert f"{dst}/{py.name}" in names, py


def test_wheel_in_a_clean_virtual_environment(wheel, tmp_path):
    env = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120
    )
    py = env / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    assert not (site / "datasets").exists() and not (site / "solvers").exists()
    assert (site / "sciml" / "solvers").is_dir() and (site / "sciml" / "datasets").is_dir()
    # Dependencies come from the test environment, appended after the clean site-packages.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import sciml, sciml.solvers, sciml.datasets, importlib.util as u;"
        f"assert sciml.__file__.startswith({str(site)!r}), sciml.__file__;"
        f"assert sciml.solvers.__file__.startswith({str(site)!r});"
        "assert u.find_spec('solvers') is None;"
        "print('ok')"
    )
    res = subprocess.run(
        [str(py), "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=120
    )
    assert res.stdout.strip() == "ok"
    help_text = subprocess.run(
        [str(env / "bin" / "sciml"), "--help"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "simulate" in help_text and "reproduce" in help_text
