"""The data-quality reports as a person opens them: small files sharing one plotly.js, served on 127.0.0.1,
rendered by headless Chromium with no console error and no request off the machine; the Great Expectations
results inside the report, failing on a planted spike the gate let through; screenshots of report and index.
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from core.samples import InjectionManifest, SampleSpec, generate
from core.settings import Settings
from flows.ingest import ingest
from flows.validate import validate
from storage import report_server
from storage.landing import write_file
from tests.browser import CHROMIUM, load, png_is_blank
from tests.test_report_links import _free_port

pytestmark = pytest.mark.usefixtures("prefect_api")


def _serve(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(report_server.command(root, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = report_server.url_for(port)
    deadline = time.monotonic() + 120
    while not report_server.answers(url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert report_server.answers(url), "the reports server did not answer"
    return process, url


def test_two_reports_share_one_plotly_file_show_the_failed_expectation_and_render_offline(
    settings: Settings, tmp_path: Path
) -> None:
    manifest = InjectionManifest()
    for sample in generate(SampleSpec(symbols=4, days=3), manifest):
        write_file(settings.default_landing_dir, sample.relative_path, sample.data)
    ingest(paths=[str(settings.default_landing_dir)])
    spike = next(i for i in manifest.injected if i["kind"] == "spike")  # loaded: a spike is a warning, not an error
    spike_day = datetime.fromisoformat(spike["ts"].replace("Z", "+00:00")).date()
    daily = validate(since=spike_day, until=spike_day)
    ranged = validate(since=date(2024, 6, 3), until=date(2024, 6, 5))

    reports = settings.reports_dir
    assets = sorted((reports / "assets").iterdir())
    assert [p.name for p in assets] == [re.sub(r".*/", "", _script_src(Path(daily["report"])))]
    assert assets[0].stat().st_size > 3_000_000  # the whole plotly.js, once
    for path in (Path(daily["report"]), Path(ranged["report"])):
        assert path.stat().st_size < 500_000, f"{path.name}: {path.stat().st_size:,} bytes"
        assert (reports / _script_src(path)).exists()
    assert (reports / "latest.html").read_text() == Path(daily["report"]).read_text()  # the daily run is latest

    text = Path(daily["report"]).read_text()
    gx = text[text.index('id="gx-results"') :]
    gx = gx[: gx.index("</table>")]
    failed = re.search(r'<tr class="failed">.*?</tr>', gx)
    assert failed and "move_sigma" in failed.group(0) and "<b>NO</b>" in failed.group(0)
    assert f"{spike_day:%Y-%m-%d} {spike['ts'][11:16]} UTC" in failed.group(0)  # the planted bar, named
    assert "Data Docs are not linked" in text and "CDN" in text
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        summaries = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["validate-summary"]))
        )
    assert any("expect_column_values_to_be_between(move_sigma)" in str(a.data) for a in summaries)  # in the UI too

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (the README test command installs Debian's chromium)")
    server, url = _serve(reports)
    try:
        shots = {}
        for tag, page in (
            ("report", f"{url}/{Path(daily['report']).name}"),
            ("ranged", f"{url}/{Path(ranged['report']).name}"),
            ("index", f"{url}/index.html"),
            ("file", (reports / "latest.html").as_uri()),  # opened from disk, as the file:// link does
        ):
            shots[tag] = tmp_path / f"{tag}.png"
            seen = load(page, tmp_path, tag, screenshot=shots[tag])
            assert seen.console_errors == [], seen.console_errors
            assert seen.external == [], seen.external  # nothing fetched off the machine
            assert not png_is_blank(shots[tag]), f"{tag} screenshot is blank"
            if tag == "index":
                assert seen.dom.count("<tr") >= 3 and "latest daily run" in seen.dom
                continue
            assert seen.dom.count('class="plot-container plotly"') >= 5, f"{tag}: the charts did not draw"
            if tag != "file":  # the shared script came from the reports server (the net log sees page requests)
                assert any(r.endswith(_script_src(Path(daily["report"]))) for r in seen.requests), seen.requests
    finally:
        server.terminate()
        server.communicate(timeout=120)


def _script_src(report: Path) -> str:
    match = re.search(r'<script src="([^"]+)"', report.read_text())
    assert match, "the report loads no script file"
    return match.group(1)


def test_a_ten_year_report_with_thousands_of_gaps_stays_small_and_draws(tmp_path: Path) -> None:
    from datetime import UTC, timedelta

    import polars as pl

    from storage.reports import ensure_asset, write_report
    from validation.report import ReportInputs, plotly_asset, render_index, render_report
    from validation.report_figures import MAX_COLUMNS

    first, last = date(2015, 1, 1), date(2024, 12, 31)
    days = pl.concat(
        pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)}).with_columns(
            venue=pl.lit("binance"),
            symbol=pl.lit(f"S{s:02d}USDT"),
            expected=pl.lit(1440),
            present=pl.lit(1440),
            quarantined=pl.lit(0),
            by_check=pl.lit(""),
            coverage=pl.lit(1.0),
            status=pl.when(pl.col("day").dt.day() == 13 + s).then(pl.lit("suspect")).otherwise(pl.lit("ok")),
        )
        for s in range(10)
    )
    start = datetime(2015, 1, 1, tzinfo=UTC)
    ts = pl.Datetime("ms", "UTC")
    gaps = pl.DataFrame(
        {
            "venue": "binance",
            "symbol": [f"S{i % 10:02d}USDT" for i in range(3_000)],
            "ts": [start + timedelta(hours=29 * i) for i in range(3_000)],
            "minutes": 1,
            "check": "gap",
            "severity": "warn",
            "known_event": "",
            "detail": "1 expected minutes missing",
        },
        schema_overrides={"ts": ts, "minutes": pl.UInt32},
    ).with_columns(end_ts=pl.col("ts"))
    rates = {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "files_checked": 36_530,
        "files_passed": 36_530,
        "rows_checked": 52_603_200,
        "rows_passed": 52_603_200,
        "symbol_days": days.height,
        "symbol_days_failed": 0,
        "pass_rate_files": 1.0,
        "pass_rate_rows": 1.0,
        "pass_rate_symbol_days": 1.0,
        "threshold": 0.999,
        "breach": False,
        "state": "ok",
        "headline": "ten years",
        "allowlist": "known_events.toml:1",
    }
    history = pl.DataFrame(
        {"run_id": ["r"], "finished_at": [datetime(2025, 1, 1, tzinfo=UTC)], "range": ["2015-01-01..2024-12-31"]}
        | {k: [1.0] for k in ("pass_rate_files", "pass_rate_rows", "pass_rate_symbol_days")}
    )
    files = pl.DataFrame(
        schema={"path": pl.String, "status": pl.String, "rows_quarantined": pl.Int64, "reasons": pl.String}
    )
    href, source = plotly_asset()
    reports = tmp_path / "reports"
    ensure_asset(reports, href, source)
    document = render_report(
        ReportInputs("r", datetime(2025, 1, 1, tzinfo=UTC), rates, gaps, days, files, history, None, href)
    )
    entry = {"first": rates["first"], "last": rates["last"], "state": "ok", "headline": "ten years", "run_id": "r"}
    path = write_report(reports, "dq-10y.html", document, entry, render_index)
    assert path.stat().st_size < 500_000, f"{path.stat().st_size:,} bytes"
    heat = re.search(r'"type":"heatmap"', document)
    assert heat and "Symbol x month quality" in document and "gaps per month" in document
    months = re.search(r'"x":\["2015-01".*?\]', document)
    assert months and months.group(0).count(",") + 1 <= MAX_COLUMNS

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (the README test command installs Debian's chromium)")
    shot = tmp_path / "ten-years.png"
    seen = load(path.as_uri(), tmp_path, "ten-years", screenshot=shot)
    assert seen.console_errors == [] and seen.external == [], (seen.console_errors, seen.external)
    assert seen.dom.count('class="plot-container plotly"') >= 5 and not png_is_blank(shot)
