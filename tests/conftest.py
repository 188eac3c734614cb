"""Test configuration: 8 fake CPU devices for the sharding tests, set before JAX is imported."""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax
import pytest

import sciml  # noqa: F401  (its XLA_FLAGS defaults, before JAX creates a backend)


@pytest.fixture
def x64():
    """Run a test in float64 (for convergence-order and analytic-solution tests)."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)
