"""Equation registry: what ``sciml simulate NAME`` can run.

Each :class:`EquationSpec` names a PDE, its fields and units, its parameters (defaults, types and
valid ranges, checked by :meth:`EquationSpec.validate`), a default grid and time step, a step
factory ``make_step(grid, dt, **params)`` and an initial-condition sampler
``initial_condition(grid, n_samples, *, key, **params)``. Both callables receive the full,
validated parameter dict (defaults filled in) and use the names they need; parameters named
``ic_*`` only affect the initial condition.

The built-in spectral equations are registered in :mod:`sciml.solvers.spectral.equations`; other modules
add theirs with :func:`register_equation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
from sciml.solvers.grid import Grid

_TYPE_NAMES = {float: "float", int: "int", str: "str", bool: "bool"}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: default, type and valid range.

    Attributes:
      default: default value (of ``type``).
      type: ``float``, ``int``, ``str`` or ``bool``.
      minimum, maximum: inclusive bounds (numbers), or ``None``.
      positive: if true the value must be strictly > 0 (e.g. a time scale).
      choices: allowed values (strings), or ``None``.
      description: one line, with units.
    """

    default: Any
    type: type = float
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    choices: tuple | None = None
    description: str = ""

    def __post_init__(self):
        if self.type not in _TYPE_NAMES:
            raise ValueError(
                f"ParamSpec.type: expected one of float, int, str, bool, found {self.type!r}"
            )

    def range_text(self) -> str:
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        parts = []
        if self.positive:
            parts.append("> 0")
        if self.minimum is not None and not (self.positive and self.minimum <= 0):
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        kind = _TYPE_NAMES[self.type]
        return f"a {kind} " + " and ".join(parts) if parts else f"a {kind}"

    def check(self, name: str, value: Any, where: str) -> Any:
        """Coerce ``value`` (a number, bool or string from the command line) and check it."""
        hint = f"pass --set {name}=<{_TYPE_NAMES[self.type]}> (default {self.default!r})"
        converted = _coerce(value, self.type)
        if converted is None:
            raise ValueError(
                f"{where}: parameter {name!r} expected {self.range_text()}, found {value!r} "
                f"({type(value).__name__}); {hint}"
            )
        ok = True
        if self.choices is not None:
            ok = converted in self.choices
        elif self.type in (int, float):
            ok = math.isfinite(converted)
            ok = ok and not (self.positive and converted <= 0)
            ok = ok and not (self.minimum is not None and converted < self.minimum)
            ok = ok and not (self.maximum is not None and converted > self.maximum)
        if not ok:
            raise ValueError(
                f"{where}: parameter {name!r} expected {self.range_text()}, found {converted!r}; "
                f"{hint}"
            )
        return converted


