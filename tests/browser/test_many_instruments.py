"""The dashboard with 120 instruments (the real connectors against the simulator listing 120 coins
on three venues, ``many_instruments.py``), in a real headless chromium: the bid/ask matrix shows
the instruments with open or recent opportunities first and pages the rest, the search finds an
instrument on any page, and the layout holds at 1280×720."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.browser.test_dashboard import CHROMIUM, CHROMIUM_ARGS, SRC
from tests.browser.test_layout import MEASURE, PANELS, check_layout

ROOT = SRC.parent
N = 120

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium at /usr/bin/chromium")]

# In one step of the page: the open opportunities' instruments, and the matrix rows in order.
ORDER = """() => {
  const open = new Set();
  for (const tr of document.querySelectorAll('#open tbody tr')) {
    const t = tr.children[0].innerText.replace(/^[▸▾] \\d+/, '');
    for (const m of t.matchAll(/C\\d{3}\\/USDT/g)) open.add(m[0]);
  }
  const rows = [...document.querySelectorAll('#matrix tbody th')].map(th => th.innerText.match(/C\\d{3}\\/USDT/)[0]);
  const range = document.getElementById('matrix-range').innerText;
  return { open: [...open], rows, range };
}"""


@pytest.fixture
def many(tmp_path: Path) -> Iterator[str]:
    log_path = tmp_path / "many.stderr"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT)])}
    env.pop("ARBSNIPER_CONFIG", None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("many_instruments.py")), str(N),
                                 str(tmp_path / "data")], stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            m = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", log_path.read_text(errors="replace"))
            if m:
                url = m.group(1)
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
            else:
                time.sleep(0.1)
        yield url
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, log_path.read_text(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_matrix_with_120_instruments_puts_opportunities_first_pages_and_searches(many: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(many)
            page.wait_for_function(f"document.getElementById('matrix-range').innerText.includes('of {N} instruments')",
                                   timeout=30_000)
            page.wait_for_selector("#open tbody tr", timeout=30_000)
            # The open table updates at once, the matrix at its own rate: read both until they agree
            # (an opportunity that opened a moment ago reaches the matrix's order at its next refresh).
            for _ in range(40):
                got = page.evaluate(ORDER)
                m = re.fullmatch(rf"1–30 of {N} instruments · (\d+) with opportunities first", got["range"])
                if m and set(got["open"]) <= set(got["rows"][:int(m.group(1))]):
                    break
                page.wait_for_timeout(250)
            assert m, got["range"]
            assert len(got["rows"]) == 30
            first = got["rows"][:int(m.group(1))]
            assert set(got["open"]) <= set(first), got  # every open opportunity's instrument sorts first
            check_layout(page.evaluate(MEASURE, list(PANELS)), (1280, 720), absent=(".p-pnl",))  # not trading

            page.click("#matrix-next")
            assert page.locator("#matrix-range").inner_text().startswith(f"31–60 of {N}")
            assert page.locator("#matrix tbody tr").count() == 30
            # the search reaches an instrument on any page
            page.fill("#q", "c117/")
            page.wait_for_timeout(300)
            assert page.locator("#matrix-range").inner_text().startswith("1–1 of 1 instruments")
            assert page.locator("#matrix tbody th").inner_text().startswith("C117/USDT")
        finally:
            browser.close()
    assert not errors, errors
