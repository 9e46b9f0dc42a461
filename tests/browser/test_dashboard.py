"""The dashboard in a real headless chromium, against ``arbsniper run --demo``.

Starts the demo as a user would (a subprocess, any free port), opens the page, and waits for
what a trader looks at: rows in the open-opportunities table, a filled bid/ask matrix, closed
opportunities with their reason and duration. Saves a screenshot under the test's temp dir.

It also measures, for every opportunity row the page adds after it has loaded, the delay from
the signal's ``timestamp`` (ms, when the engine emitted it) to the row being in the DOM and
to the next animation frame (painted). The figures are printed and written to
``row_delay.json`` beside the screenshot; they are a measurement, not an assertion.
Run: ``PYTHONPATH=src python -m pytest tests/browser -s`` (``ROW_DELAY_SAMPLES=300`` for more samples).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arbsniper.engine import lifecycle

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SRC = Path(__file__).resolve().parents[2] / "src"
CLOSE_REASONS = {lifecycle.SPREAD_GONE, lifecycle.UNPROFITABLE, lifecycle.STALE_QUOTE, lifecycle.VENUE_DOWN,
                 lifecycle.BOOK_RESYNC, lifecycle.NO_QUOTE, lifecycle.RATE_UNAVAILABLE, lifecycle.TOO_SMALL,
                 lifecycle.LOW_CONFIDENCE, lifecycle.FUNDING_BELOW_MIN, lifecycle.DENIED, lifecycle.SUSPECT}
# New rows to time; ROW_DELAY_SAMPLES raises it for a steadier p99 (the demo opens ~4 a second).
SAMPLES_WANTED = int(os.environ.get("ROW_DELAY_SAMPLES", "30"))
COLLECT_S = max(25.0, SAMPLES_WANTED / 2)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(90 + COLLECT_S),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium); see DEVELOPERS.md"),
]

# Record every opportunity row added from now on: delay from its signal's timestamp to the DOM
# insertion and to the following animation frame. Rows already there (from the snapshot) and
# rows merely moved by a re-sort are skipped.
OBSERVE_ROWS = """
() => {
  window.__rowDelays = [];
  const body = document.querySelector('#open tbody');
  for (const tr of body.rows) tr.__seen = true;
  new MutationObserver((records) => {
    const t = Date.now();
    for (const rec of records) for (const node of rec.addedNodes) {
      if (node.nodeType !== 1 || node.__seen || !node.dataset.ts) continue;
      node.__seen = true;
      const ts = Number(node.dataset.ts);
      const flash = node.classList.contains('new');
      requestAnimationFrame(() => window.__rowDelays.push({ inserted: t - ts, painted: Date.now() - ts, flash }));
    }
  }).observe(body, { childList: true });
}
"""


# Count the tones the page plays (each beep is two oscillators).
COUNT_TONES = """
window.__tones = 0;
const create = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1; return create.call(this); };
"""


def new_rows(page: object) -> int:
    return int(page.evaluate("window.__rowDelays.length"))  # type: ignore[attr-defined]


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    data = sorted(values)
    return data[max(0, math.ceil(q * len(data)) - 1)]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """``arbsniper run --demo`` on a free port; yields the dashboard URL; stops it with SIGINT."""
    log_path = tmp_path / "demo.stderr"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    env.pop("ARBSNIPER_CONFIG", None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arbsniper.cli", "run", "--demo", "--port", "0", "--seed", "11",
             "--data-dir", str(tmp_path / "data"), "--duration", str(60 + COLLECT_S)],
            stdout=subprocess.DEVNULL, stderr=log, env=env,
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            m = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", log_path.read_text(errors="replace"))
            if m:
                url = m.group(1)
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
            else:
                time.sleep(0.1)
        yield url
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, log_path.read_text(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dashboard_fills_in_live_and_rows_follow_signals(demo: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 960})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.add_init_script(COUNT_TONES)
            page.goto(demo)
            # the snapshot has been applied once the mode badge shows the deployment
            page.wait_for_function("document.getElementById('mode').textContent === 'embedded'", timeout=15_000)
            page.evaluate(OBSERVE_ROWS)

            # rows come and go with the live market: read one row's cells in a single step
            cells = page.wait_for_function(
                "() => { const tr = document.querySelector('#open tbody tr');"
                " return tr ? [...tr.children].map(td => td.innerText) : null; }",
                timeout=30_000,
            ).json_value()
            # both legs' instruments (one name and its kind when they are the same), after a group's count
            legs = re.sub(r"^[▸▾] \d+", "", cells[0].replace("\n", " ")).strip()
            inst = r"[A-Z]+/[A-Z]+(:[A-Z]+)?"
            assert re.fullmatch(rf"{inst} ?(spot|perp)|{inst} ?→ {inst}", legs), cells
            assert re.fullmatch(r"[a-z]+\s*→\s*[a-z]+", cells[1]), cells
            assert float(cells[3].split()[0]) >= 0.0  # net bps: never an unprofitable signal
            assert re.fullmatch(r"fees \d+\.\d", cells[3].split("\n")[-1]), cells
            assert re.fullmatch(r"[\d.]+ [A-Z]+\n[\d.]+k? [A-Z]+", cells[4]), cells  # size with its unit, notional

            # sortable: the table follows the clicked column, largest first, then smallest first
            # (live rows keep arriving: the order is checked once the page has re-rendered)
            sorted_js = ("dir => { const v = [...document.querySelectorAll('#open tbody tr:not(.child)')]"
                         ".map(tr => parseFloat(tr.children[4].textContent));"
                         " return v.length > 0 && v.every((x, i) => i === 0 || (dir > 0 ? v[i - 1] <= x : v[i - 1] >= x)); }")
            page.click("#open th[data-key=size]")
            page.wait_for_function(sorted_js, arg=-1, timeout=5_000)  # fails the test if never sorted
            page.click("#open th[data-key=size]")
            page.wait_for_function(sorted_js, arg=1, timeout=5_000)
            assert page.get_attribute("#open th[data-key=size]", "class") == "num sorted asc"
            page.click("#open th[data-key=net_bps]")

            # bid/ask matrix: every demo listing shows a bid below its ask (equal at most once rounded for display)
            page.wait_for_function("document.querySelectorAll('#matrix td.fresh, #matrix td.warm').length >= 20",
                                   timeout=15_000)
            venues = page.locator("#matrix thead th").all_inner_texts()
            assert {"BINANCE", "COINBASE", "OKX", "HYPERLIQUID", "PARADEX"} <= {v.upper() for v in venues}
            quotes = page.eval_on_selector_all(
                "#matrix td.fresh", "tds => tds.map(td => [td.children[0].textContent, td.children[1].textContent])")
            assert quotes and all(float(b) <= float(a) for b, a in quotes), quotes
            assert sum(float(b) < float(a) for b, a in quotes) > len(quotes) // 2, quotes

            # closed opportunities, with a reason and how long they lived
            page.wait_for_selector("#closed tbody tr", timeout=30_000)
            closed = page.locator("#closed tbody tr").first.locator("td").all_inner_texts()
            assert closed[2].replace(" ", "_") in CLOSE_REASONS, closed
            assert re.fullmatch(r"\d+ ms|\d+\.\d s|\d+m \d\ds", closed[3]), closed
            # the net it closed at matches its reason: below the threshold when the edge went
            if closed[2] in ("spread gone", "unprofitable"):
                assert float(closed[4]) < 10.0, closed  # min_spread_bps 10, min_net_bps 0

            assert page.locator("#venues tbody tr").count() == 8
            # the demo trades on paper: the P&L panel shows the ledger's figures and venue pairs
            page.wait_for_selector("#pnl-panel:not([hidden]) #pnl-pairs tbody tr", timeout=30_000)
            labels = page.locator("#pnl label").all_inner_texts()
            assert {"P&L · THIS SESSION", "REALIZED · THIS SESSION", "FEES · ALL TIME", "TRADES · ALL TIME"} <= {
                x.upper() for x in labels}, labels
            pair = page.locator("#pnl-pairs tbody tr").first.locator("td").all_inner_texts()
            assert ">" in pair[0] and pair[1] in ("spot", "perp"), pair

            # sound on new opportunities, mutable: muted, new rows stay silent …
            page.click("#mute")
            assert page.get_attribute("#mute", "aria-pressed") == "true"
            assert page.evaluate("localStorage.getItem('arbsniper.muted')") == "1"
            tones, seen = page.evaluate("window.__tones"), new_rows(page)
            page.wait_for_function(f"window.__rowDelays.length >= {seen + 3}", timeout=20_000)
            assert page.evaluate("window.__tones") == tones
            # … unmuted (key M), the page confirms with a beep and beeps again on new rows
            page.keyboard.press("m")
            assert page.get_attribute("#mute", "aria-pressed") == "false"
            tones, seen = page.evaluate("window.__tones"), new_rows(page)
            assert tones >= 2
            page.wait_for_function(f"window.__rowDelays.length >= {seen + 3}", timeout=20_000)
            page.wait_for_function(f"window.__tones > {tones}", timeout=20_000)

            with contextlib.suppress(sync_api.TimeoutError):  # measure what came; the demo's pace varies
                page.wait_for_function(f"window.__rowDelays.length >= {SAMPLES_WANTED}", timeout=COLLECT_S * 1000)
            delays = page.evaluate("window.__rowDelays")
            page.screenshot(path=str(tmp_path / "dashboard.png"))
        finally:
            browser.close()

    assert not errors, errors
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert len(delays) >= 5, f"only {len(delays)} new rows seen"
    assert all(d["flash"] for d in delays)  # every new row is highlighted
    inserted = [d["inserted"] for d in delays]
    painted = [d["painted"] for d in delays]
    report = {
        "samples": len(delays),
        "inserted_p50_ms": percentile(inserted, 0.5), "inserted_p99_ms": percentile(inserted, 0.99),
        "painted_p50_ms": percentile(painted, 0.5), "painted_p99_ms": percentile(painted, 0.99),
        "painted_max_ms": max(painted),
    }
    (tmp_path / "row_delay.json").write_text(json.dumps({**report, "painted_ms": painted}, indent=1))
    print(f"\nsignal timestamp -> row: {report}\nscreenshot: {tmp_path / 'dashboard.png'}")
