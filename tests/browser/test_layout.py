"""The dashboard at the four common screen sizes, in a real headless chromium against ``arbsniper run --demo``.

At 1280×720, 1366×768, 1440×900 and 1920×1080 every panel's box is measured: none collapsed
(each keeps a usable height and width), none outside the window, no two overlapping, no table
wider than its panel (a clipped column), the spread chart's title and legend inside their panel
and the X-spread column in view. Then the filter, the dislocation groups and the matrix pages
are used as a trader would. The 1440×900 view is saved as ``docs/dashboard.png`` (the README's
screenshot), so the picture stays what the page looks like.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.browser.test_dashboard import CHROMIUM, CHROMIUM_ARGS, demo  # noqa: F401  (the fixture)

SIZES = [(1280, 720), (1366, 768), (1440, 900), (1920, 1080)]
PANELS = {".p-open": 180, ".p-matrix": 280, ".p-chart": 180, ".p-closed": 180, ".p-venues": 100, ".p-pnl": 150}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium at /usr/bin/chromium")]

# Page boxes (document coordinates) of the panels and of what must stay visible inside them.
MEASURE = """
(panels) => {
  const box = (el) => { const b = el.getBoundingClientRect();
    return { x: b.left + scrollX, y: b.top + scrollY, w: b.width, h: b.height }; };
  const out = { panels: {}, overflow: {} };
  out.cut = {};
  for (const sel of panels) {
    const el = document.querySelector(sel);
    out.panels[sel] = box(el);
    out.cut[sel] = el.scrollHeight - el.clientHeight;  // content the panel hides (its tables scroll inside)
  }
  for (const sel of ['.p-open .scroll', '.p-closed .scroll', '.p-matrix .scroll', '.p-venues', '.pnl-body > .kv']) {
    const e = document.querySelector(sel);
    out.overflow[sel] = e.scrollWidth - e.clientWidth;
  }
  out.doc = { w: document.documentElement.scrollWidth, vw: innerWidth };
  out.title = box(document.getElementById('chart-title'));
  out.legend = box(document.getElementById('legend'));
  out.chart = box(document.getElementById('chart'));
  const xs = document.querySelector('#matrix thead th.xsh');
  out.xs = xs ? box(xs) : null;
  out.matrixView = box(document.querySelector('.p-matrix .scroll'));
  return out;
}
"""


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
            and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack)


def overlap(a: dict[str, float], b: dict[str, float]) -> float:
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return max(0.0, w) * max(0.0, h)


def check_layout(m: dict[str, Any], size: tuple[int, int], absent: tuple[str, ...] = ()) -> None:
    """``absent``: panels that are not shown at all here (the P&L panel when not trading)."""
    width = size[0]
    assert m["doc"]["w"] <= m["doc"]["vw"], f"{size}: the page scrolls sideways"
    boxes = {sel: b for sel, b in m["panels"].items() if sel not in absent}
    for sel, min_h in PANELS.items():
        if sel in absent:
            continue
        b = boxes[sel]
        assert b["h"] >= min_h and b["w"] >= 320, f"{size}: {sel} collapsed to {b}"
        assert b["x"] >= 0 and b["x"] + b["w"] <= width, f"{size}: {sel} outside the window: {b}"
        assert m["cut"][sel] <= 1, f"{size}: {sel} cuts {m['cut'][sel]} px of its content off"
    sels = list(boxes)
    for i, a in enumerate(sels):
        for b in sels[i + 1:]:
            assert overlap(boxes[a], boxes[b]) == 0, f"{size}: {a} overlaps {b}"
    for sel, extra in m["overflow"].items():
        assert extra <= 1, f"{size}: {sel} is {extra} px wider than its panel (a clipped column)"
    chart_panel = boxes[".p-chart"]
    for part in ("title", "legend", "chart"):
        assert inside(m[part], chart_panel), f"{size}: the chart's {part} leaves its panel"
    assert overlap(m["title"], m["legend"]) == 0, f"{size}: the chart legend covers its title"
    assert m["xs"] is not None and inside(m["xs"], m["matrixView"]), f"{size}: X-spread column not in view"


def test_dashboard_at_four_screen_sizes_filter_groups_and_pages(demo: str, tmp_path: Path) -> None:  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(demo + "?rows=6")  # 6 matrix rows a page: the demo lists fewer than 100 instruments
            page.wait_for_function("document.getElementById('mode').textContent === 'embedded'", timeout=15_000)
            # a market with opportunities, trades and closes on screen before measuring
            page.wait_for_selector("#open tbody tr", timeout=30_000)
            page.wait_for_selector("#closed tbody tr", timeout=30_000)
            page.wait_for_selector("#pnl-panel:not([hidden]) #trades tbody tr", timeout=30_000)
            for size in SIZES:
                page.set_viewport_size({"width": size[0], "height": size[1]})
                page.wait_for_timeout(600)  # a few state pushes at the new size
                check_layout(page.evaluate(MEASURE, list(PANELS)), size)
                page.screenshot(path=str(tmp_path / f"dashboard-{size[0]}x{size[1]}.png"), full_page=True)

            # labelled P&L: this session beside all time; trades list their legs and fills
            labels = page.locator("#pnl label").all_inner_texts()
            assert any(x.upper().endswith("THIS SESSION") for x in labels)
            assert any(x.upper().endswith("ALL TIME") for x in labels), labels
            # the paper trader may not have filled yet at this point of the run: wait for its first trade
            page.wait_for_function(
                "() => { const c = document.querySelector('#trades tbody tr td'); return c && /^t\\d+/.test(c.innerText); }",
                timeout=30_000)
            trade = page.locator("#trades tbody tr").first.locator("td").all_inner_texts()
            assert re.match(r"t\d+", trade[0]) and "@" in trade[2], trade

            # latency in ms
            assert page.locator("#k-lat").inner_text().endswith(" ms")

            # matrix pages: 6 rows a page, instruments with opportunities first
            rng = page.locator("#matrix-range").inner_text()
            total = int(re.search(r"of (\d+) instruments", rng).group(1))  # type: ignore[union-attr]
            assert rng.startswith("1–6 of") and total > 6, rng
            assert page.locator("#matrix tbody tr").count() == 6
            page.click("#matrix-next")
            assert page.locator("#matrix-range").inner_text().startswith("7–12 of")
            page.click("#matrix-prev")

            # filter by venue: every row shown involves it, in every panel
            page.select_option("#venue-filter", "bybit")
            page.wait_for_timeout(400)
            routes = page.eval_on_selector_all("#open tbody tr td.route", "tds => tds.map(td => td.innerText)")
            assert all("bybit" in r for r in routes), routes
            closed = page.eval_on_selector_all("#closed tbody tr td.pair", "tds => tds.map(td => td.innerText)")
            assert closed and all("bybit" in r for r in closed), closed
            page.select_option("#venue-filter", "")
            # search by instrument: only SOL rows, SOL matrix rows
            page.fill("#q", "sol/")
            page.wait_for_timeout(400)
            names = page.eval_on_selector_all("#matrix tbody th", "ths => ths.map(th => th.innerText)")
            assert names and all(n.startswith("SOL/") for n in names), names
            legs = page.eval_on_selector_all("#closed tbody td.pair", "tds => tds.map(td => td.innerText)")
            assert all("SOL/" in x for x in legs), legs
            page.fill("#q", "")

            # one dislocation, one row: a group expands to its pairs and folds back
            # (rows come and go with the market: find, click and count in one step of the page)
            expand = """() => {
              const btn = document.querySelector('#open tbody tr:not(.child) button.grp:not([hidden])');
              if (!btn) return null;
              const tr = btn.closest('tr');
              const g = tr.dataset.group;
              const members = document.querySelectorAll(`#open tbody tr[data-group="${g}"]`).length;
              const before = document.querySelectorAll(`#open tbody tr.child[data-group="${g}"]:not([hidden])`).length;
              btn.click();
              const after = document.querySelectorAll(`#open tbody tr.child[data-group="${g}"]:not([hidden])`).length;
              btn.click();
              const folded = document.querySelectorAll(`#open tbody tr.child[data-group="${g}"]:not([hidden])`).length;
              return { members, label: btn.textContent, before, after, folded };
            }"""
            got = page.wait_for_function(expand, timeout=40_000).json_value()
            assert got["members"] >= 2 and got["label"] == f"▸ {got['members']}", got
            assert (got["before"], got["after"], got["folded"]) == (0, got["members"] - 1, 0), got

            # the README's screenshot: the page as it opens, at 1440×900
            shot = browser.new_page(viewport={"width": 1440, "height": 900})
            shot.goto(demo)
            shot.wait_for_selector("#pnl-panel:not([hidden]) #trades tbody tr", timeout=30_000)
            shot.wait_for_timeout(1500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shot.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert not errors, errors
    assert SCREENSHOT.stat().st_size > 20_000
