"""The setup of a reproduction run: presets, a setup file and ``KEY=VALUE`` overrides.

The four reproductions with a frozen setup dataclass (``learned-stepper``, ``kolmogorov``,
``burgers``, ``graphs``) are fully described by their preset (``QUICK``/``FULL``), the fields of a
setup file (``--setup``) and ``KEY=VALUE`` overrides (``--set``), applied in that order
(:func:`resolve_setup`); every run writes the setup it used to ``setup.yaml``
(:func:`write_setup`), which ``--setup`` reads back (:func:`load_setup_file`).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shlex
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sciml.atomic import write_text
from sciml.typed_yaml import convert, describe_value, inline, load_yaml, members

SETUP_FILE = "setup.yaml"

# One converter for `--set KEY=VALUE` and for setup files (sciml.typed_yaml): a value as YAML read
# it, checked against the field's annotation (int, float, bool, str, tuple[X, ...], X | None,
# dict[K, V], Any).
_RUN_KEYS = ("experiment", "quick", "seed", "setup")


def _example(base: Any, name: str, tp: Any) -> str:
    """A valid value for field ``name``: its value in ``base``, else one made from its type."""
    current = getattr(base, name, None)
    if current is not None:
        return inline(current)
    for t in members(tp):
        origin = typing.get_origin(t)
        if t in (bool, int, float, str):
            return {bool: "true", int: "1", float: "0.1", str: "text"}[t]
        if t is tuple or origin is tuple:
            return "[1, 2]"
        if t is dict or origin is dict:
            return "{}"
    return "null"


def _fields(cls: type) -> tuple[list[str], dict[str, Any]]:
    """The settable field names of the setup dataclass ``cls`` and their resolved annotations."""
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"expected a setup dataclass, found {cls!r}")
    return [f.name for f in dataclasses.fields(cls) if f.init], typing.get_type_hints(cls)


def _no_field(cls: type, key: Any, names: list[str]) -> str:
    close = difflib.get_close_matches(str(key), names, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{cls.__name__} has no field {key!r}{guess}; fields: {', '.join(names)}"


def _squash(text: Any) -> str:
    return " ".join(str(text).split())


def setup_with(base: Any, overrides: Sequence[str] = (), *, source: str = "--set") -> Any:
    """``base`` (a frozen setup dataclass) with ``KEY=VALUE`` overrides applied.

    VALUE is read as YAML and checked against the field's annotation: ``nu=0.02``,
    ``factors=[1, 2, 4]`` (a list becomes a tuple), ``spinup_n=null``, ``augment=false``,
    ``params={nu: 0.5}``. Later overrides of the same key win.

    Args:
      base: the setup to start from (e.g. a reproduction's ``QUICK``).
      overrides: ``"KEY=VALUE"`` strings.
      source: the argument the overrides came from; starts every error message.

    Raises:
      ValueError: one line naming the override, the expected and the found value and the fix
        (``--set nu=abc: expected a float, found 'abc'; e.g. --set nu=0.005``), an unknown field
        (the fields are listed) or an item without ``=``.
    """
    cls = type(base)
    names, hints = _fields(cls)
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        shown = _squash(item) if "\n" in item else item
        if not sep or not key:
            name = key if key in names else names[0]
            raise ValueError(
                f"{source} {shown}: expected KEY=VALUE, e.g. "
                f"{source} {shlex.quote(f'{name}={_example(base, name, hints[name])}')}"
            )
        if key not in names:
            raise ValueError(f"{source} {shown}: {_no_field(cls, key, names)}")
        example = f"e.g. {source} {shlex.quote(f'{key}={_example(base, key, hints[key])}')}"
        try:
            value = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise ValueError(
                f"{source} {shown}: cannot read {raw!r} as a YAML value ({_squash(err)}); {example}"
            ) from None
        try:
            changes[key] = convert(value, hints[key])
        except ValueError as err:
            raise ValueError(f"{source} {shown}: {err}; {example}") from None
    return dataclasses.replace(base, **changes)


def _read_setup_file(
    path: str | os.PathLike, base: Any, *, experiment: str
) -> tuple[dict[str, Any], int | None, bool | None]:
    """The converted fields, seed and quick flag of a setup file (see :func:`load_setup_file`)."""
    cls = type(base)
    names, hints = _fields(cls)
    name = os.fspath(path)
    file = Path(path).expanduser()
    if file.is_dir():
        raise ValueError(
            f"{name}: is a directory, expected a setup file; pass the run's setup file, "
            f"e.g. {file / SETUP_FILE}"
        )
    if not file.is_file():
        raise FileNotFoundError(
            f"{name}: setup file not found; pass the {SETUP_FILE} of an earlier run "
            f"(RUN_DIR/{SETUP_FILE}) or a YAML file of {cls.__name__} fields"
        )
    try:
        data = load_yaml(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{name}: not a readable YAML file ({_squash(err)}); fix the file or pass the "
            f"{SETUP_FILE} of an earlier run"
        ) from None
    fix_map = f"e.g. a line '{names[0]}: {_example(base, names[0], hints[names[0]])}' per field"
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"{type(data).__name__} {describe_value(data)}"
        raise ValueError(
            f"{name}: expected a mapping of {cls.__name__} fields or a {SETUP_FILE} written by "
            f"`sciml reproduce`, found {_squash(found)[:80]}; {fix_map}"
        )
    seed = quick = None
    fields = data
    if "setup" in data and "setup" not in names:  # a run's setup.yaml
        unknown = [k for k in data if k not in _RUN_KEYS]
        if unknown:
            raise ValueError(
                f"{name}: unknown key {unknown[0]!r} beside 'setup'; a run's {SETUP_FILE} has "
                f"the keys {', '.join(_RUN_KEYS)} (the setup fields go under 'setup:')"
            )
        written_for = data.get("experiment", experiment)
        if written_for != experiment:
            raise ValueError(
                f"{name}: the setup of a {written_for!r} run, expected one of {experiment!r}; run "
                f"`sciml reproduce {written_for} --setup {name}` or pass a {experiment} setup file"
            )
        seed, quick = data.get("seed"), data.get("quick")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(
                f"{name}: seed: expected an integer, found {describe_value(seed)}; "
                "fix it in the file, e.g. 'seed: 0'"
            )
        if quick is not None and not isinstance(quick, bool):
            raise ValueError(
                f"{name}: quick: expected true or false, found {describe_value(quick)}; "
                "fix it in the file, e.g. 'quick: true'"
            )
        fields = data["setup"] if data["setup"] is not None else {}
        if not isinstance(fields, dict):
            raise ValueError(
                f"{name}: setup: expected a mapping of {cls.__name__} fields, found "
                f"{describe_value(fields)}; {fix_map} under 'setup:'"
            )
    converted: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in names:
            raise ValueError(
                f"{name}: {_no_field(cls, key, names)}; remove or rename {key!r} in the file"
            )
        try:
            converted[key] = convert(value, hints[key])
        except ValueError as err:
            raise ValueError(
                f"{name}: {key}: {err}; fix it in the file, e.g. "
                f"'{key}: {_example(base, key, hints[key])}'"
            ) from None
    return converted, seed, quick


def load_setup_file(
    path: str | os.PathLike, base: Any, *, experiment: str
) -> tuple[Any, int | None, bool | None]:
    """Read a setup file; returns ``(setup, seed or None, quick or None)``.

    The file is either the ``setup.yaml`` a run wrote (:func:`write_setup`: a mapping with the keys
    ``experiment``, ``quick``, ``seed`` and ``setup``) or a plain YAML mapping of setup fields;
    the fields it names replace those of ``base`` (converted as :func:`setup_with` does), seed and
    quick are None when the file does not give them.

    Args:
      path: the YAML file.
      base: the setup the file's fields are applied to (e.g. the reproduction's ``QUICK``).
      experiment: the reproduction's registry name; a run file of another one is refused.

    Raises:
      FileNotFoundError: no such file.
      ValueError: one line naming the file, the problem and the fix: invalid YAML, not a mapping,
        an unknown field or key, a value of the wrong type, another experiment's setup.
    """
    fields, seed, quick = _read_setup_file(path, base, experiment=experiment)
    return dataclasses.replace(base, **fields), seed, quick


def resolve_setup(
    presets: tuple[Any, Any],
    *,
    experiment: str,
    quick: bool | None = None,
    seed: int | None = None,
    setup_file: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
) -> tuple[Any, int, bool]:
    """The setup, seed and quick flag of a run: preset <- setup file <- overrides.

    Args:
      presets: the reproduction's ``(QUICK, FULL)``.
      experiment: its registry name (checked against a run's setup file).
      quick: True/False when given (``--quick``); None: the file's ``quick``, else False. It picks
        the preset the file's fields and the overrides apply to.
      seed: the explicit seed; None: the file's seed, else 0.
      setup_file: a file for :func:`load_setup_file`, or None.
      overrides: ``KEY=VALUE`` strings for :func:`setup_with` (``--set``), applied last.
    """
    fields: dict[str, Any] = {}
    file_seed = file_quick = None
    if setup_file is not None:
        fields, file_seed, file_quick = _read_setup_file(
            setup_file, presets[0], experiment=experiment
        )
    if quick is None:
        quick = bool(file_quick)
    if seed is None:
        seed = 0 if file_seed is None else file_seed
    base = dataclasses.replace(presets[0] if quick else presets[1], **fields)
    return setup_with(base, overrides), seed, quick


def _yaml_plain(value: Any) -> Any:
    """``value`` as plain YAML data: tuples become lists, NumPy values Python ones."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _yaml_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _yaml_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_yaml_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _yaml_plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_setup(
    out_dir: str | os.PathLike, *, experiment: str, quick: bool, seed: int, setup: Any
) -> Path:
    """Write ``OUT/setup.yaml`` (atomically): the experiment, quick flag, seed and setup of a run.

    Its first line says how to re-run it (``sciml reproduce EXPERIMENT --setup FILE --out NEW``);
    :func:`load_setup_file` reads it back. Returns its path.
    """
    path = Path(out_dir) / SETUP_FILE
    fields = {
        f.name: _yaml_plain(getattr(setup, f.name)) for f in dataclasses.fields(setup) if f.init
    }
    doc = {"experiment": experiment, "quick": bool(quick), "seed": int(seed), "setup": fields}
    head = (
        f"# re-run: sciml reproduce {experiment} --setup {shlex.quote(os.fspath(path))} "
        "--out NEW_DIR\n"
    )
    return write_text(path, head + yaml.safe_dump(doc, sort_keys=False))
