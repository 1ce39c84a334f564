"""Trades into 1m bars without a warehouse: readers by content, the gate, aggregation, split minutes."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import zipfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.formats import SourceFile, read_source
from core.normalize import Identity, to_candidates
from core.parse import ReadOptions
from core.trades.aggregate import merge_partials, minute_partials, partials_to_bars, trades_to_bars
from core.trades.frame import conform_trades
from tests.trade_helpers import T0_US, TARDIS_HEADER, assert_bars_match, judge, reference_bars, tardis_lines, write

SIDE = {"buy": 1, "sell": -1, "unknown": None}


def _bars(verdict) -> pl.DataFrame:
    return partials_to_bars(verdict.partials, 1)


def test_hand_made_tardis_trades_give_the_known_bars(tmp_path: Path) -> None:
    trades = [
        (1_000_000, 1, "buy", 100.0, 1.0),  # minute 0: open 100
        (2_000_000, 2, "sell", 105.0, 2.0),
        (2_000_000, 3, "buy", 95.0, 0.5),  # same time as the one before: id decides the order
        (59_999_999, 4, "sell", 101.0, 1.5),  # close 101
        (60_000_000, 5, "buy", 102.0, 3.0),  # minute 1: a single trade
    ]
    verdict = judge(write(tmp_path / "t.csv", TARDIS_HEADER + tardis_lines(trades)))
    assert verdict.reason is None and verdict.rows_loaded == 5
    bars = _bars(verdict).sort("ts")
    assert bars["venue"].unique().to_list() == ["binance_futures"] and bars["symbol"].unique().to_list() == ["BTCUSDT"]
    first = bars.row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"]) == (100.0, 105.0, 95.0, 101.0)
    assert first["volume"] == 5.0 and first["trades"] == 4
    assert first["buy_volume"] == 1.5 and first["sell_volume"] == 3.5
    assert first["vwap"] == pytest.approx((100 * 1 + 105 * 2 + 95 * 0.5 + 101 * 1.5) / 5.0, rel=1e-12)
    assert first["bar_source"] == "trades" and first["price_side"] == "trade"
    second = bars.row(1, named=True)
    assert (second["open"], second["close"], second["volume"], second["trades"]) == (102.0, 102.0, 3.0, 1)


def test_a_minute_split_across_two_files_equals_the_union_in_either_order(tmp_path: Path) -> None:
    trades = [
        (t * 7_000_000, i, "buy" if i % 3 else "sell", 100.0 + (i * 37 % 11), 0.1 * i)
        for i, t in enumerate(range(1, 20), 1)
    ]
    a = judge(write(tmp_path / "a.csv", TARDIS_HEADER + tardis_lines(trades[:8])))  # cut mid-minute (56 s)
    b = judge(write(tmp_path / "b.csv", TARDIS_HEADER + tardis_lines(trades[8:])))
    whole = judge(write(tmp_path / "all.csv", TARDIS_HEADER + tardis_lines(trades)))
    ab = partials_to_bars(merge_partials(pl.concat([a.partials, b.partials])), 1)
    ba = partials_to_bars(merge_partials(pl.concat([b.partials, a.partials])), 1)
    expected = _bars(whole).drop("source_id")
    for got in (ab, ba):
        assert (
            got.drop("source_id")
            .sort("ts")
            .select(pl.exclude("quote_volume", "vwap"))
            .equals(expected.sort("ts").select(pl.exclude("quote_volume", "vwap")))
        )


def test_every_gate_failure_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    body = TARDIS_HEADER + tardis_lines(
        [
            (1_000_000, 1, "buy", 100.0, 1.0),  # fine
            (2_000_000, 2, "buy", 0.0, 1.0),  # price_not_finite_positive
            (3_000_000, 3, "buy", -5.0, 1.0),  # price_not_finite_positive
            (4_000_000, 4, "sell", 100.0, 0.0),  # size_not_positive
            (5_000_000, 5, "sideways", 100.0, 1.0),  # side_unknown_value
            (6_000_000, 6, "buy", 101.0, 1.0),  # identical duplicate below: dropped, counted
            (6_000_000, 6, "buy", 101.0, 1.0),
            (7_000_000, 7, "buy", 102.0, 1.0),  # conflicting duplicate below: both quarantined
            (7_000_000, 7, "buy", 103.0, 1.0),
            (3_500_000, 8, "sell", 99.0, 1.0),  # earlier than the trade before: a warning, still counted
        ]
    )
    body += f"binance-futures,BTCUSDT,{T0_US + 9_000_000},{T0_US},9,buy,inf,1\n"  # not finite
    body += f"binance-futures,BTCUSDT,{T0_US + 9_500_000},{T0_US},10,buy,abc,1\n"  # unparseable value
    body += "binance-futures,BTCUSDT,ragged\n"  # unparseable line
    verdict = judge(write(tmp_path / "bad.csv", body))
    assert verdict.reason is None  # threshold 1.0 here: rows isolated, the file loads
    rejected = pl.concat(verdict.rejected, how="diagonal_relaxed")
    by_line = {r["line"]: sorted(r["checks"]) for r in rejected.iter_rows(named=True)}
    assert by_line == {
        3: ["price_not_finite_positive"],
        4: ["price_not_finite_positive"],
        5: ["size_not_positive"],
        6: ["side_unknown_value"],
        9: ["duplicate_trade_conflict"],
        10: ["duplicate_trade_conflict"],
        12: ["price_not_finite_positive"],
        13: ["row_unparseable"],
        14: ["row_unparseable"],
    }
    assert verdict.rows_duplicate == 1 and verdict.late_rows == 1
    assert verdict.rows_loaded == 3  # ids 1, 6, 8
    bar = _bars(verdict).row(0, named=True)
    assert (bar["open"], bar["close"], bar["trades"]) == (100.0, 101.0, 3)  # id 8 (3.5 s) sorts before id 6 (6 s)
    strict = judge(write(tmp_path / "bad2.csv", body), threshold=0.05)
    assert strict.reason and "above the file threshold" in strict.reason and strict.partials.height == 0


def test_unknown_sides_give_null_buy_and_sell_never_a_guess(tmp_path: Path) -> None:
    kraken = write(tmp_path / "XBTUSD.csv", "1717200001,100.5,0.25\n1717200002.5,101.0,0.75\n")
    verdict = judge(kraken)
    bar = _bars(verdict).row(0, named=True)
    assert bar["venue"] == "kraken" and bar["symbol"] == "XBTUSD"
    assert bar["buy_volume"] is None and bar["sell_volume"] is None and bar["volume"] == 1.0
    with_header = write(
        tmp_path / "h" / "XBTUSD.csv", "time,price,volume\n1717200001,100.5,0.25\n1717200002.5,101.0,0.75\n"
    )
    same = _bars(judge(with_header, ReadOptions(venue="kraken")))
    assert same.drop("source_id").equals(_bars(verdict).drop("source_id"))
    mixed = judge(
        write(
            tmp_path / "m.csv", TARDIS_HEADER + tardis_lines([(1, 1, "buy", 10.0, 1.0), (2, 2, "unknown", 10.0, 1.0)])
        )
    )
    bar = _bars(mixed).row(0, named=True)
    assert bar["buy_volume"] is None and bar["sell_volume"] is None and bar["trades"] == 2


def test_binance_trades_and_aggtrades_with_and_without_header_ms_and_us(tmp_path: Path) -> None:
    spot = "1001,100.0,2.0,200.0,1717200000123,true,true\n1002,101.0,1.0,101.0,1717200030000456,false,true\n"
    verdict = judge(write(tmp_path / "BTCUSDT-trades-2024-06-01.csv", spot))
    bar = _bars(verdict).row(0, named=True)
    assert (bar["venue"], bar["symbol"], bar["open"], bar["close"]) == ("binance", "BTCUSDT", 100.0, 101.0)
    assert (bar["buy_volume"], bar["sell_volume"]) == (1.0, 2.0)  # buyer maker = seller aggressor
    futures = "id,price,qty,quote_qty,time,is_buyer_maker\n" + spot.replace(",true\n", "\n")
    assert (
        _bars(judge(write(tmp_path / "f" / "BTCUSDT-trades-2024-06-01.csv", futures)))
        .drop("source_id")
        .equals(_bars(verdict).drop("source_id"))
    )
    agg = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
    agg += "7,100.0,3.0,10,14,1717200000000,false\n8,99.0,1.0,15,15,1717200001000,true\n"
    bar = _bars(judge(write(tmp_path / "ETHUSDT-aggTrades-2024-06-01.csv", agg))).row(0, named=True)
    assert bar["symbol"] == "ETHUSDT" and bar["trades"] == 6 and (bar["buy_volume"], bar["sell_volume"]) == (3.0, 1.0)


def test_freqtrade_dumps_json_gz_and_csv_give_the_same_bars(tmp_path: Path) -> None:
    rows = [[1717200000000, "1", None, "buy", 100.0, 0.5, 50.0], [1717200010000, "2", None, "sell", 99.5, 1.5, 149.25]]
    as_json = judge(write(tmp_path / "BTC_USDT-trades.json", json.dumps(rows)))
    as_gz = judge(write(tmp_path / "gz" / "BTC_USDT-trades.json.gz", gzip.compress(json.dumps(rows).encode())))
    csv = "timestamp,id,type,side,price,amount,cost\n" + "".join(
        ",".join("" if v is None else str(v) for v in r) + "\n" for r in rows
    )
    as_csv = judge(write(tmp_path / "csv" / "BTC_USDT-trades.csv", csv))
    bars = [_bars(v).drop("source_id") for v in (as_json, as_gz, as_csv)]
    assert bars[0]["symbol"].to_list() == ["BTC_USDT"] and bars[0]["sell_volume"].to_list() == [1.5]
    assert bars[0].equals(bars[1]) and bars[0].equals(bars[2])


def test_nautilus_trade_tick_parquet(tmp_path: Path) -> None:
    table = pa.table(
        {
            "price": pa.array([100.0, 100.5]),
            "size": pa.array([1.0, 2.0]),
            "aggressor_side": pa.array([1, 2], pa.uint8()),
            "trade_id": pa.array(["a-1", "a-2"]),
            "ts_event": pa.array([1717200000000000000, 1717200001000000000], pa.uint64()),
            "ts_init": pa.array([1717200000000000000, 1717200001000000000], pa.uint64()),
        }
    ).replace_schema_metadata({"instrument_id": "BTCUSDT-PERP.BINANCE"})
    path = tmp_path / "trades.parquet"
    pq.write_table(table, path)
    bar = _bars(judge(path)).row(0, named=True)
    assert (bar["venue"], bar["symbol"]) == ("binance", "BTCUSDT-PERP")
    assert (bar["open"], bar["close"], bar["buy_volume"], bar["sell_volume"]) == (100.0, 100.5, 1.0, 2.0)


def test_quote_ticks_give_bid_ask_and_mid_bars_under_suffixed_symbols(tmp_path: Path) -> None:
    body = "timestamp,bid,ask,bid_size,ask_size\n"
    body += "2024-06-01T00:00:01Z,1.1000,1.1002,1,1\n2024-06-01T00:00:30Z,1.0990,1.1010,1,1\n"
    bars = _bars(judge(write(tmp_path / "EURUSD.csv", body), ReadOptions(venue="dukascopy"))).sort("symbol")
    assert bars["symbol"].to_list() == ["EURUSD.ASK", "EURUSD.BID", "EURUSD.MID"]
    assert bars["price_side"].to_list() == ["ask", "bid", "mid"]
    mid = bars.row(2, named=True)
    assert mid["open"] == pytest.approx(1.1001) and mid["low"] == pytest.approx(1.1000) and mid["trades"] == 2
    assert mid["volume"] == 0.0 and mid["vwap"] is None and mid["buy_volume"] is None


def test_binance_klines_fill_buy_volume_from_taker_buy_and_sell_as_the_rest() -> None:
    body = b"1717200000000,1.0,2.0,0.5,1.5,10,1717200059999,15,3,4,6,0\n"
    _, raw = read_source(SourceFile("BTCUSDT-1m-2024-06-01.csv", body))
    bars = to_candidates(raw, Identity("binance", "BTCUSDT", 1, 1))
    row = bars.row(0, named=True)
    assert (row["buy_volume"], row["sell_volume"], row["vwap"]) == (4.0, 6.0, 1.5)
    assert (row["bar_source"], row["price_side"]) == ("candles", "trade")


def test_lean_file_outside_its_layout_is_refused_with_a_reason(tmp_path: Path) -> None:
    from core.parse import FileRef
    from tasks.trades import judge_trade_file, trade_format_of

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("20131008_ibm_Trade_Tick.csv", "31669457,1821000,300,P,2000,0\n")
    path = write(tmp_path / "20131008_trade.zip", buffer.getvalue())
    fmt, head, _ = trade_format_of(str(path), ReadOptions())
    assert fmt is not None and head is not None and fmt.name == "lean-trade-ticks"
    _, verdict = judge_trade_file(FileRef(str(path), 1, 0), fmt, head, ReadOptions(), "0" * 64, 0.05)
    assert verdict.reason and "layout" in verdict.reason


def test_real_tardis_sample_matches_an_independent_aggregation(real_data: Path) -> None:
    path = real_data / "tardis-binance-futures-trades" / "tardis_trades_binance-futures_BTCUSDT_first3000.csv"
    lines = path.read_text().splitlines()[1:]
    rows = []
    for line in lines:
        _, _, ts, _, ident, side, price, amount = line.split(",")
        rows.append(
            {"ts_us": int(ts), "id": int(ident), "price": float(price), "size": float(amount), "side": SIDE[side]}
        )
    verdict = judge(path)
    assert verdict.rows_loaded == 3000 and verdict.rows_rejected == 0 and verdict.late_rows == 0
    bars = _bars(verdict)
    assert bars.height == 32 and bars["trades"].sum() == 3000
    assert_bars_match(bars, reference_bars(rows))


def test_real_lean_ibm_ticks_match_an_independent_aggregation(real_data: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    path = real_data / "quantconnect-lean-zips" / "equity" / "usa" / "tick" / "ibm" / "20131008_trade.zip"
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    midnight = datetime(2013, 10, 8, tzinfo=ZoneInfo("America/New_York")).timestamp()
    rows = [
        {
            "ts_us": int(midnight * 1e6) + int(f[0]) * 1000,
            "id": n,
            "price": int(f[1]) / 10_000,
            "size": float(f[2]),
            "side": None,
        }
        for n, f in enumerate(line.split(",") for line in text.splitlines())
    ]
    bars = _bars(judge(path))
    assert bars["symbol"].unique().to_list() == ["IBM"] and bars["trades"].sum() == 3000
    assert_bars_match(bars, reference_bars(rows))


# --- the property: any split / reordering of a trade stream into files gives identical bars -------------------


@st.composite
def _streams(draw: st.DrawFn) -> tuple[list[dict], list[int], list[int]]:
    n = draw(st.integers(1, 60))
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 999_999, 20_000_000, 61_000_000]), min_size=n, max_size=n))
    prices = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    sides = draw(st.lists(st.sampled_from([1, -1, None]), min_size=n, max_size=n))
    ts, rows = 0, []
    for i in range(n):
        ts += steps[i]
        rows.append(
            {"ts_us": T0_US + ts, "id": 1000 + i, "price": float(prices[i]), "size": sizes[i] / 4, "side": sides[i]}
        )
    files = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))  # which file each trade lands in
    order = draw(st.permutations(list(range(5))))  # the order the files arrive in
    return rows, files, order


def _frame(rows: list[dict], path: str) -> pl.DataFrame:
    return conform_trades(
        pl.DataFrame(
            {
                "line": list(range(1, len(rows) + 1)),
                "ts": [r["ts_us"] for r in rows],
                "price": [r["price"] for r in rows],
                "size": [r["size"] for r in rows],
                "side": [r["side"] for r in rows],
                "trade_id": [r["id"] for r in rows],
                "venue": ["x"] * len(rows),
                "symbol": ["S"] * len(rows),
            },
            schema_overrides={"ts": pl.Int64, "side": pl.Int8},
        ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    )


@settings(max_examples=150, deadline=None)
@given(_streams(), st.randoms(use_true_random=False))
def test_any_split_and_arrival_order_of_a_trade_stream_gives_identical_bars(stream, rnd: random.Random) -> None:
    rows, files, order = stream
    expected = trades_to_bars(_frame(rows, "all"), 1).drop("source_id")
    partials = []
    for f in order:  # files arrive in any order; each file's rows may be shuffled too
        mine = [r for r, k in zip(rows, files, strict=True) if k == f]
        if not mine:
            continue
        rnd.shuffle(mine)
        frame = _frame(mine, f"file{f}")
        cut = rnd.randint(0, frame.height)  # and a big file is read in batches
        for part in (frame.slice(0, cut), frame.slice(cut)):
            if part.height:
                partials.append(minute_partials(part, f"file{f}", f))
        if rnd.random() < 0.5:  # merged on the way (as a file's batches are) or only at the end
            partials = [merge_partials(pl.concat(partials))]
    got = partials_to_bars(merge_partials(pl.concat(partials)), 1).drop("source_id")
    exact = pl.exclude("volume", "quote_volume", "vwap", "buy_volume", "sell_volume")
    assert got.select(exact).equals(expected.select(exact))
    for col in ("volume", "vwap", "buy_volume", "sell_volume"):
        a, b = got[col].to_list(), expected[col].to_list()
        assert all((x is None and y is None) or abs(x - y) <= 1e-9 * abs(y) for x, y in zip(a, b, strict=True)), col
    assert_bars_match(got, reference_bars(rows))


def test_real_lean_minute_quote_and_trade_zips_give_side_bars_equal_to_the_file(real_data: Path) -> None:
    lean = real_data / "quantconnect-lean-zips"
    cases = [
        ("forex/oanda/minute/nzdusd/20140505_quote.zip", "NZDUSD", "UTC", 1.0),
        ("equity/usa/minute/aapl/20140606_quote.zip", "AAPL", "America/New_York", 10_000.0),
        ("crypto/coinbase/minute/ethusd/20180404_quote.zip", "ETHUSD", "UTC", 1.0),
    ]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for relative, symbol, zone, scale in cases:
        path = lean / relative
        with zipfile.ZipFile(path) as archive:
            rows = [line.split(",") for line in archive.read(archive.namelist()[0]).decode().splitlines()]
        day = datetime.strptime(path.name[:8], "%Y%m%d").replace(tzinfo=ZoneInfo(zone))
        bars = _bars(judge(path, ReadOptions(format="lean-minute-quotes"), threshold=0.05))
        for side, offset in (("BID", 1), ("ASK", 6)):
            mine = bars.filter(pl.col("symbol") == f"{symbol}.{side}").sort("ts")
            assert mine["price_side"].unique().to_list() == [side.lower()]
            assert (
                mine["bar_source"].unique().to_list() == ["candles"] and mine["buy_volume"].null_count() == mine.height
            )
            expected = [
                (int((day.timestamp() + int(r[0]) / 1000) * 1000), *(float(v) / scale for v in r[offset : offset + 4]))
                for r in rows
            ]
            found = [
                (int(r[0].timestamp() * 1000), r[1], r[2], r[3], r[4])
                for r in mine.select("ts", "open", "high", "low", "close").iter_rows()
            ]
            assert found == expected, relative
    trades = _bars(
        judge(lean / "crypto/coinbase/minute/ethusd/20180404_trade.zip", ReadOptions(format="lean-minute-trades"))
    )
    assert trades.height == 1009 and trades["symbol"].unique().to_list() == ["ETHUSD"]
    assert trades["price_side"].unique().to_list() == ["trade"] and trades["trades"].sum() == 0


def test_tardis_quotes_give_bid_ask_mid(tmp_path: Path) -> None:
    body = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
    body += f"deribit,BTC-PERPETUAL,{T0_US},{T0_US},10,100.5,100.0,3\n"
    body += f"deribit,BTC-PERPETUAL,{T0_US + 1000},{T0_US},10,101.5,,3\n"
    bars = _bars(judge(write(tmp_path / "q.csv", body))).sort("symbol")
    assert bars["symbol"].to_list() == ["BTC-PERPETUAL.ASK", "BTC-PERPETUAL.BID", "BTC-PERPETUAL.MID"]
    assert bars["close"].to_list() == [101.5, 100.0, 100.25] and bars["trades"].to_list() == [2, 1, 1]


def test_generic_trades_parquet_with_a_datetime_column(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    frame = pl.DataFrame(
        {
            "timestamp": [datetime(2024, 6, 1, 0, 0, 1, tzinfo=UTC), datetime(2024, 6, 1, 0, 0, 2, tzinfo=UTC)],
            "id": [1, 2],
            "side": ["sell", "buy"],
            "price": [10.0, 11.0],
            "amount": [2.0, 1.0],
        }
    )
    path = tmp_path / "ETH_USDT-trades.parquet"
    frame.write_parquet(path)
    bar = _bars(judge(path)).row(0, named=True)
    assert (bar["symbol"], bar["open"], bar["close"], bar["buy_volume"], bar["sell_volume"]) == (
        "ETH_USDT",
        10.0,
        11.0,
        1.0,
        2.0,
    )


def test_zipped_and_gzipped_trade_files_read_like_the_plain_ones(tmp_path: Path, real_data: Path) -> None:
    spot = "1001,100.0,2.0,200.0,1717200000123,True,True\n1002,101.0,1.0,101.0,1717200030000,False,True\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("BTCUSDT-trades-2024-06-01.csv", spot)
    zipped = _bars(judge(write(tmp_path / "BTCUSDT-trades-2024-06-01.zip", buffer.getvalue())))
    plain = _bars(judge(write(tmp_path / "p" / "BTCUSDT-trades-2024-06-01.csv", spot)))
    assert zipped.drop("source_id").equals(plain.drop("source_id"))
    assert (zipped["buy_volume"][0], zipped["sell_volume"][0]) == (1.0, 2.0)
    source = real_data / "tardis-binance-futures-trades" / "tardis_trades_binance-futures_BTCUSDT_first3000.csv"
    gz = write(tmp_path / "binance-futures_trades_2020-02-22_BTCUSDT.csv.gz", gzip.compress(source.read_bytes()))
    from_gz, from_plain = _bars(judge(gz)).drop("source_id"), _bars(judge(source)).drop("source_id")
    sums = ["volume", "quote_volume", "vwap", "buy_volume", "sell_volume"]  # float sums: order differs by read batch
    assert from_gz.drop(sums).equals(from_plain.drop(sums))  # prices, counts, minutes: exact
    assert_frame_equal(from_gz.select(sums), from_plain.select(sums), check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_trade_files_pass_the_landing_check_before_they_are_sniffed(tmp_path: Path) -> None:
    """An entry that became a FIFO (or grew past the bound) after listing is skipped, never opened by the trade
    sniffer (opening a FIFO would block the run); a regular file within the bound goes on to the trades path."""
    from core.parse import FileRef
    from tasks.ingest import _regular_files
    from tasks.trades import split_trade_files

    os.mkfifo(tmp_path / "late-fifo.csv")
    (tmp_path / "big.csv").write_bytes(b"x" * 200)
    good = tmp_path / "trades.csv"
    good.write_text("timestamp,price,amount,side\n1700000000000,100.0,1.0,buy\n")
    refs = [FileRef(str(tmp_path / n), 0, 0) for n in ("late-fifo.csv", "big.csv", "trades.csv")]
    kept, outcomes = _regular_files(refs, max_bytes=150)
    reasons = {Path(str(o["path"])).name: str(o["reasons"]) for o in outcomes}
    assert {o["status"] for o in outcomes} == {"skipped"}
    assert "FIFO" in reasons["late-fifo.csv"] and "MARKETOPS_INGEST_MAX_FILE_BYTES" in reasons["big.csv"]
    assert [Path(r.path).name for r in kept] == ["trades.csv"]
    trades, bars = split_trade_files(kept, ReadOptions(format="trades"))
    assert [Path(ref.path).name for ref, *_ in trades] == ["trades.csv"] and bars == []


@given(
    blank=st.integers(0, 3),
    first=st.integers(1, 9000),
    rest=st.lists(st.text("abc,1 ", min_size=0, max_size=40), max_size=30),
    newline=st.sampled_from(["\n", "\r\n"]),
)
@settings(max_examples=60, deadline=None)
def test_head_lines_split_once_match_a_full_split(blank: int, first: int, rest: list[str], newline: str) -> None:
    """The head's sniffing lines come from a bounded prefix; they must be what splitting it all would give
    (first line and fields too), however long the first lines are."""
    from core.trades.spec import TradeHead

    text = newline * blank + "id," + "9" * first + newline + newline.join(rest)
    head = TradeHead("x.csv", "", text)
    full = [line for line in text.splitlines() if line.strip()]
    assert list(head.lines) == full[: len(head.lines)]
    assert len(head.lines) == min(len(full), 8)
    assert head.first_line == full[0].strip()
    assert head.fields() == [f.strip() for f in full[0].split(",")]
