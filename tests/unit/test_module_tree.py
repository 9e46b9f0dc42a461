"""The README's package tree lists every module of ``src/arbsniper``, one line each, as the tool prints it."""

from __future__ import annotations

import pathlib
import re
import runpy

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_package_tree_is_the_current_one() -> None:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- module-tree -->\n```text\n(.*?)```\n<!-- /module-tree -->", text, re.S)
    assert m, "README.md has no <!-- module-tree --> block"
    tree = runpy.run_path(str(ROOT / "tools" / "module_tree.py"))["tree"]
    assert m.group(1).splitlines() == tree(), "README package tree is stale: paste `python tools/module_tree.py` into it"
