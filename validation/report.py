"""The data-quality report: one HTML file per run; plotly.js is one shared file beside the reports (offline).

Sections: pass rates against the threshold, anomalies by check, the symbol x day heatmap, the gaps
timeline, the top quarantined files with their reasons, the pass-rate trend across runs, the Great
Expectations results (shown here: its Data Docs need CDNs), and the anomalies themselves. Pure: frames in,
HTML text out; writing it is the storage layer's job.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from validation.report_figures import (
    by_check_figure,
    gaps_figure,
    heatmap_figure,
    pass_rates_figure,
    percent,
    trend_figure,
)

_MAX_ANOMALY_ROWS = 500
ASSETS = "assets"  # beside the reports: plotly.js, written once (storage.reports.ensure_asset)


@dataclass(frozen=True)
class ReportInputs:
    run_id: str
    generated_at: datetime
    rates: dict[str, Any]  # PassRates.as_dict()
    anomalies: pl.DataFrame  # of the range, with known_event
    days: pl.DataFrame  # symbol_days rows of the range
    files: pl.DataFrame  # quarantined/partial files: path, status, rows_quarantined, reasons
    history: pl.DataFrame  # earlier runs: finished_at, pass_rate_files, pass_rate_rows, pass_rate_symbol_days
    expectations: dict[str, Any] | None  # ExpectationsResult.as_dict()
    plotly_src: str = f"{ASSETS}/plotly.min.js"  # relative to the report (plotly_asset()[0])


def _figure_html(fig: Any, div_id: str) -> str:
    return str(
        fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
        )
    )


def plotly_asset() -> tuple[str, Path]:
    """(href relative to the reports directory, source file) of the plotly.js the installed plotly ships.

    The name carries plotly's version, so reports written by an older release keep the script they
    were drawn with after an upgrade.
    """
    import plotly

    return f"{ASSETS}/plotly-{plotly.__version__}.min.js", Path(plotly.__file__).parent / "package_data/plotly.min.js"


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
    verdict = '<b class="pass">passed</b>' if ge["success"] else '<b class="breach">FAILED</b>'
    rows = "".join(
        f'<tr class="{"ok" if o["success"] else "failed"}"><td><code>{html.escape(o["expectation"])}</code></td>'
        f"<td><code>{html.escape(o['column'])}</code></td><td>{html.escape(o['rule'])}</td>"
        f"<td>{html.escape(o['observed'])}"
        + "".join(f"<br><small>{html.escape(x)}</small>" for x in o["examples"])
        + f"</td><td>{'yes' if o['success'] else '<b>NO</b>'}</td></tr>"
        for o in ge.get("outcomes", [])
    )
    return (
        f"<p>Suite <code>bars_1m_behaviour</code> over {ge['rows']:,} warm bars of the range: {verdict} "
        f"({ge['evaluated']} expectations, {len(ge['failed'])} failed). It checks what the ingest gate does not "
        "enforce (moves and open jumps in robust sigmas of the symbol, volume against its median, minutes on the "
        "venue's calendar), so it can fail on bars the gate let through.</p>"
        '<table id="gx-results"><thead><tr><th>expectation</th><th>column</th><th>expected</th>'
        f"<th>observed (worst bars)</th><th>success</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p id="gx-docs-note"><small>{html.escape(ge.get("docs_note", ""))}</small></p>'
    )


def render_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML document; plotly.js comes from ``inputs.plotly_src`` beside it."""
    r = inputs.rates
    first, last = date.fromisoformat(r["first"]), date.fromisoformat(r["last"])
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
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
                percent(r[k]) if state != "no_data" else "no data"
                for k in ("pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days")
            ],
        }
    )
    sections = [
        (
            "pass-rates",
            "Pass rates",
            _table(summary_rows, summary_rows.columns)
            + (_figure_html(pass_rates_figure(r), "fig-pass-rates") if state != "no_data" else ""),
        ),
        (
            "anomalies-by-check",
            "Anomalies by check",
            _table(by_check, by_check.columns) + _figure_html(by_check_figure(inputs.anomalies), "fig-by-check"),
        ),
        ("heatmap", "Symbol x day", _figure_html(heatmap_figure(inputs.days, first, last), "fig-heatmap")),
        ("gaps", "Gaps timeline", _figure_html(gaps_figure(inputs.anomalies, start, end), "fig-gaps")),
        (
            "quarantined-files",
            "Top quarantined files",
            _table(
                inputs.files.with_columns(pl.col("reasons").map_elements(_readable_reasons, return_dtype=pl.String)),
                ["path", "status", "rows_quarantined", "reasons"],
            ),
        ),
        ("trend", "Pass-rate trend", _figure_html(trend_figure(inputs.history, first, last), "fig-trend")),
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
<script src="{html.escape(inputs.plotly_src)}"></script>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}
table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}} table.small td{{font-size:12px}}
.breach{{color:#c62828;font-weight:bold}} .pass{{color:#2e7d32}} tr.failed td{{background:#ffebee}}
.nodata{{color:#fff;background:#616161;padding:.5em;font-weight:bold}}
section{{margin-bottom:2em}}</style></head>
<body><h1>Data quality {html.escape(r["first"])} .. {html.escape(r["last"])}</h1>
<p id="headline">{html.escape(r["headline"])}</p><p>State: <b id="state">{html.escape(state)}</b></p>{breach}
<p><a href="index.html">All reports</a></p>
<p>Run <code>{html.escape(inputs.run_id)}</code>, generated {inputs.generated_at:%Y-%m-%d %H:%M} UTC,
allowlist <code>{html.escape(r["allowlist"])}</code>.</p>
<nav>{nav}</nav>{body}</body></html>
"""


def _rate(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if value is None or entry.get("state") == "no_data":
        return ""
    return percent(value)


def render_index(entries: list[dict[str, Any]]) -> str:
    """An index page of every report, newest range first: range, state, pass rates, GE failures, link."""
    rows = "".join(
        f'<tr class="{html.escape(e.get("state", ""))}"><td class="range">{html.escape(e["first"])} .. '
        f"{html.escape(e['last'])}</td>"
        f"<td>{html.escape(e.get('state', ''))}</td>"
        + "".join(f"<td>{_rate(e, k)}</td>" for k in ("pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days"))
        + f"<td>{'' if e.get('expectations_failed') is None else e['expectations_failed']}</td>"
        f"<td>{html.escape(e.get('generated_at', '')[:19])}</td>"
        f'<td><a href="{html.escape(e["name"])}">{html.escape(e["name"])}</a></td>'
        f"<td>{html.escape(e.get('headline', ''))}</td></tr>"
        for e in sorted(entries, key=lambda e: (e["last"], e.get("generated_at", "")), reverse=True)
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "range",
            "state",
            "files",
            "rows",
            "symbol-days",
            "GE failed",
            "generated (UTC)",
            "report",
            "headline",
        )
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>marketops data-quality reports</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2em} td,th{border:1px solid #ccc;padding:3px 8px}"
        "table{border-collapse:collapse} tr.breach td{color:#c62828} tr.no_data td{color:#616161}"
        " td.range{white-space:nowrap}</style></head>"
        '<body><h1>Data-quality reports</h1><p><a href="latest.html">latest</a> is the latest daily run '
        "(the newest one-day range); longer ranges and re-runs of old days are listed here. Pass rates are "
        "files, rows and symbol-days passed.</p>"
        f"<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows or '<tr><td colspan=9>none yet</td></tr>'}</tbody></table></body></html>\n"
    )
