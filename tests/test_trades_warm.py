"""Trades in the warm tier (real chDB): split minutes exact in any arrival order, quarantine, the ingest flow,
order-flow features in the cold tier and the hot tier."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from core.parse import FileRef, ReadOptions
from core.settings import Settings
from storage.warm import open_warehouse
from storage.warm.schema import migrate
from tasks.trades import load_trade_files, split_trade_files
from tests.trade_helpers import TARDIS_HEADER, assert_bars_match, reference_bars, tardis_lines, write

SIDE = {"buy": 1, "sell": -1, "unknown": None}
TRADES = [
    (t * 3_100_000, i, "buy" if i % 3 else "sell", 100.0 + (i * 37 % 11), 0.25 * i)
    for i, t in enumerate(range(1, 60), 1)
]


def _rows(trades: list[tuple]) -> list[dict]:
    from tests.trade_helpers import T0_US

    return [{"ts_us": T0_US + t, "id": i, "price": p, "size": a, "side": SIDE[s]} for t, i, s, p, a in trades]


def _load(
    settings: Settings, paths: list[Path], options: ReadOptions | None = None, replay_of: str | None = None
) -> pl.DataFrame:
    options = options or ReadOptions()
    refs = [FileRef(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    trades, bars = split_trade_files(refs, options)
    assert not bars
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
        return load_trade_files(
            warehouse, trades, options, "run", 0.05, 1, datetime.now(UTC), set(), replay_of=replay_of
        )


def _bars(settings: Settings) -> pl.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df("SELECT * FROM bars_1m FINAL ORDER BY venue, symbol, ts")


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_split_minutes_are_exact_in_the_warm_tier_whatever_the_arrival_order(
    settings: Settings, tmp_path: Path, order: str
) -> None:
    cuts = [0, 7, 19, 20, 41, len(TRADES)]  # hourly-dump style: cut at arbitrary times, mid-minute
    files = [
        write(tmp_path / f"part{n}.csv", TARDIS_HEADER + tardis_lines(TRADES[a:b]))
        for n, (a, b) in enumerate(itertools.pairwise(cuts))
    ]
    for path in files if order == "forward" else files[::-1]:  # one batch per file: each arrives alone
        manifest = _load(settings, [path])
        assert manifest["status"].to_list() == ["loaded"]
    bars = _bars(settings)
    assert bars["bar_source"].unique().to_list() == ["trades"]
    assert_bars_match(bars, reference_bars(_rows(TRADES)))
    with open_warehouse(settings) as warehouse:  # the same file again changes nothing
        before = warehouse.query_df("SELECT count() AS n FROM trade_minutes FINAL").item()
    _load(settings, [files[2]])
    assert_bars_match(_bars(settings), reference_bars(_rows(TRADES)))
    with open_warehouse(settings) as warehouse:
        assert warehouse.query_df("SELECT count() AS n FROM trade_minutes FINAL").item() == before


def test_bad_trades_are_quarantined_and_a_file_no_reader_takes_says_why(settings: Settings, tmp_path: Path) -> None:
    good = TARDIS_HEADER + tardis_lines(TRADES[:40])
    bad = good + tardis_lines([(9_000_000, 999, "buy", -1.0, 1.0)])
    paths = [write(tmp_path / "bad.csv", bad), write(tmp_path / "notes.csv", "hello,world\n")]
    manifest = _load(settings, paths, ReadOptions(format="trades"))
    by_path = {Path(r["path"]).name: r for r in manifest.iter_rows(named=True)}
    assert by_path["bad.csv"]["status"] == "partial" and by_path["bad.csv"]["rows_quarantined"] == 1
    assert by_path["notes.csv"]["status"] == "quarantined"
    assert "no trade/quote reader" in json.loads(by_path["notes.csv"]["reasons"])[0]["reason"]
    with open_warehouse(settings) as warehouse:
        quarantined = warehouse.query_df("SELECT line, checks, price FROM quarantine_trades FINAL")
        anomalies = warehouse.query_df("SELECT check, severity FROM anomalies FINAL")
    assert quarantined.rows() == [(42, ["price_not_finite_positive"], -1.0)]
    assert ("price_not_finite_positive", "error") in anomalies.rows()
    _load(settings, paths[:1], ReadOptions(format="trades"), replay_of="replay-run")  # a quarantine replay
    with open_warehouse(settings) as warehouse:
        again = warehouse.query_df("SELECT line, run_id FROM quarantine_trades FINAL")
    assert again.rows() == [(42, "run")]  # replaced, not doubled


def test_ingest_flow_format_trades_then_caches_and_warmup_carry_order_flow(settings: Settings, tmp_path: Path) -> None:
    from flows.caches import caches
    from flows.ingest import ingest
    from flows.warmup import warmup

    landing = tmp_path / "landing"
    write(landing / "a.csv", TARDIS_HEADER + tardis_lines(TRADES[:30]))
    write(landing / "b.csv", TARDIS_HEADER + tardis_lines(TRADES[30:]))
    summary = ingest(paths=[str(landing)], format="trades")
    assert summary["files_loaded"] == 2 and summary["rows_loaded"] == len(TRADES)
    with open_warehouse(settings) as warehouse:  # the manifest names the bars' venue/symbol (from the rows)
        named = warehouse.query_df("SELECT DISTINCT toString(venue) AS v, symbol FROM ingest_files FINAL").rows()
    assert named == [("binance_futures", "BTCUSDT")]
    bars = _bars(settings)
    assert_bars_match(bars, reference_bars(_rows(TRADES)))

    caches(full=True)
    import duckdb

    catalog = duckdb.connect(str(settings.cold_dir / "catalog.duckdb"), read_only=True)
    features = pl.from_arrow(
        catalog.sql("SELECT ts, delta, cvd, buy_ratio FROM features_1m ORDER BY ts").to_arrow_table()
    )
    cold_bars = pl.from_arrow(
        catalog.sql("SELECT ts, buy_volume, sell_volume, bar_source FROM bars_1m ORDER BY ts").to_arrow_table()
    )
    catalog.close()
    assert isinstance(features, pl.DataFrame) and isinstance(cold_bars, pl.DataFrame)
    expected_delta = (bars["buy_volume"] - bars["sell_volume"]).to_list()
    assert features["delta"].to_list() == pytest.approx(expected_delta)
    assert features["cvd"].to_list() == pytest.approx(list(pl.Series(expected_delta).cum_sum()))  # one UTC day
    assert cold_bars["bar_source"].unique().to_list() == ["trades"]

    warmup(rebuild=True)
    from core.hot_layout import FEATURES_MAP, LATEST_MAP, epoch_map
    from storage.hot import open_hot_store
    from storage.hot.epochs import current_epoch

    with open_hot_store(settings) as hot:
        epoch = current_epoch(hot)
        assert epoch is not None
        latest = json.loads(hot.get(epoch_map(LATEST_MAP, epoch), "binance_futures:BTCUSDT") or "{}")
        vector = json.loads(hot.get(epoch_map(FEATURES_MAP, epoch), "binance_futures:BTCUSDT") or "{}")
    assert latest["bar_source"] == "trades" and latest["buy_volume"] == bars["buy_volume"][-1]
    assert vector["cvd"] == pytest.approx(features["cvd"][-1]) and "buy_ratio" in vector


def test_init_twice_is_safe_and_bars_have_the_order_flow_columns(settings: Settings) -> None:
    with open_warehouse(settings) as warehouse:
        migrate(warehouse)
        assert migrate(warehouse) == []
        columns = set(
            warehouse.query_df(
                "SELECT name FROM system.columns WHERE table = 'bars_1m' AND database = currentDatabase()"
            )["name"]
        )
        assert {"buy_volume", "sell_volume", "vwap", "price_side", "bar_source"} <= columns
        tables = set(warehouse.query_df("SELECT name FROM system.tables WHERE database = currentDatabase()")["name"])
        assert {"trade_minutes", "quarantine_trades"} <= tables


pytestmark = pytest.mark.usefixtures("prefect_api")
