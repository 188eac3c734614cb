"""YAML values checked against type annotations: one converter for setups and train configs.

``sciml reproduce --set KEY=VALUE`` / ``--setup FILE`` and ``sciml train`` configs read values as
YAML (:func:`load_yaml`) and convert them to the annotation of the dataclass field they set
(:func:`convert`): ``int``, ``float``, ``bool``, ``str``, ``None``, ``tuple[X, ...]``,
``tuple[X, Y]``, ``dict[K, V]``, unions of these and ``Any``. A value of the wrong kind is refused
with ``expected <the annotation in words>, found <the value>``; the caller adds where the value
came from and how to fix it. Imports nothing heavy (PyYAML only), usable by every layer.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["convert", "describe", "describe_value", "inline", "load_yaml", "loose", "members"]

# YAML 1.1 (PyYAML) reads 1e-3 as a string: a float field accepts such text.
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_EXP_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose booleans are only true/false (YAML 1.1 also reads yes/no/on/off
    as booleans: ``--set augment=no`` would pass silently where a typo is more likely)."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with true/false as the only booleans (``yes``, ``no``, ``on``, ``off``
    stay strings). Raises ``yaml.YAMLError`` for invalid YAML."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: builds no Python objects


class _Mismatch(Exception):
    """The value does not fit the annotation (reported once, for the whole value)."""


def members(tp: Any) -> tuple[Any, ...]:
    """The members of a union annotation (``int | None`` -> ``(int, NoneType)``), else ``(tp,)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _plural(tp: Any) -> str:
    simple = {int: "integers", float: "floats", bool: "booleans", str: "strings"}
    if tp in simple:
        return simple[tp]
    if typing.get_origin(tp) is tuple:
        return "lists of " + _plural(_tuple_item(tp))
    return "values"


def _tuple_item(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[0] if len(args) == 2 and args[1] is Ellipsis else Any


def describe(tp: Any) -> str:
    """``tp`` in words: ``a float``, ``true or false``, ``a list of integers``,
    ``an integer or null``, ``a mapping``, ``any value``."""
    names = []
    for t in members(tp):
        origin = typing.get_origin(t)
        if t is type(None):
            names.append("null")
        elif t in (bool, int, float, str):
            names.append(
                {bool: "true or false", int: "an integer", float: "a float", str: "a string"}[t]
            )
        elif t is tuple or origin is tuple:
            args = typing.get_args(t)
            if args and not (len(args) == 2 and args[1] is Ellipsis):
                names.append(f"a list of {len(args)} items")
            else:
                names.append("a list of " + _plural(_tuple_item(t)))
        elif t is dict or origin is dict:
            names.append("a mapping")
        elif t is Any:
            names.append("any value")
        else:
            names.append(getattr(t, "__name__", str(t)))
    return " or ".join(names)


def loose(value: Any) -> Any:
    """A free-form (``Any``) value: YAML 1.1's exponent strings (``1e-3``) become floats, in
    mappings and lists too; everything else is returned as it is."""
    if isinstance(value, str) and _EXP_RE.match(value.strip()):
        return float(value)
    if isinstance(value, Mapping):
        return {k: loose(v) for k, v in value.items()}
    if isinstance(value, list):
        return [loose(v) for v in value]
    return value


def _coerce(value: Any, tp: Any) -> Any:
    if tp is Any:
        return loose(value)
    union = members(tp)
    if len(union) > 1:
        if value is None and type(None) in union:
            return None
        for t in union:
            if t is type(None):
                continue
            try:
                return _coerce(value, t)
            except _Mismatch:
                continue
        raise _Mismatch
    origin = typing.get_origin(tp)
    if tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):  # not 1/0: YAML gives those as integers
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is tuple or origin is tuple:
        if isinstance(value, list | tuple):
            args = typing.get_args(tp)
            if not args:
                return tuple(loose(v) for v in value)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_coerce(v, args[0]) for v in value)
            if len(args) == len(value):
                return tuple(_coerce(v, t) for v, t in zip(value, args, strict=True))
    elif tp is dict or origin is dict:
        if isinstance(value, Mapping):
            key_tp, value_tp = typing.get_args(tp) or (Any, Any)
            return {_coerce(k, key_tp): _coerce(v, value_tp) for k, v in value.items()}
    else:
        raise TypeError(f"no converter from YAML to {tp!r} (see sciml.typed_yaml.convert)")
    raise _Mismatch


def describe_value(value: Any) -> str:
    """``value`` as an error message's ``found ...`` shows it: ``null`` or its ``repr``."""
    return "null" if value is None else repr(value)


def convert(value: Any, tp: Any) -> Any:
    """``value`` (as YAML read it) as the annotation ``tp`` wants it.

    ``bool`` takes only booleans, ``int`` only integers; ``float`` takes integers and float text
    (``1e-3``, which YAML 1.1 reads as a string); YAML lists become tuples; ``Any`` takes every
    value (:func:`loose`); a union takes ``None`` when it has ``None``, else the first member
    that fits.

    Args:
      value: a value as :func:`load_yaml` returns it.
      tp: the annotation (resolved, e.g. by ``typing.get_type_hints``).

    Raises:
      ValueError: ``expected <tp in words>, found <value>`` (``expected a float, found 'abc'``).
      TypeError: ``tp`` is no annotation this module converts to (a programming error).
    """
    try:
        return _coerce(value, tp)
    except _Mismatch:
        raise ValueError(f"expected {describe(tp)}, found {describe_value(value)}") from None


def inline(value: Any) -> str:
    """``value`` as one line of YAML (what to type after ``--set KEY=``); :func:`load_yaml`
    reads it back (tuples as lists)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        try:
            plain = load_yaml(value) == value
        except yaml.YAMLError:
            plain = False
        return value if plain and value else repr(value)
    return repr(value) if isinstance(value, float) else str(value)
