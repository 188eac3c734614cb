#!/bin/sh
# Create (once) the project's virtual environment in .venv with the pinned versions of
# constraints.txt, and install sciml into it in editable mode. Re-running is cheap: the
# install is skipped while pyproject.toml and constraints.txt are unchanged.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.sciml-installed
want=$(cat pyproject.toml constraints.txt | cksum)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
  echo "$want" > "$stamp"
fi
