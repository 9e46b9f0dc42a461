"""No import cycle among ``arbsniper`` modules: every import counts, lazy and ``TYPE_CHECKING`` ones too."""

from __future__ import annotations

import runpy
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "import_cycles.py"


def test_the_package_has_no_import_cycle():
    tool = runpy.run_path(str(TOOL))
    graph = tool["graph"]()
    assert "arbsniper.app" in graph and "arbsniper.web.app" in graph["arbsniper.app"]  # the graph is read
    assert tool["cycles"](graph) == []
