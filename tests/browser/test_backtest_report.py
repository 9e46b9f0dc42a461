"""The backtest's HTML report in a real headless chromium: every chart is there and decoded.

The page is opened from ``file://`` with every request other than the page itself refused, so a
chart or style that needed the network would show up as missing here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.test_backtest import hand_built

from arbsniper.capture.plots import CHARTS
from arbsniper.cli import main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(60),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium at /usr/bin/chromium"),
]


def test_html_report_opens_with_its_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "plots"
    assert main(["backtest", str(hand_built(tmp_path / "hand.jsonl")), "--plot", str(out)]) == 0
    capsys.readouterr()
    assert {p.name for p in out.iterdir()} == {f"{c}.png" for c in CHARTS} | {"report.html"}
    page_url = (out / "report.html").as_uri()
    requested: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def route(r: object) -> None:
                req = r.request  # type: ignore[attr-defined]
                requested.append(req.url)
                if req.url == page_url or req.url.startswith("data:"):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.goto(page_url)
            page.wait_for_load_state("load")
            for chart in CHARTS:
                size = page.eval_on_selector(f"img#{chart}", "img => [img.complete, img.naturalWidth, img.naturalHeight]")
                assert size[0] and size[1] > 100 and size[2] > 100, (chart, size)
            assert "opportunities" in page.inner_text("#report")
            assert "1 opportunities" in page.inner_text("body")
        finally:
            browser.close()
    assert [u for u in requested if u != page_url and not u.startswith("data:")] == []
