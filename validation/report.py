"""The data-quality report: one self-contained HTML file (plotly inlined, works offline).

Sections: pass rates against the threshold, anomalies by check, the symbol x day heatmap, the gaps
timeline, the top quarantined files with their reasons, the pass-rate trend across runs, the Great
Expectations result with a link to its Data Docs, and the anomalies themselves. Pure: frames in,
HTML text out; writing it is the storage layer's job.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

_STATUS_CODE = {"ok": 0, "suspect": 1, "failed": 2}
_MAX_ANOMALY_ROWS = 500
_MAX_HEATMAP_SYMBOLS = 200


@dataclass(frozen=True)
class ReportInputs:
    run_id: str
    generated_at: datetime
    rates: dict[str, Any]  # PassRates.as_dict()
    anomalies: pl.DataFrame  # of the range, with known_event
    days: pl.DataFrame  # symbol_days rows of the range
    files: pl.DataFrame  # quarantined/partial files: path, status, rows_quarantined, reasons
    history: pl.DataFrame  # earlier runs: finished_at, pass_rate_files, pass_rate_rows, pass_rate_symbol_days
    expectations: dict[str, Any] | None  # success, evaluated, failed, rows, docs_href, page_href


def _figure_html(fig: Any, div_id: str) -> str:
    return str(
        fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
        )
    )


def _pass_rates_figure(rates: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    names = ["files", "rows", "symbol-days"]
    values = [rates["pass_rate_files"] * 100, rates["pass_rate_rows"] * 100, rates["pass_rate_symbol_days"] * 100]
    colors = ["#2e7d32" if v >= rates["threshold"] * 100 else "#c62828" for v in values]
    fig = go.Figure(
        go.Bar(x=names, y=values, marker_color=colors, text=[f"{v:.3f}%" for v in values], textposition="outside")
    )
    fig.add_hline(y=rates["threshold"] * 100, line_dash="dash", annotation_text=f"threshold {rates['threshold']:.2%}")
    fig.update_layout(
        title="Pass rates",
        yaxis_title="% passed",
        yaxis_range=[min(min(values), rates["threshold"] * 100) - 1, 100.5],
        height=360,
    )
    return fig


def _by_check_figure(anomalies: pl.DataFrame) -> Any:
    import plotly.graph_objects as go

    counts = anomalies.with_columns(
        kind=pl.when(pl.col("known_event") != "").then(pl.lit("known event")).otherwise(pl.lit("unexplained"))
    )
    counts = counts.group_by("check", "kind").len().sort("check")
    fig = go.Figure()
    for kind, color in (("unexplained", "#c62828"), ("known event", "#9e9e9e")):
        part = counts.filter(pl.col("kind") == kind)
        fig.add_trace(go.Bar(name=kind, x=part["check"].to_list(), y=part["len"].to_list(), marker_color=color))
    fig.update_layout(title="Anomalies by check", barmode="stack", height=360, yaxis_title="anomalies")
    return fig


def _heatmap_figure(days: pl.DataFrame) -> Any:
    import plotly.graph_objects as go

    d = days.with_columns(key=pl.format("{}:{}", "venue", "symbol"), day_s=pl.col("day").cast(pl.String))
    keys = d["key"].unique().sort().to_list()[:_MAX_HEATMAP_SYMBOLS]
    day_list = d["day_s"].unique().sort().to_list()
    cells = {(r["key"], r["day_s"]): r for r in d.iter_rows(named=True)}
    z, text = [], []
    for key in keys:
        z.append(
            [_STATUS_CODE.get(cells[(key, day)]["status"], None) if (key, day) in cells else None for day in day_list]
        )
        text.append(
            [
                (
                    f"{c['status']}: {c['present']}/{c['expected']} bars, coverage {c['coverage']:.2%}, "
                    f"{c['quarantined']} quarantined<br>{c['by_check'] or 'no anomalies'}"
                    if (c := cells.get((key, day)))
                    else "no data expected"
                )
                for day in day_list
            ]
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=day_list,
            y=keys,
            text=text,
            hoverinfo="text+x+y",
            zmin=0,
            zmax=2,
            colorscale=[[0, "#2e7d32"], [0.5, "#f9a825"], [1, "#c62828"]],
            colorbar={"tickvals": [0, 1, 2], "ticktext": ["ok", "suspect", "failed"]},
        )
    )
    fig.update_layout(title="Symbol x day quality", height=max(300, 40 + 22 * len(keys)), xaxis_type="category")
    return fig


def _gaps_figure(anomalies: pl.DataFrame) -> Any:
    import plotly.graph_objects as go

    gaps = anomalies.filter(pl.col("check") == "gap").with_columns(key=pl.format("{}:{}", "venue", "symbol"))
    fig = go.Figure()
    for known, color in ((False, "#c62828"), (True, "#9e9e9e")):
        part = gaps.filter((pl.col("known_event") != "") == known)
        if part.height == 0:
            continue
        starts = part["ts"].to_list()
        ms = [(m + 1) * 60_000 for m in part["minutes"].to_list()]  # drawn up to the minute after the last missing one
        fig.add_trace(
            go.Bar(
                name="known event" if known else "unexplained",
                orientation="h",
                y=part["key"].to_list(),
                base=starts,
                x=ms,
                marker_color=color,
                hovertext=part["detail"].to_list(),
                hoverinfo="text+y",
            )
        )
    fig.update_layout(
        title="Gaps timeline",
        barmode="overlay",
        xaxis_type="date",
        height=max(300, 60 + 30 * max(gaps["key"].n_unique(), 1)),
    )
    return fig


def _trend_figure(history: pl.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for column, name in (
        ("pass_rate_files", "files"),
        ("pass_rate_rows", "rows"),
        ("pass_rate_symbol_days", "symbol-days"),
    ):
        fig.add_trace(
            go.Scatter(
                x=history["finished_at"].to_list(),
                y=[v * 100 for v in history[column].to_list()],
                mode="lines+markers",
                name=name,
                hovertext=history["range"].to_list(),
            )
        )
    fig.update_layout(title="Pass-rate trend across validate runs", yaxis_title="% passed", height=340)
    return fig


def _table(frame: pl.DataFrame, columns: list[str], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[c]) if r[c] is not None else '')}</td>" for c in columns) + "</tr>"
        for r in frame.iter_rows(named=True)
    )
    empty = f"<tr><td colspan={len(columns)}>none</td></tr>"
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body or empty}</tbody></table>'


def _readable_reasons(raw: str) -> str:
    """``[{"check": "high_below_low", "rows": 2}, {"reason": "..."}]`` as "high_below_low x2; ..."."""
    try:
        items = json.loads(raw or "[]")
    except json.JSONDecodeError:
        return raw
    return "; ".join(f"{i['check']} x{i.get('rows', 1)}" if "check" in i else str(i.get("reason", i)) for i in items)


def _expectations_html(ge: dict[str, Any] | None) -> str:
    if ge is None:
        return "<p>Great Expectations was not run for this report (<code>validate_ge_max_rows = 0</code>).</p>"
    verdict = "passed" if ge["success"] else "FAILED"
    failed = "".join(f"<li><code>{html.escape(f)}</code></li>" for f in ge["failed"]) or "<li>none</li>"
    links = " · ".join(
        f'<a id="{key}" href="{html.escape(ge[key])}">{label}</a>'
        for key, label in (("page_href", "this run in Data Docs"), ("docs_href", "Data Docs home"))
        if ge.get(key)
    )
    return (
        f"<p>Suite <code>bars_1m</code> over {ge['rows']:,} bars of the range: <b>{verdict}</b> "
        f"({ge['evaluated']} expectations). {links}</p><p>Failed expectations:</p><ul>{failed}</ul>"
    )


def render_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML document with plotly.js inlined."""
    from plotly.offline import get_plotlyjs

    r = inputs.rates
    state = r.get("state", "breach" if r["breach"] else "ok")
    breach = f'<p class="breach">Pass rate below the {r["threshold"]:.2%} threshold.</p>' if r["breach"] else ""
    if state == "no_data":  # nothing was checked: a 100% here would be a lie
        breach = (
            '<p class="nodata">NO DATA: the range held no file, row or symbol-day to check. '
            "This is not a pass — find out why nothing arrived.</p>"
        )
    by_check = (
        inputs.anomalies.group_by("check", "severity")
        .agg(unexplained=(pl.col("known_event") == "").sum(), known=(pl.col("known_event") != "").sum())
        .sort("unexplained", descending=True)
    )
    listing = (
        inputs.anomalies.sort(["severity", "ts"])
        .head(_MAX_ANOMALY_ROWS)
        .with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M"), pl.col("end_ts").dt.strftime("%Y-%m-%d %H:%M"))
    )
    summary_rows = pl.DataFrame(
        {
            "measure": ["files", "rows", "symbol-days"],
            "checked": [r["files_checked"], r["rows_checked"], r["symbol_days"]],
            "passed": [r["files_passed"], r["rows_passed"], r["symbol_days"] - r["symbol_days_failed"]],
            "pass rate": [
                f"{r[k]:.3%}" if state != "no_data" else "no data"
                for k in ("pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days")
            ],
        }
    )
    sections = [
        (
            "pass-rates",
            "Pass rates",
            _table(summary_rows, summary_rows.columns)
            + (_figure_html(_pass_rates_figure(r), "fig-pass-rates") if state != "no_data" else ""),
        ),
        (
            "anomalies-by-check",
            "Anomalies by check",
            _table(by_check, by_check.columns) + _figure_html(_by_check_figure(inputs.anomalies), "fig-by-check"),
        ),
        ("heatmap", "Symbol x day", _figure_html(_heatmap_figure(inputs.days), "fig-heatmap")),
        ("gaps", "Gaps timeline", _figure_html(_gaps_figure(inputs.anomalies), "fig-gaps")),
        (
            "quarantined-files",
            "Top quarantined files",
            _table(
                inputs.files.with_columns(pl.col("reasons").map_elements(_readable_reasons, return_dtype=pl.String)),
                ["path", "status", "rows_quarantined", "reasons"],
            ),
        ),
        ("trend", "Pass-rate trend", _figure_html(_trend_figure(inputs.history), "fig-trend")),
        ("expectations", "Great Expectations", _expectations_html(inputs.expectations)),
        (
            "anomalies",
            f"Anomalies (first {_MAX_ANOMALY_ROWS})",
            _table(
                listing,
                ["venue", "symbol", "ts", "end_ts", "minutes", "check", "severity", "known_event", "detail"],
                "small",
            ),
        ),
    ]
    nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>' for key, title, content in sections
    )
    meta = json.dumps({"run_id": inputs.run_id, "first": r["first"], "last": r["last"], "allowlist": r["allowlist"]})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>marketops data quality {html.escape(r["first"])}..{html.escape(r["last"])}</title>
