"""The data-quality report's charts as plotly figures, readable at any range length.

Pure: frames in, figures out (plotly is imported inside each builder, so importing this module costs
nothing). What keeps them honest:

- pass-rate bars start at 0, so a 99% bar is nearly full height, not a sliver above an axis at 71%;
- the trend plots only runs over ranges as long as this one (daily with daily), and says so;
- the heatmap aggregates days into weeks, months, quarters or years so it never draws more than
  :data:`MAX_COLUMNS` columns (a 10-year range is 120 months, not 2,222 days);
- the gaps timeline draws every gap at least 1/:data:`MIN_GAP_FRACTION` of the range wide (a 1-minute gap
  in a year stays visible; the hover gives its true length), and past :data:`MAX_GAP_BARS` gaps draws
  one bar per symbol and time bucket with the count and minutes missing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

MAX_COLUMNS = 120
MAX_HEATMAP_SYMBOLS = 200
MAX_GAP_BARS = 1_000
MIN_GAP_FRACTION = 250  # a gap is drawn at least (range length / this) wide
STATUS_CODE = {"ok": 0, "suspect": 1, "failed": 2}
# (name, polars truncate interval, nominal length) from finest to coarsest
BUCKETS = (
    ("hour", "1h", timedelta(hours=1)),
    ("day", "1d", timedelta(days=1)),
    ("week", "1w", timedelta(days=7)),
    ("month", "1mo", timedelta(days=31)),
    ("quarter", "1q", timedelta(days=92)),
    ("year", "1y", timedelta(days=366)),
)
_RED, _GREY, _GREEN, _AMBER = "#c62828", "#9e9e9e", "#2e7d32", "#f9a825"


def time_bucket(start: datetime, end: datetime, finest: str = "hour") -> tuple[str, str]:
    """The finest bucket (name, interval) no finer than ``finest`` that splits [start, end) into <= MAX_COLUMNS."""
    names = [b[0] for b in BUCKETS]
    for name, every, _ in BUCKETS[names.index(finest) :]:
        edges = pl.datetime_range(start, end - timedelta(milliseconds=1), every, eager=True, time_unit="ms")
        if edges.dt.truncate(every).n_unique() <= MAX_COLUMNS:
            return name, every
    return BUCKETS[-1][0], BUCKETS[-1][1]


def percent(value: float) -> str:
    """``99.896%``; a loss never rounds up to 100% (``99.9999%`` is printed with as many digits as it needs)."""
    if value >= 1:
        return "100%"
    for digits in range(3, 10):
        text = f"{value:.{digits}%}"
        if not text.startswith("100."):
            return text
    return f"{value:.9%}"


def pass_rates_figure(rates: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    names = ["files", "rows", "symbol-days"]
    values = [rates["pass_rate_files"] * 100, rates["pass_rate_rows"] * 100, rates["pass_rate_symbol_days"] * 100]
    colors = [_GREEN if v >= rates["threshold"] * 100 else _RED for v in values]
    fig = go.Figure(
        go.Bar(x=names, y=values, marker_color=colors, text=[percent(v / 100) for v in values], textposition="outside")
    )
    fig.add_hline(
        y=rates["threshold"] * 100,
        line_dash="dash",
        annotation_text=f"threshold {rates['threshold']:.2%}",
        annotation_position="bottom left",  # the bars' labels sit above the line
    )
    fig.update_layout(title="Pass rates (axis from 0%)", yaxis_title="% passed", height=360)
    fig.update_yaxes(range=[0, 110], rangemode="tozero", tickvals=[0, 20, 40, 60, 80, 100])  # headroom for labels
    return fig


def by_check_figure(anomalies: pl.DataFrame) -> Any:
    import plotly.graph_objects as go

    counts = anomalies.with_columns(
        kind=pl.when(pl.col("known_event") != "").then(pl.lit("known event")).otherwise(pl.lit("unexplained"))
    )
    counts = counts.group_by("check", "kind").len().sort("check")
    fig = go.Figure()
    for kind, color in (("unexplained", _RED), ("known event", _GREY)):
        part = counts.filter(pl.col("kind") == kind)
        fig.add_trace(go.Bar(name=kind, x=part["check"].to_list(), y=part["len"].to_list(), marker_color=color))
    fig.update_layout(title="Anomalies by check", barmode="stack", height=360, yaxis_title="anomalies")
    return fig


def heatmap_cells(days: pl.DataFrame, first: date, last: date) -> tuple[str, pl.DataFrame]:
    """Symbol-day rows folded into (key, bucket) cells: worst status code, day counts, bars, hover text."""
    start = datetime.combine(first, datetime.min.time())
    bucket, every = time_bucket(start, datetime.combine(last + timedelta(days=1), datetime.min.time()), "day")
    d = days.with_columns(
        key=pl.format("{}:{}", "venue", "symbol"),
        code=pl.col("status").replace_strict(STATUS_CODE, default=None, return_dtype=pl.Int8),
        bucket=pl.col("day").dt.truncate(every),
    )
    cells = d.group_by("key", "bucket").agg(
        code=pl.col("code").max(),
        n=pl.len(),
        ok=(pl.col("status") == "ok").sum(),
        suspect=(pl.col("status") == "suspect").sum(),
        failed=(pl.col("status") == "failed").sum(),
        present=pl.col("present").sum(),
        expected=pl.col("expected").sum(),
        quarantined=pl.col("quarantined").sum(),
        by_check=pl.col("by_check").filter(pl.col("by_check") != "").str.join("; "),
        status=pl.col("status").first(),
    )
    coverage = pl.when(pl.col("expected") > 0).then(pl.col("present") / pl.col("expected")).otherwise(1.0)
    per_cent = (coverage * 100).round(2).cast(pl.String) + "%"
    if bucket == "day":
        text = pl.format(
            "{}: {}/{} bars, coverage {}, {} quarantined<br>{}",
            "status",
            "present",
            "expected",
            per_cent,
            "quarantined",
            pl.when(pl.col("by_check") != "").then(pl.col("by_check")).otherwise(pl.lit("no anomalies")),
        )
    else:
        text = pl.format(
            "{} {}: {} days: {} ok, {} suspect, {} failed<br>{}/{} bars, coverage {}, {} quarantined",
            pl.lit(bucket),
            pl.col("bucket").dt.strftime("%Y-%m-%d"),
            "n",
            "ok",
            "suspect",
            "failed",
            "present",
            "expected",
            per_cent,
            "quarantined",
        )
    label = "%Y-%m-%d" if bucket in ("day", "week") else "%Y-%m"
    return bucket, cells.with_columns(text=text, x=pl.col("bucket").dt.strftime(label)).sort("bucket", "key")


def heatmap_figure(days: pl.DataFrame, first: date, last: date) -> Any:
    import plotly.graph_objects as go

    bucket, cells = heatmap_cells(days, first, last)
    keys = cells["key"].unique().sort().to_list()[:MAX_HEATMAP_SYMBOLS]
    columns = cells.select("bucket", "x").unique().sort("bucket")["x"].to_list()
    lookup = {(r["key"], r["x"]): (r["code"], r["text"]) for r in cells.iter_rows(named=True)}
    z = [[lookup.get((k, x), (None, ""))[0] for x in columns] for k in keys]
    text = [[lookup.get((k, x), (None, "no data expected"))[1] for x in columns] for k in keys]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=keys,
            text=text,
            hoverinfo="text+x+y",
            zmin=0,
            zmax=2,
            colorscale=[[0, _GREEN], [0.5, _AMBER], [1, _RED]],
            colorbar={"tickvals": [0, 1, 2], "ticktext": ["ok", "suspect", "failed"]},
        )
    )
    title = f"Symbol x {bucket} quality" + ("" if bucket == "day" else f" (worst day of each {bucket}; hover: counts)")
    fig.update_layout(title=title, height=max(300, 40 + 22 * len(keys)), xaxis_type="category")
    return fig


def gap_bars(gaps: pl.DataFrame, start: datetime, end: datetime) -> tuple[str, pl.DataFrame]:
    """What the gaps timeline draws: (mode, rows of key, known, base, width_ms, hover).

    ``gaps``: venue, symbol, ts (first missing minute), end_ts (last), minutes, detail, known_event.
    Mode ``gaps``: one bar per gap, at least the minimum width. Mode ``<bucket>``: one bar per symbol,
    bucket and known/unexplained, spanning the bucket, with the count and minutes in the hover.
    """
    min_ms = max(60_000, int((end - start).total_seconds() * 1000 / MIN_GAP_FRACTION))
    g = gaps.with_columns(
        key=pl.format("{}:{}", "venue", "symbol"),
        known=pl.col("known_event") != "",
        true_ms=(pl.col("end_ts") - pl.col("ts")).dt.total_milliseconds() + 60_000,
    )
    if g.height <= MAX_GAP_BARS:
        bars = g.select(
            "key",
            "known",
            base=pl.col("ts"),
            width_ms=pl.max_horizontal("true_ms", pl.lit(min_ms)),
            hover=pl.when(pl.col("true_ms") < min_ms)
            .then(pl.col("detail") + " (drawn wider than it is, to stay visible)")
            .otherwise(pl.col("detail")),
        )
        return "gaps", bars
    bucket, every = time_bucket(start, end)
    folded = (
        g.with_columns(base=pl.col("ts").dt.truncate(every))
        .group_by("key", "known", "base")
        .agg(n=pl.len(), minutes=pl.col("minutes").sum(), longest=pl.col("minutes").max())
        .with_columns(
            width_ms=(pl.col("base").dt.offset_by(every) - pl.col("base")).dt.total_milliseconds(),
            hover=pl.format(
                "{} gaps in this {} ({} minutes missing, longest {} min)",
                "n",
                pl.lit(bucket),
                "minutes",
                "longest",
            ),
        )
    )
    return bucket, folded.select("key", "known", "base", "width_ms", "hover", "n").sort("key", "base")


def gaps_figure(anomalies: pl.DataFrame, start: datetime, end: datetime) -> Any:
    import plotly.graph_objects as go

    mode, bars = gap_bars(anomalies.filter(pl.col("check") == "gap"), start, end)
    fig = go.Figure()
    for known, color in ((False, _RED), (True, _GREY)):
        part = bars.filter(pl.col("known") == known)
        if part.height == 0:
            continue
        fig.add_trace(
            go.Bar(
                name="known event" if known else "unexplained",
                orientation="h",
                y=part["key"].to_list(),
                base=part["base"].to_list(),
                x=part["width_ms"].to_list(),
                marker_color=color,
                hovertext=part["hover"].to_list(),
                hoverinfo="text+y",
            )
        )
    title = "Gaps timeline" + (
        f" (min. width 1/{MIN_GAP_FRACTION} of the range; hover: true length)"
        if mode == "gaps"
        else f" (gaps per {mode}; hover: count and minutes)"
    )
    if bars.height == 0:
        fig.add_annotation(text="no gaps in this range", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(
        title=title,
        barmode="overlay",
        xaxis_type="date",
        xaxis_range=[start, end],
        height=max(300, 60 + 30 * max(bars["key"].n_unique(), 1)),
    )
    return fig


def trend_figure(history: pl.DataFrame, first: date, last: date) -> Any:
    """Pass rates of earlier runs over ranges as long as ``first..last``: the latest run of each range."""
    import plotly.graph_objects as go

    length = (last - first).days + 1
    h = history.with_columns(
        r_first=pl.col("range").str.split("..").list.first().str.to_date(strict=False),
        r_last=pl.col("range").str.split("..").list.last().str.to_date(strict=False),
    ).with_columns(days=(pl.col("r_last") - pl.col("r_first")).dt.total_days() + 1)
    alike = h.filter(pl.col("days") == length)
    points = alike.sort("finished_at").group_by("r_last", maintain_order=True).last().sort("r_last")
    fig = go.Figure()
    for column, name in (
        ("pass_rate_files", "files"),
        ("pass_rate_rows", "rows"),
        ("pass_rate_symbol_days", "symbol-days"),
    ):
        fig.add_trace(
            go.Scatter(
                x=points["r_last"].to_list(),
                y=[None if v is None else v * 100 for v in points[column].to_list()],  # no-data runs: no point
                mode="lines+markers",
                name=name,
                hovertext=points["range"].to_list(),
            )
        )
    what = "daily runs (1-day ranges)" if length == 1 else f"runs over {length}-day ranges"
    left_out = h.height - alike.height
    fig.update_layout(
        title=f"Pass-rate trend: {what}, latest run of each range"
        + (f"; {left_out} run{'s' * (left_out != 1)} over other range lengths left out" if left_out else ""),
        xaxis_title="range end",
        xaxis_type="date",
        xaxis_tickformat="%Y-%m-%d",
        yaxis_title="% passed",
        height=340,
    )
    if points.height == 1:  # one point: show a week around it, not milliseconds
        only = points["r_last"][0]
        fig.update_xaxes(range=[only - timedelta(days=3), only + timedelta(days=3)])
    return fig
