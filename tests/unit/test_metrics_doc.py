"""The README's metrics table and ``metrics.FAMILIES`` describe the same families."""

from __future__ import annotations

from arbsniper import metrics
from tests.metrics_doc import MODES, families, stages


def test_readme_lists_every_family_with_its_type_and_labels_in_the_code_order():
    documented = [(r.name, r.kind, r.labels) for r in families()]
    assert documented == [(f.name, f.kind, f.labels) for f in metrics.FAMILIES]


def test_every_family_is_served_by_some_mode_and_info_and_uptime_by_all():
    rows = {r.name: r for r in families()}
    assert all(r.modes for r in rows.values())
    assert rows["arbsniper_info"].modes == rows["arbsniper_uptime_seconds"].modes == set(MODES)


def test_readme_lists_exactly_the_stages_the_code_names():
    names = {v for k, v in vars(metrics).items() if k.startswith("STAGE_") and isinstance(v, str)}
    assert set(stages()) == names
