"""Every fenced ``python`` block in docs/ runs: the blocks of one page run in order, in one
namespace, in a fresh directory. A block preceded by the line ``<!-- no-test -->`` needs a file
only the user has and is skipped (kept few: checked below)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"(<!-- no-test -->\n)?```python\n(.*?)```", re.S)


def blocks(page: Path) -> list[tuple[bool, str]]:
    return [(bool(m.group(1)), m.group(2)) for m in BLOCK.finditer(page.read_text())]


PAGES = sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("page", [p for p in PAGES if any(not s for s, _ in blocks(p))],
                         ids=lambda p: p.name)  # fmt: skip
def test_doc_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, (skip, code) in enumerate(blocks(page)):
        if skip:
            continue
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message names the page and block
            raise AssertionError(f"{page.name} block {i} failed: {err!r}\n{code}") from err


def test_most_doc_blocks_run():
    counts = [(s, p.name) for p in PAGES for s, _ in blocks(p)]
    assert counts, "no python blocks found in docs/"
    run = sum(1 for s, _ in counts if not s)
    assert run >= 4, f"only {run} of {len(counts)} doc blocks run in the tests"


def test_cli_reference_names_every_command():
    from sciml.cli import COMMANDS

    text = (DOCS / "cli.md").read_text()
    missing = [name for name in COMMANDS if f"### sciml {name}\n" not in text]
    assert not missing, f"docs/cli.md lacks a section for {missing}"
