"""Method of lines with SciPy: ``solve_ivp`` integrates the learned right-hand side ``stepper.rhs``.

``rhs(t, y)`` takes and returns a flattened state, exactly what ``scipy.integrate.solve_ivp``
expects, so any method-of-lines code can call a sciml stepper (NumPy only, no JAX).

    python examples/solve_ivp_with_learned_rhs.py                   # builds a demo artifact
    python examples/solve_ivp_with_learned_rhs.py --artifact stepper.h5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

import sciml


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", type=Path, help="stepper artifact (1 channel, periodic 1-D)")
    parser.add_argument("--t-end", type=float, default=1.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.artifact
        if path is None:
            from demo_artifact import make_artifact

            path = make_artifact(Path(tmp) / "laplacian.h5", kind="laplacian")
        stepper = sciml.load_stepper(path)
    (n, c) = stepper.state_shape
    x = np.arange(n) * stepper.dx[0]
    u0 = np.repeat(np.sin(3 * x)[:, None], c, axis=1)
    sol = solve_ivp(
        stepper.rhs, (0.0, args.t_end), u0.reshape(-1), method="RK45", rtol=1e-8, atol=1e-10
    )
    u = sol.y[:, -1].reshape(stepper.state_shape)
    print(f"solve_ivp: {sol.message} ({sol.nfev} right-hand-side calls)")
    result = {"u": u, "nfev": int(sol.nfev)}
    if (
        args.artifact is None
    ):  # the demo artifact is nu u_xx with nu = 0.5: compare with the exact decay
        exact = np.exp(-0.5 * 9 * args.t_end) * np.sin(3 * x)
        err = float(np.abs(u[:, 0] - exact).max())
        print(f"max error against the exact heat-equation solution: {err:.2e}")
        result["error"] = err
    return result


if __name__ == "__main__":
    main()