<script type="application/json" id="report-meta">{html.escape(meta)}</script>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}
table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}} table.small td{{font-size:12px}}
.breach{{color:#c62828;font-weight:bold}} .nodata{{color:#fff;background:#616161;padding:.5em;font-weight:bold}}
section{{margin-bottom:2em}}</style></head>
<body><h1>Data quality {html.escape(r["first"])} .. {html.escape(r["last"])}</h1>
<p id="headline">{html.escape(r["headline"])}</p><p>State: <b id="state">{html.escape(state)}</b></p>{breach}
<p><a href="index.html">All reports</a></p>
<p>Run <code>{html.escape(inputs.run_id)}</code>, generated {inputs.generated_at:%Y-%m-%d %H:%M} UTC,
allowlist <code>{html.escape(r["allowlist"])}</code>.</p>
<nav>{nav}</nav>{body}</body></html>
"""


def render_index(entries: list[dict[str, Any]]) -> str:
    """An index page of every report, newest range first: range, state, headline, link."""
    rows = "".join(
        f'<tr class="{html.escape(e.get("state", ""))}"><td>{html.escape(e["first"])} .. {html.escape(e["last"])}</td>'
        f"<td>{html.escape(e.get('state', ''))}</td><td>{html.escape(e.get('generated_at', ''))}</td>"
        f'<td><a href="{html.escape(e["name"])}">{html.escape(e["name"])}</a></td>'
        f"<td>{html.escape(e.get('headline', ''))}</td></tr>"
        for e in sorted(entries, key=lambda e: (e["last"], e.get("generated_at", "")), reverse=True)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>marketops data-quality reports</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2em} td,th{border:1px solid #ccc;padding:3px 8px}"
        "table{border-collapse:collapse} tr.breach td{color:#c62828} tr.no_data td{color:#616161}</style></head>"
        '<body><h1>Data-quality reports</h1><p><a href="latest.html">latest</a> is the newest range\'s report.</p>'
        "<table><thead><tr><th>range</th><th>state</th><th>generated (UTC)</th><th>report</th><th>headline</th></tr>"
        f"</thead><tbody>{rows or '<tr><td colspan=5>none yet</td></tr>'}</tbody></table></body></html>\n"
    )
