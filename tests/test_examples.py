"""The import examples run and show what they claim."""

import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def examples_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def test_numpy_fd_with_learned_correction(examples_path, capsys):
    import numpy_fd_with_learned_correction as ex

    out = ex.main([])
    # The 4th-order correction reduces the 2nd-order solver's error by over an order of magnitude.
    assert out["corrected"] < out["plain"] / 10
    assert "error reduction" in capsys.readouterr().out


def test_solve_ivp_with_learned_rhs(examples_path):
    import solve_ivp_with_learned_rhs as ex

    out = ex.main(["--t-end", "0.5"])
    assert out["error"] < 1e-3
    assert out["u"].shape == (32, 1)


def test_examples_need_no_jax_for_the_import(tmp_path, examples_path):
    """The artifact the examples use is loaded and evaluated by a process that cannot import JAX."""
    import subprocess

    from demo_artifact import make_artifact

    path = make_artifact(tmp_path / "c.h5", kind="correction")
    code = (
        "import sys\n"
        "sys.modules['jax'] = None\n"
        "import numpy as np, sciml\n"
        f"st = sciml.load_stepper({str(path)!r})\n"
        "assert st.tendency(np.ones((32, 1))).shape == (32, 1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_numpy_fd_example_takes_the_grid_from_the_artifact_without_jax(tmp_path, examples_path):
    """An artifact on another grid (48 points) runs (no hard-coded n = 32), in a process that
    cannot import JAX; the correction still cuts the 2nd-order error by over 10x."""
    import json
    import subprocess

    from demo_artifact import make_artifact

    path = make_artifact(tmp_path / "c48.h5", kind="correction", n=48)
    code = (
        "import sys, json\n"
        "sys.modules['jax'] = None\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "import numpy_fd_with_learned_correction as ex\n"
        f"out = ex.main(['--artifact', {str(path)!r}])\n"
        "assert 'jax' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["corrected"] < out["plain"] / 10
