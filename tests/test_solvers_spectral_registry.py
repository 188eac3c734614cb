"""The equation registry: every built-in spec runs, parameters are validated, errors are one line."""

import dataclasses

import jax
import numpy as np
import pytest
from sciml.solvers import (
    EQUATIONS,
    EquationSpec,
    Grid,
    GridDefaults,
    ParamSpec,
    get_equation,
    register_equation,
)

BUILTIN = [
    "heat1d", "heat2d", "heat3d", "advection1d", "advection2d", "advection3d", "burgers1d",
    "kdv1d", "ks1d", "ks2d", "ns2d_decaying", "ns2d_kolmogorov", "gray_scott2d",
]  # fmt: skip
SMALL = {1: (32,), 2: (16, 16), 3: (8, 8, 8)}


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_equation_makes_a_working_step(name):
    spec = get_equation(name)
    assert spec.name == name and name in EQUATIONS
    assert spec.ndim == len(spec.default_grid.shape) == len(spec.default_grid.length)
    assert "=" in spec.description and spec.solver
    assert set(spec.units) >= {*spec.channels, "x", "t"}
    params = spec.validate({})
    assert params == {k: p.default for k, p in spec.params.items()}
    grid = spec.grid(shape=SMALL[spec.ndim])
    z0 = spec.initial_condition(grid, 2, key=jax.random.key(0))
    assert z0.shape == (2, *grid.shape, len(spec.channels))
    again = spec.initial_condition(grid, 2, key=jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(z0), np.asarray(again))
    step = spec.make_step(grid, spec.default_dt)
    assert step.grid == grid and step.dt == spec.default_dt and isinstance(step.params, dict)
    z1 = step(z0)
    assert z1.shape == z0.shape and np.isfinite(np.asarray(z1)).all()
    step.check_dt(z0)  # the defaults are stable for the default initial condition


def test_default_grid_unpacks_and_builds():
    spec = get_equation("ks1d")
    shape, length = spec.default_grid
    assert spec.default_grid.shape == shape == (256,) and length == (64.0,)
    assert spec.grid() == Grid((256,), (64.0,))
    assert spec.to_dict()["params"] == {k: p.default for k, p in spec.params.items()}


def test_validate_coerces_strings_and_reports_errors():
    spec = get_equation("ns2d_kolmogorov")
    params = spec.validate({"nu": "0.002", "forcing_wavenumber": "3", "drag": 0})
    assert params["nu"] == 0.002 and params["forcing_wavenumber"] == 3 and params["drag"] == 0.0
    with pytest.raises(
        ValueError, match=r"unknown parameter 'viscosity'; valid parameters: \[.*'nu'"
    ):
        spec.validate({"viscosity": 0.1})
    with pytest.raises(ValueError, match=r"parameter 'nu' expected a float >= 0, found -0.1; pass"):
        spec.validate({"nu": -0.1})
    with pytest.raises(ValueError, match=r"parameter 'nu' expected a float >= 0, found 'abc'"):
        spec.validate({"nu": "abc"})
    with pytest.raises(ValueError, match=r"'forcing_wavenumber' expected a int >= 1, found 2.5"):
        spec.validate({"forcing_wavenumber": 2.5})
    with pytest.raises(ValueError, match=r"'nu' expected a float >= 0, found True"):
        spec.validate({"nu": True})
    with pytest.raises(ValueError, match=r"burgers1d: parameter 'nu' expected a float > 0"):
        get_equation("burgers1d").validate({"nu": 0.0})
    with pytest.raises(ValueError, match="unknown parameter 'nu'"):
        get_equation("ks1d").make_step(Grid((32,), (22.0,)), 0.1, nu=1.0)


def test_unknown_equation_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"unknown name 'navier'; valid names: .*ks1d.*ns2d_kolmogorov"
    ):
        get_equation("navier")


def test_grid_and_dt_errors():
    spec = get_equation("heat2d")
    with pytest.raises(ValueError, match=r"heat2d: grid has 1 axes, expected 2; pass 2 sizes"):
        spec.make_step(Grid((16,), (1.0,)), 0.1)
    with pytest.raises(ValueError, match=r"grid boundary expected one of \['periodic'\]"):
        spec.make_step(Grid((16, 16), (1.0,), boundary="dirichlet"), 0.1)
    with pytest.raises(ValueError, match=r"heat2d: dt expected a finite number > 0, found -1"):
        spec.make_step(spec.grid(), -1)
    with pytest.raises(ValueError, match="n_samples expected >= 1"):
        spec.initial_condition(spec.grid(), 0, key=jax.random.key(0))


def test_register_equation_refuses_duplicates_and_checks_outputs():
    def make_step(grid, dt, **params):
        return lambda z: z

    def bad_ic(grid, n_samples, *, key, **params):
        return np.zeros((n_samples, *grid.shape))  # channel axis missing

    spec = EquationSpec(
        name="test_identity",
        description="Identity map: du/dt = 0.",
        ndim=1,
        channels=("u",),
        units={"u": "1", "x": "1", "t": "1"},
        params={"a": ParamSpec(1.0, float, minimum=0.0, maximum=2.0)},
        default_grid=GridDefaults((8,), (1.0,)),
        default_dt=0.1,
        make_step=make_step,
        initial_condition=bad_ic,
        solver="none",
    )
    try:
        register_equation(spec)
        assert get_equation("test_identity") is spec
        # A copy made with dataclasses.replace validates against its own parameters.
        copy = dataclasses.replace(spec, name="test_identity_copy", params={})
        with pytest.raises(ValueError, match=r"test_identity_copy: unknown parameter 'a'"):
            copy.make_step(copy.grid(), 0.1, a=1.0)
        assert copy.make_step(copy.grid(), np.float32(0.1))(1.0) == 1.0
        with pytest.raises(ValueError, match="'test_identity' is already registered"):
            register_equation(spec)
        with pytest.raises(ValueError, match=r"parameter 'a' expected a float >= 0 and <= 2"):
            spec.validate({"a": 3})
        with pytest.raises(ValueError, match=r"initial_condition returned shape \(2, 8\)"):
            spec.initial_condition(spec.grid(), 2, key=jax.random.key(0))
    finally:
        EQUATIONS.pop("test_identity", None)
    with pytest.raises(ValueError, match="expected an EquationSpec"):
        register_equation({"name": "x"})
