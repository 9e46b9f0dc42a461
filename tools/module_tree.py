"""Print the package tree of ``src/arbsniper`` with one line per module: its docstring's first sentence.

The README's "Where the code is" block is this output (``tests/unit/test_module_tree.py`` checks it);
after adding, moving or re-documenting a module, paste ``python tools/module_tree.py`` there.
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys

LIMIT = 110
ROOT = pathlib.Path(__file__).resolve().parent.parent / "src" / "arbsniper"


def summary(path: pathlib.Path) -> str:
    """The first sentence of a module's docstring, on one line (a module without one is an error)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not doc:
        raise SystemExit(f"{path}: no module docstring")
    text = " ".join(doc.split())
    m = re.match(r"(.+?)\.(\s|$)", text)
    first = m.group(1) if m else text
    return first if len(first) <= LIMIT else first[: first.rfind(" ", 0, LIMIT)] + " …"


def tree(root: pathlib.Path = ROOT) -> list[str]:
    """``path  summary`` lines, packages before their modules, sorted."""
    rows: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if "/__pycache__/" in rel:
            continue
        name = rel[: -len("/__init__.py")] + "/" if rel.endswith("__init__.py") and "/" in rel else rel
        rows.append((name, summary(path)))
    width = max(len(n) for n, _ in rows) + 2
    return [f"{n:<{width}}{s}" for n, s in rows]


if __name__ == "__main__":
    sys.stdout.write("\n".join(tree()) + "\n")
