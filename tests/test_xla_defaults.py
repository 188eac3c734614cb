"""sciml's default XLA flags: set only where the user has not set them, and in effect here."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from sciml import _xla_defaults as xd


def test_flag_appended_when_absent():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    assert xd.apply(env) == "set"
    assert env["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=8 {xd.CPU_CONV_FLAG}"
    env = {}
    assert xd.apply(env) == "set"
    assert env["XLA_FLAGS"] == xd.CPU_CONV_FLAG


def test_user_setting_wins_and_opt_out():
    mine = "--xla_cpu_experimental_ynn_fusion_type=individual_dot"
    env = {"XLA_FLAGS": mine}
    assert xd.apply(env) == "user"
    assert env["XLA_FLAGS"] == mine
    env = {"SCIML_XLA_DEFAULTS": "0"}
    assert xd.apply(env) == "off"
    assert "XLA_FLAGS" not in env


@pytest.mark.parametrize("version", [(0, 9, 0), (0, 10, 1), (0, 11, 0)])
def test_unverified_jaxlib_left_alone(monkeypatch, version):
    """XLA aborts on a flag it does not know: only verified jaxlib versions get it."""
    monkeypatch.setattr(xd, "_jaxlib_version", lambda: version)
    env = {}
    assert xd.apply(env) == "unverified-jaxlib"
    assert env == {}


def test_in_effect_in_this_process():
    """conftest imports sciml before JAX starts: the VALID convolution is XLA's own, not YNNPACK's."""
    if xd._jaxlib_version() is None or not (
        xd._VERIFIED[0] <= xd._jaxlib_version() < xd._VERIFIED[1]
    ):
        pytest.skip("jaxlib outside the verified range: the flag is not set")
    assert xd.status()["in_effect"] is True
    x = jnp.ones((1, 10, 10, 4))
    k = jnp.ones((3, 3, 4, 4))
    conv = jax.jit(
        lambda x, k: lax.conv_general_dilated(
            x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
    )
    text = conv.lower(x, k).compile().as_text()
    assert "convolution(" in text
    assert "ynn" not in text.lower()


def test_jaxlib_version_read_without_importing_it_matches_jaxlib():
    import jaxlib

    want = tuple(int(v) for v in jaxlib.__version__.split(".")[:3])
    assert xd._jaxlib_version() == want
