"""Finite-difference solvers (method of lines + the explicit Runge-Kutta table) and their entries.

- :mod:`.base`: :class:`FDStep` (ghost cells, stability check from the scheme's symbol);
- :mod:`.stencils`: the stencils and their Fourier symbols;
- one module per equation: heat, advection (upwind), Burgers (limiters), wave;
- :mod:`.registry`: the ``fd_*`` entries of the equation registry.
"""
