"""``--plot DIR``: the report's charts as PNGs (matplotlib, Agg) and one self-contained HTML page.

The HTML inlines every chart as a ``data:image/png;base64`` URI and its own CSS: no script, no
font, no request leaves the file.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from arbsniper.capture.analysis import Opportunity  # noqa: E402

CHARTS = ("lifetimes", "latency_sweep", "cumulative_pnl", "pairs")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(report: dict[str, Any], opps: Sequence[Opportunity], out_dir: str | Path, title: str) -> list[Path]:
    """Write the four PNGs and ``report.html`` into ``out_dir``; returns every path written."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []

    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = [o.lifetime_ms for o in opps]
    ax.hist(xs or [0.0], bins=30, color="#4477aa")
    ax.set(title="Opportunity lifetime", xlabel="ms", ylabel="opportunities")
    paths.append(_save(fig, d / "lifetimes.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    lat = [r["latency_ms"] for r in report["sweep"]]
    ax.plot(lat, [100 * r["capturable_fraction"] for r in report["sweep"]], "o-", color="#4477aa")
    ax.set(title="Latency sweep", xlabel="order latency (ms)", ylabel="capturable (%)", ylim=(0, 105))
    if all("pnl" in r for r in report["sweep"]):
        ax2 = ax.twinx()
        ax2.plot(lat, [r["pnl"] for r in report["sweep"]], "s--", color="#cc6677")
        ax2.set_ylabel("paper P&L")
    paths.append(_save(fig, d / "latency_sweep.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ordered = sorted((o for o in opps if "config" in o.outcomes), key=lambda o: o.opened_ns)
    total, ys = 0.0, []
    for o in ordered:
        total += o.outcomes["config"].pnl
        ys.append(total)
    ax.plot(range(len(ys) + 1), [0.0, *ys], color="#228833")
    ax.set(title="Cumulative paper P&L (configured latency)" if ys else "No paper trades simulated here",
           xlabel="trade", ylabel="P&L")
    paths.append(_save(fig, d / "cumulative_pnl.png"))

    fig, ax = plt.subplots(figsize=(6, max(3.0, 0.3 * len(report["by_pair"]) + 1)))
    names = list(report["by_pair"])
    if names and "pnl" in report:
        vals = [report["pnl"]["by_pair"][n]["total"] for n in names]
        label = "paper P&L"
    else:
        vals = [report["by_pair"][n]["opportunities"] for n in names]
        label = "opportunities"
    ax.barh(names or ["(none)"], vals or [0], color="#ccbb44")
    ax.set(title=f"Per venue pair: {label}", xlabel=label)
    paths.append(_save(fig, d / "pairs.png"))

    paths.append(write_html(report, paths, d / "report.html", title))
    return paths


def write_html(report: dict[str, Any], images: Sequence[Path], path: Path, title: str) -> Path:
    """One page: the charts inlined, the report as JSON below them."""
    figs = "\n".join(
        f'<figure><img alt="{p.stem}" id="{p.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{p.stem.replace("_", " ")}</figcaption></figure>'
        for p in images
    )
    body = html.escape(json.dumps(report, indent=2))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}figure{{display:inline-block;margin:0 1em 1em 0}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{report['opportunities']} opportunities, capturable {100 * report['capturable_fraction']:.1f}% at the configured latency.</p>
{figs}
<h2>Report</h2><pre id="report">{body}</pre></body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