def _coerce(value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (
            "true",
            "1",
            "yes",
            "false",
            "0",
            "no",
        ):
            return value.strip().lower() in ("true", "1", "yes")
        return None
    if kind is str:
        return value if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    if kind is int:
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                return None
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    try:  # NumPy / JAX scalars
        return float(value)
    except (TypeError, ValueError):
        return None


class GridDefaults(NamedTuple):
    """Default grid of an equation: ``shape`` and ``length`` per axis (unpacks as a pair)."""

    shape: tuple[int, ...]
    length: tuple[float, ...]

    def make(self, shape=None, length=None, boundary: str = "periodic") -> Grid:
        """A :class:`Grid` with these defaults, overriding ``shape`` and/or ``length``."""
        return Grid(
            self.shape if shape is None else shape,
            self.length if length is None else length,
            boundary=boundary,
        )


@dataclass(frozen=True)
class EquationSpec:
    """A registered equation (see the module docstring).

    Attributes:
      name: registry key, e.g. ``"ks1d"``.
      description: one paragraph including the PDE.
      ndim: number of spatial axes.
      channels: field names, one per channel of the state, e.g. ``("u",)`` or ``("u", "v")``.
      units: units of each field and of ``"x"`` and ``"t"`` (``"1"`` = nondimensional).
      params: name -> :class:`ParamSpec`.
      default_grid: :class:`GridDefaults` ``(shape, length)``.
      default_dt: default time step.
      make_step: ``(grid, dt, **params) -> step``; parameters are validated and defaults filled
        before the factory runs.
      initial_condition: ``(grid, n_samples, *, key, **params) -> (n_samples, *grid.shape, C)``.
      solver: short description of the numerical method.
      boundaries: grid boundary kinds the solver accepts.
    """

    name: str
    description: str
    ndim: int
    channels: tuple[str, ...]
    units: Mapping[str, str]
    params: Mapping[str, ParamSpec]
    default_grid: GridDefaults
    default_dt: float
    make_step: Callable[..., Callable[[jax.Array], jax.Array]]
    initial_condition: Callable[..., jax.Array]
    solver: str
    boundaries: tuple[str, ...] = ("periodic",)
    _raw: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.ndim not in (1, 2, 3):
            raise ValueError(
                f"EquationSpec {self.name!r}: ndim must be 1, 2 or 3, found {self.ndim}"
            )
        grid = self.default_grid
        if not isinstance(grid, GridDefaults):
            grid = GridDefaults(tuple(grid[0]), tuple(grid[1]))
        object.__setattr__(self, "default_grid", grid)
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "_raw", {})
        for name in ("make_step", "initial_condition"):
            fn = getattr(self, name)
            owner = getattr(fn, "__self__", None)
            if isinstance(owner, EquationSpec):  # copied with dataclasses.replace: unwrap
                fn = owner._raw[name]
            if not callable(fn):
                raise ValueError(f"EquationSpec {self.name!r}: {name} must be callable")
            self._raw[name] = fn
        object.__setattr__(self, "make_step", self._validated_make_step)
        object.__setattr__(self, "initial_condition", self._validated_initial_condition)

    def validate(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check names, types and ranges; return all parameters with defaults filled in."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter {unknown[0]!r}; valid parameters: "
                f"{sorted(self.params) or 'none'}"
            )
        out = {}
        for name, spec in self.params.items():
            value = params.get(name, spec.default)
            out[name] = spec.check(name, value, self.name)
        return out

    def grid(self, shape=None, length=None, boundary: str = "periodic") -> Grid:
        """The default grid, optionally with another ``shape``/``length``/``boundary``."""
        grid = self.default_grid.make(shape, length, boundary)
        self.check_grid(grid)
        return grid

    def check_grid(self, grid: Grid) -> None:
        if grid.ndim != self.ndim:
            raise ValueError(
                f"{self.name}: grid has {grid.ndim} axes, expected {self.ndim}; pass "
                f"{self.ndim} sizes, e.g. --grid {' '.join(map(str, self.default_grid.shape))}"
            )
        if grid.boundary not in self.boundaries:
            raise ValueError(
                f"{self.name}: grid boundary expected one of {list(self.boundaries)}, found "
                f"{grid.boundary!r}"
            )

    def _validated_make_step(self, grid: Grid, dt: float, **params):
        self.check_grid(grid)
        try:
            value = float(dt) if not isinstance(dt, bool | str) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"{self.name}: dt expected a finite number > 0, found {dt!r}; "
                f"pass --dt {self.default_dt:g}"
            )
        return self._raw["make_step"](grid, value, **self.validate(params))

    def _validated_initial_condition(self, grid: Grid, n_samples: int, *, key, **params):
        self.check_grid(grid)
        if int(n_samples) < 1:
            raise ValueError(f"{self.name}: n_samples expected >= 1, found {n_samples}")
        out = self._raw["initial_condition"](grid, int(n_samples), key=key, **self.validate(params))
        expected = (int(n_samples), *grid.shape, len(self.channels))
        if tuple(out.shape) != expected:
            raise ValueError(
                f"{self.name}: initial_condition returned shape {tuple(out.shape)}, "
                f"expected {expected}"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON/attribute-friendly summary (no callables)."""
        return {
            "name": self.name,
            "description": self.description,
            "ndim": self.ndim,
            "channels": list(self.channels),
            "units": dict(self.units),
            "params": {k: p.default for k, p in self.params.items()},
            "default_grid": {
                "shape": list(self.default_grid.shape),
                "length": list(self.default_grid.length),
            },
            "default_dt": self.default_dt,
            "solver": self.solver,
        }


EQUATIONS: dict[str, EquationSpec] = {}


def register_equation(spec: EquationSpec, *, replace: bool = False) -> EquationSpec:
    """Add ``spec`` to :data:`EQUATIONS` (refuses to overwrite unless ``replace=True``)."""
    if not isinstance(spec, EquationSpec):
        raise ValueError(
            f"register_equation: expected an EquationSpec, found {type(spec).__name__}"
        )
    if spec.name in EQUATIONS and not replace:
        raise ValueError(
            f"register_equation: {spec.name!r} is already registered; pick another name or "
            "pass replace=True"
        )
    EQUATIONS[spec.name] = spec
    return spec


def get_equation(name: str) -> EquationSpec:
    """The registered equation ``name``; the error lists the valid names."""
    _load_builtins()
    if name not in EQUATIONS:
        raise ValueError(
            f"equation: unknown name {name!r}; valid names: {', '.join(sorted(EQUATIONS))}"
        )
    return EQUATIONS[name]


def _load_builtins() -> None:
    import sciml.solvers  # noqa: F401  (registers the built-in and finite-difference equations)
